package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.Migrator;
import dev.closedloop.deploy.database.ProductionDatabase;
import dev.closedloop.deploy.guard.LedgerEntry;
import dev.closedloop.deploy.hook.HookPoint;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.drift.DriftCheck;
import dev.closedloop.deploy.internal.guard.BranchGuard;
import dev.closedloop.deploy.internal.guard.CommitOrder;
import dev.closedloop.deploy.internal.guard.ReleaseLedger;
import dev.closedloop.deploy.internal.lint.MigrationLint;
import dev.closedloop.deploy.internal.lint.Schema;
import dev.closedloop.deploy.report.Plan;
import dev.closedloop.deploy.report.PlanCompatibility;
import dev.closedloop.deploy.report.PlanDrift;
import dev.closedloop.deploy.report.PlanGuard.Kind;
import dev.closedloop.deploy.report.PlanGuard.Verdict;
import dev.closedloop.deploy.report.PlanGuard;
import dev.closedloop.deploy.report.PlanImage;
import dev.closedloop.deploy.report.PlanLint;
import dev.closedloop.deploy.report.PlanMigrations;
import dev.closedloop.deploy.report.PlanProduction;
import dev.closedloop.deploy.report.PlanRollout;
import dev.closedloop.deploy.report.PlanTagMove;
import dev.closedloop.deploy.secret.Redactor;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds out what {@code release} would do, changing nothing anywhere: the registry is asked for
 * digests, production is read over read-only connections (no ledger table is created, no lock
 * taken, no row written), the rollout target is looked at. What cannot be reached is named and
 * the plan goes on without it. Each step says what its part of the plan is from what was read.
 */
public final class Planner {

  /** As many commits of history as a release records, so the plan orders commits as it would. */
  private static final int ANCESTRY_DEPTH = 200;

  private final ReleaseConfig config;
  private final Events events;
  private final ProductionGate gate;
  private final PlanNotes notes = new PlanNotes();
  private final List<PlanGuard> guards = new ArrayList<>();
  /** Whether production was read, or why not; set by {@link #production}. */
  private PlanProduction production;
  /** The ledger's releases alive now; null while it was not read. */
  private List<LedgerEntry> alive;
  /** Production's schema, read for the migration lint when migrations are pending there. */
  private Schema schema;

  private Planner(ReleaseConfig config, Events events) {
    this.config = config;
    this.events = events;
    this.gate = new ProductionGate(config);
  }

  /**
   * The plan of {@code config}'s release.
   *
   * @param steps what each step would do, one line each, as {@code Release.describe()} gives them
   */
  public static Plan plan(ReleaseConfig config, Events events, List<String> steps) {
    return new Planner(config, events).make(steps);
  }

  /** Masks every secret the plan knows now: its configuration's and those added since. */
  private Redactor redactor() {
    return events.redactor();
  }

  private Plan make(List<String> steps) {
    Plan.Ci ci = new Plan.Ci(config.ci().system().orElse(null),
        config.ci().runUrl().map(redactor()::redact).orElse(null));
    if (config.production().environment() == null && !config.production().environments().isEmpty()) {
      notes.blocker("environment (deploy.environment) is not named, and the environments " + String.join(", ",
          config.production().environments()) + " are defined: this plan read the top-level settings, which"
          + " release refuses to use");
    }
    branchGuard();
    PlanImage image;
    PlanMigrations migrations;
    PlanLint lint;
    PlanDrift drift;
    List<PlanTagMove> tagMoves;
    PlanCompatibility compatibility;
    PlanRollout rollout;
    try (RunContext context = new RunContext(config, events)) {
      image = image(context);
      Migrator migrator = config.testMigrate().migrations().migrator(events, Step.TEST_MIGRATE);
      Migrator.Inspection fromProduction = production(migrator);
      Migrator.Inspection inspection = migrations(migrator, fromProduction);
      migrations = TestMigrateStep.planMigrations(migrator, inspection);
      lint = MigrateStep.planLint(config, redactor(), inspection.set(), inspection.pending(), schema, notes);
      drift = drift(migrator, fromProduction);
      tagMoves = PromoteStep.planTagMoves(config, tagsNow(context), image);
      compatibility = PromoteStep.planCompatibility(config, redactor(), tagMoves, notes);
      rollout = rollout(context);
    }
    List<Plan.StepLine> described = new ArrayList<>();
    for (String line : steps) {
      int colon = line.indexOf(": ");
      described.add(new Plan.StepLine(line.substring(0, colon), redactor().redact(line.substring(colon + 2))));
    }
    List<Plan.HookLine> hooks = new ArrayList<>();
    for (HookPoint point : HookPoint.values()) {
      config.hooks().at(point).forEach(hook -> hooks.add(new Plan.HookLine(point.id(),
          redactor().redact(hook.describe()))));
    }
    config.unresolved().forEach(setting -> notes.unknown("not resolved here: " + setting));
    return new Plan(config.buildRequest().sha(), config.production().guards().lockName(), ci, guards, image, production,
        MigrateStep.planLock(config, alive), migrations, lint, drift, tagMoves, compatibility, rollout, described,
        hooks, notes.blockers(), notes.unknowns());
  }

