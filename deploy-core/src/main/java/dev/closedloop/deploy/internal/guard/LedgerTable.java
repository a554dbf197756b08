package dev.closedloop.deploy.internal.guard;

import dev.closedloop.deploy.DeployException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** The ledger table's shape: created when missing, and the columns later versions added. */
final class LedgerTable {

  private LedgerTable() {
  }

  /**
   * Creates the schema and table when missing, and the columns later versions added; safe to run
   * from many releases at once. An existing schema is not created again, so a role without the
   * CREATE privilege on the database can keep its ledger in a schema made for it.
   */
  static void ensure(Connection c, String schema, String table, String quoted) {
    if (!exists(c, "SELECT 1 FROM pg_namespace WHERE nspname = ?", schema)) {
      execute(c, "CREATE SCHEMA IF NOT EXISTS \"" + schema + '"');
    }
    if (!exists(c, "SELECT 1 WHERE to_regclass(?) IS NOT NULL", quoted)) { // CREATE would need the schema's CREATE right
      execute(c, "CREATE TABLE IF NOT EXISTS " + quoted + " ("
          + " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
          + " service text NOT NULL,"
          + " sha text NOT NULL,"
          + " branch text,"
          + " branch_guard_overridden boolean NOT NULL DEFAULT false,"
          + " ci_run_url text,"
          + " image_digest text,"
          + " status text NOT NULL,"
          + " status_history jsonb NOT NULL,"
          + " migrations_applied jsonb NOT NULL DEFAULT '[]',"
          + " previous_digests jsonb NOT NULL DEFAULT '{}',"
          + " started_at timestamptz NOT NULL DEFAULT clock_timestamp(),"
          + " finished_at timestamptz,"
          + " error text,"
          + " backend_pid integer)");
    }
    // Index and columns are looked for first: CREATE INDEX and ALTER TABLE take locks that stall
    // every reader of the ledger even when there is nothing to add.
    String index = table.replace('.', '_') + "_service_idx";
    index = index.substring(0, Math.min(index.length(), 63)); // as PostgreSQL keeps a long name
    if (!exists(c, "SELECT 1 FROM pg_indexes WHERE schemaname = ? AND indexname = ?", schema, index)) {
      ddl(c, "CREATE INDEX IF NOT EXISTS \"" + index + "\" ON " + quoted + " (service, id)");
    }
    for (String[] column : ADDED_COLUMNS) {
      if (!exists(c, "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(?) AND attname = ? AND NOT attisdropped",
          quoted, column[0])) {
        ddl(c, "ALTER TABLE " + quoted + " ADD COLUMN IF NOT EXISTS " + column[0] + " " + column[1]);
      }
    }
  }

  /**
   * A change of the ledger's shape, done once per ledger: it waits at most a few seconds for
   * readers of the ledger to finish, instead of stalling every release behind one open transaction.
   */
  private static void ddl(Connection c, String sql) {
    execute(c, "SET lock_timeout = 10000");
    try {
      execute(c, sql);
    } finally {
      execute(c, "RESET lock_timeout");
    }
  }

  /** Columns later versions added, created on ledgers made before them. */
  private static final String[][] ADDED_COLUMNS = {
      {"migrations_planned", "jsonb NOT NULL DEFAULT '[]'"},
      {"tags_moved", "jsonb NOT NULL DEFAULT '[]'"},
      {"run_number", "bigint"},
      {"run_scope", "text"},
      {"ancestry", "jsonb NOT NULL DEFAULT '[]'"},
      {"row_locked", "boolean NOT NULL DEFAULT false"},
      {"rollout_deployment", "text"},
      {"rollout_outcome", "text"},
      {"tags_reverted", "jsonb NOT NULL DEFAULT '[]'"},
      {"hooks", "jsonb NOT NULL DEFAULT '[]'"},
      {"kind", "text NOT NULL DEFAULT 'release'"},
      {"rollout_revert", "jsonb"},
      {"migrator", "text"},
      {"migration_set", "text"}};

  static boolean exists(Connection c, String sql, String... values) {
    try (PreparedStatement s = c.prepareStatement(sql)) {
      for (int i = 0; i < values.length; i++) {
        s.setString(i + 1, values[i]);
      }
      try (ResultSet rs = s.executeQuery()) {
        return rs.next();
      }
    } catch (SQLException e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot prepare the release ledger: " + e.getMessage(), e);
    }
  }

  private static void execute(Connection c, String sql) {
    try (Statement s = c.createStatement()) {
      s.execute(sql);
    } catch (SQLException e) {
      if ("23505".equals(e.getSQLState()) || "42P07".equals(e.getSQLState())) {
        return; // created by a concurrent release between its check and ours
      }
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot prepare the release ledger: " + e.getMessage(), e);
    }
  }
}
