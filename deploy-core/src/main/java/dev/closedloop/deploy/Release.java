package dev.closedloop.deploy;

import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.FlywayMigrator;
import dev.closedloop.deploy.database.MigrationOutcome;
import dev.closedloop.deploy.database.ProductionDatabase;
import dev.closedloop.deploy.guard.BranchGuard;
import dev.closedloop.deploy.guard.ReleaseLedger;
import dev.closedloop.deploy.guard.ReleaseLock;
import dev.closedloop.deploy.image.BuiltImage;
import dev.closedloop.deploy.image.DockerEngine;
import dev.closedloop.deploy.image.EcrRegistry;
import dev.closedloop.deploy.image.ImageBuilder;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.OciRegistry;
import dev.closedloop.deploy.image.Promoter;
import dev.closedloop.deploy.image.Registry;
import dev.closedloop.deploy.image.RegistryCredentials;
import dev.closedloop.deploy.image.TagMove;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The entry point: {@code Release.configure()…load()} then run steps. Each step is keyed by the
 * commit SHA, so running it again after a failure resumes instead of repeating work: the image
 * is reused, applied migrations are skipped, tags already moved stay.
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

  private final ReleaseConfig config;
  private final Events events;
  private Registry registry;

  Release(ReleaseConfig config) {
    this.config = config;
    this.events = new Events(config.listeners(), config.redactor());
  }

  public static ReleaseConfig.Builder configure() {
    return new ReleaseConfig.Builder();
  }

  public ReleaseConfig config() {
    return config;
  }

  /** Builds {@code <image>:<sha>} and pushes it, or reuses it when the registry has it. */
  public ReleaseResult build() {
    return run(List.of(Step.BUILD));
  }

  /** Applies every migration to a throwaway database, which is removed afterwards. */
  public ReleaseResult testMigrate() {
    return run(List.of(Step.TEST_MIGRATE));
  }

  /** build, then test-migrate; stops at the first failure. */
  public ReleaseResult buildAndTestMigrate() {
    return run(List.of(Step.BUILD, Step.TEST_MIGRATE));
  }

  /**
   * test-migrate (the proof), then, past the branch guard and holding the release lock, the
   * same migrations on production. The image {@code <image>:<sha>} must be in the registry.
   */
  public ReleaseResult migrate() {
    return run(List.of(Step.TEST_MIGRATE, Step.MIGRATE));
  }

  /**
   * Moves the promote tags to {@code <image>:<sha>}'s digest, for a split CI job: only when the
   * ledger shows this commit's migrate succeeded and no newer release migrated since.
   */
  public ReleaseResult promote() {
    return run(List.of(Step.PROMOTE));
  }

  /** build, test-migrate, migrate and promote in one process, under one ledger row and lock. */
  public ReleaseResult release() {
    return run(List.of(Step.BUILD, Step.TEST_MIGRATE, Step.MIGRATE, Step.PROMOTE));
  }

  private ReleaseResult run(List<Step> steps) {
    Run run = new Run();
    try {
      config.require(steps.toArray(Step[]::new));
      config.warnings().forEach(events::warn);
      for (Step step : steps) {
        if (run.outcome == ReleaseResult.Outcome.SUPERSEDED) {
          break;
        }
        switch (step) {
          case BUILD -> run.image = runStep(step, run, this::buildImage,
              built -> (built.reused() ? "reused " : "pushed ") + built.image() + " (" + built.digest() + ")");
          case TEST_MIGRATE -> run.testMigration = runStep(step, run, this::migrateThrowaway,
              outcome -> outcome.applied().size() + " migrations applied on " + config.testDatabase().describe()
                  + " in " + outcome.duration().toMillis() + " ms, set " + shortFingerprint(outcome));
          case MIGRATE -> runStep(step, run, () -> migrateProduction(run), summary -> summary);
          case PROMOTE -> runStep(step, run, () -> promoteTags(run), summary -> summary);
          default -> throw new IllegalStateException(step + " is not available yet");
        }
      }
      if (run.ledgerId != null && run.outcome == ReleaseResult.Outcome.COMPLETED && run.promotion != null) {
        config.ledger().advance(run.lockConnection, run.ledgerId, "succeeded", null);
      }
      return run.result();
    } catch (DeployException e) {
      run.recordFailure(e);
      throw e.withPartialResult(run.result(), config.redactor());
    } finally {
      run.close();
    }
  }

  private BuiltImage buildImage() {
    ImageBuilder.validate(config.buildRequest());
    RegistryCredentials credentials = config.registryCredentials();
    if (credentials == null && registry() instanceof EcrRegistry ecr) {
      credentials = ecr.pushCredentials();
      config.redactor().register(credentials.password());
    }
    try (DockerEngine engine = DockerEngine.connect(config.dockerHost())) {
      return new ImageBuilder(engine, registry(), credentials, events).build(config.buildRequest());
    }
  }

  private MigrationOutcome migrateThrowaway() {
    config.migrations().validate();
    events.progress(Step.TEST_MIGRATE, "starting " + config.testDatabase().describe());
    try (var database = config.testDatabase().start(events)) {
      return new FlywayMigrator(config.migrations(), events, Step.TEST_MIGRATE).migrate(database.target());
    }
  }

  /** Guard, lock, migrate. Returns the step's summary. */
  private String migrateProduction(Run run) {
    if (run.image == null) {
      run.image = findImage();
    }
    BranchGuard.Decision branch = guard();
    open(run, branch);
    if (run.outcome == ReleaseResult.Outcome.SUPERSEDED) {
      return "superseded by a newer release while waiting for the lock";
    }
    MigrationOutcome outcome = new FlywayMigrator(config.migrations(), events, Step.MIGRATE)
        .migrate(run.session.target(), run.testMigration.set().fingerprint());
    run.migration = outcome;
    config.ledger().record(run.lockConnection, run.ledgerId, "migrations_applied", json(outcome.applied().stream()
        .map(a -> a.migration().label()).toList()));
    config.ledger().advance(run.lockConnection, run.ledgerId, "migrated", null);
    return outcome.applied().isEmpty() ? "production is already at the tested set (" + shortFingerprint(outcome) + ")"
        : outcome.applied().size() + " migrations applied to production in " + outcome.duration().toMillis() + " ms";
  }

  /** Moves the tags; in a split job, first proves from the ledger that this commit may. */
  private String promoteTags(Run run) {
    if (run.ledgerId == null) {
      run.image = findImage();
      BranchGuard.Decision branch = guard();
      open(run, branch);
      if (run.outcome == ReleaseResult.Outcome.SUPERSEDED) {
        return "superseded by a newer release while waiting for the lock";
      }
      ReleaseLedger.Entry migrated = config.ledger().latestMigrated(run.lockConnection, config.guards().lockName(),
          config.sha()).orElseThrow(() -> new DeployException(DeployException.Kind.GUARD, "Refusing to promote "
              + config.sha() + ": the ledger has no successful migrate for this commit. Run deploy:migrate first"));
      config.ledger().newerMigrated(run.lockConnection, config.guards().lockName(), migrated.id()).ifPresent(newer -> {
        throw new DeployException(DeployException.Kind.GUARD, "Refusing to promote " + config.sha() + ": release #"
            + newer.id() + " of " + newer.sha() + " migrated production after it, and its image is the one that"
            + " fits the schema now");
      });
      run.migratedBy = migrated.id();
    }
    ImageRef repository = config.image();
    List<TagMove> moves = new Promoter(registry(), events).promote(repository, run.image.digest(), config.promoteTags());
    run.promotion = moves;
    config.ledger().record(run.lockConnection, run.ledgerId, "previous_digests", json(moves));
    config.ledger().advance(run.lockConnection, run.ledgerId, "promoted", null);
    if (run.migratedBy != null) { // the split job's migrate row: its release is complete now
      config.ledger().advance(run.lockConnection, run.migratedBy, "succeeded", null);
    }
    return String.join(", ", moves.stream().map(m -> m.tag() + (m.moved() ? " moved" : " already")
        + " at " + m.digest()).toList());
  }

  private BranchGuard.Decision guard() {
    BranchGuard.Decision decision = new BranchGuard(config.guards().allowedBranches(), config.guards().branchGuard())
        .check(config.guards().branch(), config.ci());
    if (decision.overridden()) {
      events.warn(decision.warning());
    }
    return decision;
  }

  /** Connects to production, joins the ledger's queue and waits for the lock. */
  private void open(Run run, BranchGuard.Decision branch) {
    ProductionDatabase production = config.productionDatabase();
    events.progress(Step.MIGRATE, "production database: " + production.describe());
    run.session = production.open(events);
    DatabaseTarget target = run.session.target();
    target.poolerProblem().ifPresent(problem -> {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "databaseUrl (deploy.databaseUrl): " + problem);
    });
    target.sharedBackendProblem().ifPresent(problem -> {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "databaseUrl (deploy.databaseUrl): " + problem);
    });
    target.tlsProblem().ifPresent(problem -> {
      if (config.requireTls()) {
        throw new DeployException(DeployException.Kind.CONFIGURATION, "databaseUrl (deploy.databaseUrl): " + problem
            + " (deploy.requireTls is set)");
      }
      events.warn("databaseUrl: " + problem);
    });
    run.lockConnection = target.connect();
    ReleaseLedger ledger = config.ledger();
    ledger.ensure(run.lockConnection);
    String lockName = config.guards().lockName();
    run.ledgerId = ledger.enqueue(run.lockConnection, new ReleaseLedger.Attempt(lockName, config.sha(),
        branch.branch(), branch.overridden(), config.ci().runUrl().orElse(null), run.image.digest()));
    run.lock = new ReleaseLock(run.lockConnection, ledger, lockName, events);
    ReleaseLock.Outcome outcome = run.lock.acquire(run.ledgerId, config.guards().lockMode(), config.guards().lockTimeout());
    if (outcome == ReleaseLock.Outcome.SUPERSEDED) {
      ledger.advance(run.lockConnection, run.ledgerId, "superseded", null);
      if (config.guards().failWhenSuperseded()) {
        throw new DeployException(DeployException.Kind.GUARD, "Superseded: a newer release of " + lockName
            + " took this one's place while it waited (deploy.failWhenSuperseded is set)");
      }
      run.outcome = ReleaseResult.Outcome.SUPERSEDED;
      return;
    }
    ledger.advance(run.lockConnection, run.ledgerId, "running", null);
    events.progress(Step.MIGRATE, "holding the release lock of " + lockName + " (ledger #" + run.ledgerId + ")");
  }

  private BuiltImage findImage() {
    ImageRef shaRef = config.buildRequest().shaRef();
    String digest = registry().digestOf(shaRef).orElseThrow(() -> new DeployException(DeployException.Kind.REGISTRY,
        shaRef + " is not in the registry: run deploy:build for this commit first"));
    return new BuiltImage(shaRef, digest, List.of(shaRef), true);
  }

  /** ECR through the AWS SDK for ECR hosts, the distribution API for every other registry. */
  private synchronized Registry registry() {
    if (registry == null) {
      registry = config.image() != null && config.image().isEcr() ? EcrRegistry.of(config.image())
          : new OciRegistry(config.registryCredentials());
    }
    return registry;
  }

  private <T> T runStep(Step step, Run run, Supplier<T> body, Function<T, String> summary) {
    Events.StepTimer timer = events.start(step);
    try {
      T value = body.get();
      run.done.add(timer.finished(summary.apply(value)));
      return value;
    } catch (DeployException e) {
      run.done.add(timer.failed(e.getMessage()));
      throw e;
    } catch (RuntimeException e) {
      String message = step + " failed unexpectedly: " + e;
      run.done.add(timer.failed(message));
      throw new DeployException(step == Step.BUILD ? DeployException.Kind.DOCKER : DeployException.Kind.DATABASE,
          message, e);
    }
  }

  private static String shortFingerprint(MigrationOutcome outcome) {
    String fingerprint = outcome.set().fingerprint();
    return fingerprint.substring(0, Math.min(fingerprint.length(), "sha256:".length() + 12));
  }

  /** A JSON array of strings, or an object of tag to previous digest. */
  private static String json(List<?> values) {
    StringBuilder json = new StringBuilder();
    boolean moves = !values.isEmpty() && values.get(0) instanceof TagMove;
    json.append(moves ? '{' : '[');
    for (int i = 0; i < values.size(); i++) {
      if (i > 0) {
        json.append(',');
      }
      if (values.get(i) instanceof TagMove move) {
        json.append(quote(move.tag())).append(':').append(move.previousDigest() == null ? "null" : quote(move.previousDigest()));
      } else {
        json.append(quote(String.valueOf(values.get(i))));
      }
    }
    return json.append(moves ? '}' : ']').toString();
  }

  private static String quote(String text) {
    return '"' + text.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
  }

  /** The state of one run: what the steps produced and what they hold open. */
  private final class Run implements AutoCloseable {
    final List<StepResult> done = new ArrayList<>();
    BuiltImage image;
    MigrationOutcome testMigration;
    MigrationOutcome migration;
    List<TagMove> promotion;
    ProductionDatabase.Session session;
    Connection lockConnection;
    ReleaseLock lock;
    Long ledgerId;
    /** In a promote-only run, the ledger row of the migrate job it completes. */
    Long migratedBy;
    ReleaseResult.Outcome outcome = ReleaseResult.Outcome.COMPLETED;

    ReleaseResult result() {
      return new ReleaseResult(done, image, testMigration, migration, promotion, ledgerId, outcome);
    }

    void recordFailure(DeployException e) {
      if (ledgerId != null && lockConnection != null) {
        try {
          config.ledger().advance(lockConnection, ledgerId, "failed", config.redactor().redact(e.getMessage()));
        } catch (DeployException ledgerDown) {
          events.warn("could not record the failure in the ledger: " + ledgerDown.getMessage());
        }
      }
    }

    @Override
    public void close() {
      if (lock != null) {
        lock.close();
      }
      if (lockConnection != null) {
        try {
          lockConnection.close();
        } catch (SQLException e) {
          events.debug("closing the lock connection: " + e.getMessage());
        }
      }
      if (session != null) {
        session.close();
      }
    }
  }
}