  private void guard(Kind kind, Verdict verdict, String detail) {
    String shown = redactor().redact(detail);
    guards.add(new PlanGuard(kind, verdict, shown));
    if (verdict == Verdict.REFUSE) {
      notes.blocker(shown);
    }
  }

  private void branchGuard() {
    ProductionGate.BranchVerdict verdict = gate.branch();
    if (verdict.refused()) {
      guard(Kind.BRANCH, Verdict.REFUSE, verdict.refusal().getMessage());
      return;
    }
    BranchGuard.Decision decision = verdict.decision();
    guard(Kind.BRANCH, decision.overridden() ? Verdict.WARN : Verdict.PASS, decision.overridden() ? decision.warning()
        : "branch '" + decision.branch() + "' (" + decision.source() + ") is one of "
            + String.join(", ", gate.allowedBranches()));
  }

  /** The image section, from the digest {@code <image>:<sha>} has now, when the registry said. */
  private PlanImage image(RunContext context) {
    String digest = null;
    String problem = null;
    try {
      digest = context.registry().digestOf(config.buildRequest().shaRef()).orElse(null);
    } catch (RuntimeException e) {
      problem = "registry not reachable: " + redactor().redact(String.valueOf(e.getMessage()));
      notes.unknown(problem);
    }
    return BuildStep.plan(config, redactor(), digest, problem, notes);
  }

