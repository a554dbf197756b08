package dev.closedloop.deploy.internal.lint;

import dev.closedloop.deploy.CheckLevel;
import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.MigrationSet;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.lint.Finding;
import dev.closedloop.deploy.lint.LintSettings;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The migration lint as a release and a plan run it: the pending migrations' files, read against
 * the schema production has now.
 */
public final class MigrationLint {

  private MigrationLint() { }

  /**
   * What the rules find in the migrations of {@code set} named by {@code pending}, in order.
   *
   * @param schema what production has now ({@link #schema})
   * @return empty when the lint is off or the migrations run from the image (their files are not here)
   * @throws DeployException of kind MIGRATION when a pending file cannot be read or lexed
   */
  public static List<Finding> findings(ReleaseConfig config, MigrationSet set, List<String> pending, Schema schema) {
    if (skipped(config)) {
      return List.of();
    }
    return findings(config.testMigrate().migrations(), config.testMigrate().lint(), set, pending, schema, "production");
  }

  /**
   * What the rules set in {@code settings} find in the migrations of {@code set} named by
   * {@code pending}, read from {@code migrations}, against {@code holder}'s schema.
   */
  public static List<Finding> findings(Migrations migrations, LintSettings settings, MigrationSet set,
      List<String> pending, Schema schema, String holder) {
    if (pending.isEmpty()) {
      return List.of();
    }
    Map<String, MigrationSet.Migration> byLabel = set.migrations().stream()
        .collect(Collectors.toMap(MigrationSet.Migration::label, Function.identity(), (a, b) -> a));
    List<Linter.Script> scripts = new ArrayList<>();
    for (String label : pending) {
      MigrationSet.Migration migration = byLabel.get(label);
      String sql = migration == null ? null : migrations.read(migration.script()).orElse(null);
      if (sql == null) {
        throw new DeployException(DeployException.Kind.MIGRATION, "Cannot read " + label + " (" + (migration == null
            ? "not in the tested set" : migration.script()) + ") for the migration lint; set deploy.lint=off to"
            + " migrate without it");
      }
      scripts.add(new Linter.Script(label, sql, migrations.isGoose()));
    }
    try {
      return Linter.lint(scripts, schema, settings, holder);
    } catch (IllegalArgumentException e) {
      throw new DeployException(DeployException.Kind.MIGRATION, "The migration lint cannot read " + e.getMessage(), e);
    }
  }

  /**
   * The schema production has, read-only.
   *
   * @throws DeployException of kind DATABASE when its catalog cannot be read
   */
  public static Schema schema(DatabaseTarget production) {
    try (Connection connection = production.connect()) {
      return Schema.read(connection);
    } catch (SQLException e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot read production's catalog for the migration"
          + " lint: " + e.getMessage(), e);
    }
  }

  /** True when the lint reads nothing in this configuration. */
  public static boolean skipped(ReleaseConfig config) {
    return config.testMigrate().lint().off() || config.testMigrate().migrations().runFromImage();
  }

  /** The refusal for findings at level fail; null when there are none. */
  public static DeployException refusal(List<Finding> findings) {
    List<Finding> failing = findings.stream().filter(f -> f.level() == CheckLevel.FAIL).toList();
    if (failing.isEmpty()) {
      return null;
    }
    Finding first = failing.get(0);
    return new DeployException(DeployException.Kind.GUARD, "Refusing to migrate production: the migration lint"
        + " found " + (failing.size() == 1 ? "1 statement" : failing.size() + " statements") + " at level fail, first "
        + first + ". Nothing was applied. Make the migration safe, or allow that one statement with a comment"
        + " '-- closedloop:allow " + first.rule().id() + "', or set deploy.lintRules=" + first.rule().id() + "=warn");
  }
}
