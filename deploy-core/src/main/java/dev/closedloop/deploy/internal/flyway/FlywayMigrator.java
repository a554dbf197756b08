package dev.closedloop.deploy.internal.flyway;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.AppliedMigration;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.MigrationOutcome;
import dev.closedloop.deploy.database.MigrationSet;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.database.Migrator;
import dev.closedloop.deploy.internal.Events;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.CoreErrorCode;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.MigrationInfoService;
import org.flywaydb.core.api.callback.Callback;
import org.flywaydb.core.api.callback.Context;
import org.flywaydb.core.api.callback.Event;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.flywaydb.core.api.output.MigrateOutput;
import org.flywaydb.core.api.output.MigrateResult;
import org.flywaydb.core.api.output.ValidateResult;
import org.flywaydb.core.internal.sqlscript.FlywaySqlScriptException;
import org.flywaydb.database.postgresql.PostgreSQLConfigurationExtension;

/**
 * Applies Flyway migrations: validate first, then migrate, one progress line per migration.
 * Flyway's types stay in this package; callers see only {@link Migrator}.
 */
public final class FlywayMigrator implements Migrator {

  private final Migrations migrations;
  private final Events events;
  private final Step step;

  public FlywayMigrator(Migrations migrations, Events events, Step step) {
    this.migrations = migrations;
    this.events = events;
    this.step = step;
  }

  @Override
  public void validate() {
    migrations.validate();
  }

  @Override
  public String describe() {
    return "Flyway migrations in " + migrations;
  }

  /** Flyway resolves its files only with a database at hand: without one, nothing is compared. */
  @Override
  public Inspection inspect(DatabaseTarget target) {
    if (target == null) {
      return new Inspection(null, null);
    }
    try (var logScope = FlywayLogBridge.route(events)) {
      MigrationInfoService info = configure(target).load().info(); // info reads: no schema, table or lock is made
      return new Inspection(resolved(info), labels(info.pending()));
    } catch (FlywayException e) {
      throw failure(e);
    }
  }

  private static List<String> labels(MigrationInfo[] migrations) {
    List<String> labels = new ArrayList<>();
    for (MigrationInfo migration : migrations) {
      labels.add((migration.getVersion() != null ? "V" + migration.getVersion().getVersion() : "R") + " "
          + migration.getDescription());
    }
    return labels;
  }

  /**
   * Refuses before changing anything when the files found now are not the set with
   * {@code expectedFingerprint} (the set test-migrate proved).
   */
  @Override
  public MigrationOutcome migrate(DatabaseTarget target, String expectedFingerprint,
      Consumer<List<String>> beforeApplying) {
    return migrate(configure(target).load(), expectedFingerprint, beforeApplying);
  }

  /**
   * One run: Flyway applies the versioned migrations in order and the repeatable ones after all
   * of them, so right after {@code version} is applied the database is what production's
   * migrations build; a callback reads it there, on the migration's own connection.
   */
  @Override
  public MigrationOutcome migrateThrough(DatabaseTarget target, String version, AtVersion atVersion) {
    java.util.concurrent.atomic.AtomicBoolean read = new java.util.concurrent.atomic.AtomicBoolean();
    Callback snapshot = new Callback() {
      @Override
      public boolean supports(Event event, Context context) {
        return event == Event.AFTER_EACH_MIGRATE && context.getMigrationInfo() != null
            && context.getMigrationInfo().getVersion() != null
            && version.equals(context.getMigrationInfo().getVersion().getVersion());
      }

      @Override
      public boolean canHandleInTransaction(Event event, Context context) {
        return true;
      }

      @Override
      public void handle(Event event, Context context) {
        try {
          atVersion.read(context.getConnection());
          read.set(true);
        } catch (SQLException e) {
          throw new FlywayException("Cannot read the throwaway database at version " + version + ": "
              + e.getMessage(), e);
        }
      }

      @Override
      public String getCallbackName() {
        return "closedloop-read-at-version";
      }
    };
    MigrationOutcome outcome = migrate(configure(target).callbacks(new AbortWhenClientDies(), snapshot).load(), null,
        pending -> { });
    if (!read.get()) { // version was applied before this run (never on a fresh throwaway database): read it now
      try (java.sql.Connection c = target.connect()) {
        atVersion.read(c);
      } catch (SQLException e) {
        throw new DeployException(DeployException.Kind.DATABASE, "Cannot read the throwaway database: "
            + e.getMessage(), e);
      }
    }
    return outcome;
  }

