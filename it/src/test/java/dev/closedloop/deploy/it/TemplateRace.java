package dev.closedloop.deploy.it;

import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.internal.Events;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;

/** A process of its own that starts one embedded database, for the race of two such processes. */
public final class TemplateRace {

  private TemplateRace() {}

  public static void main(String[] args) throws Exception {
    try (EphemeralDatabase.Instance database = EphemeralDatabase.embedded().start(Events.none());
        Connection c = database.target().connect();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT 41 + 1")) {
      rs.next();
      System.out.println("answered " + rs.getInt(1));
    }
  }
}
