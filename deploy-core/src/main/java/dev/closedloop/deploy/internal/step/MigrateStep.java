package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.MigrationOutcome;
import dev.closedloop.deploy.database.MigrationSet;
import dev.closedloop.deploy.guard.LedgerStatus;
import dev.closedloop.deploy.hook.HookPoint;
import dev.closedloop.deploy.internal.guard.ReleaseLedger;
import dev.closedloop.deploy.internal.lint.MigrationLint;
import dev.closedloop.deploy.lint.Finding;
import dev.closedloop.deploy.secret.Redactor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Migrates production, past the branch guard and holding the release lock, with exactly the
 * set test-migrate proved in this run: a set whose fingerprint differs is refused before any
 * change.
 */
public final class MigrateStep implements ReleaseStep<MigrateStep.Migration> {

  /** What migrate applied to production, and what the lint found in it first. */
  public static final RunState.Key<Migration> APPLIED = new RunState.Key<>("applied");

  /**
   * What migrate did.
   *
   * @param outcome what was applied; null when it failed
   * @param lint what the migration lint found in the pending migrations; null when it did not read them
   * @param failure why migrate failed once the lint had read them (its findings stay in the result); else null
   */
  public record Migration(MigrationOutcome outcome, List<Finding> lint, DeployException failure) { }

  @Override
  public Step step() {
    return Step.MIGRATE;
  }

  @Override
  public RunState.Key<Migration> result() {
    return APPLIED;
  }

  @Override
  public DeployException.Kind failureKind() {
    return DeployException.Kind.DATABASE;
  }

  @Override
  public List<String> missingSettings(ReleaseConfig config) {
    List<String> missing = new ArrayList<>(RequiredSettings.imageAndSha(config)); // the ledger records the digest
    missing.addAll(RequiredSettings.ledger(config));
    return missing;
  }

  @Override
  public HookPoint hookBefore() {
    return HookPoint.PRE_MIGRATE;
  }

  @Override
  public HookPoint hookAfter() {
    return HookPoint.POST_MIGRATE;
  }

  @Override
  public boolean holdsLock() {
    return true;
  }

  /** A build of uncommitted changes does not reach production under CI: refused before anything runs. */
  @Override
  public void preflight(RunContext context) {
    new ProductionGate(context.config()).refuseUncommittedUnderCi();
  }

  /**
   * A promotion applies only the migration set the environment it promotes from runs: refused
   * before the pre-migrate hooks run and production's lock is taken, so production is not touched.
   */
  @Override
  public void check(RunContext context) {
    MigrationSet proven = context.state().get(TestMigrateStep.PROVEN).map(outcome -> outcome.set()).orElse(null);
    context.promotion().ifPresent(promotion -> {
      PromotionSource.Released source = promotion.released();
      if (proven == null) {
        throw new DeployException(DeployException.Kind.GUARD, "Refusing to migrate production: test-migrate has not"
            + " proved the migrations of " + source.describe() + " in this run");
      }
      if (!source.migrationSet().equals(proven.fingerprint())) {
        throw new DeployException(DeployException.Kind.GUARD, "Refusing to migrate production: " + source.describe()
            + " runs the migration set " + source.migrationSet() + ", and the one test-migrate proved here is "
            + proven.fingerprint() + ": the migrations here are not the ones it ran. Nothing was applied; promote"
            + " from a checkout of " + source.sha() + ", or release " + source.environment() + " again");
      }
      context.events().progress(Step.MIGRATE, "the migration set " + source.describe() + " runs, proved again"
          + " here: " + Summaries.shortFingerprint(proven));
    });
  }

  @Override
  public Migration run(RunContext context) {
    MigrationSet proven = context.state().get(TestMigrateStep.PROVEN).map(outcome -> outcome.set()).orElseThrow(() ->
        new DeployException(DeployException.Kind.GUARD, "Refusing to migrate production: test-migrate has not"
            + " proved the migrations in this run"));
    ProductionSession session = context.lockProduction(Step.MIGRATE);
    if (session.superseded()) {
      return null;
    }
    session.verifyLock();
    session.recordMigrationSet(proven.fingerprint()); // what this release runs, for a promotion from its environment
    MigratorSwitch.check(context, session);
    MigratorSwitch.record(context, session); // the fact first: the next release checks against it
    AtomicReference<List<Finding>> linted = new AtomicReference<>();
    MigrationOutcome outcome;
    try {
      outcome = context.migrator(Step.MIGRATE)
          .migrate(session.target(), proven.fingerprint(), pending -> {
            lint(context, session, proven, pending, linted);
            session.verifyLock(); // still ours, right before production changes
            session.record("migrations_planned", pending); // the fact first: production is about to change
            session.advance(LedgerStatus.MIGRATING, null);
          });
    } catch (RuntimeException e) {
      if (linted.get() == null) {
        throw e;
      }
      return new Migration(null, linted.get(), e instanceof DeployException deploy ? deploy
          : new DeployException(failureKind(), step() + " failed unexpectedly: " + e, e));
    }
    session.record("migrations_applied", outcome.applied().stream().map(a -> a.migration().label()).toList());
    return new Migration(outcome, linted.get(), null);
  }

