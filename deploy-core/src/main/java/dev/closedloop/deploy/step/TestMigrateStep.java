package dev.closedloop.deploy.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Events;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.MigrationOutcome;
import dev.closedloop.deploy.database.Migrator;

/**
 * Proves the migrations: applies every one to a throwaway database, records the set and its
 * fingerprint, and removes the database, also when a migration fails or the run is stopped.
 * Never connects to production.
 */
public final class TestMigrateStep implements ReleaseStep<MigrationOutcome> {

  @Override
  public Step step() {
    return Step.TEST_MIGRATE;
  }

  @Override
  public DeployException.Kind failureKind() {
    return DeployException.Kind.DATABASE;
  }

  @Override
  public MigrationOutcome run(RunContext context) {
    ReleaseConfig config = context.config();
    Migrator migrator = config.migrations().migrator(context.events(), Step.TEST_MIGRATE, context::imageRunner);
    migrator.validate();
    EphemeralDatabase throwaway = config.testDatabase();
    context.events().progress(Step.TEST_MIGRATE, "starting " + throwaway.describe());
    try (EphemeralDatabase.Instance database = throwaway.start(context.events());
        RunContext.Registration stopping = context.onStop(database::close)) {
      MigrationOutcome outcome = migrator.migrate(database.target(), null);
      context.testMigration(outcome);
      return outcome;
    }
  }

  @Override
  public String summarize(ReleaseConfig config, MigrationOutcome outcome) {
    return Summaries.migrations(outcome.applied().size()) + " applied on " + config.testDatabase().describe() + " in "
        + outcome.duration().toMillis() + " ms, set " + Summaries.shortFingerprint(outcome.set());
  }

  @Override
  public String describe(ReleaseConfig config) {
    return "apply " + config.migrations().migrator(Events.none(), Step.TEST_MIGRATE).describe()
        + " to a fresh " + config.testDatabase().describe() + ", record the set's fingerprint, then remove it";
  }
}
