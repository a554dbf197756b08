package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.MigrationOutcome;
import dev.closedloop.deploy.database.Migrator;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.drift.DriftCheck;
import java.util.ArrayList;
import java.util.List;

/**
 * Proves the migrations: applies every one to a throwaway database, records the set and its
 * fingerprint, and removes the database, also when a migration fails or the run is stopped.
 * When production can be read, first brings the throwaway database to production's version and
 * compares the two schemas ({@link DriftCheck}); production is only read.
 */
public final class TestMigrateStep implements ReleaseStep<MigrationOutcome> {

  /** The migrations proven on the throwaway database: the set migrate may apply to production. */
  public static final RunState.Key<MigrationOutcome> PROVEN = new RunState.Key<>("proven");

  @Override
  public Step step() {
    return Step.TEST_MIGRATE;
  }

  @Override
  public RunState.Key<MigrationOutcome> result() {
    return PROVEN;
  }

  @Override
  public DeployException.Kind failureKind() {
    return DeployException.Kind.DATABASE;
  }

  @Override
  public List<String> missingSettings(ReleaseConfig config) {
    List<String> missing = new ArrayList<>();
    if (config.testMigrate().migrations() == null) {
      missing.add("migrations (deploy.migrations)");
    } else if (config.testMigrate().migrations().runFromImage()) { // run from <image>:<sha>
      missing.addAll(RequiredSettings.imageAndSha(config));
    }
    if (config.testMigrate().testDatabase() == null) {
      missing.add("testDatabase (deploy.testDatabaseUrl, or the embedded default)");
    }
    return missing;
  }

  @Override
  public MigrationOutcome run(RunContext context) {
    ReleaseConfig config = context.config();
    Migrator migrator = context.migrator(Step.TEST_MIGRATE);
    migrator.validate();
    DriftCheck drift = new DriftCheck(config, context.events(), Step.TEST_MIGRATE);
    if (config.testMigrate().driftCheck() != dev.closedloop.deploy.CheckLevel.OFF && config.production().database() == null) {
      // never silent: a team that set deploy.driftCheck=fail must see why nothing was compared
      context.events().progress(Step.TEST_MIGRATE, "drift check: not run, no production database here (deploy.databaseUrl;"
          + " deploy:test-migrate alone resolves none of production's settings): deploy:plan and deploy:release compare");
    }
    ProductionView production = ProductionView.read(config, context.events(), Step.TEST_MIGRATE, migrator,
        drift.notPossible() == null ? drift : null);
    try {
      EphemeralDatabase throwaway = production == null ? config.testMigrate().testDatabase()
          : config.testMigrate().testDatabase().matching(production.major());
      context.events().progress(Step.TEST_MIGRATE, "starting " + throwaway.describe());
      try (EphemeralDatabase.Instance database = throwaway.start(context.events());
          RunContext.Registration stopping = context.onStop(database::close)) {
        DriftCheck.Result checked = null;
        if (production != null) {
          production.throwawayStarted();
          production.compareWith(database.target(), throwaway.describe(), context.events());
          ProductionView.Applied applied = production.applied(drift);
          checked = applied != null ? drift.prove(applied, migrator, database.target()) : null;
          production.done(); // production is not read after this
        }
        MigrationOutcome outcome = checked != null ? checked.upTo() : migrator.migrate(database.target(), null);
        if (checked != null) {
          drift.report(checked);
        }
        CompatibilityCheck.run(context, database.target());
        return outcome;
      }
    } finally {
      if (production != null) {
        production.done();
      }
    }
  }

  @Override
  public String summarize(ReleaseConfig config, MigrationOutcome outcome) {
    return Summaries.migrations(outcome.applied().size()) + " applied on " + config.testMigrate().testDatabase().describe() + " in "
        + outcome.duration().toMillis() + " ms, set " + Summaries.shortFingerprint(outcome.set());
  }

  @Override
  public String describe(ReleaseConfig config) {
    String drift = new DriftCheck(config, Events.none(), Step.TEST_MIGRATE).notPossible();
    return "apply " + config.testMigrate().migrations().migrator(Events.none(), Step.TEST_MIGRATE).describe()
        + " to a fresh " + config.testMigrate().testDatabase().describe() + (drift == null ? ", first up to production's version"
        + " to compare the schemas (drift check, " + config.testMigrate().driftCheck() + ")" : "")
        + (config.testMigrate().compatibility() == null ? "" : ", " + config.testMigrate().compatibility().describe() + " from the image "
            + (config.registry().promoteTags().isEmpty() ? "production runs" : config.registry().promoteTags().get(0) + " names")
            + " against it (compatibility check)")
        + ", record the set's fingerprint, then remove it";
  }

  /**
   * The plan's migrations section: the set, and which of it production has yet to apply.
   *
   * @param inspection the set as production (or a throwaway database) shows it; its set is null when only the
   *     image knows it, its pending list null when production was not read
   */
  static dev.closedloop.deploy.report.PlanMigrations planMigrations(Migrator migrator, Migrator.Inspection inspection) {
    dev.closedloop.deploy.database.MigrationSet set = inspection.set();
    if (set == null) {
      return new dev.closedloop.deploy.report.PlanMigrations(migrator.describe(), null, null, null);
    }
    java.util.Set<String> pending = inspection.pending() == null ? null : new java.util.HashSet<>(inspection.pending());
    List<dev.closedloop.deploy.report.PlanMigrations.Migration> list = set.migrations().stream()
        .map(migration -> new dev.closedloop.deploy.report.PlanMigrations.Migration(migration.label(),
            migration.version(), migration.description(), pending == null ? null : pending.contains(migration.label())))
        .toList();
    return new dev.closedloop.deploy.report.PlanMigrations(migrator.describe(), set.fingerprint(), list,
        pending == null ? null : inspection.pending().size());
  }

  /**
   * The plan's drift section from the check the planner made; a difference stops the release when
   * {@code deploy.driftCheck} is fail. A view's, function's or trigger's body is never shown.
   *
   * @param result null when production could not be read
   */
  static dev.closedloop.deploy.report.PlanDrift planDrift(ReleaseConfig config,
      dev.closedloop.deploy.secret.Redactor redactor, DriftCheck check, DriftCheck.Result result, PlanNotes notes) {
    if (result == null) {
      return dev.closedloop.deploy.report.PlanDrift.notMade("production could not be read");
    }
    if (result.differences() == null) {
      return dev.closedloop.deploy.report.PlanDrift.notMade("production's catalog could not be read");
    }
    List<dev.closedloop.deploy.report.PlanDrift.Difference> differences = result.differences().stream()
        .map(difference -> new dev.closedloop.deploy.report.PlanDrift.Difference(difference.object(),
            redactor.redact(difference.shown(difference.production())),
            redactor.redact(difference.shown(difference.migrations())), redactor.redact(difference.toString())))
        .toList();
    if (!differences.isEmpty() && config.testMigrate().driftCheck() == dev.closedloop.deploy.CheckLevel.FAIL) {
      notes.blocker(redactor.redact(check.refusal(result).getMessage()));
    }
    return new dev.closedloop.deploy.report.PlanDrift(true, result.version(), differences, result.skipped());
  }
}
