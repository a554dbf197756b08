package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.closedloop.deploy.database.ProductionDatabase;
import dev.closedloop.deploy.guard.LedgerEntry;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.guard.ReleaseLedger;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The README's main job: `mvn package deploy:release` on the example shop service builds and
 * pushes its image, proves its migrations, migrates production and moves latest. Under
 * scripts/services it then runs the image as container shop-service, whose /health answers from
 * the migrated production; elsewhere production is a local embedded stand-in, and the released
 * image really serves its health check from it.
 */
class ExampleServiceIT {

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private static TestServices.Run releaseExample(java.util.Map<String, String> env, String sha) {
    return TestServices.run(TestServices.root().resolve("examples/shop-service"), env,
        TestServices.root().resolve("mvnw").toString(), "-B", "-ntp", "-Dstyle.color=never",
        "-Dclosedloop.version=" + TestServices.version(), "-Ddeploy.sha=" + sha, "package", "deploy:release");
  }

  @Test
  void exampleService_releasedUnderTheServices_runsAsAContainer_answeringHealthFromProduction() throws Exception {
    String url = System.getenv("CLOSEDLOOP_PRODUCTION_URL");
    assertThat(url).as("scripts/services sets CLOSEDLOOP_PRODUCTION_URL").isNotBlank();
    String password = java.nio.file.Files.readString(Path.of(System.getenv("CLOSEDLOOP_PRODUCTION_PASSWORD_FILE")))
        .strip();
    String sha = TestServices.randomSha();
    try {
      TestServices.Run run = releaseExample(java.util.Map.of(), sha);

      assertThat(run.exitCode()).as(run.output()).isZero();
      String digest = TestServices.registryDigest("examples/shop-service", sha).orElseThrow();
      assertThat(TestServices.registryDigest("examples/shop-service", "latest")).contains(digest);
      assertThat(run.output()).contains("shop-service-candidate is healthy on a spare port")
          .doesNotContain(password);
      HttpResponse<String> health = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:18080/health"))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(health.statusCode()).isEqualTo(200);
      assertThat(health.body()).isEqualTo("{\"status\":\"ok\",\"database\":\"shop schema ready\"}");
      assertThat(TestServices.docker("inspect", "-f", "{{index .Config.Labels \"dev.closedloop.image\"}}",
          "shop-service").output().strip()).isEqualTo(TestServices.registry() + "/examples/shop-service@" + digest);
      var production = dev.closedloop.deploy.database.DatabaseTarget.parse(url, null, password, "url");
      try (Connection c = production.connect()) {
        LedgerEntry last = new ReleaseLedger("closedloop", "release_ledger")
            .history(c, "examples/shop-service").stream().reduce((a, b) -> b).orElseThrow();
        assertThat(last.sha()).isEqualTo(sha);
        assertThat(last.status().id()).isEqualTo("succeeded");
      }
    } finally {
      TestServices.run(Path.of("."), "docker", "-H", TestServices.dockerHost(), "rm", "-f", "shop-service");
    }
  }

  @Test
  void exampleService_releasesOnEmbeddedDefaults_andTheReleasedImageAnswersHealthFromProduction() throws Exception {
    Path example = TestServices.root().resolve("examples/shop-service");
    String sha = TestServices.randomSha();

    // without the services' PostgreSQL, production is the embedded stand-in under target/
    TestServices.Run run = releaseExample(java.util.Map.of("CLOSEDLOOP_PRODUCTION_URL", ""), sha);

    assertThat(run.exitCode()).as(run.output()).isZero();
    assertThat(run.output()).contains("9 migrations applied on embedded PostgreSQL", "BUILD SUCCESS");
    String digest = TestServices.registryDigest("examples/shop-service", sha).orElseThrow();
    assertThat(TestServices.registryDigest("examples/shop-service", "latest")).contains(digest);
    String image = TestServices.registry() + "/examples/shop-service:latest";

    Path productionData = example.resolve("target/deploy/production-db");
    try (ProductionDatabase.Session database = ProductionDatabase.embeddedAt(productionData).open(Events.none())) {
      try (Connection c = database.target().connect()) {
        LedgerEntry last = new ReleaseLedger("closedloop", "release_ledger")
            .history(c, "examples/shop-service").stream().reduce((a, b) -> b).orElseThrow();
        assertThat(last.sha()).isEqualTo(sha);
        assertThat(last.status().id()).isEqualTo("succeeded");
        assertThat(last.imageDigest()).isEqualTo(digest);
      }
      int port = freePort();
      String container = TestServices.docker("run", "-d", "--network", "host", "-e", "PORT=" + port,
          "-e", "DATABASE_URL=" + database.target().jdbcUrl(), "-e", "DATABASE_USER=postgres", image).output().strip();
      try {
        HttpResponse<String> health = awaitHealth(port);
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).isEqualTo("{\"status\":\"ok\",\"database\":\"shop schema ready\"}");
      } finally {
        TestServices.docker("rm", "-f", container);
      }
    }
  }

  private static HttpResponse<String> awaitHealth(int port) throws InterruptedException {
    HttpClient http = HTTP;
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health")).build();
    IOException last = null;
    for (int attempt = 0; attempt < 60; attempt++) { // bounded: 30 s at most
      try {
        return http.send(request, HttpResponse.BodyHandlers.ofString());
      } catch (IOException e) {
        last = e;
        Thread.sleep(500);
      }
    }
    throw new AssertionError("the service never answered on port " + port, last);
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
