package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseBuilder;
import dev.closedloop.deploy.ReleaseEvent;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.Migrations;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Production-faithful test databases: test-migrate in a container of a chosen PostgreSQL image
 * (one built here from the machine's server), removed afterwards also on failure; the embedded
 * server started on production's major version; and an extension production has that the test
 * database cannot install, named before any migration runs.
 */
class TestDatabaseIT {

  @TempDir Path work;

  private final List<ReleaseEvent> events = new CopyOnWriteArrayList<>();

  private ReleaseBuilder testMigrate(Migrations migrations) {
    return Release.configure().migrations(migrations).buildContext(work).dockerHost(TestServices.dockerHost())
        .branch("main").listener(events::add);
  }

  @Test
  void anImage_runsTestMigrateInAContainer_removedAfterwards_alsoWhenAMigrationFails() throws Exception {
    String image = PostgresImage.image(work);

    ReleaseResult result = testMigrate(Migrations.flyway("classpath:db/migration")).testDatabaseImage(image).load()
        .testMigrate();

    assertThat(result.testMigration().orElseThrow().applied()).hasSize(9);
    assertThat(progress()).anyMatch(line -> line.matches(java.util.regex.Pattern.quote(
        dev.closedloop.deploy.image.ImageRef.parse(image).toString())
        + " ready as container closedloop-testdb-[0-9a-f]{8} in \\d+ ms"));
    assertThat(testDatabases()).as("the container is gone").isEmpty();

    Path broken = Files.createDirectories(work.resolve("broken"));
    Files.writeString(broken.resolve("V1__broken.sql"), "CREATE TABLE t (id int PRIMARY KEY;\n");
    DeployException failed = catchThrowableOfType(() -> testMigrate(Migrations.flyway("filesystem:" + broken))
        .testDatabaseImage(image).load().testMigrate(), DeployException.class);
    assertThat(failed.kind()).isEqualTo(DeployException.Kind.MIGRATION);
    assertThat(testDatabases()).as("removed after the failure too").isEmpty();
  }

  /**
   * kill -9 leaves a release's test database running: the next one on this machine removes it,
   * and leaves alone what a live process or another machine runs.
   */
  @Test
  void aContainerLeftByAKilledRelease_isRemovedByTheNext_aLiveOnesIsNot() throws Exception {
    String image = PostgresImage.image(work);
    String[] me = dev.closedloop.deploy.internal.image.Containers.owner().orElseThrow().split(" ");
    String machine = me[0] + " " + me[1] + " " + me[2]; // host, PID namespace, uid
    String killed = "closedloop-testdb-killed-" + UUID.randomUUID().toString().substring(0, 6);
    String live = "closedloop-testdb-live-" + UUID.randomUUID().toString().substring(0, 6);
    String elsewhere = "closedloop-testdb-elsewhere-" + UUID.randomUUID().toString().substring(0, 6);
    Process otherRelease = new ProcessBuilder("sleep", "300").start();
    try {
      // the killed release's pid, now another process's: its start time tells them apart
      sleeping(image, killed, machine + " " + me[3] + " 946684800000");
      sleeping(image, live, dev.closedloop.deploy.internal.image.Containers.ownerOf(otherRelease.toHandle()).orElseThrow());
      sleeping(image, elsewhere, "ci-runner-7 pid:[4026531836] 0 " + me[3] + " 946684800000");

      testMigrate(Migrations.flyway("classpath:db/migration")).testDatabaseImage(image).load().testMigrate();

      assertThat(progress()).contains("removed test database container " + killed + ", left by a release that was"
          + " killed");
      assertThat(testDatabases()).containsExactlyInAnyOrder(live, elsewhere);
    } finally {
      otherRelease.destroyForcibly();
      TestServices.docker("rm", "-f", killed, live, elsewhere);
    }
  }

  private static void sleeping(String image, String name, String owner) {
    TestServices.Run run = TestServices.docker("run", "-d", "--name", name, "--label",
        "dev.closedloop.role=test-database", "--label", "dev.closedloop.owner=" + owner, "--entrypoint",
        "/bin/busybox", image, "sleep", "600");
    assertThat(run.exitCode()).as(run.output()).isZero();
  }

  @Test
  void anImageThatIsNotPostgres_isRefusedInOneLine_andRemoved() throws Exception {
    Path context = Files.createDirectories(work.resolve("not-postgres"));
    Files.copy(TestServices.busybox(), context.resolve("busybox"));
    Files.writeString(context.resolve("Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\n"
        + "ENTRYPOINT [\"/bin/busybox\", \"sh\", \"-c\", \"echo no database here; exit 3\"]\n");
    TestServices.docker("build", "-q", "-t", "closedloop-it/not-postgres:1", context.toString());

    DeployException refused = catchThrowableOfType(() -> testMigrate(Migrations.flyway("classpath:db/migration"))
        .testDatabaseImage("closedloop-it/not-postgres:1").load().testMigrate(), DeployException.class);

    assertThat(refused.getMessage()).startsWith("The test database container closedloop-testdb-")
        .contains("stopped before it accepted connections (exit code 3); its last lines: no database here.")
        .contains("started as the official postgres image is");
    assertThat(testDatabases()).isEmpty();
  }

  @Test
  void theEmbeddedServer_matchesProductionsMajorVersion_andAMissingExtensionIsNamedFirst() throws Exception {
    String database = "match_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    String url = System.getenv("CLOSEDLOOP_PRODUCTION_URL");
    assertThat(url).as("CLOSEDLOOP_PRODUCTION_URL (scripts/services env)").isNotBlank();
    String password = "file:" + System.getenv("CLOSEDLOOP_PRODUCTION_PASSWORD_FILE");
    DatabaseTarget admin = DatabaseTarget.parse(url, null, Files.readString(Path.of(
        System.getenv("CLOSEDLOOP_PRODUCTION_PASSWORD_FILE"))).strip(), "test");
    ReleaseIT.execute(admin, "CREATE DATABASE " + database);
    String production = url.substring(0, url.lastIndexOf('/') + 1) + database;
    DatabaseTarget target = DatabaseTarget.parse(production, null, Files.readString(Path.of(
        System.getenv("CLOSEDLOOP_PRODUCTION_PASSWORD_FILE"))).strip(), "test");
    ReleaseIT.execute(target, "CREATE EXTENSION pgcrypto");
    int major = PostgresImage.major();
    Migrations shop = Migrations.flyway("classpath:db/migration");
    try {
      ReleaseResult embedded = testMigrate(shop).databaseUrl(production, null, password).load().testMigrate();

      assertThat(embedded.testMigration().orElseThrow().applied()).hasSize(9);
      assertThat(progress()).contains("starting embedded PostgreSQL " + major + ", production's version, from"
          + " /usr/lib/postgresql/" + major + "/bin");
      assertThat(warnings()).as("same major version, and the machine's server has pgcrypto").isEmpty();

      events.clear();
      testMigrate(shop).databaseUrl(production, null, password).testDatabaseImage(PostgresImage.image(work)).load()
          .testMigrate();
      assertThat(warnings()).containsExactly("production has extension pgcrypto 1.3, which a "
          + dev.closedloop.deploy.image.ImageRef.parse(PostgresImage.image(work)) + " container cannot install: a migration that creates or uses it fails here"
          + " first. Set deploy.testDatabaseImage to an image that has it");
      int warned = events.indexOf(events.stream().filter(e -> e instanceof ReleaseEvent.Log l
          && l.level() == ReleaseEvent.Level.WARN).findFirst().orElseThrow());
      int firstApplied = events.indexOf(events.stream().filter(e -> e instanceof ReleaseEvent.Progress p
          && p.message().startsWith("applied ")).findFirst().orElseThrow());
      assertThat(warned).as("named before the migrations run").isLessThan(firstApplied);
    } finally {
      ReleaseIT.execute(admin, "DROP DATABASE " + database + " WITH (FORCE)");
    }
  }

  private List<String> progress() {
    return events.stream().filter(e -> e instanceof ReleaseEvent.Progress)
        .map(e -> ((ReleaseEvent.Progress) e).message()).toList();
  }

  private List<String> warnings() {
    return events.stream().filter(e -> e instanceof ReleaseEvent.Log l && l.level() == ReleaseEvent.Level.WARN)
        .map(e -> ((ReleaseEvent.Log) e).message()).toList();
  }

  private static List<String> testDatabases() {
    return TestServices.docker("ps", "-a", "--filter", "label=dev.closedloop.role=test-database", "--format",
        "{{.Names}}").output().lines().filter(line -> !line.isBlank()).toList();
  }
}
