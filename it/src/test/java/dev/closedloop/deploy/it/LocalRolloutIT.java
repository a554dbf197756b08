package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseBuilder;
import dev.closedloop.deploy.ReleaseResult;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local rollout on the real Docker engine: busybox httpd images, one with a health page and
 * one without. A healthy image replaces the running container; an unhealthy one is removed while
 * the old container goes on answering, and latest names the old digest again.
 */
class LocalRolloutIT {

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  @TempDir Path work;
  private RolloutFixture fixture;
  private String name;
  private int port;
  private Path secret;



  @BeforeEach
  void setUp() throws Exception {
    fixture = new RolloutFixture(work);
    name = "it-local-" + UUID.randomUUID().toString().substring(0, 8);
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    secret = Files.writeString(work.resolve("token"), "tok-" + UUID.randomUUID());
    Files.createDirectories(fixture.context.resolve("www"));
    fixture.dockerfile("COPY busybox /bin/sh", "COPY www /www",
        "ENTRYPOINT [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]");
  }

  @AfterEach
  void removeContainers() {
    for (String container : List.of(name, name + "-candidate", name + "-previous")) {
      TestServices.run(Path.of("."), "docker", "-H", TestServices.dockerHost(), "rm", "-f", container);
    }
  }

  private Consumer<ReleaseBuilder> local(String timeout) {
    return settings -> settings.rollout("local").rolloutService(name).rolloutTimeout(timeout)
        .localPorts(List.of("127.0.0.1:" + port + ":8080"))
        .localEnv(List.of("GREETING=hello", "TOKEN=file:" + secret))
        .healthUrl("http://127.0.0.1:" + port + "/health");
  }

  private void healthPage(boolean present) throws IOException {
    Path page = fixture.context.resolve("www/health");
    if (present) {
      Files.writeString(page, "ok\n");
    } else {
      Files.deleteIfExists(page);
    }
  }

