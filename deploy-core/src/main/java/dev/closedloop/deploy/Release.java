package dev.closedloop.deploy;

import dev.closedloop.deploy.guard.LedgerKind;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.guard.ReleaseLedger;
import dev.closedloop.deploy.internal.lint.PullRequestLint;
import dev.closedloop.deploy.internal.report.RunReport;
import dev.closedloop.deploy.internal.secret.Secrets;
import dev.closedloop.deploy.internal.step.BuildStep;
import dev.closedloop.deploy.internal.step.MigrateStep;
import dev.closedloop.deploy.internal.step.Planner;
import dev.closedloop.deploy.internal.step.ProductionGate;
import dev.closedloop.deploy.internal.step.ProductionSession;
import dev.closedloop.deploy.internal.step.PromotionSource;
import dev.closedloop.deploy.internal.step.PromoteStep;
import dev.closedloop.deploy.internal.step.ReleaseStep;
import dev.closedloop.deploy.internal.step.RequiredSettings;
import dev.closedloop.deploy.internal.step.RollbackStep;
import dev.closedloop.deploy.internal.step.RolloutStep;
import dev.closedloop.deploy.internal.step.RunContext;
import dev.closedloop.deploy.internal.step.RunState;
import dev.closedloop.deploy.internal.step.StepRunner.Stage;
import dev.closedloop.deploy.internal.step.StepRunner;
import dev.closedloop.deploy.internal.step.TestMigrateStep;
import dev.closedloop.deploy.report.History;
import dev.closedloop.deploy.report.LintReport;
import dev.closedloop.deploy.report.Plan;
import dev.closedloop.deploy.secret.Redactor;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The entry point: {@code Release.configure()…load()} then run steps. Each step is keyed by the
 * commit SHA, so running it again after a failure resumes instead of repeating work: the image
 * is reused, applied migrations are skipped, tags already moved stay. Each public method is a
 * list of stages; the steps of a stage (build and test-migrate) run side by side.
 *
 * <pre>{@code
 * ReleaseResult result = Release.configure()
 *     .image("registry.example.com/team/app")
 *     .buildContext(Path.of("."))
 *     .migrations(Migrations.flyway("classpath:db/migration"))
 *     .databaseUrl("env:DATABASE_URL", null, null)
 *     .listener(System.out::println)
 *     .load()
 *     .release();
 * }</pre>
 */
public final class Release {

  private static final ReleaseStep<?> BUILD = new BuildStep();
  private static final ReleaseStep<?> TEST_MIGRATE = new TestMigrateStep();
  private static final ReleaseStep<?> MIGRATE = new MigrateStep();
  private static final ReleaseStep<?> PROMOTE = new PromoteStep();
  private static final ReleaseStep<?> ROLLOUT = new RolloutStep();

  private final ReleaseConfig config;
  /** The configuration's secrets and those its runs add: the configuration itself never changes. */
  private final Secrets secrets;
  private final Events events;
  /** Loads another environment from the same settings (the one a promotion takes from); set by {@link ReleaseBuilder}. */
  java.util.function.Function<String, Release> environments = name -> {
    throw new DeployException(DeployException.Kind.CONFIGURATION, "environment '" + name + "' is not defined");
  };

  Release(ReleaseConfig config) {
    this.config = config;
    this.secrets = new Secrets(config.redactor());
    this.events = new Events(config.listeners(), secrets);
  }

  public static ReleaseBuilder configure() {
    return new ReleaseBuilder();
  }

  public ReleaseConfig config() {
    return config;
  }

  /**
   * Masks the configuration's secrets and those this release's runs added since (ECR's push
   * token): for text about a run shown outside its events, such as a summary of its result.
   */
  public Redactor redactor() {
    return secrets.redactor();
  }

  /**
   * Tells {@code consumer} every secret known so far, then each one a run adds as it is added
   * (ECR's push token, fetched in the middle of a build): for a CI system that masks secrets in
   * its log itself. One consumer: a second replaces the first.
   */
  public void onSecret(Consumer<String> consumer) {
    secrets.onAdd(consumer);
  }

  /** Builds {@code <image>:<sha>} and pushes it, or reuses it when the registry has it. */
  public ReleaseResult build() {
    return run("build", Stage.of(BUILD));
  }

  /** Applies every migration to a throwaway database, which is removed afterwards. */
  public ReleaseResult testMigrate() {
    return run("test-migrate", Stage.of(TEST_MIGRATE));
  }

  /** build and test-migrate side by side; when one fails, the other is stopped. */
  public ReleaseResult buildAndTestMigrate() {
    return run("build-and-test-migrate", buildAndTestMigrateStages());
  }

  /** Side by side, unless the migrations run from the image: then they wait for it. */
  private Stage[] buildAndTestMigrateStages() {
    return config.testMigrate().migrations() != null && config.testMigrate().migrations().runFromImage()
        ? new Stage[] {Stage.of(BUILD), Stage.of(TEST_MIGRATE)} : new Stage[] {Stage.of(BUILD, TEST_MIGRATE)};
  }

