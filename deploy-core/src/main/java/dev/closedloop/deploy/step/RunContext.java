package dev.closedloop.deploy.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Events;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.StepResult;
import dev.closedloop.deploy.database.MigrationOutcome;
import dev.closedloop.deploy.image.BuiltImage;
import dev.closedloop.deploy.image.DockerEngine;
import dev.closedloop.deploy.image.EcrRegistry;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.ImageRunner;
import dev.closedloop.deploy.image.OciRegistry;
import dev.closedloop.deploy.image.Registry;
import dev.closedloop.deploy.image.RegistryCredentials;
import dev.closedloop.deploy.image.TagMove;
import dev.closedloop.deploy.rollout.Rollout;
import dev.closedloop.deploy.rollout.RolloutResult;
import dev.closedloop.deploy.rollout.Rollouts;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;

/**
 * One run of steps: what it opened (registry client, Docker engine, the production session) and
 * what its steps produced. Everything is opened on first use and closed in reverse order when
 * the run ends, also when it failed. Steps of one stage run on threads of their own, so every
 * method is safe to call from several threads.
 */
public final class RunContext implements AutoCloseable {

  private final ReleaseConfig config;
  private final Events events;
  private final Deque<AutoCloseable> opened = new ArrayDeque<>();
  private final List<StepResult> results = new ArrayList<>();
  private final List<dev.closedloop.deploy.hook.HookRun> hookRuns = new ArrayList<>();
  private final List<Runnable> onStop = new ArrayList<>();
  private boolean stopped;

  private Registry registry;
  private DockerEngine docker;
  private ReleaseSession session;
  private Rollout rollout;
  private final Object credentialsLock = new Object();
  private RegistryCredentials pushCredentials;

  private volatile BuiltImage image;
  private volatile MigrationOutcome testMigration;
  private volatile MigrationOutcome migration;
  private volatile List<TagMove> promotion;
  private volatile Long ledgerId;
  private volatile Instant promoteStarted;
  private volatile RolloutResult rolloutResult;
  private volatile dev.closedloop.deploy.ReleaseResult.Guards guards;
  private volatile boolean rollingBack;
  private volatile List<dev.closedloop.deploy.lint.Finding> lint;
  private volatile dev.closedloop.deploy.guard.ReleaseLedger.Entry finishing;

  public RunContext(ReleaseConfig config, Events events) {
    this.config = config;
    this.events = events;
  }

  public ReleaseConfig config() {
    return config;
  }

  public Events events() {
    return events;
  }

  /** ECR through the AWS SDK for ECR hosts, the distribution API for every other registry. */
  public synchronized Registry registry() {
    if (registry == null) {
      ImageRef image = config.image();
      registry = image != null && image.isEcr() ? own(EcrRegistry.of(image, config.aws()))
          : new OciRegistry(config.registryCredentials());
    }
    return registry;
  }

  /**
   * Credentials for pushing and pulling the image: the configured ones, else for ECR a token from
   * GetAuthorizationToken, fetched once for the run and masked.
   */
  public RegistryCredentials registryCredentials() {
    // its own lock: a token fetch over the network must not hold up stop() or another step's resources
    synchronized (credentialsLock) {
      if (pushCredentials == null) {
        pushCredentials = config.registryCredentials();
        if (pushCredentials == null && registry() instanceof EcrRegistry ecr) {
          pushCredentials = ecr.pushCredentials();
          config.redactor().register(pushCredentials.password());
        }
      }
      return pushCredentials;
    }
  }

  /** The built image by digest, to run commands from (migrations run from the image). */
  public ImageRunner imageRunner() {
    return new ImageRunner(docker(), config.image().withDigest(image().digest()), this::registryCredentials);
  }

  /** Where the promoted image goes live ({@code deploy.rollout}), opened on first use. */
  public synchronized Rollout rollout() {
    if (rollout == null) {
      rollout = own(Rollouts.open(config.rollout(), config.aws(), config.image(), config.promoteTags(), this::docker,
          this::registryCredentials, events));
    }
    return rollout;
  }

  /** The Docker engine, connected and pinged on first use. */
  public synchronized DockerEngine docker() {
    if (docker == null) {
      docker = own(DockerEngine.connect(config.dockerHost()));
    }
    return docker;
  }

  /**
   * The production session: past the branch guard, connected, in the ledger and holding the
   * release lock (or superseded while it waited). Opened on first use, held until the run ends.
   */
  public synchronized ReleaseSession session() {
    if (session == null) {
      session = own(ReleaseSession.open(this));
    }
    return session;
  }

  /** Marks this run as a rollback: its session learns the image only once it holds the lock. */
  void rollingBack(boolean rollingBack) {
    this.rollingBack = rollingBack;
  }

  boolean rollingBack() {
    return rollingBack;
  }

  /** The session, when a step opened one. */
  public synchronized Optional<ReleaseSession> openSession() {
    return Optional.ofNullable(session);
  }

  /** True when a newer release took this one's place while it waited for the lock. */
  public synchronized boolean superseded() {
    return session != null && session.superseded();
  }

