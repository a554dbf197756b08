package dev.closedloop.deploy.internal.database;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseListener;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.ExitCleanup;
import dev.closedloop.deploy.internal.Loopback;
import dev.closedloop.deploy.internal.image.Containers;
import dev.closedloop.deploy.internal.image.DockerEngine;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * A throwaway PostgreSQL in a container of a chosen image ({@code postgres:17},
 * {@code supabase/postgres} with its extensions), so test-migrate runs on what production runs.
 * The image is started as the official {@code postgres} image is: {@code POSTGRES_PASSWORD}
 * (a new random one each run) and port 5432, published on 127.0.0.1 only. The container is
 * removed when the instance closes, when it never became ready, and when the JVM exits.
 */
public final class DockerDatabase implements EphemeralDatabase {

  /** How long a container may take to accept connections: an image's first start runs initdb. */
  static final Duration READY_TIMEOUT = Duration.ofMinutes(2);

  /** How long a server may refuse the password: the official image's first start restarts it once. */
  private static final Duration AUTH_GRACE = Duration.ofSeconds(10);

  private final ImageRef image;
  private final String dockerHost;

  public DockerDatabase(ImageRef image, String dockerHost) {
    this.image = image;
    this.dockerHost = dockerHost;
  }

  @Override
  public Instance start(ReleaseListener listener) {
    Events events = Events.of(listener);
    DockerEngine engine = DockerEngine.connect(dockerHost);
    Containers containers = new Containers(engine);
    String name = "closedloop-testdb-" + HexFormat.of().formatHex(random(4));
    String password = HexFormat.of().formatHex(random(18));
    Runnable remove = () -> {
      try {
        containers.remove(name);
      } catch (DeployException e) {
        events.warn("could not remove the test database container " + name + ": " + e.getMessage());
      } finally {
        engine.close();
      }
    };
    // an engine on this machine publishes on loopback only; a remote one (tcp://docker:2375, as in
    // GitLab's docker-in-docker) on its own address, which is where this process reaches it
    java.net.URI engineAddress = java.net.URI.create(engine.host());
    boolean remote = engineAddress.getScheme() != null && engineAddress.getScheme().startsWith("tcp")
        && !Loopback.isLoopback(engineAddress.getHost());
    String host = remote ? engineAddress.getHost() : "127.0.0.1";
    ExitCleanup.Handle removeOnExit = null;
    try {
      for (String orphan : containers.removeOrphans("test-database")) {
        events.progress(Step.TEST_MIGRATE, "removed test database container " + orphan + ", left by a release that"
            + " was killed");
      }
      containers.ensureImage(image, () -> null);
      long started = System.nanoTime();
      containers.run(name, image, List.of("POSTGRES_PASSWORD=" + password, "POSTGRES_USER=postgres",
          "POSTGRES_DB=postgres"), Containers.ownedLabels("test-database", Map.of()),
          List.of(new Containers.Port(remote ? null : "127.0.0.1", 0, 5432, "tcp")));
      removeOnExit = ExitCleanup.register("remove the test database container " + name, remove);
      ExitCleanup.Handle forget = removeOnExit;
      DatabaseTarget target = awaitReady(containers, name, password, host);
      events.progress(Step.TEST_MIGRATE, image + " ready as container " + name + " in "
          + Duration.ofNanos(System.nanoTime() - started).toMillis() + " ms");
      return new Instance() {
        private boolean closed;

        @Override
        public DatabaseTarget target() {
          return target;
        }

        @Override
        public synchronized void close() {
          if (!closed) {
            closed = true;
            forget.close();
            remove.run();
          }
        }
      };
    } catch (RuntimeException e) {
      if (removeOnExit != null) {
        removeOnExit.close();
      }
      remove.run();
      throw e;
    }
  }

  /** Connects until the server answers; refuses at once when the container stopped. */
  private DatabaseTarget awaitReady(Containers containers, String name, String password, String host) {
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    String last = "no answer yet";
    long refusedSince = 0; // the server answers but refuses us: the image does not take POSTGRES_PASSWORD
    while (System.nanoTime() < deadline) {
      Containers.State state = containers.inspect(name).orElse(null);
      if (state == null || !state.running()) {
        throw new DeployException(DeployException.Kind.DATABASE, "The test database container " + name + " ("
            + image + ") stopped before it accepted connections" + (state != null && state.exitCode() != null
            ? " (exit code " + state.exitCode() + ")" : "") + "; its last lines: " + oneLine(containers.logTail(name, 5))
            + ". deploy.testDatabaseImage must be a PostgreSQL image started as the official postgres image is"
            + " (POSTGRES_PASSWORD, port 5432)");
      }
      Integer port = state.hostPort(5432, "tcp").orElse(null);
      if (port != null) {
        DatabaseTarget target = DatabaseTarget.of("jdbc:postgresql://" + host + ":" + port + "/postgres", "postgres",
            password);
        try (Connection c = target.connect()) {
          if (c.isValid(2)) {
            return target;
          }
        } catch (SQLException | RuntimeException e) {
          last = e.getMessage();
          Throwable cause = e instanceof SQLException ? e : e.getCause();
          if (cause instanceof SQLException sql && sql.getSQLState() != null && sql.getSQLState().startsWith("28")) {
            refusedSince = refusedSince == 0 ? System.nanoTime() : refusedSince;
            if (System.nanoTime() - refusedSince > AUTH_GRACE.toNanos()) {
              throw new DeployException(DeployException.Kind.DATABASE, "The test database container " + name + " ("
                  + image + ") refuses the password it was started with: " + oneLine(sql.getMessage())
                  + ". deploy.testDatabaseImage must be a PostgreSQL image started as the official postgres image is"
                  + " (POSTGRES_PASSWORD, password login from other hosts, port 5432)");
            }
          }
        }
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new DeployException(DeployException.Kind.DATABASE, "Interrupted while waiting for " + name, e);
      }
    }
    throw new DeployException(DeployException.Kind.DATABASE, "The test database container " + name + " (" + image
        + ") did not accept connections within " + READY_TIMEOUT.toSeconds() + " s (" + oneLine(last) + ")");
  }

  @Override
  public String describe() {
    return "a " + image + " container";
  }

  private static byte[] random(int bytes) {
    byte[] value = new byte[bytes];
    new SecureRandom().nextBytes(value);
    return value;
  }

  private static String oneLine(String text) {
    return text == null ? "" : text.replaceAll("\\s+", " ").trim();
  }
}
