package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.Migrations;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

/**
 * Refuses to migrate production with another tool than the one its history was written with,
 * unless the switch is confirmed ({@code deploy.migratorSwitch}). Another tool reads none of that
 * history: it may apply nothing and say it succeeded, or apply everything again. Which tool wrote
 * the history is what the ledger recorded for the last release that migrated; before the ledger
 * recorded it, the history tables in production tell (and for an image's tool, its command names
 * the tool whose history it carries on, as {@code goose -dir /migrations up} does).
 */
final class MigratorSwitch {

  private MigratorSwitch() {}

  /** A history table in production, and what it holds. */
  private record History(String tool, String table, long rows, String newest) {
    String describe() {
      return table + ": " + rows + " row" + (rows == 1 ? "" : "s") + (newest == null ? "" : ", the newest version "
          + newest);
    }
  }

  /**
   * @throws DeployException of kind GUARD when production's history is another tool's and the switch is not confirmed
   */
  static void check(RunContext context, ProductionSession session) {
    Migrations migrations = context.config().testMigrate().migrations();
    if (migrations == null) { // an embedder's own migrator: nothing to compare
      return;
    }
    String now = migrations.tool().id();
    String confirmed = context.config().production().guards().migratorSwitch();
    Optional<String> recorded = session.lastMigrator();
    String from;
    String shows;
    if (recorded.isPresent() && recorded.get().equals(now)) {
      return;
    }
    // "image" names no history of its own: which tool's it carried on, the history tables tell
    if (recorded.isPresent() && !recorded.get().equals(Migrations.Tool.IMAGE.id())) {
      from = recorded.get();
      shows = "the ledger " + session.ledgerTable() + " records its last migrate as done with " + from;
    } else {
      Optional<History> flyway = history(session.target(), "flyway", migrations.flyway().historyTable(),
          "version", "installed_rank");
      Optional<History> goose = history(session.target(), "goose", migrations.versionTable().contains(".")
          ? migrations.versionTable() : "public." + migrations.versionTable(), "version_id::text", "id");
      Optional<History> other = switch (migrations.tool()) {
        case FLYWAY -> flyway.isPresent() ? Optional.empty() : goose;
        case GOOSE -> goose.isPresent() ? Optional.empty() : flyway;
        // which tool the image runs, its command says: goose's history is its own when the command is goose's
        case IMAGE -> flyway.or(() -> goose).filter(found -> !names(migrations.command(), found.tool()));
      };
      if (other.isEmpty()) {
        return;
      }
      from = other.get().tool();
      shows = "its history is " + from + "'s (" + other.get().describe() + ")";
    }
    if (now.equals(confirmed)) {
      context.events().warn("production's migrator switches from " + from + " to " + now + " (deploy.migratorSwitch="
          + now + "): " + shows);
      return;
    }
    String what = migrations.runFromImage() ? "'" + migrations.command() + "' from the image" : now;
    throw new DeployException(DeployException.Kind.GUARD, "Refusing to migrate production with deploy.migrator=" + now
        + ": " + shows + ", and " + what + " does not read " + from + "'s history, so it may apply nothing and"
        + " report success, or apply everything again. If it carries on that history, confirm the switch with"
        + " deploy.migratorSwitch=" + now + "; else set deploy.migrator back to " + from + ". Nothing was applied");
  }

  /** True when {@code command} runs {@code tool}: its first word, or a word of it, is the tool's name. */
  private static boolean names(String command, String tool) {
    return command != null && java.util.Arrays.stream(command.trim().split("[\\s/]+"))
        .anyMatch(word -> word.equalsIgnoreCase(tool));
  }

  /** The tool's history table in production and what it holds; empty when there is none, or it is empty. */
  private static Optional<History> history(DatabaseTarget target, String tool, String table, String version,
      String order) {
    String[] name = table.split("\\.", 2);
    String regclass = name[0].equals("*") ? '"' + name[1] + '"' : '"' + name[0] + "\".\"" + name[1] + '"';
    try (Connection c = target.readOnly().connect();
         PreparedStatement exists = c.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
      exists.setString(1, regclass);
      try (ResultSet rs = exists.executeQuery()) {
        rs.next();
        if (!rs.getBoolean(1)) {
          return Optional.empty();
        }
      }
      try (PreparedStatement rows = c.prepareStatement("SELECT count(*), (SELECT " + version + " FROM " + regclass
          + " ORDER BY " + order + " DESC LIMIT 1) FROM " + regclass);
           ResultSet rs = rows.executeQuery()) {
        rs.next();
        long count = rs.getLong(1);
        return count == 0 ? Optional.empty() : Optional.of(new History(tool, regclass.replace("\"", ""), count,
            rs.getString(2)));
      }
    } catch (SQLException e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot read production's migration history ("
          + table + "): " + e.getMessage(), e);
    }
  }

  /** Records which tool migrates production in this run, for the next release's check. */
  static void record(RunContext context, ProductionSession session) {
    Migrations migrations = context.config().testMigrate().migrations();
    if (migrations != null) {
      session.recordMigrator(migrations.tool().id());
    }
  }
}
