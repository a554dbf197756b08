package dev.closedloop.deploy.internal.lint;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * What the database the migrations will run on already has, from its own catalog: the tables
 * (with the planner's row estimate) and indexes that earlier migrations built, and which
 * functions it calls volatile. A statement on a table that is here is one a running service
 * feels; one on a table an earlier pending statement created is not.
 *
 * @param tables qualified names ({@code public.orders}) to their size
 * @param indexes qualified index names
 * @param volatileFunctions names of functions whose result changes per row (a default calling one rewrites the table)
 * @param defaultSchema where an unqualified name is looked for: the migration role's {@code current_schema()}
 * @param functions the names of every function the database has (built-in ones too); empty when not read, and
 *     then a function not in {@code volatileFunctions} is taken as not volatile
 */
public record Schema(Map<String, Table> tables, Set<String> indexes, Set<String> volatileFunctions,
    String defaultSchema, Set<String> functions) {

  /**
   * How big a table is: the planner's row estimate ({@code -1} when it was never analysed) and
   * the bytes its heap takes now (known even then).
   */
  public record Table(long rows, long bytes) {

    /** A table of {@code rows} rows, analysed, of about 100 bytes a row. */
    public static Table rows(long rows) {
      return new Table(rows, rows * 100);
    }
  }

  /** Volatile functions a default commonly calls, for when the database's own list is not at hand. */
  static final Set<String> KNOWN_VOLATILE = Set.of("random", "clock_timestamp", "timeofday", "gen_random_uuid",
      "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4", "nextval", "txid_current", "uuidv7", "uuidv4");

  public Schema {
    tables = Map.copyOf(tables);
    indexes = Set.copyOf(indexes);
    volatileFunctions = Set.copyOf(volatileFunctions);
    functions = Set.copyOf(functions);
  }

  public Schema(Map<String, Table> tables, Set<String> indexes, Set<String> volatileFunctions, String defaultSchema) {
    this(tables, indexes, volatileFunctions, defaultSchema, Set.of());
  }

  /** A database without tables: every table the migrations touch is new. */
  public static Schema empty() {
    return new Schema(Map.of(), Set.of(), KNOWN_VOLATILE, "public");
  }

  /** Reads the catalog of the database {@code connection} is on; reads only. */
  public static Schema read(Connection connection) throws SQLException {
    Map<String, Table> tables = new HashMap<>();
    Set<String> indexes = new HashSet<>();
    Set<String> volatileFunctions = new HashSet<>(KNOWN_VOLATILE);
    Set<String> functions = new HashSet<>();
    try (Statement statement = connection.createStatement()) {
      statement.execute("SET lock_timeout = '5s'"); // it reads under the release lock: never wait long
      statement.execute("SET statement_timeout = '60s'");
      try (ResultSet rs = statement.executeQuery("SELECT n.nspname, c.relname, c.relkind, c.reltuples::bigint,"
          + " pg_catalog.pg_relation_size(c.oid)"
          + " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
          + " WHERE c.relkind IN ('r', 'p', 'm', 'i', 'I') AND n.nspname <> 'information_schema'"
          + " AND n.nspname NOT LIKE 'pg\\_%'")) {
        while (rs.next()) {
          String name = rs.getString(1) + "." + rs.getString(2);
          String kind = rs.getString(3);
          if (kind.equals("i") || kind.equals("I")) {
            indexes.add(name);
          } else {
            tables.put(name, new Table(rs.getLong(4), rs.getLong(5)));
          }
        }
      }
      try (ResultSet rs = statement.executeQuery("SELECT proname, bool_or(provolatile = 'v')"
          + " FROM pg_catalog.pg_proc GROUP BY proname")) {
        while (rs.next()) {
          functions.add(rs.getString(1));
          if (rs.getBoolean(2)) {
            volatileFunctions.add(rs.getString(1));
          }
        }
      }
    }
    String defaultSchema = "public";
    try (Statement statement = connection.createStatement();
         ResultSet rs = statement.executeQuery("SELECT coalesce(current_schema(), 'public')")) {
      if (rs.next()) {
        defaultSchema = rs.getString(1);
      }
    }
    return new Schema(tables, indexes, volatileFunctions, defaultSchema, functions);
  }
}