  /**
   * test-migrate (the proof), then, past the branch guard and holding the release lock, the
   * same migrations on production. The image {@code <image>:<sha>} must be in the registry.
   */
  public ReleaseResult migrate() {
    return run("migrate", Stage.of(TEST_MIGRATE), Stage.of(MIGRATE));
  }

  /**
   * Moves the promote tags to {@code <image>:<sha>}'s digest, for a split CI job: only when the
   * ledger shows this commit's migrate succeeded and no newer release migrated since. Then the
   * rollout, when one is configured.
   */
  public ReleaseResult promote() {
    return run("promote", withRollout(Stage.of(PROMOTE)));
  }

  /**
   * Releases what environment {@code from} runs to this release's environment ({@code deploy:promote
   * -Ddeploy.environment=production -Ddeploy.from=staging}): the image digest {@code from}'s ledger
   * records as released and rolled out successfully, never rebuilt, at that release's commit. The
   * migrations are proved again on a throwaway database and must be the set {@code from} runs; then,
   * as a release does, under this environment's branch guard, lock and ledger: production migrated,
   * the promote tags moved, the rollout followed.
   *
   * @throws DeployException of kind GUARD when {@code from}'s latest release did not succeed (its
   *     rollout included), or its migration set is not the one proved here; nothing is changed then
   */
  public ReleaseResult promoteFrom(String from) {
    String here = config.production().environment();
    PromotionSource promotion;
    try {
      if (here == null) {
        throw new DeployException(DeployException.Kind.CONFIGURATION, "from (deploy.from) promotes between"
            + " environments: name the one to promote to with deploy.environment"
            + (config.production().environments().isEmpty() ? ", defined under <environments> in the POM" : ""));
      }
      if (from == null || from.isBlank() || from.trim().equals(here)) {
        throw new DeployException(DeployException.Kind.CONFIGURATION, "from (deploy.from) must name another"
            + " environment than " + here + "; the environments are " + String.join(", ",
            config.production().environments()));
      }
      ReleaseConfig source = environments.apply(from.trim()).config();
      source.redactor().secrets().forEach(events::mask); // its database's password, in what this run prints
      promotion = PromotionSource.read(source, events);
    } catch (DeployException e) {
      DeployException failure = e.withPartialResult(ReleaseResult.empty(), redactor());
      report("promote", failure.partialResult().orElseThrow(), failure.kind().name(), failure.getMessage());
      throw failure;
    }
    PromotionSource.Released released = promotion.released();
    events.progress(Step.PROMOTE, "promoting " + released.describe() + " (" + released.digest() + ") to " + here);
    String checkout = config.buildRequest().sha();
    if (checkout != null && !released.sha().startsWith(checkout) && !checkout.startsWith(released.sha())) {
      events.warn(released.environment() + " runs " + released.sha() + ", not this checkout's " + checkout
          + ": promoting what " + released.environment() + " runs");
    }
    return run("promote", LedgerKind.RELEASE, config.atCommit(released.sha()), context ->
        context.promoteFrom(promotion), withRollout(Stage.of(TEST_MIGRATE), Stage.of(MIGRATE), Stage.of(PROMOTE)));
  }

  /**
   * Moves the promote tags back to an earlier release's image, past the branch guard and holding
   * the release lock, recorded in the ledger as a rollback; then the rollout, when one is
   * configured. Database migrations are not reverted: it warns about those applied since.
   *
   * @param to a commit SHA or image digest released before; null for the image the live release
   *     replaced
   */
  public ReleaseResult rollback(String to) {
    return run("rollback", LedgerKind.ROLLBACK, withRollout(Stage.of(new RollbackStep(to))));
  }

  /**
   * build and test-migrate side by side, then migrate and promote, in one process under one
   * ledger row and lock. Nothing goes on to migrate when either of the first two failed.
   */
  public ReleaseResult release() {
    List<Stage> stages = new ArrayList<>(List.of(buildAndTestMigrateStages()));
    stages.addAll(List.of(Stage.of(MIGRATE), Stage.of(PROMOTE)));
    return run("release", withRollout(stages.toArray(Stage[]::new)));
  }

  /** The stages, and the rollout after them when {@code deploy.rollout} names one. */
  private Stage[] withRollout(Stage... stages) {
    List<Stage> all = new ArrayList<>(List.of(stages));
    if (config.rollout().enabled()) {
      all.add(Stage.of(ROLLOUT));
    }
    return all.toArray(Stage[]::new);
  }