  @Override
  public Optional<DeployException> failure(Migration migration) {
    return Optional.ofNullable(migration == null ? null : migration.failure());
  }

  /**
   * Reports what the lint finds in the migrations about to run, into {@code findings} first (a
   * refusal keeps them in the result); refuses, before any, on a finding at level fail.
   */
  private static void lint(RunContext context, ProductionSession session, MigrationSet proven, List<String> pending,
      AtomicReference<List<Finding>> linted) {
    if (MigrationLint.skipped(context.config())) {
      return;
    }
    List<Finding> findings = MigrationLint.findings(context.config(), proven, pending,
        MigrationLint.schema(session.target().readOnly()));
    linted.set(findings);
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
  public String summarize(ReleaseConfig config, Migration migration) {
    if (migration == null) {
      return "superseded by a newer release";
    }
    MigrationOutcome outcome = migration.outcome();
    return outcome.applied().isEmpty()
        ? "production is already at the tested set (" + Summaries.shortFingerprint(outcome.set()) + ")"
        : Summaries.migrations(outcome.applied().size()) + " applied to production in "
            + outcome.duration().toMillis() + " ms";
  }

  @Override
  public String describe(ReleaseConfig config) {
    dev.closedloop.deploy.Guards guards = config.production().guards();
    List<String> branches = new ProductionGate(config).allowedBranches();
    return "on an allowed branch (" + String.join(", ", branches) + ") and holding the release lock of "
        + guards.lockName() + " (" + guards.lockMode().name().toLowerCase(Locale.ROOT) + " mode), apply the set"
        + " test-migrate proved to " + (config.production().database() != null ? config.production().database().describe()
            : "the production database (deploy.databaseUrl, not set)") + ", recorded in the ledger "
        + ReleaseLedger.of(config.production()).table();
  }

  @Override
  public LedgerStatus ledgerStatus() {
    return LedgerStatus.MIGRATED;
  }

  /**
   * The plan's lock section.
   *
   * @param alive the ledger's releases alive now (empty when it has none, or no ledger yet); null when it was not
   *     read
   */
  static dev.closedloop.deploy.report.PlanLock planLock(ReleaseConfig config,
      List<dev.closedloop.deploy.guard.LedgerEntry> alive) {
    dev.closedloop.deploy.report.PlanLock.Holder holder = null;
    List<dev.closedloop.deploy.report.PlanLock.Holder> queue = new ArrayList<>();
    for (dev.closedloop.deploy.guard.LedgerEntry entry : alive == null
        ? List.<dev.closedloop.deploy.guard.LedgerEntry>of() : alive) {
      var release = new dev.closedloop.deploy.report.PlanLock.Holder(entry.id(), entry.sha(), entry.status().id(),
          entry.startedAt().toString());
      if (entry.status() == LedgerStatus.QUEUED) {
        queue.add(release);
      } else {
        holder = release;
      }
    }
    return new dev.closedloop.deploy.report.PlanLock(config.production().guards().lockName(), alive != null, holder, queue);
  }

  /**
   * The plan's lint section: what the lint finds in the migrations pending on production, against
   * production's schema; a finding at level fail stops the release.
   *
   * @param schema production's, read when migrations are pending there; else null
   * @return null when the set is not known (the plan leaves the section out)
   */
  static dev.closedloop.deploy.report.PlanLint planLint(ReleaseConfig config, Redactor redactor, MigrationSet set,
      List<String> pending, dev.closedloop.deploy.internal.lint.Schema schema, PlanNotes notes) {
    if (set == null) {
      return null;
    }
    if (MigrationLint.skipped(config)) {
      return dev.closedloop.deploy.report.PlanLint.NOT_RUN;
    }
    if (pending == null || (schema == null && !pending.isEmpty())) {
      notes.unknown("migration lint: which migrations are pending on production is not known");
      return dev.closedloop.deploy.report.PlanLint.NOT_RUN;
    }
    try {
      List<Finding> findings = MigrationLint.findings(config, set, pending, schema);
      DeployException refused = MigrationLint.refusal(findings);
      if (refused != null) {
        notes.blocker(redactor.redact(refused.getMessage()));
      }
      return dev.closedloop.deploy.report.PlanLint.of(findings, redactor);
    } catch (DeployException e) {
      notes.blocker(redactor.redact(e.getMessage()));
      return dev.closedloop.deploy.report.PlanLint.NOT_RUN;
    }
  }
}