  /**
   * The image of this run: the one build produced, else {@code <image>:<sha>} as the registry
   * has it now (a split job whose build ran in another process).
   */
  public BuiltImage image() {
    BuiltImage built = image;
    if (built == null) {
      ImageRef shaRef = config.buildRequest().shaRef();
      String digest = registry().digestOf(shaRef).orElseThrow(() -> new DeployException(DeployException.Kind.REGISTRY,
          shaRef + " is not in the registry: run deploy:build for this commit first"));
      built = new BuiltImage(shaRef, digest, List.of(shaRef), true);
      image = built;
    }
    return built;
  }

  void image(BuiltImage built) {
    this.image = built;
  }

  /** The image, when build ran or a step looked it up. */
  public Optional<BuiltImage> knownImage() {
    return Optional.ofNullable(image);
  }

  /** What test-migrate proved in this run. */
  public Optional<MigrationOutcome> testMigration() {
    return Optional.ofNullable(testMigration);
  }

  void testMigration(MigrationOutcome outcome) {
    this.testMigration = outcome;
  }

  /** What migrate applied to production. */
  public Optional<MigrationOutcome> migration() {
    return Optional.ofNullable(migration);
  }

  void migration(MigrationOutcome outcome) {
    this.migration = outcome;
  }

  /** Each promote tag's move. */
  public Optional<List<TagMove>> promotion() {
    return Optional.ofNullable(promotion);
  }

  void promotion(List<TagMove> moves) {
    this.promotion = List.copyOf(moves);
  }

  /** When the promote began to move tags: a deployment the move started began after it. */
  public Instant promoteStarted() {
    return promoteStarted;
  }

  void promoteStarted(Instant at) {
    this.promoteStarted = at;
  }

  /** What the guards decided, as far as the run got. */
  public Optional<dev.closedloop.deploy.ReleaseResult.Guards> guards() {
    return Optional.ofNullable(guards);
  }

  void guards(dev.closedloop.deploy.ReleaseResult.Guards decided) {
    this.guards = decided;
  }

  /** How the rollout ended, once it did. */
  public Optional<RolloutResult> rolloutResult() {
    return Optional.ofNullable(rolloutResult);
  }

  void rollout(RolloutResult result) {
    this.rolloutResult = result;
  }

  /** This run's row in the ledger, once it has one. */
  public Optional<Long> ledgerId() {
    return Optional.ofNullable(ledgerId);
  }

  void ledgerId(long id) {
    this.ledgerId = id;
  }

  /** Records a hook that ran. */
  /** The failed rollback this one finishes: what it moved is this run's to move back. */
  void finishing(dev.closedloop.deploy.guard.ReleaseLedger.Entry rollback) {
    this.finishing = rollback;
  }

  Optional<dev.closedloop.deploy.guard.ReleaseLedger.Entry> finishing() {
    return Optional.ofNullable(finishing);
  }

  /** What the migration lint found in the migrations about to be applied to production. */
  public void lint(List<dev.closedloop.deploy.lint.Finding> findings) {
    this.lint = List.copyOf(findings);
  }

  public Optional<List<dev.closedloop.deploy.lint.Finding>> lint() {
    return Optional.ofNullable(lint);
  }

  public synchronized void addHookRun(dev.closedloop.deploy.hook.HookRun run) {
    hookRuns.add(run);
  }

  /** The hooks that ran so far, in order. */
  public synchronized List<dev.closedloop.deploy.hook.HookRun> hookRuns() {
    return List.copyOf(hookRuns);
  }

  /** Every step's result so far, in the order they ended. */
  public synchronized List<StepResult> results() {
    return List.copyOf(results);
  }

  synchronized void add(StepResult result) {
    results.add(result);
  }

  /**
   * Runs {@code action} when the run is stopped because a step running beside the caller's
   * failed (at once when it already was). Closing the returned handle forgets the action.
   */
  public Registration onStop(Runnable action) {
    boolean now;
    synchronized (this) {
      now = stopped;
      if (!now) {
        onStop.add(action);
      }
    }
    if (now) {
      action.run();
    }
    return () -> {
      synchronized (this) {
        onStop.remove(action);
      }
    };
  }

  /** True once the run was stopped: a step should end as soon as it can, changing nothing more. */
  public synchronized boolean stopped() {
    return stopped;
  }

  void stop() {
    List<Runnable> actions;
    synchronized (this) {
      if (stopped) {
        return;
      }
      stopped = true;
      actions = List.copyOf(onStop);
      onStop.clear();
    }
    for (Runnable action : actions) {
      try {
        action.run();
      } catch (RuntimeException e) {
        events.debug("stopping a step: " + e);
      }
    }
  }

  /** An action registered with {@link #onStop}; closing it forgets the action. */
  public interface Registration extends AutoCloseable {
    @Override
    void close();
  }

  synchronized <T> T own(T resource) {
    if (resource instanceof AutoCloseable closeable) {
      opened.push(closeable);
    }
    return resource;
  }

  /** Closes everything the run opened, newest first; a failure to close is logged, not thrown. */
  @Override
  public synchronized void close() {
    while (!opened.isEmpty()) {
      AutoCloseable resource = opened.pop();
      try {
        resource.close();
      } catch (Exception e) {
        events.debug("closing " + resource.getClass().getSimpleName() + ": " + e.getMessage());
      }
    }
  }
}