  /**
   * One Flyway run without the info read before it (the run that follows reads the set): the
   * migrations applied are named by version and description, without checksums. Repeatable
   * migrations are left out: Flyway's target would apply their new text before the versioned
   * migrations it may need, and the run that follows applies them after those.
   */
  @Override
  public MigrationOutcome migrateUpTo(DatabaseTarget target, String version) {
    Flyway flyway = configure(target).target(version).repeatableSqlMigrationPrefix("closedloop-no-repeatables-")
        .validateMigrationNaming(false).load();
    try (var logScope = FlywayLogBridge.route(events)) {
      long start = System.nanoTime();
      MigrateResult result = flyway.migrate();
      Duration total = Duration.ofNanos(System.nanoTime() - start);
      MigrationSet none = MigrationSet.of(List.of());
      List<AppliedMigration> applied = new ArrayList<>();
      for (MigrateOutput output : result.migrations) {
        MigrationSet.Migration migration = find(none, output);
        applied.add(new AppliedMigration(migration, Duration.ofMillis(output.executionTime)));
        events.progress(step, "applied " + migration.label() + " (" + output.executionTime + " ms)");
      }
      return new MigrationOutcome(none, applied, total);
    } catch (FlywayException e) {
      throw failure(e);
    }
  }

  private MigrationOutcome migrate(Flyway flyway, String expectedFingerprint, Consumer<List<String>> beforeApplying) {
    try (var logScope = FlywayLogBridge.route(events)) {
      MigrationInfoService info = flyway.info();
      MigrationSet set = resolved(info);
      if (set.migrations().isEmpty()) {
        throw new DeployException(DeployException.Kind.CONFIGURATION,
            "No migrations found in " + migrations + " (deploy.migrations): add V<version>__<name>.sql"
                + " files there, or point deploy.migrations at them");
      }
      // a fresh database has no history to disagree with, nor has a throwaway one this run brought to a version
      if (info.applied().length > 0 && expectedFingerprint != null) {
        validateAgainst(flyway); // first: its message is the precise one when production's history disagrees
      }
      set.requireProven(expectedFingerprint, migrations);
      List<String> pending = labels(info.pending());
      if (!pending.isEmpty()) {
        beforeApplying.accept(pending);
      }
      long start = System.nanoTime();
      MigrateResult result = flyway.migrate();
      Duration total = Duration.ofNanos(System.nanoTime() - start);
      List<AppliedMigration> applied = new ArrayList<>();
      for (MigrateOutput output : result.migrations) {
        MigrationSet.Migration migration = find(set, output);
        Duration took = Duration.ofMillis(output.executionTime);
        applied.add(new AppliedMigration(migration, took));
        events.progress(step, "applied " + migration.label() + " (" + took.toMillis() + " ms)");
      }
      return new MigrationOutcome(set, applied, total);
    } catch (FlywayException e) {
      throw failure(e);
    }
  }

  private FluentConfiguration configure(DatabaseTarget target) {
    FluentConfiguration configuration = Flyway.configure(migrations.classLoader())
        .dataSource(new TargetDataSource(target))
        .locations(migrations.locations().toArray(String[]::new))
        .validateMigrationNaming(true)
        .cleanDisabled(true)
        // the team's own Flyway settings, the same on the throwaway database and on production
        .placeholders(migrations.flyway().placeholders())
        .table(migrations.flyway().table())
        .baselineOnMigrate(migrations.flyway().baselineOnMigrate())
        .callbacks(new AbortWhenClientDies())
        .loggers(FlywayLogBridge.class.getName());
    // Flyway's default lock lives in an open transaction, which CREATE INDEX CONCURRENTLY (and
    // every non-transactional migration) waits on forever. Releases are already one at a time
    // under the release lock, so Flyway's lock can be a session lock.
    configuration.getConfigurationExtension(PostgreSQLConfigurationExtension.class).setTransactionalLock(false);
    if (!migrations.flyway().schemas().isEmpty()) {
      configuration.schemas(migrations.flyway().schemas().toArray(String[]::new));
    }
    if (migrations.flyway().baselineOnMigrate()) {
      configuration.baselineVersion(migrations.flyway().baselineVersion());
    }
    return configuration;
  }

  /** Flyway's replacement for the deprecated {@code initSql}: runs on every connection it opens. */
  private static final class AbortWhenClientDies implements Callback {
    @Override
    public boolean supports(Event event, Context context) {
      return event == Event.AFTER_CONNECT;
    }

    @Override
    public boolean canHandleInTransaction(Event event, Context context) {
      return true;
    }

