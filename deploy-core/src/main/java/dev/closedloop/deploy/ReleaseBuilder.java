package dev.closedloop.deploy;

import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.database.ProductionDatabase;
import dev.closedloop.deploy.guard.CiEnvironment;
import dev.closedloop.deploy.guard.LockMode;
import dev.closedloop.deploy.hook.Hook;
import dev.closedloop.deploy.hook.HookPoint;
import dev.closedloop.deploy.image.RegistryCredentials;
import dev.closedloop.deploy.internal.guard.ReleaseLedger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Collects a release's settings, each under the name of its {@code deploy.*} property; {@link #load()} checks
 * them all at once. Returned by {@link Release#configure()}.
 */
public final class ReleaseBuilder {
  // package-private: ConfigLoader reads the settings as they were set
  String image;
  String sha;
  Path buildContext = Path.of(".");
  Path dockerfile;
  final Map<String, String> buildArgs = new LinkedHashMap<>();
  final List<String> buildSecrets = new ArrayList<>();
  final List<String> platforms = new ArrayList<>();
  String dockerCli;
  String buildTarget;
  final Map<String, String> labels = new LinkedHashMap<>();
  String sourceUrl;
  final List<String> tags = new ArrayList<>();
  boolean forceBuild;
  String dockerHost;
  RegistryCredentials registryCredentials;
  Migrations migrations;
  EphemeralDatabase testDatabase = EphemeralDatabase.embedded();
  final List<ReleaseListener> listeners = new ArrayList<>();
  CiEnvironment ci;
  ProductionDatabase productionDatabase;
  String databaseUrl;
  String databaseUser;
  String databasePassword;
  boolean requireTls;
  final List<String> promoteTags = new ArrayList<>(List.of("latest"));
  final List<String> insecureRegistries = new ArrayList<>();
  final Map<String, RegistryCredentials> pullCredentials = new LinkedHashMap<>();
  String branch;
  final List<String> allowedBranches = new ArrayList<>();
  String branchGuard = "on";
  String lockMode = "supersede";
  String lockTimeout = "30m";
  String testDatabaseUrl;
  String testDatabaseImage;
  String testDatabaseUser;
  String testDatabasePassword;
  String lockName;
  String ledgerSchema = ReleaseLedger.DEFAULT_SCHEMA;
  String ledgerTable = ReleaseLedger.DEFAULT_TABLE;
  boolean failWhenSuperseded;
  String awsEndpoint;
  String awsRegion;
  String rollout;
  String rolloutService;
  String rolloutTimeout;
  dev.closedloop.deploy.rollout.Rollout ownRollout;
  final List<String> localPorts = new ArrayList<>();
  final List<String> localEnv = new ArrayList<>();
  String healthUrl;
  String healthCommand;
  String healthExpect;
  boolean ecsWithoutRollback;
  Path reportFile;
  boolean forPlan;
  boolean withoutProduction;
  String migratorSwitch;
  final List<String> hookEntries = new ArrayList<>();
  /** The library's own hooks, by point, in the order given. */
  final Map<HookPoint, List<Hook>> ownHooks = new EnumMap<>(HookPoint.class);
  String hookTimeout;
  Path hookDirectory;
  String lintLevel;
  String driftCheck;
  final List<String> driftIgnore = new ArrayList<>();
  String compatibilityCommand;
  String compatibilityHealthUrl;
  String compatibilityTimeout;
  final List<String> compatibilityEnv = new ArrayList<>();
  final List<String> lintRules = new ArrayList<>();
  /** Every environment defined, by name, in the order given. */
  final Map<String, Environment> environments = new LinkedHashMap<>();
  /** What is wrong with the environments given: a name twice, a name that is no name. */
  final List<String> environmentProblems = new ArrayList<>();
  /** The environment selected ({@code deploy.environment}); null for none. */
  String environment;
  /** In the copy {@link #load} makes, the environment whose settings replaced the top-level ones. */
  String appliedEnvironment;

  ReleaseBuilder() {}

  /**
   * Named groups of settings ({@code <environments>} in the POM): each replaces the top-level
   * settings it gives while {@link #environment} selects it.
   */
  public ReleaseBuilder environments(List<Environment> defined) {
    for (Environment each : defined == null ? List.<Environment>of() : defined) {
      String name = each.name();
      if (name == null || !Environment.NAME.matcher(name).matches()) {
        environmentProblems.add("environments: '" + name + "' is not an environment's name (lowercase letters,"
            + " digits and dashes)");
      } else if (environments.putIfAbsent(name, each) != null) {
        environmentProblems.add("environments: '" + name + "' is defined twice");
      }
    }
    return this;
  }

  /** The environment to release to ({@code deploy.environment}); null or blank for the top-level settings. */
  public ReleaseBuilder environment(String name) {
    this.environment = name == null || name.isBlank() ? null : name.trim();
    return this;
  }

  /**
   * Hooks as {@code <point>=<command>} ({@code deploy.hooks}): e.g. {@code post-promote=./notify.sh},
   * run with {@code sh -c} in {@link #hookDirectory}.
   */
  public ReleaseBuilder hooks(List<String> entries) {
    if (entries != null) {
      hookEntries.addAll(entries);
    }
    return this;
  }

  /** A hook of the library's own at {@code point}, after the configured commands of that point. */
  public ReleaseBuilder hook(HookPoint point, Hook hook) {
    ownHooks.computeIfAbsent(point, p -> new ArrayList<>()).add(hook);
    return this;
  }

  /** How long each hook command may run ({@code deploy.hookTimeout}); default 5m. */
  public ReleaseBuilder hookTimeout(String timeout) {
    this.hookTimeout = timeout;
    return this;
  }

  /**
   * How seriously the migration lint takes every rule ({@code deploy.lint}): {@code off},
   * {@code warn} (the default) or {@code fail}, which refuses to migrate production.
   */
  public ReleaseBuilder lint(String level) {
    this.lintLevel = level;
    return this;
  }

  /**
   * Whether test-migrate compares production's schema with the one its applied migrations build
   * ({@code deploy.driftCheck}): {@code warn} (the default), {@code fail} or {@code off}.
   */
  public ReleaseBuilder driftCheck(String level) {
    this.driftCheck = level;
    return this;
  }

  /**
   * What the drift check leaves out ({@code deploy.driftIgnore}): globs over the objects it names,
   * {@code *} for any text, e.g. {@code extension pg_stat_statements}, {@code * auth.*} (a
   * provider's schema), {@code index *_tmp_idx}.
   */
  public ReleaseBuilder driftIgnore(List<String> globs) {
    if (globs != null) {
      globs.stream().filter(glob -> glob != null && !glob.isBlank()).map(String::trim).forEach(driftIgnore::add);
    }
    return this;
  }

  /**
   * The backward-compatibility proof ({@code deploy.compatibilityCommand}): after test-migrate,
   * this command runs from the image the first promote tag names (what production runs now)
   * against the migrated throwaway database, e.g. {@code /app/smoke-test}; a non-zero exit stops
   * the release before production is touched. Null or blank for none.
   */
  public ReleaseBuilder compatibilityCommand(String command) {
    this.compatibilityCommand = command;
    return this;
  }

  /**
   * The backward-compatibility proof as a service ({@code deploy.compatibilityHealthUrl}): the
   * image production runs now is started with its own entrypoint, on the Docker engine's host
   * network, against the migrated throwaway database, and must answer 2xx at this URL (e.g.
   * {@code http://127.0.0.1:8080/health}) before the release goes on. With a command as well,
   * the command runs once the service is healthy.
   */
  public ReleaseBuilder compatibilityHealthUrl(String url) {
    this.compatibilityHealthUrl = url;
    return this;
  }

  /** How long the compatibility command may run, and the service may take to be healthy ({@code deploy.compatibilityTimeout}); default 10m. */
  public ReleaseBuilder compatibilityTimeout(String timeout) {
    this.compatibilityTimeout = timeout;
    return this;
  }

  /** {@code NAME=value} for the image, with {url}, {dsn}, {jdbc}, {host}, {port}, {user}, {password}, {database}. */
  public ReleaseBuilder compatibilityEnv(List<String> entries) {
    if (entries != null) {
      entries.stream().filter(entry -> entry != null && !entry.isBlank()).map(String::trim)
          .forEach(compatibilityEnv::add);
    }
    return this;
  }

  /** One rule's level, as {@code <rule-id>=<off|warn|fail>} ({@code deploy.lintRules}). */
  public ReleaseBuilder lintRules(List<String> entries) {
    if (entries != null) {
      lintRules.addAll(entries);
    }
    return this;
  }

  /** Where hook commands run; default the build context. */
  public ReleaseBuilder hookDirectory(Path directory) {
    this.hookDirectory = directory;
    return this;
  }

  /**
   * For a plan, not a release: a production URL or rollout variable whose secret cannot be
   * resolved here (a laptop without the CI's credentials) is left unset and named in
   * {@link ReleaseConfig#unresolved()} instead of refusing the settings.
   */
  public ReleaseBuilder forPlan(boolean plan) {
    this.forPlan = plan;
    return this;
  }

  /**
   * For goals that never reach production (build, test-migrate): the production database
   * ({@code deploy.databaseUrl}, {@code databaseUser}, {@code databasePassword}) and the rollout's
   * environment are not resolved, so a pull-request build needs none of their secrets, nor the
   * credentials to read them. test-migrate then compares nothing with production.
   */
  public ReleaseBuilder withoutProduction(boolean without) {
    this.withoutProduction = without;
    return this;
  }

  /**
   * Confirms that production, whose history another migration tool wrote, is migrated with
   * {@code deploy.migrator} from now on, by naming it ({@code flyway}, {@code goose} or {@code image}).
   * Without it such a switch is refused before anything is applied.
   */
  public ReleaseBuilder migratorSwitch(String migrator) {
    this.migratorSwitch = migrator;
    return this;
  }

  /** Where each run writes release.json (what it did, also when it failed); null for nowhere. */
  public ReleaseBuilder reportFile(Path file) {
    this.reportFile = file;
    return this;
  }

  /** Where the promoted image goes live: none (default), local, apprunner, ecs, ecs-express. */
  public ReleaseBuilder rollout(String kind) {
    this.rollout = kind;
    return this;
  }

  /**
   * A rollout target of the embedder's own, instead of {@code deploy.rollout}: followed after the
   * promote as the built-in targets are, its tags moved back when it rolls back or fails, and
   * closed when the run ends. {@code rolloutTimeout} applies.
   */
  public ReleaseBuilder rollout(dev.closedloop.deploy.rollout.Rollout own) {
    this.ownRollout = own;
    return this;
  }

  /**
   * The rollout's target: the App Runner service ARN, {@code cluster/service} (or the service
   * ARN) for ECS, the Express service ARN, or the container name for local.
   */
  public ReleaseBuilder rolloutService(String service) {
    this.rolloutService = service;
    return this;
  }

  /** How long the rollout may take, e.g. {@code 15m}; default 30m. */
  public ReleaseBuilder rolloutTimeout(String timeout) {
    this.rolloutTimeout = timeout;
    return this;
  }

  /** For a local rollout: ports to publish, {@code HOSTPORT:CONTAINERPORT}. */
  public ReleaseBuilder localPorts(List<String> ports) {
    this.localPorts.clear();
    this.localPorts.addAll(ports);
    return this;
  }

  /**
   * For a local rollout: the container's environment as {@code NAME=value}; a value may be a
   * secret reference ({@code env:}, {@code file:}, {@code ssm:}), which is masked.
   */
  public ReleaseBuilder localEnv(List<String> entries) {
    this.localEnv.clear();
    this.localEnv.addAll(entries);
    return this;
  }

  /**
   * A URL that answers 2xx when the release is live: for a local rollout the new container's
   * check; for App Runner and ECS the public address asked once the platform says the deployment
   * succeeded, before the rollout counts as succeeded.
   */
  public ReleaseBuilder healthUrl(String url) {
    this.healthUrl = url;
    return this;
  }

  /**
   * Text the answer of {@link #healthUrl} must contain, e.g. the commit SHA a version endpoint
   * returns: the rollout succeeds only once the public address serves this release.
   */
  public ReleaseBuilder healthExpect(String text) {
    this.healthExpect = text;
    return this;
  }

  /**
   * For an ECS service without the deployment circuit breaker's rollback: follow it to its steady
   * state and judge it by {@link #healthUrl}, instead of refusing it.
   */
  public ReleaseBuilder ecsWithoutRollback(boolean on) {
    this.ecsWithoutRollback = on;
    return this;
  }

  /** For a local rollout: a command run in the new container ({@code sh -c}) that exits 0 when it is healthy. */
  public ReleaseBuilder healthCommand(String command) {
    this.healthCommand = command;
    return this;
  }

  /**
   * One endpoint for every AWS service closedloop calls (SSM, ECR, …), for moto or LocalStack;
   * default: AWS itself.
   */
  public ReleaseBuilder awsEndpoint(String endpoint) {
    this.awsEndpoint = endpoint;
    return this;
  }

  /** The AWS region; default: the ECR host's region for ECR, else the SDK's chain (AWS_REGION, profile). */
  public ReleaseBuilder awsRegion(String region) {
    this.awsRegion = region;
    return this;
  }

  /** The production database; default: {@link #databaseUrl}, else the DATABASE_URL variable. */
  public ReleaseBuilder productionDatabase(ProductionDatabase database) {
    this.productionDatabase = database;
    return this;
  }

  /**
   * The production database as a connection string (JDBC, libpq URI or key=value), or a
   * secret reference to one ({@code env:NAME}, {@code file:PATH}), or {@code embedded:DIR} for
   * a local stand-in. User and password may be references too.
   */
  public ReleaseBuilder databaseUrl(String url, String user, String password) {
    this.databaseUrl = url;
    this.databaseUser = user;
    this.databasePassword = password;
    return this;
  }

  /** Refuse a remote production database whose connection may fall back to plain text. */
  public ReleaseBuilder requireTls(boolean require) {
    this.requireTls = require;
    return this;
  }

  /** Tags moved to the tested digest at promote; default {@code latest}. */
  public ReleaseBuilder promoteTags(List<String> tags) {
    this.promoteTags.clear();
    this.promoteTags.addAll(tags);
    return this;
  }

  /**
   * Registries off loopback ({@code host[:port]}) to speak plain HTTP to; every other one is
   * spoken to over HTTPS, and one that answers plain HTTP is refused. Loopback registries always
   * speak plain HTTP.
   */
  public ReleaseBuilder insecureRegistries(List<String> registries) {
    this.insecureRegistries.clear();
    this.insecureRegistries.addAll(registries);
    return this;
  }

  /** The branch being released; default: from the CI variables, else git. */
  public ReleaseBuilder branch(String branch) {
    this.branch = branch;
    return this;
  }

  /** Branch patterns allowed to release; default {@code main} and {@code master}. */
  public ReleaseBuilder allowedBranches(List<String> patterns) {
    this.allowedBranches.addAll(patterns);
    return this;
  }

  /** False lets any branch release, loudly, and records that in the ledger. */
  public ReleaseBuilder branchGuard(boolean enabled) {
    this.branchGuard = enabled ? "on" : "off";
    return this;
  }

  /** {@code on} or {@code off}, as the setting is written; checked by {@link #load()}. */
  public ReleaseBuilder branchGuard(String setting) {
    this.branchGuard = setting;
    return this;
  }

  public ReleaseBuilder lockMode(LockMode mode) {
    this.lockMode = mode.name();
    return this;
  }

  /** {@code supersede}, {@code queue} or {@code fail}, as the setting is written; checked by {@link #load()}. */
  public ReleaseBuilder lockMode(String setting) {
    this.lockMode = setting;
    return this;
  }

  /** How long a release waits for the lock; default 30 minutes. */
  public ReleaseBuilder lockTimeout(Duration timeout) {
    this.lockTimeout = timeout == null ? null : timeout.toString();
    return this;
  }

  /** The lock timeout as people write it ({@code 30m}, {@code 90s}, {@code 1h}); checked by {@link #load()}. */
  public ReleaseBuilder lockTimeout(String setting) {
    this.lockTimeout = setting;
    return this;
  }

  /** What releases queue on; default: the image repository's path. */
  public ReleaseBuilder lockName(String name) {
    this.lockName = name;
    return this;
  }

  public ReleaseBuilder ledger(String schema, String table) {
    this.ledgerSchema = schema;
    this.ledgerTable = table;
    return this;
  }

  /** Make a superseded release an error instead of a clean exit. */
  public ReleaseBuilder failWhenSuperseded(boolean fail) {
    this.failWhenSuperseded = fail;
    return this;
  }

  /** The image repository, e.g. {@code 123456789012.dkr.ecr.us-west-2.amazonaws.com/app}. */
  public ReleaseBuilder image(String repository) {
    this.image = repository;
    return this;
  }

  /** The commit being released; default: the CI system's commit variable, else git's HEAD. */
  public ReleaseBuilder sha(String sha) {
    this.sha = sha;
    return this;
  }

  public ReleaseBuilder buildContext(Path context) {
    this.buildContext = context;
    return this;
  }

  /** Default: {@code Dockerfile} in the build context. */
  public ReleaseBuilder dockerfile(Path dockerfile) {
    this.dockerfile = dockerfile;
    return this;
  }

  public ReleaseBuilder buildArg(String name, String value) {
    this.buildArgs.put(name, value);
    return this;
  }

  public ReleaseBuilder buildArgs(Map<String, String> args) {
    this.buildArgs.putAll(args);
    return this;
  }

  /** Build arguments written as {@code NAME=value}, as they come from the command line. */
  public ReleaseBuilder buildArgs(List<String> entries) {
    this.buildArgs.putAll(ConfigLoader.keyValues(entries, "buildArgs (deploy.buildArgs)"));
    return this;
  }

  /**
   * BuildKit build secrets as {@code id=env:NAME}, {@code id=file:PATH} or {@code id=ssm:/path}:
   * a Dockerfile reads one with {@code RUN --mount=type=secret,id=<id>}. Resolved only when the
   * image is built, never printed, and kept in no layer.
   */
  public ReleaseBuilder buildSecrets(List<String> secrets) {
    this.buildSecrets.clear();
    this.buildSecrets.addAll(secrets);
    return this;
  }

  /**
   * The platforms to build for, e.g. {@code linux/amd64} and {@code linux/arm64}: several need
   * {@code docker buildx} with a builder that can, and the index they make is what is promoted.
   */
  public ReleaseBuilder platforms(List<String> platforms) {
    this.platforms.clear();
    this.platforms.addAll(platforms);
    return this;
  }

  /**
   * The docker CLI that builds with BuildKit; default {@code docker} on the PATH. Without one that
   * can ({@code buildx}, or a client older than 23 with {@code DOCKER_BUILDKIT=1}), the engine's
   * API builds.
   */
  public ReleaseBuilder dockerCli(String path) {
    this.dockerCli = path;
    return this;
  }

  /** The Dockerfile stage to build ({@code --target}). */
  public ReleaseBuilder buildTarget(String stage) {
    this.buildTarget = stage;
    return this;
  }

  public ReleaseBuilder labels(Map<String, String> labels) {
    this.labels.putAll(labels);
    return this;
  }

  /** Labels written as {@code name=value}, as they come from the command line. */
  public ReleaseBuilder labels(List<String> entries) {
    this.labels.putAll(ConfigLoader.keyValues(entries, "labels (deploy.labels)"));
    return this;
  }

  /**
   * The source repository's web address, for the {@code org.opencontainers.image.source}
   * label; default: from the CI variables.
   */
  public ReleaseBuilder sourceUrl(String url) {
    this.sourceUrl = url;
    return this;
  }

  /** Tags pushed besides {@code <sha>} at build (never {@code latest}: that moves at promote). */
  public ReleaseBuilder tags(List<String> tags) {
    this.tags.addAll(tags);
    return this;
  }

  /** Rebuild and push even when {@code <sha>} is already in the registry. */
  public ReleaseBuilder forceBuild(boolean force) {
    this.forceBuild = force;
    return this;
  }

  /** The Docker engine; default {@code DOCKER_HOST}, else the platform's socket. */
  public ReleaseBuilder dockerHost(String host) {
    this.dockerHost = host;
    return this;
  }

  /**
   * Credentials for the image's registry; default: the docker CLI's configuration
   * ({@code DOCKER_CONFIG}/config.json: credHelpers, credsStore, auths), and for ECR without
   * any, a token from GetAuthorizationToken.
   */
  public ReleaseBuilder registryCredentials(RegistryCredentials credentials) {
    this.registryCredentials = credentials;
    return this;
  }

  /**
   * Credentials for another registry ({@code host[:port]} as an image names it, {@code docker.io}
   * for Docker Hub) that the build pulls a base image from. Without them, the docker CLI's
   * configuration is asked, and for ECR, GetAuthorizationToken.
   */
  public ReleaseBuilder registryCredentials(String registry, RegistryCredentials credentials) {
    if (credentials == null) {
      this.pullCredentials.remove(registry);
    } else {
      this.pullCredentials.put(registry, credentials);
    }
    return this;
  }

  /** {@link #registryCredentials(String, RegistryCredentials)} for each registry of {@code credentials}. */
  public ReleaseBuilder pullCredentials(Map<String, RegistryCredentials> credentials) {
    credentials.forEach(this::registryCredentials);
    return this;
  }

  public ReleaseBuilder migrations(Migrations migrations) {
    this.migrations = migrations;
    return this;
  }

  /** Where test-migrate runs; default {@link EphemeralDatabase#embedded()}. */
  public ReleaseBuilder testDatabase(EphemeralDatabase database) {
    this.testDatabase = database;
    return this;
  }

  /**
   * A server to test on instead of the embedded one ({@link EphemeralDatabase#external}): a
   * connection string in any form, or a secret reference to one; user and password may be
   * references too. Null or blank keeps {@link #testDatabase}.
   *
   * @see #testDatabaseImage
   */
  /**
   * A PostgreSQL image to run test-migrate in ({@code deploy.testDatabaseImage}), e.g.
   * {@code postgres:15} or {@code supabase/postgres}: a container of it per run, on the Docker
   * engine of {@link #dockerHost}. Null or blank keeps {@link #testDatabase}.
   */
  public ReleaseBuilder testDatabaseImage(String image) {
    this.testDatabaseImage = image;
    return this;
  }

  public ReleaseBuilder testDatabaseUrl(String url, String user, String password) {
    this.testDatabaseUrl = url;
    this.testDatabaseUser = user;
    this.testDatabasePassword = password;
    return this;
  }

  public ReleaseBuilder listener(ReleaseListener listener) {
    this.listeners.add(listener);
    return this;
  }

  /** Where the commit SHA is read from when {@link #sha} is not set. */
  public ReleaseBuilder ciEnvironment(CiEnvironment ci) {
    this.ci = ci;
    return this;
  }

  /**
   * Checks every setting and returns the release.
   *
   * @throws DeployException of kind CONFIGURATION listing every bad setting in one message
   */
  public Release load() {
    return load(environment);
  }

  /**
   * The release in environment {@code name}: its settings over a copy of these, which stay as
   * they are; the top-level settings alone for null.
   */
  Release load(String name) {
    ReleaseBuilder effective = copy();
    effective.environment = name;
    effective.environmentProblems.addAll(clashes());
    Environment selected = name == null ? null : environments.get(name);
    if (selected != null) {
      selected.applyTo(effective);
      effective.appliedEnvironment = name;
    }
    Release release = new ConfigLoader(effective).load();
    ReleaseBuilder topLevel = copy(); // what later changes to this builder do not touch
    release.environments = other -> topLevel.load(other);
    return release;
  }

  /**
   * Two environments that would move the same tag of the one image repository (a release to one
   * would put its image live in the other), or that name the same lock.
   */
  private List<String> clashes() {
    List<String> problems = new ArrayList<>();
    String topLock = lockName;
    if (topLock == null && image != null) {
      try {
        topLock = dev.closedloop.deploy.image.ImageRef.parse(image).repository();
      } catch (DeployException e) {
        topLock = null; // the image's own problem is reported with the other settings
      }
    }
    Map<String, String> lockedBy = new LinkedHashMap<>();
    for (Environment each : environments.values()) {
      String lock = each.namesLock() ? each.lockName() : topLock == null ? null : topLock + "/" + each.name();
      String other = lock == null ? null : lockedBy.putIfAbsent(lock, each.name());
      if (other != null) {
        problems.add("environments " + other + " and " + each.name() + " both use the lock '" + lock + "': each"
            + " environment keeps its own ledger rows and lock");
      }
    }
    Map<String, String> movedBy = new LinkedHashMap<>();
    for (Environment each : environments.values()) {
      for (String tag : each.tagsOver(promoteTags)) {
        String other = movedBy.putIfAbsent(tag, each.name());
        if (other != null) {
          problems.add("environments " + other + " and " + each.name() + " both move the tag '" + tag + "': a release"
              + " to one would put its image live in the other; give each its own promoteTags");
        }
      }
    }
    return problems;
  }

  /**
   * A copy of every setting, collections copied: an environment's settings replace the copy's, and
   * a release loads another environment (the one it promotes from) from the same top-level settings.
   */
  private ReleaseBuilder copy() {
    ReleaseBuilder copy = new ReleaseBuilder();
    try {
      for (java.lang.reflect.Field field : ReleaseBuilder.class.getDeclaredFields()) {
        if (java.lang.reflect.Modifier.isStatic(field.getModifiers())) {
          continue;
        }
        Object value = field.get(this);
        if (!java.lang.reflect.Modifier.isFinal(field.getModifiers())) {
          field.set(copy, value);
        } else if (value instanceof java.util.Collection<?> values) {
          @SuppressWarnings("unchecked")
          java.util.Collection<Object> into = (java.util.Collection<Object>) field.get(copy);
          into.clear();
          into.addAll(values);
        } else if (value instanceof Map<?, ?> entries) {
          @SuppressWarnings("unchecked")
          Map<Object, Object> into = (Map<Object, Object>) field.get(copy);
          into.clear();
          entries.forEach((key, entry) -> into.put(key, entry instanceof List<?> list ? new ArrayList<>(list) : entry));
        } else {
          throw new IllegalStateException("cannot copy the setting " + field.getName()); // a new kind of field
        }
      }
    } catch (IllegalAccessException e) {
      throw new IllegalStateException(e);
    }
    return copy;
  }
}
