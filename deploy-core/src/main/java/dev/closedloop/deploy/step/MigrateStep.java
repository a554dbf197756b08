package dev.closedloop.deploy.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.MigrationOutcome;
import dev.closedloop.deploy.database.MigrationSet;
import dev.closedloop.deploy.lint.Finding;
import java.util.List;
import java.util.Locale;

/**
 * Migrates production, past the branch guard and holding the release lock, with exactly the
 * set test-migrate proved in this run: a set whose fingerprint differs is refused before any
 * change.
 */
public final class MigrateStep implements ReleaseStep<MigrationOutcome> {

  @Override
  public Step step() {
    return Step.MIGRATE;
  }

  @Override
  public DeployException.Kind failureKind() {
    return DeployException.Kind.DATABASE;
  }

  @Override
  public MigrationOutcome run(RunContext context) {
    MigrationSet proven = context.testMigration().map(outcome -> outcome.set()).orElseThrow(() ->
        new DeployException(DeployException.Kind.GUARD, "Refusing to migrate production: test-migrate has not"
            + " proved the migrations in this run"));
    ReleaseSession session = context.session();
    if (session.superseded()) {
      return null;
    }
    session.verifyLock();
    MigrationOutcome outcome = context.config().migrations().migrator(context.events(), Step.MIGRATE,
            context::imageRunner)
        .migrate(session.target(), proven.fingerprint(), pending -> {
          lint(context, proven, pending);
          session.verifyLock(); // still ours, right before production changes
          session.record("migrations_planned", pending); // the fact first: production is about to change
          session.advance("migrating", null);
        });
    context.migration(outcome);
    session.record("migrations_applied", outcome.applied().stream().map(a -> a.migration().label()).toList());
    return outcome;
  }

  /** Reports what the lint finds in the migrations about to run; refuses, before any, on a finding at level fail. */
  private static void lint(RunContext context, MigrationSet proven, List<String> pending) {
    if (MigrationLint.skipped(context.config())) {
      return;
    }
    List<Finding> findings = MigrationLint.findings(context.config(), proven, pending,
        MigrationLint.schema(context.session().target().readOnly()));
    context.lint(findings);
    context.events().progress(Step.MIGRATE, "migration lint: " + (findings.isEmpty() ? "nothing found in "
        : findings.size() + (findings.size() == 1 ? " finding in " : " findings in ")) + Summaries.migrations(
        pending.size()) + " pending, against production's schema");
    for (Finding finding : findings) {
      context.events().warn(finding.toString());
    }
    DeployException refused = MigrationLint.refusal(findings);
    if (refused != null) {
      throw refused;
    }
  }

  @Override
  public String summarize(ReleaseConfig config, MigrationOutcome outcome) {
    if (outcome == null) {
      return "superseded by a newer release";
    }
    return outcome.applied().isEmpty()
        ? "production is already at the tested set (" + Summaries.shortFingerprint(outcome.set()) + ")"
        : Summaries.migrations(outcome.applied().size()) + " applied to production in "
            + outcome.duration().toMillis() + " ms";
  }

  @Override
  public String describe(ReleaseConfig config) {
    ReleaseConfig.Guards guards = config.guards();
    List<String> branches = new ProductionGate(config).allowedBranches();
    return "on an allowed branch (" + String.join(", ", branches) + ") and holding the release lock of "
        + guards.lockName() + " (" + guards.lockMode().name().toLowerCase(Locale.ROOT) + " mode), apply the set"
        + " test-migrate proved to " + (config.productionDatabase() != null ? config.productionDatabase().describe()
            : "the production database (deploy.databaseUrl, not set)") + ", recorded in the ledger "
        + config.ledger().table();
  }

  @Override
  public String ledgerStatus() {
    return "migrated";
  }
}
