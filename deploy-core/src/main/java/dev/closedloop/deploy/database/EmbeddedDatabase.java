package dev.closedloop.deploy.database;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Events;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A PostgreSQL server of its own for each run, in a temporary directory. */
final class EmbeddedDatabase implements EphemeralDatabase {

  @Override
  public Instance start(Events events) {
    Path log;
    try {
      log = Files.createTempFile("closedloop-postgres-", ".log");
    } catch (IOException e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot create a temporary file: " + e.getMessage(), e);
    }
    EmbeddedPostgres postgres;
    try {
      postgres = EmbeddedPostgres.builder()
          .setCleanDataDirectory(true)
          .setOutputRedirector(ProcessBuilder.Redirect.appendTo(log.toFile()))
          .setErrorRedirector(ProcessBuilder.Redirect.appendTo(log.toFile()))
          .start();
    } catch (IOException | RuntimeException e) {
      throw new DeployException(DeployException.Kind.DATABASE,
          "Cannot start embedded PostgreSQL (" + e.getMessage() + "); its log is " + log
              + ". Or point deploy.testDatabaseUrl at a server to test on", e);
    }
    events.debug("embedded PostgreSQL on port " + postgres.getPort() + ", log " + log);
    DatabaseTarget target = DatabaseTarget.of(postgres.getJdbcUrl("postgres", "postgres"), "postgres", null);
    return new Instance() {
      @Override
      public DatabaseTarget target() {
        return target;
      }

      @Override
      public void close() {
        try {
          postgres.close();
          Files.deleteIfExists(log);
        } catch (IOException e) {
          events.warn("embedded PostgreSQL did not stop cleanly: " + e.getMessage());
        }
      }
    };
  }

  @Override
  public String describe() {
    return "embedded PostgreSQL";
  }
}