    @Override
    public void handle(Event event, Context context) {
      try (Statement s = context.getConnection().createStatement()) {
        s.execute(Migrations.ABORT_WHEN_CLIENT_DIES);
      } catch (SQLException e) {
        throw new FlywayException("Cannot set client_connection_check_interval: " + e.getMessage(), e);
      }
    }

    @Override
    public String getCallbackName() {
      return "closedloop-abort-when-client-dies";
    }
  }

  private void validateAgainst(Flyway flyway) {
    ValidateResult validation = Flyway.configure(migrations.classLoader())
        .configuration(flyway.getConfiguration())
        .ignoreMigrationPatterns("*:pending")
        .load()
        .validateWithResult();
    if (!validation.validationSuccessful) {
      String details = validation.invalidMigrations.isEmpty() ? validation.getAllErrorMessages()
          : validation.invalidMigrations.get(0).filepath + ": " + validation.invalidMigrations.get(0).errorDetails.errorMessage;
      String fix = details.contains("checksum mismatch") ? ". closedloop runs no repair: put the applied file back as"
          + " it was, and make the change in a new migration" : "";
      throw new DeployException(DeployException.Kind.MIGRATION,
          "Migrations in " + migrations + " do not validate: " + oneLine(details) + fix);
    }
  }

  /**
   * The migration files as found now, whatever the database has applied: the same set on a
   * fresh database and on production, so their fingerprints compare.
   */
  private static MigrationSet resolved(MigrationInfoService info) {
    java.util.Set<MigrationSet.Migration> files = new java.util.LinkedHashSet<>();
    // In the order the files define, not the order they were applied in: on a database where a
    // repeatable ran before a newer versioned file arrived, Flyway lists that file after it.
    List<MigrationInfo> migrations = new ArrayList<>(List.of(info.all()));
    migrations.sort(java.util.Comparator
        .comparing((MigrationInfo m) -> m.getVersion() == null)
        .thenComparing(MigrationInfo::getVersion, java.util.Comparator.nullsLast(java.util.Comparator.naturalOrder()))
        .thenComparing(MigrationInfo::getDescription));
    for (MigrationInfo migration : migrations) {
      if (migration.getResolvedChecksum() == null || migration.getScript() == null) {
        continue; // applied rows with no file here, schema markers, baselines
      }
      files.add(new MigrationSet.Migration(
          migration.getVersion() != null ? migration.getVersion().getVersion() : null,
          migration.getResolvedDescription() != null ? migration.getResolvedDescription() : migration.getDescription(),
          migration.getScript(),
          migration.getResolvedChecksum()));
    }
    return MigrationSet.of(new ArrayList<>(files));
  }

  private static MigrationSet.Migration find(MigrationSet set, MigrateOutput output) {
    for (MigrationSet.Migration m : set.migrations()) {
      boolean sameVersion = output.version == null || output.version.isEmpty()
          ? m.version() == null : output.version.equals(m.version());
      if (sameVersion && m.description().equals(output.description)) {
        return m;
      }
    }
    return new MigrationSet.Migration(output.version == null || output.version.isEmpty() ? null : output.version,
        output.description, output.filepath, null);
  }

  private DeployException failure(FlywayException e) {
    FlywaySqlScriptException script = null;
    SQLException sql = null;
    boolean duplicateVersion = false;
    for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
      if (t instanceof FlywayException f && f.getErrorCode() == CoreErrorCode.DUPLICATE_VERSIONED_MIGRATION) {
        duplicateVersion = true;
      }
      if (t instanceof FlywaySqlScriptException s && script == null) {
        script = s;
      }
      if (t instanceof SQLException s && sql == null) {
        sql = s;
      }
    }
    if (script != null) {
      String file = script.getResource() != null ? script.getResource().getFilename() : "a migration";
      String statement = Migrator.quote(script.getStatement() != null ? oneLine(script.getStatement()) : "");
      String message = sql != null ? oneLine(sql.getMessage()) : oneLine(e.getMessage());
      return new DeployException(DeployException.Kind.MIGRATION,
          "Migration " + file + " failed at line " + script.getLineNumber() + ": " + message
              + (statement.isEmpty() ? "" : " — in statement: " + statement), e);
    }
    String message = oneLine(e.getMessage());
    if (duplicateVersion) {
      message += ": give each file a version of its own (rename one, e.g. to the next free version)";
    }
    return new DeployException(DeployException.Kind.MIGRATION, "Migrating with " + migrations + " failed: " + message,
        e);
  }

  private static String oneLine(String text) {
    if (text == null) {
      return "";
    }
    // Flyway's messages carry a banner of dashes and labelled lines; keep the words.
    return text.replaceAll("-{3,}", " ").replaceAll("\\s+", " ").trim();
  }
}
