package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseBuilder;
import dev.closedloop.deploy.ReleaseEvent;
import dev.closedloop.deploy.ReleaseResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The backward-compatibility proof with real images: the service's image holds psql and reads
 * notes.legacy; released, it is what production runs. A later release whose migration drops that
 * column is refused at test-migrate, before production is touched; one that adds a nullable column
 * goes live.
 */
class CompatibilityIT {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path work;

  private static final Consumer<ReleaseBuilder> CHECKED = settings -> settings
      .compatibilityCommand("/bin/sh /smoke.sh").compatibilityEnv(List.of("DATABASE_URL={url}"));

  private RolloutFixture serviceReadingLegacy() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    String base = PostgresImage.image(work);
    Files.writeString(fixture.context.resolve("smoke.sh"), "/usr/lib/postgresql/" + PostgresImage.major()
        + "/bin/psql \"$DATABASE_URL\" -X -q -v ON_ERROR_STOP=1"
        + " -c 'SELECT id, legacy FROM notes LIMIT 1' && echo 'the old image reads notes.legacy'\n");
    Files.writeString(fixture.context.resolve("Dockerfile"), "FROM " + base + "\nCOPY smoke.sh /smoke.sh\n");
    Files.writeString(fixture.migrations().resolve("V1__create_notes.sql"),
        "CREATE TABLE notes (id int PRIMARY KEY, legacy text);\n");
    fixture.release("1", settings -> { });
    return fixture;
  }

  @Test
  void aMigrationDroppingAColumnTheLiveImageReads_isRefusedBeforeProductionIsTouched() throws Exception {
    RolloutFixture fixture = serviceReadingLegacy();
    String live = fixture.digest("latest");
    Map<String, Object> before = PlanIT.state(fixture);
    Files.writeString(fixture.migrations().resolve("V2__drop_legacy.sql"), "ALTER TABLE notes DROP COLUMN legacy;\n");

    DeployException refused = catchThrowableOfType(() -> fixture.release("2", CHECKED), DeployException.class);

    assertThat(refused.kind()).isEqualTo(DeployException.Kind.MIGRATION);
    assertThat(refused.getMessage()).startsWith("The image production runs now (" + TestServices.registry() + "/"
        + fixture.repository + "@" + live + ") fails on the migrated schema: '/bin/sh /smoke.sh' exited with ")
        .contains("Production was not touched");
    assertThat(fixture.events).anyMatch(event -> event instanceof ReleaseEvent.Progress p
        && p.message().contains("column \"legacy\" does not exist"));
    assertUntouched(fixture, before, live);
  }

  /** Production's catalog, history and ledger as they were, latest where it was, and no check's container left. */
  private static void assertUntouched(RolloutFixture fixture, Map<String, Object> before, String live)
      throws Exception {
    Map<String, Object> after = PlanIT.state(fixture);
    for (String part : List.of("catalog", "history", "ledger")) {
      assertThat(after.get(part)).as(part + " unchanged").isEqualTo(before.get(part));
    }
    assertThat(fixture.digest("latest")).as("latest unchanged (the build pushed only its commit's tag)").isEqualTo(live);
    assertThat(testContainers()).as("the check's container is gone").isEmpty();
  }

  @Test
  void aMigrationAddingANullableColumn_passes_andThePlanNamesTheImageItChecks() throws Exception {
    RolloutFixture fixture = serviceReadingLegacy();
    String live = fixture.digest("latest");
    Files.writeString(fixture.migrations().resolve("V2__add_body.sql"), "ALTER TABLE notes ADD COLUMN body text;\n");

    JsonNode plan = JSON.readTree(fixture.plan(CHECKED).json()).get("compatibility");
    assertThat(plan.get("image").asText()).isEqualTo(TestServices.registry() + "/" + fixture.repository + "@" + live);
    assertThat(plan.get("command").asText()).isEqualTo("/bin/sh /smoke.sh");

    ReleaseResult result = fixture.release("2", CHECKED);

    assertThat(fixture.events).anyMatch(event -> event instanceof ReleaseEvent.Progress p
        && p.message().equals("  the old image reads notes.legacy"));
    assertThat(fixture.events).anyMatch(event -> event instanceof ReleaseEvent.Progress p
        && p.message().startsWith("compatibility check: " + TestServices.registry() + "/" + fixture.repository + "@"
            + live + " works on the migrated schema"));
    assertThat(fixture.digest("latest")).isEqualTo(result.image().orElseThrow().digest());
  }

  /**
   * The old image as a service: busybox's httpd, whose health check queries notes.legacy and
   * answers 503 while it cannot.
   */
  private RolloutFixture serviceWithHealthCheck() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    String base = PostgresImage.image(work);
    Path health = Files.createDirectories(fixture.context.resolve("www/cgi-bin")).resolve("health");
    Files.writeString(health, "#!/bin/sh\nif /usr/lib/postgresql/" + PostgresImage.major() + "/bin/psql"
        + " \"$DATABASE_URL\" -X -q -c 'SELECT id, legacy FROM notes LIMIT 1' > /dev/null 2> /tmp/health.err; then\n"
        + "  printf 'Status: 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nreads notes.legacy\\n'\n"
        + "else\n  printf 'Status: 503 Service Unavailable\\r\\nContent-Type: text/plain\\r\\n\\r\\n'\n"
        + "  cat /tmp/health.err\nfi\n");
    Files.writeString(fixture.context.resolve("serve.sh"), "echo \"serving on $PORT\"\n"
        + "exec /bin/busybox httpd -f -v -p 127.0.0.1:$PORT -h /www\n");
    Files.writeString(fixture.context.resolve("Dockerfile"), "FROM " + base + "\nCOPY www /www/\nCOPY serve.sh /serve.sh\n"
        + "USER 0\nRUN [\"/bin/busybox\", \"chmod\", \"755\", \"/www/cgi-bin/health\"]\nUSER 999\n"
        + "ENTRYPOINT [\"/bin/busybox\", \"sh\", \"/serve.sh\"]\n");
    Files.writeString(fixture.migrations().resolve("V1__create_notes.sql"),
        "CREATE TABLE notes (id int PRIMARY KEY, legacy text);\n");
    fixture.release("1", settings -> { });
    return fixture;
  }

  private static Consumer<ReleaseBuilder> served(int port) {
    return settings -> settings.compatibilityHealthUrl("http://127.0.0.1:" + port + "/cgi-bin/health")
        .compatibilityTimeout("6s").compatibilityEnv(List.of("DATABASE_URL={url}", "PORT=" + port));
  }

  @Test
  void asAService_aMigrationDroppingWhatItsHealthCheckReads_isRefused_andAPortAlreadyAnsweringIsNeverTrusted()
      throws Exception {
    RolloutFixture fixture = serviceWithHealthCheck();
    String live = fixture.digest("latest");
    Map<String, Object> before = PlanIT.state(fixture);
    Files.writeString(fixture.migrations().resolve("V2__drop_legacy.sql"), "ALTER TABLE notes DROP COLUMN legacy;\n");

    int taken;
    try (java.net.ServerSocket listening = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      taken = listening.getLocalPort();
      DeployException occupied = catchThrowableOfType(() -> fixture.release("2", served(taken)),
          DeployException.class);
      assertThat(occupied.kind()).isEqualTo(DeployException.Kind.CONFIGURATION);
      assertThat(occupied.getMessage()).startsWith("Something already listens at 127.0.0.1:" + taken + " before the"
          + " compatibility check starts the image");
    }
    assertThat(testContainers()).as("no container was started").isEmpty();

    int port = freePort();
    DeployException refused = catchThrowableOfType(() -> fixture.release("2", served(port)), DeployException.class);

    assertThat(refused.kind()).isEqualTo(DeployException.Kind.MIGRATION);
    assertThat(refused.getMessage()).startsWith("The image production runs now (" + TestServices.registry() + "/"
        + fixture.repository + "@" + live + ") fails on the migrated schema: did not answer 2xx at http://127.0.0.1:"
        + port + "/cgi-bin/health within 6s (deploy.compatibilityTimeout); last: http://127.0.0.1:" + port
        + "/cgi-bin/health answered 503").contains("Production was not touched");
    assertThat(fixture.events).anyMatch(event -> event instanceof ReleaseEvent.Log l
        && l.level() == ReleaseEvent.Level.WARN && l.message().contains("serving on " + port));
    assertUntouched(fixture, before, live);
  }

  @Test
  void asAService_aMigrationAddingANullableColumn_passes_andACommandRunsWhileItServes() throws Exception {
    RolloutFixture fixture = serviceWithHealthCheck();
    String live = fixture.digest("latest");
    Files.writeString(fixture.migrations().resolve("V2__add_body.sql"), "ALTER TABLE notes ADD COLUMN body text;\n");
    int port = freePort();
    Consumer<ReleaseBuilder> both = served(port).andThen(settings -> settings.compatibilityCommand(
        "/bin/busybox wget -q -O - http://127.0.0.1:" + port + "/cgi-bin/health"));

    JsonNode plan = JSON.readTree(fixture.plan(both).json()).get("compatibility");
    assertThat(plan.get("healthUrl").asText()).isEqualTo("http://127.0.0.1:" + port + "/cgi-bin/health");
    assertThat(plan.get("image").asText()).isEqualTo(TestServices.registry() + "/" + fixture.repository + "@" + live);

    ReleaseResult result = fixture.release("2", both);

    assertThat(fixture.events).anyMatch(event -> event instanceof ReleaseEvent.Progress p
        && p.message().equals("  reads notes.legacy"));
    assertThat(fixture.events).anyMatch(event -> event instanceof ReleaseEvent.Progress p
        && p.message().equals("compatibility check: " + TestServices.registry() + "/" + fixture.repository + "@"
            + live + " works on the migrated schema (http://127.0.0.1:" + port + "/cgi-bin/health answered 2xx,"
            + " '/bin/busybox wget -q -O - http://127.0.0.1:" + port + "/cgi-bin/health' exited with 0)"));
    assertThat(fixture.digest("latest")).isEqualTo(result.image().orElseThrow().digest());
    assertThat(testContainers()).as("the service's container is gone").isEmpty();
  }

  private static int freePort() throws java.io.IOException {
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private static List<String> testContainers() {
    return TestServices.docker("ps", "-a", "--filter", "label=dev.closedloop.role=compatibility", "--format",
        "{{.Names}}").output().lines().filter(line -> !line.isBlank()).toList();
  }
}