  /**
   * Production read-only: the TLS and pooler checks, commit order against the ledger, the lock's
   * holder and queue, and the migrations pending there. Returns the migrations as production sees
   * them, or null when it was not read.
   */
  private Migrator.Inspection production(Migrator migrator) {
    ProductionDatabase database = config.production().database();
    if (database == null) {
      String why = config.unresolved().isEmpty() ? "databaseUrl (deploy.databaseUrl, or under CI the DATABASE_URL variable)"
          + " is not set" : "a setting it needs is not resolved here (see below)";
      unreachable(null, why);
      guard(Kind.COMMIT_ORDER, Verdict.UNKNOWN, "production not reachable");
      return null;
    }
    String described = redactor().redact(database.describe());
    if (!database.exists()) { // a local stand-in not created yet: the plan does not create it
      production = PlanProduction.notRead(described, "it does not exist yet: the first release creates it");
      guard(Kind.COMMIT_ORDER, Verdict.PASS, "no release yet");
      alive = List.of();
      return null;
    }
    try (ProductionDatabase.Session session = database.open(events)) {
      DatabaseTarget target = session.target();
      // the checks a release makes before it connects, and it does not connect when they refuse
      ProductionGate.ConnectionVerdict before = gate.beforeConnecting(target);
      boolean refused = before.tlsRefused();
      before.tlsProblem().ifPresentOrElse(problem -> guard(Kind.DATABASE_TLS, refused ? Verdict.REFUSE : Verdict.WARN,
          "databaseUrl: " + problem + (refused ? " (deploy.requireTls is set)" : "")),
          () -> guard(Kind.DATABASE_TLS, Verdict.PASS, target.isLoopback() ? "this machine"
              : "TLS required by the URL"));
      // the server-side pooler check connects: not over a connection the TLS check refused
      var pooler = refused ? before.poolerProblem() : before.poolerProblem().or(target::sharedBackendProblem);
      pooler.ifPresent(problem -> guard(Kind.POOLER, Verdict.REFUSE, "databaseUrl (deploy.databaseUrl): " + problem));
      if (refused || pooler.isPresent()) {
        production = PlanProduction.notRead(described, "not read: release would refuse it (see the guards)");
        guard(Kind.COMMIT_ORDER, Verdict.UNKNOWN, "production not read");
        return null;
      }
      DatabaseTarget reading = target.readOnly();
      try (Connection c = reading.connect()) {
        ledger(c);
      }
      production = PlanProduction.read(described);
      try {
        Migrator.Inspection inspection = migrator.inspect(reading);
        if (!MigrationLint.skipped(config) && inspection.pending() != null && !inspection.pending().isEmpty()) {
          schema = MigrationLint.schema(reading);
        }
        return inspection;
      } catch (DeployException e) {
        if (e.kind() == DeployException.Kind.DATABASE) { // lost on the way: not known, not wrong
          notes.unknown("migrations pending on production not read: "
              + redactor().redact(String.valueOf(e.getMessage())));
        } else { // production answered; the migrations are what is wrong
          notes.blocker(redactor().redact(String.valueOf(e.getMessage())));
        }
        return null;
      }
    } catch (SQLException | RuntimeException e) {
      unreachable(described, redactor().redact(String.valueOf(e.getMessage())));
      if (guards.stream().noneMatch(guard -> guard.guard() == Kind.COMMIT_ORDER)) {
        guard(Kind.COMMIT_ORDER, Verdict.UNKNOWN, "production not reachable");
      }
      return null;
    }
  }

  private void unreachable(String database, String why) {
    production = PlanProduction.notRead(database, why);
    notes.unknown("production not reachable: " + why);
  }

  /** Commit order and the lock, from the ledger; a ledger not there yet is a first release. */
  private void ledger(Connection c) {
    ReleaseLedger ledger = ReleaseLedger.of(config.production());
    String service = config.production().guards().lockName();
    if (!ledger.present(c)) {
      guard(Kind.COMMIT_ORDER, Verdict.PASS, "no release yet: " + ledger.table() + " does not exist (the first"
          + " release creates it)");
      alive = List.of();
      return;
    }
    CommitOrder.Commit mine = new CommitOrder.Commit(config.buildRequest().sha(), config.ci().runNumber().orElse(null),
        config.ci().runScope().orElse(null), config.ci().ancestry(config.buildRequest().sha(), ANCESTRY_DEPTH));
    ledger.latestReleased(c, service, -1).ifPresentOrElse(released -> {
      CommitOrder.Comparison comparison = new CommitOrder(config.ci()).compare(mine, CommitOrder.Commit.of(released));
      String against = " release #" + released.id() + " of " + released.sha() + " (" + comparison.basis() + ")";
      switch (comparison.verdict()) {
        case NEWER -> guard(Kind.COMMIT_ORDER, Verdict.PASS, "newer than" + against);
        case SAME -> guard(Kind.COMMIT_ORDER, Verdict.PASS, "the commit of" + against + ": a re-run resumes it");
        case OLDER -> guard(Kind.COMMIT_ORDER, Verdict.WARN, "older than" + against + ": release would be superseded"
            + " and change nothing" + (config.production().guards().failWhenSuperseded() ? ", and fail (deploy.failWhenSuperseded)"
            : ""));
        default -> guard(Kind.COMMIT_ORDER, Verdict.WARN, "cannot tell against" + against + ": release would go by"
            + " arrival order");
      }
    }, () -> guard(Kind.COMMIT_ORDER, Verdict.PASS, "no release of " + service + " in " + ledger.table() + " yet"));
    alive = List.of(); // known from here on, even when the rows below cannot be read
    alive = ledger.alive(c, service);
  }

