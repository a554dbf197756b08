package dev.closedloop.deploy.database;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseListener;
import dev.closedloop.deploy.internal.database.PostgresBinaries;
import dev.closedloop.deploy.internal.database.PostgresServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The database a release migrates: a server reached by URL, or, for trying closedloop out on one
 * machine, an embedded PostgreSQL whose data is kept in a directory between runs.
 */
public interface ProductionDatabase {

  /** Connects (or starts the local server) for the length of one release, telling {@code events} how it goes. */
  Session open(ReleaseListener events);

  String describe();

  /** False for a local stand-in not created yet; a server reached by URL is taken to exist. */
  default boolean exists() {
    return true;
  }

  /** The database behind a connection string in any form {@link DatabaseTarget#parse} takes. */
  static ProductionDatabase at(DatabaseTarget target) {
    return new ProductionDatabase() {
      @Override
      public Session open(ReleaseListener events) {
        return () -> target;
      }

      @Override
      public String describe() {
        return target.toString();
      }
    };
  }

  /**
   * A local stand-in for production: embedded PostgreSQL on {@code dataDirectory}, created on
   * first use and kept, so migrations applied by one release are there for the next.
   */
  static ProductionDatabase embeddedAt(Path dataDirectory) {
    return new ProductionDatabase() {
      @Override
      public Session open(ReleaseListener events) {
        PostgresBinaries binaries = PostgresBinaries.current();
        Path log = dataDirectory.resolveSibling(dataDirectory.getFileName() + ".log");
        PostgresServer server;
        try {
          Files.createDirectories(dataDirectory.getParent());
          if (!Files.isRegularFile(dataDirectory.resolve("PG_VERSION"))) {
            PostgresServer.initdb(binaries, dataDirectory, log, true);
          }
          server = PostgresServer.start(binaries, dataDirectory, log, false);
        } catch (IOException | RuntimeException e) {
          throw new DeployException(DeployException.Kind.DATABASE, "Cannot start the local production database in "
              + dataDirectory + " (" + e.getMessage() + "): is another release using it?", e);
        }
        DatabaseTarget target = DatabaseTarget.of("jdbc:postgresql://127.0.0.1:" + server.port() + "/postgres",
            "postgres", null);
        return new Session() {
          @Override
          public DatabaseTarget target() {
            return target;
          }

          @Override
          public void close() {
            server.close();
          }
        };
      }

      @Override
      public String describe() {
        return "the local production database in " + dataDirectory;
      }

      @Override
      public boolean exists() {
        return Files.isRegularFile(dataDirectory.resolve("PG_VERSION"));
      }
    };
  }

  /**
   * Reads {@code embedded:<directory>} (the local stand-in) or a connection string.
   *
   * @param setting the setting it came from, for messages
   */
  static ProductionDatabase parse(String url, String user, String password, String setting) {
    if (url != null && url.startsWith("embedded:")) {
      return embeddedAt(Path.of(url.substring("embedded:".length())).toAbsolutePath().normalize());
    }
    return at(DatabaseTarget.parse(url, user, password, setting));
  }

  /** An open production database; closing it stops a local server. */
  interface Session extends AutoCloseable {
    DatabaseTarget target();

    @Override
    default void close() {}
  }
}