  /**
   * The latest {@code limit} releases of this service from the ledger in production, newest
   * first. Reads only: no lock, no ledger row, not even the ledger's table is created.
   */
  public History history(int limit) {
    if (limit < 1) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "historyLimit (deploy.historyLimit) must be 1"
          + " or more; got " + limit);
    }
    RequiredSettings.checkHistory(config);
    ReleaseLedger ledger = ReleaseLedger.of(config.production());
    String service = config.production().guards().lockName();
    try { // read-only as the plan reads production: reading is all history may do
      return new History(service, ledger.table(), new ProductionGate(config).readOnly(events, List.of(),
          c -> ledger.recent(c, service, limit)), redactor());
    } catch (java.sql.SQLException e) { // masked like every other failure, also in the cause chain -X prints
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot read the ledger: " + e.getMessage(), e)
          .withPartialResult(ReleaseResult.empty(), redactor());
    } catch (DeployException e) {
      throw e.withPartialResult(ReleaseResult.empty(), redactor());
    }
  }

  /** What each step of {@link #release()} would do, one line a step, without doing any of it. */
  public List<String> describe() {
    RequiredSettings.check(config, releaseSteps());
    return described();
  }

  private List<ReleaseStep<?>> releaseSteps() {
    return config.rollout().enabled() ? List.of(BUILD, TEST_MIGRATE, MIGRATE, PROMOTE, ROLLOUT)
        : List.of(BUILD, TEST_MIGRATE, MIGRATE, PROMOTE);
  }

  private List<String> described() {
    return releaseSteps().stream().map(step -> step.step() + ": " + step.describe(config)).toList();
  }

  /**
   * The local dry run ({@code deploy:plan}): everything {@link #release()} would do, found out
   * without changing anything anywhere. Production, the registry and the rollout target are only
   * read, and what cannot be reached is named in the plan instead of failing it.
   */
  public Plan plan() {
    try {
      RequiredSettings.check(config, List.of(BUILD, TEST_MIGRATE));
      return Planner.plan(config, events, described());
    } catch (DeployException e) {
      throw e.withPartialResult(ReleaseResult.empty(), redactor());
    }
  }

  /**
   * The migration lint at pull-request time ({@code deploy:lint}): the migrations new against
   * {@code base} read against the schema a throwaway database has after the base's migrations,
   * or, when production can be read, those pending there against its catalog. Changes nothing.
   * Findings at level fail are in the report ({@link LintReport#refusal()}), not thrown.
   *
   * @param base a git ref ({@code deploy.lintBase}); null for the merge base with the default
   *     branch, and production first when it can be read
   */
  public LintReport lint(String base) {
    try {
      return PullRequestLint.run(config, events, base);
    } catch (DeployException e) {
      throw e.withPartialResult(ReleaseResult.empty(), redactor());
    }
  }

  private ReleaseResult run(String goal, Stage... stages) {
    return run(goal, LedgerKind.RELEASE, stages);
  }

  private ReleaseResult run(String goal, LedgerKind kind, Stage... stages) {
    return run(goal, kind, config, context -> { }, stages);
  }

  /** Runs {@code stages} with {@code runConfig}, after {@code prepare} had the run's context before its first step. */
  private ReleaseResult run(String goal, LedgerKind kind, ReleaseConfig runConfig, Consumer<RunContext> prepare,
      Stage... stages) {
    List<Stage> plan = List.of(stages);
    try (RunContext context = new RunContext(runConfig, events, kind)) {
      try {
        RequiredSettings.check(runConfig, plan.stream().flatMap(stage -> stage.steps().stream()).toList());
        runConfig.warnings().forEach(events::warn);
        prepare.accept(context);
        new StepRunner(context).run(plan);
        ReleaseResult result = result(context);
        report(runConfig, goal, result, null, null);
        return result;
      } catch (DeployException e) {
        DeployException failure = e.withPartialResult(result(context), redactor());
        report(runConfig, goal, failure.partialResult().orElseThrow(), failure.kind().name(), failure.getMessage());
        throw failure;
      } catch (RuntimeException | Error e) { // a fault of ours: the report still says the run failed
        report(runConfig, goal, result(context), "unexpected", String.valueOf(e));
        throw e;
      }
    }
  }

  /**
   * release.json, when the configuration names a file for it, and then under GitHub Actions the
   * job summary too; a report that cannot be written is warned about.
   */
  private void report(String goal, ReleaseResult result, String errorKind, String errorMessage) {
    report(config, goal, result, errorKind, errorMessage);
  }

  private void report(ReleaseConfig runConfig, String goal, ReleaseResult result, String errorKind,
      String errorMessage) {
    RunReport.write(runConfig, goal, result, errorKind, errorMessage, redactor(), events::warn);
  }

  /** The run's result, from what its steps produced and what its production session decided: built here alone. */
  private static ReleaseResult result(RunContext context) {
    RunState state = context.state();
    Optional<ProductionSession> session = context.triedSession();
    Optional<MigrateStep.Migration> migration = state.get(MigrateStep.APPLIED);
    return new ReleaseResult(state.results(), context.knownImage().orElse(null),
        state.get(TestMigrateStep.PROVEN).orElse(null),
        migration.map(MigrateStep.Migration::outcome).orElse(null),
        state.get(PromoteStep.PROMOTED).map(PromoteStep.Promotion::moves).orElse(null),
        session.flatMap(ProductionSession::ledgerRow).orElse(null),
        state.get(RolloutStep.ROLLED_OUT).map(RolloutStep.Ended::result).orElse(null),
        session.map(ProductionSession::guards).orElse(null),
        context.superseded() ? ReleaseResult.Outcome.SUPERSEDED : ReleaseResult.Outcome.COMPLETED,
        state.hookRuns(), migration.map(MigrateStep.Migration::lint).orElse(null));
  }
}