  /**
   * The migrations as release would find them: as production showed them, else as their files
   * show them. Migrations that cannot be read stop the release.
   */
  private Migrator.Inspection migrations(Migrator migrator, Migrator.Inspection fromProduction) {
    Migrator.Inspection inspection = fromProduction;
    try {
      migrator.validate();
      if (inspection == null) {
        inspection = migrator.inspect(null);
      }
      if (inspection.set() == null && !config.testMigrate().migrations().runFromImage()) {
        inspection = withoutProduction(migrator); // Flyway reads its files only with a database at hand
      }
    } catch (DeployException e) {
      notes.blocker(redactor().redact(e.getMessage()));
      inspection = new Migrator.Inspection(null, null);
    }
    return inspection;
  }

  /** The set as a fresh throwaway database shows it, which is removed again; nothing compared. */
  private Migrator.Inspection withoutProduction(Migrator migrator) {
    EphemeralDatabase throwaway = config.testMigrate().testDatabase();
    try (EphemeralDatabase.Instance instance = throwaway.start(events)) {
      return new Migrator.Inspection(migrator.inspect(instance.target()).set(), null);
    } catch (DeployException e) {
      throw e;
    } catch (Exception e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot read the migrations on "
          + throwaway.describe() + ": " + e.getMessage(), e);
    }
  }

  /**
   * The drift check as test-migrate will make it: a throwaway database brought to production's
   * version, both catalogs compared; the throwaway database is removed again.
   */
  private PlanDrift drift(Migrator migrator, Migrator.Inspection fromProduction) {
    DriftCheck check = new DriftCheck(config, events, Step.TEST_MIGRATE);
    String why = check.notPossible();
    if (why == null && fromProduction == null) {
      why = "production not read";
    }
    if (why == null && DriftCheck.appliedVersion(fromProduction) == null) {
      why = "production has no migration applied yet";
    }
    if (why != null) {
      return PlanDrift.notMade(why);
    }
    DriftCheck.Result result;
    try {
      ProductionView production = ProductionView.read(config, events, Step.TEST_MIGRATE, migrator, check);
      if (production == null) {
        boolean branchRefused = guards.stream().anyMatch(guard -> guard.guard() == Kind.BRANCH
            && guard.verdict() == Verdict.REFUSE);
        return PlanDrift.notMade(branchRefused ? "the branch guard refuses this branch"
            : "production could not be read");
      }
      EphemeralDatabase throwaway = config.testMigrate().testDatabase().matching(production.major());
      try (EphemeralDatabase.Instance instance = throwaway.start(events)) {
        production.throwawayStarted();
        ProductionView.Applied applied = production.applied(check);
        if (applied == null) {
          return PlanDrift.notMade("production's catalog could not be read");
        }
        result = check.run(applied, migrator, instance.target());
      } finally {
        production.done();
      }
    } catch (DeployException e) {
      notes.unknown("drift check: " + redactor().redact(String.valueOf(e.getMessage())));
      return PlanDrift.notMade("not checked: " + redactor().redact(String.valueOf(e.getMessage())));
    }
    return TestMigrateStep.planDrift(config, redactor(), check, result, notes);
  }

  /** What each promote tag names now; not known when the registry cannot be read (the image section named why). */
  private List<PromoteStep.TagNow> tagsNow(RunContext context) {
    List<PromoteStep.TagNow> now = new ArrayList<>();
    for (String tag : config.registry().promoteTags()) {
      try {
        String digest = context.registry().digestOf(config.buildRequest().repository().withTag(tag)).orElse(null);
        now.add(new PromoteStep.TagNow(tag, digest, true));
      } catch (RuntimeException e) {
        now.add(new PromoteStep.TagNow(tag, null, false));
      }
    }
    return now;
  }

  private PlanRollout rollout(RunContext context) {
    String check = null;
    String problem = null;
    if (config.rollout().enabled()) {
      try {
        check = redactor().redact(context.rollout().check());
      } catch (RuntimeException e) {
        problem = redactor().redact(String.valueOf(e.getMessage()));
        notes.unknown("rollout target: " + problem);
      }
    }
    return RolloutStep.plan(config, check, problem);
  }
}
