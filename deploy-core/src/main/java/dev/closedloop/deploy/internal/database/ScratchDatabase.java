package dev.closedloop.deploy.internal.database;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseListener;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.internal.Events;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;

/** A database created on an existing server for one run, and dropped after it. */
public final class ScratchDatabase implements EphemeralDatabase {

  private final DatabaseTarget server;

  public ScratchDatabase(DatabaseTarget server) {
    this.server = server;
  }

  @Override
  public Instance start(ReleaseListener listener) {
    Events events = Events.of(listener);
    String name = "closedloop_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    execute("CREATE DATABASE " + name);
    DatabaseTarget target = server.withDatabase(name);
    events.debug("created scratch database " + name + " on " + server);
    return new Instance() {
      @Override
      public DatabaseTarget target() {
        return target;
      }

      @Override
      public void close() {
        execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
      }
    };
  }

  private void execute(String sql) {
    try (Connection c = server.connect(); Statement s = c.createStatement()) {
      s.execute(sql);
    } catch (SQLException e) {
      throw new DeployException(DeployException.Kind.DATABASE,
          "'" + sql + "' failed on " + server + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String describe() {
    return "a scratch database on " + server;
  }
}
