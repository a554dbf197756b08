package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.Migrator;
import dev.closedloop.deploy.guard.LedgerKind;
import dev.closedloop.deploy.image.BuiltImage;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.database.Migrators;
import dev.closedloop.deploy.internal.image.DockerEngine;
import dev.closedloop.deploy.internal.image.EcrRegistry;
import dev.closedloop.deploy.internal.image.ImageRunner;
import dev.closedloop.deploy.internal.image.OciRegistry;
import dev.closedloop.deploy.internal.image.Registry;
import dev.closedloop.deploy.internal.rollout.Rollouts;
import dev.closedloop.deploy.rollout.Rollout;
import dev.closedloop.deploy.secret.Redactor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * One run of steps: the resources it opened (registry client, Docker engine, rollout target, the
 * production session) and its stop signal, apart from what its steps produced ({@link #state()},
 * written by the runner alone). Everything is opened on first use and closed in reverse order
 * when the run ends, also when it failed. Steps of one stage run on threads of their own, so
 * every method is safe to call from several threads.
 */
public final class RunContext implements AutoCloseable {

  private final ReleaseConfig config;
  private final Events events;
  /** What the run puts live: the commit it builds, or an earlier release's image. */
  private final LedgerKind kind;
  private final RunState state = new RunState();
  private final Deque<AutoCloseable> opened = new ArrayDeque<>();
  private final List<Runnable> onStop = new ArrayList<>();
  private boolean stopped;

  private Registry registry;
  private DockerEngine docker;
  private ProductionSession session;
  /** The session being opened or opened: what it decided stays known when opening it failed. */
  private volatile ProductionSession tried;
  /** How the run enters production: over JDBC, or a unit test's own. */
  private final BiFunction<RunContext, Step, ProductionSession> production;
  /** The migration tool for a step: the configured one, or a unit test's own. */
  private final Function<Step, Migrator> migrators;
  private Rollout rollout;
  private final Object credentialsLock = new Object();
  private RegistryCredentials pushCredentials;
  private volatile BuiltImage shaImage;
  /** The image a step is about to put live, named before the act so a failed run still says which. */
  private volatile BuiltImage goingLive;
  /** For a promotion from another environment: what that environment runs; null otherwise. */
  private volatile PromotionSource promotion;

  public RunContext(ReleaseConfig config, Events events) {
    this(config, events, LedgerKind.RELEASE);
  }

  public RunContext(ReleaseConfig config, Events events, LedgerKind kind) {
    this(config, events, kind, null, ReleaseSession::open, null);
  }

  /**
   * A run whose registry, production and migration tool are given, for steps tested without
   * Docker or PostgreSQL; null for the registry or the tool takes the configured one.
   */
  RunContext(ReleaseConfig config, Events events, LedgerKind kind, Registry registry,
      BiFunction<RunContext, Step, ProductionSession> production, Function<Step, Migrator> migrators) {
    this.config = config;
    this.events = events;
    config.redactor().secrets().forEach(events::mask); // a run masks at least what its configuration does
    this.kind = kind;
    this.registry = registry;
    this.production = production;
    this.migrators = migrators != null ? migrators
        : step -> Migrators.of(config.testMigrate().migrations(), events, step, this::imageRunner);
  }

  /** The migration tool, for {@code step}'s events; migrations from the image run from this run's image. */
  public Migrator migrator(Step step) {
    return migrators.apply(step);
  }

  public ReleaseConfig config() {
    return config;
  }

  public Events events() {
    return events;
  }

  /** Masks every secret the run knows now: its configuration's and those it added (ECR's push token). */
  public Redactor redactor() {
    return events.redactor();
  }

  public LedgerKind kind() {
    return kind;
  }

  /** What the steps produced so far. */
  public RunState state() {
    return state;
  }

  /** ECR through the AWS SDK for ECR hosts, the distribution API for every other registry. */
  public synchronized Registry registry() {
    if (registry == null) {
      ImageRef image = config.buildRequest().repository();
      registry = image != null && image.isEcr() ? own(EcrRegistry.of(image, config.registry().aws()))
          : new OciRegistry(config.registry().registryCredentials(), java.util.Set.copyOf(config.registry().insecureRegistries()),
              dev.closedloop.deploy.internal.Proxies.of(config.ci().variables()));
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
        pushCredentials = config.registry().registryCredentials();
        if (pushCredentials == null) {
          pushCredentials = registry().pushCredentials();
          if (pushCredentials != null) {
            events.mask(pushCredentials.password()); // the run's secret: the configuration stays as loaded
          }
        }
      }
      return pushCredentials;
    }
  }

  /**
   * Credentials for each registry the build pulls a base image from: the image's own; for another,
   * the configured ones (settings.xml's {@code <server>} by host), else the docker CLI's
   * configuration, else for ECR a token from GetAuthorizationToken. A registry none of them knows is
   * left out (pulled anonymously), and one whose credentials cannot be read is warned about, since
   * a public base image needs none. Each secret is masked for the run.
   */
  public Map<String, RegistryCredentials> pullCredentials(java.util.Set<String> registries) {
    Map<String, RegistryCredentials> found = new java.util.LinkedHashMap<>();
    ImageRef own = config.buildRequest().repository();
    for (String registry : registries) {
      RegistryCredentials credentials;
      try {
        credentials = own != null && registry.equals(own.registry()) ? registryCredentials()
            : otherRegistry(registry);
      } catch (RuntimeException e) {
        events.warn("No credentials for " + registry + ", where the Dockerfile pulls from: " + e.getMessage()
            + "; pulling anonymously");
        continue;
      }
      if (credentials != null) {
        events.mask(credentials.password());
        found.put(registry, credentials);
      }
    }
    return found;
  }

  /** The docker CLI that builds with BuildKit ({@code deploy.dockerCli}, else {@code docker} on the PATH), if one can. */
  public java.util.Optional<dev.closedloop.deploy.internal.image.BuildKit> buildKit() {
    String named = config.registry().dockerCli();
    return dev.closedloop.deploy.internal.image.BuildKit.find(named, config.ci().variables(), why -> {
      if (named != null && !named.isBlank()) {
        events.warn("deploy.dockerCli: " + why + "; the engine's API builds instead, without BuildKit");
      } else {
        events.debug("no BuildKit: " + why);
      }
    });
  }

  /** A build secret's value, read from its reference when the image is built, and masked from then on. */
  public String buildSecret(String reference) {
    dev.closedloop.deploy.internal.secret.Secrets found = new dev.closedloop.deploy.internal.secret.Secrets();
    found.onAdd(events::mask);
    try (dev.closedloop.deploy.internal.secret.SecretResolver resolver =
        new dev.closedloop.deploy.internal.secret.SecretResolver(config.ci().variables(), found, config.registry().aws())) {
      String value = resolver.resolve(reference, "buildSecrets (deploy.buildSecrets)");
      events.mask(value);
      return value;
    }
  }

  private RegistryCredentials otherRegistry(String registry) {
    RegistryCredentials configured = config.registry().pullCredentials().get(registry);
    if (configured != null) {
      return configured;
    }
    java.util.Optional<RegistryCredentials> docker = dev.closedloop.deploy.internal.image.DockerConfig
        .current(config.ci().variables()).credentials(registry);
    if (docker.isPresent()) {
      return docker.get();
    }
    ImageRef base = ImageRef.parse(registry + "/base");
    if (base.isEcr()) {
      try (EcrRegistry ecr = EcrRegistry.of(base, config.registry().aws())) {
        return ecr.pushCredentials();
      }
    }
    return null;
  }

  /** The built image by digest, to run commands from (migrations run from the image). */
  public ImageRunner imageRunner() {
    return new ImageRunner(docker(), config.buildRequest().repository().withDigest(resolveImage().digest()), this::registryCredentials);
  }

  /** Where the promoted image goes live ({@code deploy.rollout}), opened on first use. */
  public synchronized Rollout rollout() {
    if (rollout == null) {
      ImageRef repository = config.buildRequest().repository();
      rollout = own(Rollouts.open(config.rollout(), config.registry().aws(), repository,
          config.registry().promoteTags(), this::docker, this::registryCredentials,
          tag -> registry().digestOf(repository.withTag(tag)), events));
    }
    return rollout;
  }

  /**
   * Tells the rollout target, when there is one, that the promote tags are about to move, so the
   * deployment the move starts can be told from those before it.
   */
  public void beforeTagMove() {
    if (config.rollout().enabled()) {
      rollout().beforeTagMove();
    }
  }

  /** The Docker engine, connected and pinged on first use. */
  public synchronized DockerEngine docker() {
    if (docker == null) {
      docker = own(DockerEngine.connect(config.registry().dockerHost()));
    }
    return docker;
  }

  /**
   * Enters production for {@code step}, the first time: past the branch guard, connected, in the
   * ledger and holding the release lock (or superseded while it waited), which may take up to
   * {@code deploy.lockTimeout}. Held until the run ends; later calls return the same session.
   */
  public synchronized ProductionSession lockProduction(Step step) {
    if (session == null) {
      session = own(production.apply(this, step));
      tried = session;
      if (promotion != null && !session.superseded()) {
        // before anything acts holding the lock (pre-migrate hooks included): it may have changed while we waited
        promotion.stillRuns(events);
      }
    }
    return session;
  }

  /** Called by the session being opened, before it connects: what it decides stays known if it fails. */
  void opening(ProductionSession session) {
    this.tried = session;
  }

  /** The session, when a step entered production and holds it. */
  public synchronized Optional<ProductionSession> heldSession() {
    return Optional.ofNullable(session);
  }

  /** The session a step opened or tried to open: the guards' decisions and the ledger row, as far as it got. */
  public Optional<ProductionSession> triedSession() {
    return Optional.ofNullable(tried);
  }

  /** True when a newer release took this one's place while it waited for the lock. */
  public synchronized boolean superseded() {
    return session != null && session.superseded();
  }

  /**
   * The image this run puts live, as far as a step produced it (a rollback's target, the promoted
   * digest, the build), else the one {@link #resolveImage} looked up.
   */
  public Optional<BuiltImage> knownImage() {
    return state.get(PromoteStep.PROMOTED).map(PromoteStep.Promotion::image).or(() -> Optional.ofNullable(goingLive))
        .or(() -> state.get(BuildStep.IMAGE)).or(() -> Optional.ofNullable(shaImage));
  }

  /**
   * Names the image a step is about to move the promote tags to (a rollback's target, the digest a
   * split job's migrate recorded), before it moves any: the partial result and the on-failure
   * hooks of a run that fails halfway name it, as its ledger row does.
   */
  void goingLive(BuiltImage image) {
    this.goingLive = image;
  }

  /**
   * Makes this run a promotion of what another environment runs: its image by digest (never
   * rebuilt, never looked up by tag again) and its migration set, which test-migrate must prove
   * again here before production is migrated.
   *
   * @throws DeployException of kind REGISTRY when the registry no longer has that digest
   */
  public void promoteFrom(PromotionSource promotion) {
    PromotionSource.Released source = promotion.released();
    ImageRef byDigest = config.buildRequest().repository().withDigest(source.digest());
    if (registry().digestOf(byDigest).isEmpty()) {
      throw new DeployException(DeployException.Kind.REGISTRY, byDigest + ", which " + source.describe() + " runs, is"
          + " not in the registry any more: nothing to promote");
    }
    ImageRef shaRef = config.buildRequest().shaRef();
    registry().digestOf(shaRef).filter(now -> !now.equals(source.digest())).ifPresent(now -> events.warn(shaRef
        + " now names " + now + ", not the " + source.digest() + " " + source.describe() + " runs: promoting "
        + source.digest()));
    this.promotion = promotion;
    goingLive(new BuiltImage(shaRef, source.digest(), List.of(shaRef), true));
  }

  /** What another environment runs, when this run promotes it. */
  public Optional<PromotionSource> promotion() {
    return Optional.ofNullable(promotion);
  }

  /**
   * The image of this run: what {@link #knownImage} knows, else {@code <image>:<sha>} as the
   * registry has it now (a split job whose build ran in another process), looked up once.
   *
   * @throws DeployException of kind REGISTRY when the registry does not have it
   */
  public BuiltImage resolveImage() {
    Optional<BuiltImage> known = knownImage();
    if (known.isPresent()) {
      return known.get();
    }
    ImageRef shaRef = config.buildRequest().shaRef();
    String digest = registry().digestOf(shaRef).orElseThrow(() -> new DeployException(DeployException.Kind.REGISTRY,
        shaRef + " is not in the registry: run deploy:build for this commit first"));
    BuiltImage found = new BuiltImage(shaRef, digest, List.of(shaRef), true);
    shaImage = found;
    return found;
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
