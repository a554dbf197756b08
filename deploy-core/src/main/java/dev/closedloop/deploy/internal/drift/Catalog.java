package dev.closedloop.deploy.internal.drift;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A database's schema as its own catalog describes it, object by object: tables, views, columns
 * (type, nullability, default, identity, generation), indexes, constraints, enums, functions,
 * triggers and extensions, each keyed by kind and name ({@code column customers.email}) with
 * what it is as PostgreSQL prints it. Objects of extensions, partitions (made at run time), the
 * system schemas and the bookkeeping tables named at {@link #read} are left out: they say
 * nothing about the migrations.
 *
 * @param objects key ({@code kind name}) to definition, sorted
 */
public record Catalog(Map<String, String> objects) {

  /**
   * The kinds whose definitions may hold what nobody registered as a secret (bodies; a trigger's
   * arguments, where webhooks keep their API keys): a difference is named, not printed.
   */
  static final Set<String> UNSHOWN = Set.of("view", "materialized", "function", "trigger");

  public Catalog {
    objects = Map.copyOf(objects);
  }

  /** Schemas never compared: PostgreSQL's own. */
  private static final String USER_SCHEMA = "n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'";

  /**
   * Reads the catalog of the database {@code connection} is on. Reads only.
   *
   * @param ignored tables left out with everything on them, as {@code schema.table} (the
   *     ledger, the migration tool's history) or {@code *.table} in any schema, and whole schemas
   *     as {@code schema.*}
   * @param production true for production: waits for locks and statements are bounded (on this
   *     connection from now on); false for a throwaway database being migrated, whose later
   *     migrations must not inherit those bounds
   */
  public static Catalog read(Connection connection, Set<String> ignored, boolean production) throws SQLException {
    Map<String, String> objects = new TreeMap<>();
    // the tables an object belongs to (alias c): not an extension's, not one left out
    String ofTables = notExtension("c.oid", "pg_class") + " AND " + notIgnored(ignored).replace("%t", "c.relname");
    try (Statement s = connection.createStatement()) {
      if (production) { // a catalog function waits for a lock on what it reads: never long, never behind a migration
        s.execute("SET lock_timeout = '5s'");
        s.execute("SET statement_timeout = '60s'");
      }
      query(s, "SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' ELSE 'table' END,"
          + " n.nspname, c.relname, CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) ELSE"
          + " '' END FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
          + " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition AND " + USER_SCHEMA + " AND "
          + ofTables, rs -> objects.put(rs.getString(1) + " "
          + name(rs.getString(2), rs.getString(3)), normalize(rs.getString(4))));
      query(s, "SELECT n.nspname, c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),"
          + " a.attnotnull, pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated"
          + " FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
          + " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
          + " LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
          + " WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'f') AND NOT c.relispartition AND "
          + USER_SCHEMA
          + " AND " + ofTables, rs -> {
            String identity = rs.getString(7);
            String generated = rs.getString(8);
            String expression = rs.getString(6);
            String what = rs.getString(4) + (rs.getBoolean(5) ? " not null" : "")
                + (identity != null && !identity.isEmpty() ? " generated " + (identity.equals("a") ? "always"
                    : "by default") + " as identity"
                    : generated != null && !generated.isEmpty() ? " generated always as (" + expression + ") stored"
                    : expression != null ? " default " + expression : "");
            objects.put("column " + name(rs.getString(1), rs.getString(2)) + "." + rs.getString(3), what);
          });
      query(s, "SELECT n.nspname, i.relname, pg_catalog.pg_get_indexdef(i.oid) FROM pg_catalog.pg_index x"
          + " JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid JOIN pg_catalog.pg_class c ON c.oid = x.indrelid"
          + " JOIN pg_catalog.pg_namespace n ON n.oid = i.relnamespace WHERE NOT c.relispartition AND " + USER_SCHEMA
          + " AND " + ofTables,
          rs -> objects.put("index " + name(rs.getString(1), rs.getString(2)), rs.getString(3)));
      query(s, "SELECT n.nspname, c.relname, k.conname, pg_catalog.pg_get_constraintdef(k.oid)"
          + " FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid"
          + " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE k.contype <> 'n' AND NOT c.relispartition"
          + " AND " + USER_SCHEMA
          + " AND " + ofTables,
          rs -> objects.put("constraint " + rs.getString(3) + " on " + name(rs.getString(1), rs.getString(2)),
              rs.getString(4)));
      query(s, "SELECT n.nspname, t.typname, string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder)"
          + " FROM pg_catalog.pg_type t JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid"
          + " JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE " + USER_SCHEMA + " AND "
          + notExtension("t.oid", "pg_type") + " GROUP BY n.nspname, t.typname",
          rs -> objects.put("enum " + name(rs.getString(1), rs.getString(2)), "(" + rs.getString(3) + ")"));
      query(s, "SELECT n.nspname, p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',"
          + " pg_catalog.pg_get_functiondef(p.oid) FROM pg_catalog.pg_proc p"
          + " JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE p.prokind IN ('f', 'p') AND "
          + USER_SCHEMA + " AND " + notExtension("p.oid", "pg_proc"),
          rs -> objects.put("function " + name(rs.getString(1), rs.getString(2)), normalize(rs.getString(3))));
      query(s, "SELECT n.nspname, c.relname, t.tgname, pg_catalog.pg_get_triggerdef(t.oid)"
          + " FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid"
          + " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND NOT c.relispartition"
          + " AND " + USER_SCHEMA
          + " AND " + ofTables,
          rs -> objects.put("trigger " + rs.getString(3) + " on " + name(rs.getString(1), rs.getString(2)),
              rs.getString(4)));
      // present or not: an extension's version follows the server's build, not the migrations
      query(s, "SELECT extname FROM pg_catalog.pg_extension", rs -> objects.put("extension " + rs.getString(1), ""));
    }
    return new Catalog(objects);
  }

  private interface Row {
    void accept(ResultSet rs) throws SQLException;
  }

  private static void query(Statement s, String sql, Row row) throws SQLException {
    try (ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        row.accept(rs);
      }
    }
  }

  private static String notExtension(String oid, String catalog) {
    return "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend dep WHERE dep.classid = 'pg_catalog." + catalog
        + "'::regclass AND dep.objid = " + oid + " AND dep.deptype = 'e')";
  }

  /** A condition on {@code n.nspname} and the table name in {@code %t}; names are SQL literals, quotes doubled. */
  private static String notIgnored(Set<String> ignored) {
    StringBuilder condition = new StringBuilder("true");
    for (String entry : ignored) {
      int dot = entry.indexOf('.');
      String schema = entry.substring(0, dot).replace("'", "''");
      String table = entry.substring(dot + 1).replace("'", "''");
      condition.append(table.equals("*") ? " AND n.nspname <> '" + schema + "'"
          : schema.equals("*") ? " AND %t <> '" + table + "'"
          : " AND NOT (n.nspname = '" + schema + "' AND %t = '" + table + "')");
    }
    return condition.toString();
  }

  /** {@code orders} in the public schema, {@code billing.invoices} elsewhere. */
  private static String name(String schema, String object) {
    return schema.equals("public") ? object : schema + "." + object;
  }

  private static String normalize(String definition) {
    return definition == null ? "" : definition.replaceAll("\\s+", " ").trim();
  }
}