  private int answer() {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
          .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** The image the container runs, as its label records it, and its environment. */
  private String inspect(String container, String format) {
    return TestServices.docker("inspect", "-f", format, container).output().strip();
  }

  private List<String> containers() {
    return List.of(TestServices.docker("ps", "-a", "--filter", "name=" + name, "--format", "{{.Names}}").output()
        .strip().split("\n"));
  }

  @Test
  void healthyImage_replacesTheRunningContainer() throws Exception {
    healthPage(true);
    ReleaseResult first = fixture.release("1", local("30s"));
    String firstImage = TestServices.registry() + "/" + fixture.repository + "@" + first.image().orElseThrow().digest();
    assertThat(answer()).isEqualTo(200);
    assertThat(inspect(name, "{{index .Config.Labels \"dev.closedloop.image\"}}")).isEqualTo(firstImage);

    ReleaseResult second = fixture.release("2", local("30s"));

    String digest = second.image().orElseThrow().digest();
    assertThat(inspect(name, "{{index .Config.Labels \"dev.closedloop.image\"}}"))
        .isEqualTo(TestServices.registry() + "/" + fixture.repository + "@" + digest);
    assertThat(inspect(name, "{{json .Config.Env}}")).contains("GREETING=hello", "TOKEN=" + Files.readString(secret));
    assertThat(answer()).isEqualTo(200);
    assertThat(containers()).containsExactly(name); // no candidate, no previous left
    assertThat(fixture.rollouts().get(1)).containsExactly("succeeded", name + "@" + digest, "succeeded", "[]");
    assertThat(fixture.digest("latest")).isEqualTo(digest);
    String token = Files.readString(secret);
    assertThat(fixture.events).noneMatch(event -> event.toString().contains(token));
  }

  @Test
  void unhealthyImage_isRemoved_theOldContainerKeepsAnswering_andLatestMovesBack() throws Exception {
    healthPage(true);
    ReleaseResult first = fixture.release("1", local("30s"));
    String good = first.image().orElseThrow().digest();
    healthPage(false); // the new image answers 404 on /health
    AtomicBoolean releasing = new AtomicBoolean(true);
    AtomicInteger failures = new AtomicInteger();
    AtomicInteger checks = new AtomicInteger();
    Thread watcher = new Thread(() -> {
      while (releasing.get()) {
        checks.incrementAndGet();
        if (answer() != 200) {
          failures.incrementAndGet();
        }
        try {
          Thread.sleep(100);
        } catch (InterruptedException e) {
          return;
        }
      }
    });
    watcher.start();

    Throwable failure;
    try {
      failure = catchThrowable(() -> fixture.release("2", local("5s")));
    } finally {
      releasing.set(false);
      watcher.join();
    }

    assertThat(failure).isInstanceOfSatisfying(DeployException.class, e -> {
      assertThat(e.kind()).isEqualTo(DeployException.Kind.ROLLOUT);
      assertThat(e.getMessage()).contains("local container " + name, "failed: TIMED_OUT", "answered 404",
          "latest names " + good + " again");
    });
    assertThat(checks.get()).isGreaterThan(10);
    assertThat(failures.get()).as("answers other than 200 while the new image was checked").isZero();
    assertThat(inspect(name, "{{index .Config.Labels \"dev.closedloop.image\"}}")).endsWith("@" + good);
    assertThat(containers()).containsExactly(name);
    assertThat(fixture.digest("latest")).isEqualTo(good);
    assertThat(fixture.rollouts().get(1)).satisfies(row -> {
      assertThat(row.get(0)).isEqualTo("failed");
      assertThat(row.get(2)).isEqualTo("failed");
      assertThat(row.get(3)).isEqualTo("[\"latest\"]");
    });
  }

  @Test
  void imageThatExits_failsAtOnce_withItsLastLines() throws Exception {
    healthPage(true);
    fixture.release("1", local("30s"));
    fixture.dockerfile("COPY busybox /bin/sh", "COPY www /www",
        "ENTRYPOINT [\"/bin/sh\", \"-c\", \"echo cannot reach the database >&2; exit 3\"]");
    long started = System.nanoTime();

    Throwable failure = catchThrowable(() -> fixture.release("2", local("60s")));

    assertThat(failure).hasMessageContaining("failed: EXITED (exited with code 3; its last lines are in the log above)")
        .hasMessageNotContaining("cannot reach the database"); // what a container prints stays out of errors and the ledger
    assertThat(fixture.events).anyMatch(event -> event instanceof dev.closedloop.deploy.ReleaseEvent.Log log
        && log.message().contains("exited with code 3; its last lines:\ncannot reach the database"));
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(60));
    assertThat(answer()).isEqualTo(200);
    assertThat(containers()).containsExactly(name);
  }

  @Test
  void newContainerThatCannotTakeItsPort_isRemoved_andLatestMovesBack() throws Exception {
    healthPage(true);
    fixture.release("1", settings -> { }); // latest has a previous digest; nothing runs yet
    String previous = fixture.digest("latest");

    Throwable failure;
    try (ServerSocket taken = new ServerSocket(port, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
      failure = catchThrowable(() -> fixture.release("2", local("30s")));
    }

    // healthy on its spare port, but the host port is someone else's
    assertThat(fixture.rolloutLines()).anyMatch(line -> line.contains("is healthy on a spare port"));
    assertThat(failure).hasMessageContaining("failed: NOT_STARTED").hasMessageContaining("latest names " + previous
        + " again");
    assertThat(containers()).containsExactly("");
    assertThat(fixture.digest("latest")).isEqualTo(previous);
  }

  @Test
  void aRolloutThatDiedHalfway_isPutRight_beforeTheNextOne() throws Exception {
    healthPage(true);
    ReleaseResult first = fixture.release("1", local("30s"));
    // as a kill -9 between stopping the old container and starting the new one leaves it
    TestServices.docker("rename", name, name + "-previous");
    TestServices.docker("stop", name + "-previous");
    healthPage(false);

    Throwable failure = catchThrowable(() -> fixture.release("2", local("3s")));

    assertThat(failure).isInstanceOf(DeployException.class);
    assertThat(fixture.rolloutLines()).anyMatch(line -> line.contains("left by a rollout that stopped halfway"));
    assertThat(answer()).isEqualTo(200);
    assertThat(inspect(name, "{{index .Config.Labels \"dev.closedloop.image\"}}"))
        .endsWith("@" + first.image().orElseThrow().digest());
    assertThat(containers()).containsExactly(name);
  }
}
