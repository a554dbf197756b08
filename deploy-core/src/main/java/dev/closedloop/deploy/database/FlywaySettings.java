package dev.closedloop.deploy.database;

import dev.closedloop.deploy.DeployException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The Flyway settings a team already has, kept: placeholders ({@code deploy.placeholders}, and the
 * Flyway Maven plugin's {@code flyway.placeholders.*}), {@code flyway.schemas},
 * {@code flyway.table}, {@code flyway.baselineOnMigrate} and {@code flyway.baselineVersion}.
 * The throwaway database and production get the same ones, so what test-migrate proves is what
 * migrate does. {@code flyway.outOfOrder} is refused: closedloop applies migrations in the order
 * test-migrate proved.
 *
 * @param placeholders {@code ${name}} in a migration is replaced by the value, as Flyway does
 * @param schemas the schemas Flyway manages, the first one holding its history table; empty: the role's
 *     default schema
 * @param table Flyway's history table
 * @param baselineVersion with {@code baselineOnMigrate}, the version a populated database without a
 *     history table is taken to be at; null when not baselining
 */
public record FlywaySettings(Map<String, String> placeholders, List<String> schemas, String table,
    String baselineVersion) {

  public static final String DEFAULT_TABLE = "flyway_schema_history";
  private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,62}");
  private static final Pattern VERSION = Pattern.compile("\\d+(\\.\\d+)*");

  public FlywaySettings {
    placeholders = Map.copyOf(placeholders);
    schemas = List.copyOf(schemas);
    table = table == null || table.isBlank() ? DEFAULT_TABLE : table;
  }

  /** Flyway's own defaults: no placeholders, the role's schema, flyway_schema_history, no baseline. */
  public static FlywaySettings defaults() {
    return new FlywaySettings(Map.of(), List.of(), DEFAULT_TABLE, null);
  }

  /** True when a populated database without a history table is baselined rather than refused. */
  public boolean baselineOnMigrate() {
    return baselineVersion != null;
  }

  /** The history table, qualified: {@code *.} when it is in whichever schema the role uses. */
  public String historyTable() {
    return (schemas.isEmpty() ? "*" : schemas.get(0)) + "." + table;
  }

  /**
   * The settings as written in the POM or on the command line.
   *
   * @param placeholders {@code NAME=value} entries ({@code deploy.placeholders})
   * @param flywayProperties the {@code flyway.*} properties the project and the command line set, by full name
   * @throws DeployException of kind CONFIGURATION naming every bad setting
   */
  public static FlywaySettings parse(List<String> placeholders, Map<String, String> flywayProperties) {
    List<String> problems = new ArrayList<>();
    Map<String, String> values = new LinkedHashMap<>();
    flywayProperties.forEach((name, value) -> {
      if (name.startsWith("flyway.placeholders.") && name.length() > "flyway.placeholders.".length()) {
        values.put(name.substring("flyway.placeholders.".length()), value);
      }
    });
    for (String entry : placeholders) {
      int equals = entry == null ? -1 : entry.indexOf('=');
      if (equals <= 0) {
        problems.add("placeholders (deploy.placeholders) takes NAME=value entries; got '" + entry + "'");
        continue;
      }
      values.put(entry.substring(0, equals).trim(), entry.substring(equals + 1));
    }
    List<String> schemas = new ArrayList<>();
    String schemaList = flywayProperties.get("flyway.schemas");
    if (schemaList != null && !schemaList.isBlank()) {
      for (String schema : schemaList.split(",")) {
        if (!NAME.matcher(schema.trim()).matches()) {
          problems.add("flyway.schemas: '" + schema.trim() + "' is not a schema name");
        }
        schemas.add(schema.trim());
      }
    }
    String table = flywayProperties.get("flyway.table");
    if (table != null && !table.isBlank() && !NAME.matcher(table.trim()).matches()) {
      problems.add("flyway.table: '" + table.trim() + "' is not a table name");
    }
    boolean baseline = Boolean.parseBoolean(String.valueOf(flywayProperties.get("flyway.baselineOnMigrate")).trim());
    String baselineVersion = flywayProperties.get("flyway.baselineVersion");
    if (baselineVersion != null && !baselineVersion.isBlank() && !VERSION.matcher(baselineVersion.trim()).matches()) {
      problems.add("flyway.baselineVersion: '" + baselineVersion.trim() + "' is not a version such as 1 or 2.1");
    }
    if (Boolean.parseBoolean(String.valueOf(flywayProperties.get("flyway.outOfOrder")).trim())) {
      problems.add("flyway.outOfOrder is refused: closedloop applies migrations in the order test-migrate proved on"
          + " a throwaway database, and out of order an older migration would run after newer ones on production"
          + " only. Renumber it after the newest applied version");
    }
    if (!problems.isEmpty()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, String.join("; ", problems));
    }
    return new FlywaySettings(values, schemas, table == null ? null : table.trim(), !baseline ? null
        : baselineVersion == null || baselineVersion.isBlank() ? "1" : baselineVersion.trim());
  }

  /** The flyway.* properties {@link #parse} reads; every other one is named by {@link #unread}. */
  private static final java.util.Set<String> READ = java.util.Set.of("flyway.schemas", "flyway.table",
      "flyway.baselineOnMigrate", "flyway.baselineVersion", "flyway.outOfOrder");

  /**
   * The {@code flyway.*} properties set that closedloop does not apply (such as
   * {@code flyway.defaultSchema}, {@code flyway.createSchemas}, or {@code flyway.url}: production is
   * {@code deploy.databaseUrl}), sorted, for a warning: a setting silently dropped would make
   * test-migrate prove something other than what the team's Flyway runs.
   */
  public static List<String> unread(Map<String, String> flywayProperties) {
    return flywayProperties.keySet().stream()
        .filter(name -> name.startsWith("flyway.") && !READ.contains(name) && !name.startsWith("flyway.placeholders."))
        .sorted().toList();
  }
}
