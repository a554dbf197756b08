package dev.closedloop.deploy.it;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The instances a simulated platform runs: real containers on the test engine, labelled so a
 * test can count them, judged as the platform would (a health path answering 2xx, or still up
 * after a while), and all removed on {@link #close()}, also one that started while it closed.
 */
final class SimulatedInstances implements AutoCloseable {

  /** A container answering on {@code port} of the loopback address. */
  record Instance(String container, int port) { }

  private final String label;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final Set<String> containers = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  /** @param label the Docker label its containers carry, e.g. {@code dev.closedloop.test.apprunner} */
  SimulatedInstances(String label) {
    this.label = label;
  }

  /**
   * Runs {@code image} publishing {@code containerPort} on loopback, and asks {@code path} until
   * it answers 2xx; empty (and the container gone) when it did not within {@code within}.
   */
  Optional<Instance> startHealthy(String image, int containerPort, String path, Duration within) {
    Optional<String> container = start(image, "-p", "127.0.0.1::" + containerPort);
    if (container.isEmpty()) {
      return Optional.empty();
    }
    Instant deadline = Instant.now().plus(within);
    while (Instant.now().isBefore(deadline) && !closed) {
      TestServices.Run port = docker("port", container.get(), containerPort + "/tcp");
      Optional<Integer> hostPort = port.exitCode() != 0 ? Optional.empty() : port.output().lines()
          .filter(line -> line.startsWith("127.0.0.1:")).map(line -> Integer.parseInt(line.substring(10).strip()))
          .findFirst();
      if (hostPort.isPresent() && answers(hostPort.get(), path)) {
        return Optional.of(new Instance(container.get(), hostPort.get()));
      }
      sleep(Duration.ofMillis(300));
    }
    remove(container.get());
    return Optional.empty();
  }

  /** Runs {@code image}; the container when it is still up after {@code startup}, else empty (and it is gone). */
  Optional<String> startStaying(String image, Duration startup) {
    Optional<String> container = start(image);
    if (container.isEmpty()) {
      return Optional.empty();
    }
    sleep(startup);
    TestServices.Run state = docker("inspect", "-f", "{{.State.Running}}", container.get());
    if (state.exitCode() == 0 && state.output().strip().equals("true")) {
      return container;
    }
    remove(container.get());
    return Optional.empty();
  }

  private Optional<String> start(String image, String... options) {
    List<String> command = new java.util.ArrayList<>(List.of("run", "-d", "--label", label + "=1"));
    command.addAll(List.of(options));
    command.add(image);
    TestServices.Run started = docker(command.toArray(String[]::new));
    if (started.exitCode() != 0) {
      sleep(Duration.ofMillis(300));
      return Optional.empty();
    }
    String container = started.output().strip().lines().reduce((a, b) -> b).orElseThrow();
    containers.add(container);
    if (closed) { // started while the test ended: nobody removes it but this
      remove(container);
      return Optional.empty();
    }
    return Optional.of(container);
  }

  private boolean answers(int port, String path) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
          .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding()).statusCode() / 100 == 2;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  void remove(String container) {
    docker("rm", "-f", container);
    containers.remove(container);
  }

  boolean closed() {
    return closed;
  }

  private static TestServices.Run docker(String... args) {
    List<String> command = new java.util.ArrayList<>(List.of("docker", "-H", TestServices.dockerHost()));
    command.addAll(List.of(args));
    return TestServices.run(Path.of("."), command.toArray(String[]::new));
  }

  static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Waits for a platform's own threads to end (a deployment may be starting a container). */
  static void join(List<Thread> threads) {
    for (Thread thread : threads) {
      try {
        thread.join(30_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Stops starting, and removes every container: call it once the platform's own threads ended. */
  @Override
  public void close() {
    closed = true;
    for (String container : List.copyOf(containers)) {
      remove(container);
    }
  }
}
