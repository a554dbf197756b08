package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.closedloop.deploy.Events;
import dev.closedloop.deploy.database.ProductionDatabase;
import dev.closedloop.deploy.guard.ReleaseLedger;
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
 * pushes its image, proves its migrations, migrates its local production database and moves
 * latest; the released image then really serves its health check from that database.
 */
class ExampleServiceIT {

  @Test
  void exampleService_releases_andTheReleasedImageAnswersHealthFromProduction() throws Exception {
    Path example = TestServices.root().resolve("examples/shop-service");
    String sha = TestServices.randomSha();

    TestServices.Run run = TestServices.run(example, TestServices.root().resolve("mvnw").toString(),
        "-B", "-ntp", "-Dstyle.color=never", "-Dclosedloop.version=" + TestServices.version(),
        "-Ddeploy.sha=" + sha, "package", "deploy:release");

    assertThat(run.exitCode()).as(run.output()).isZero();
    assertThat(run.output()).contains("9 migrations applied on embedded PostgreSQL", "BUILD SUCCESS");
    String digest = TestServices.registryDigest("examples/shop-service", sha).orElseThrow();
    assertThat(TestServices.registryDigest("examples/shop-service", "latest")).contains(digest);
    String image = TestServices.registry() + "/examples/shop-service:latest";

    Path productionData = example.resolve("target/deploy/production-db");
    try (ProductionDatabase.Session database = ProductionDatabase.embeddedAt(productionData).open(Events.none())) {
      try (Connection c = database.target().connect()) {
        ReleaseLedger.Entry last = new ReleaseLedger("closedloop", "release_ledger")
            .history(c, "examples/shop-service").stream().reduce((a, b) -> b).orElseThrow();
        assertThat(last.sha()).isEqualTo(sha);
        assertThat(last.status()).isEqualTo("succeeded");
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
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
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
