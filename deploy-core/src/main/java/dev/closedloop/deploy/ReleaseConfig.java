package dev.closedloop.deploy;

import dev.closedloop.deploy.aws.AwsSettings;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.database.ProductionDatabase;
import dev.closedloop.deploy.guard.BranchGuard;
import dev.closedloop.deploy.guard.CiEnvironment;
import dev.closedloop.deploy.guard.ReleaseLedger;
import dev.closedloop.deploy.guard.ReleaseLock;
import dev.closedloop.deploy.image.BuildRequest;
import dev.closedloop.deploy.image.DockerConfig;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import dev.closedloop.deploy.rollout.RolloutSettings;
import dev.closedloop.deploy.secret.Redactor;
import dev.closedloop.deploy.secret.SecretResolver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A release's immutable configuration. Built with {@link Release#configure()}; every setting has
 * one name, the same as its {@code deploy.*} property in the Maven plugin.
 */
public record ReleaseConfig(
    ImageRef image,
    String sha,
    Path buildContext,
    Path dockerfile,
    Map<String, String> buildArgs,
    String buildTarget,
    Map<String, String> labels,
    String sourceUrl,
    List<String> tags,
    boolean forceBuild,
    String dockerHost,
    RegistryCredentials registryCredentials,
    Migrations migrations,
    EphemeralDatabase testDatabase,
    ProductionDatabase productionDatabase,
    boolean requireTls,
    List<String> promoteTags,
    AwsSettings aws,
    RolloutSettings rollout,
    Path reportFile,
    Guards guards,
    CiEnvironment ci,
    Redactor redactor,
    List<ReleaseListener> listeners,
    List<String> warnings,
    List<String> unresolved,
    dev.closedloop.deploy.hook.Hooks hooks,
    dev.closedloop.deploy.lint.LintSettings lint,
    dev.closedloop.deploy.CheckLevel driftCheck,
    List<String> driftIgnore,
    Compatibility compatibility) {

  /**
   * The backward-compatibility proof: the image production runs now, against the migrated
   * throwaway database, with {@code env} ({@code NAME=value}, the connection's placeholders
   * filled in). It is started as a service until {@code healthUrl} answers 2xx, or runs
   * {@code command} to its end, or both (the command while the service runs); each wait ends
   * after {@code timeout}. Either of {@code command} and {@code healthUrl} may be null, not both.
   */
  public record Compatibility(String command, List<String> env, java.net.URI healthUrl, Duration timeout) {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);

    public Compatibility {
      env = List.copyOf(env);
      timeout = timeout == null ? DEFAULT_TIMEOUT : timeout;
      if (command == null && healthUrl == null) {
        throw new IllegalArgumentException("a compatibility check needs a command or a health URL");
      }
    }

    /** What the check does, for progress lines and the plan. */
    public String describe() {
      return describe(command, healthUrl == null ? null : healthUrl.toString());
    }

    /** What a check of {@code command} and {@code healthUrl}, either null, does. */
    public static String describe(String command, String healthUrl) {
      String service = healthUrl == null ? null : "start it and wait for " + healthUrl + " to answer 2xx";
      String run = command == null ? null : "run '" + command + "'" + (service == null ? "" : " while it serves");
      return service == null ? run : run == null ? service : service + ", then " + run;
    }
  }

  /** How a release is kept to one branch and one at a time. */
  public record Guards(
      String branch,
      List<String> allowedBranches,
      boolean branchGuard,
      ReleaseLock.Mode lockMode,
      Duration lockTimeout,
      String lockName,
      String ledgerSchema,
      String ledgerTable,
      boolean failWhenSuperseded) {

    public Guards {
      allowedBranches = List.copyOf(allowedBranches);
    }
  }

  private static final Pattern SHA = Pattern.compile("[0-9a-f]{7,64}");
  /** A tag as the distribution spec defines it. */
  private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");

  public ReleaseConfig {
    buildArgs = Map.copyOf(buildArgs);
    labels = Map.copyOf(labels);
    tags = List.copyOf(tags);
    promoteTags = List.copyOf(promoteTags);
    listeners = List.copyOf(listeners);
    warnings = List.copyOf(warnings);
    unresolved = unresolved == null ? List.of() : List.copyOf(unresolved);
    hooks = hooks == null ? new dev.closedloop.deploy.hook.Hooks() : hooks;
  }

  /** What a log or a debugger may show: no build argument's value, no credential, no URL with a password. */
  @Override
  public String toString() {
    return "ReleaseConfig[image=" + image + ", sha=" + sha + ", buildContext=" + buildContext + ", buildArgs="
        + buildArgs.keySet() + ", migrations=" + migrations + ", testDatabase="
        + (testDatabase != null ? testDatabase.describe() : null) + ", productionDatabase="
        + (productionDatabase != null ? productionDatabase.describe() : null) + ", promoteTags=" + promoteTags
        + ", rollout=" + rollout.kind().id() + (rollout.enabled() ? " " + rollout.service() : "")
        + ", guards=" + guards + ", registryCredentials=" + (registryCredentials != null ? "****" : null) + "]";
  }

  /** The build request this configuration describes. */
  public BuildRequest buildRequest() {
    Map<String, String> allLabels = new LinkedHashMap<>();
    if (sourceUrl != null && !sourceUrl.isBlank()) {
      allLabels.put("org.opencontainers.image.source", sourceUrl);
    }
    allLabels.putAll(labels);
    return new BuildRequest(image, sha, buildContext, dockerfile, buildArgs, buildTarget, allLabels, tags, forceBuild);
  }

  /** The ledger this configuration names. */
  public ReleaseLedger ledger() {
    return new ReleaseLedger(guards.ledgerSchema(), guards.ledgerTable());
  }

  /**
   * Checks that the settings {@code steps} need are set.
   *
   * @throws DeployException of kind CONFIGURATION naming every missing setting at once
   */
  void require(Step... steps) {
    List<String> missing = new ArrayList<>();
    for (Step step : steps) {
      switch (step) {
        case BUILD -> {
          if (image == null) {
            missing.add("image (deploy.image)");
          }
          if (sha == null) {
            missing.add("sha (deploy.sha; no CI variable or git repository gave one)");
          }
        }
        case TEST_MIGRATE -> {
          if (migrations == null) {
            missing.add("migrations (deploy.migrations)");
          } else if (migrations.runFromImage()) { // run from <image>:<sha>
            if (image == null) {
              missing.add("image (deploy.image)");
            }
            if (sha == null) {
              missing.add("sha (deploy.sha; no CI variable or git repository gave one)");
            }
          }
          if (testDatabase == null) {
            missing.add("testDatabase (deploy.testDatabaseUrl, or the embedded default)");
          }
        }
        case ROLLOUT -> {
          if (image == null) {
            missing.add("image (deploy.image)");
          }
        }
        case MIGRATE, PROMOTE, ROLLBACK -> { // all write the ledger, under the release lock, with the image's digest
          if (image == null) {
            missing.add("image (deploy.image)");
          }
          if (sha == null) {
            missing.add("sha (deploy.sha; no CI variable or git repository gave one)");
          }
          missing.addAll(ledgerMissing());
          if (step != Step.MIGRATE && promoteTags.isEmpty()) { // the first is the one releases go live by
            missing.add("promoteTags (deploy.promoteTags)");
          }
        }
        default -> { }
      }
    }
    missing = missing.stream().distinct().toList();
    if (!missing.isEmpty()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION,
          String.join(", ", missing) + (missing.size() == 1 ? " is" : " are") + " required by "
              + List.of(steps) + " but not set");
    }
  }

  /** What reading the ledger needs (deploy:history): production and the lock's name, nothing of a commit. */
  void requireLedger() {
    List<String> missing = ledgerMissing();
    if (!missing.isEmpty()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, String.join(", ", missing)
          + (missing.size() == 1 ? " is" : " are") + " required by [history] but not set");
    }
  }

  /** The ledger's settings not set: production, where it is kept, and the lock's name, whose rows it keeps. */
  private List<String> ledgerMissing() {
    List<String> missing = new ArrayList<>();
    if (productionDatabase == null) {
      missing.add("databaseUrl (deploy.databaseUrl, or the DATABASE_URL variable)");
    }
    if (guards.lockName() == null) {
      missing.add("lockName (deploy.lockName, or deploy.image to derive it from)");
    }
    return missing;
  }

  /** True when a connection string may hold a password: {@code user:password@}, or a password parameter. */
  static boolean holdsCredentials(String url) {
    int query = url.indexOf('?');
    // an '@' before the query ends user info, as the URI parser reads it (a password may hold '/' or '#')
    return (query < 0 ? url : url.substring(0, query)).contains("@")
        || url.toLowerCase(java.util.Locale.ROOT).contains("password");
  }

  /** The parsed value, or null with the parser's message added to {@code problems}. */
  private static <T> T parse(List<String> problems, java.util.function.Supplier<T> parser) {
    try {
      return parser.get();
    } catch (DeployException e) {
      problems.add(e.getMessage());
      return null;
    }
  }

  private static Map<String, String> keyValues(List<String> entries, String setting) {
    Map<String, String> map = new LinkedHashMap<>();
    for (String entry : entries) {
      int eq = entry == null ? -1 : entry.indexOf('=');
      if (eq <= 0) {
        throw new DeployException(DeployException.Kind.CONFIGURATION,
            setting + " takes NAME=value entries; got '" + entry + "'");
      }
      map.put(entry.substring(0, eq).trim(), entry.substring(eq + 1));
    }
    return map;
  }

  /** Collects settings; {@link #load()} checks them all at once. */
  public static final class Builder {
    private String image;
    private String sha;
    private Path buildContext = Path.of(".");
    private Path dockerfile;
    private final Map<String, String> buildArgs = new LinkedHashMap<>();
    private String buildTarget;
    private final Map<String, String> labels = new LinkedHashMap<>();
    private String sourceUrl;
    private final List<String> tags = new ArrayList<>();
    private boolean forceBuild;
    private String dockerHost;
    private RegistryCredentials registryCredentials;
    private Migrations migrations;
    private EphemeralDatabase testDatabase = EphemeralDatabase.embedded();
    private final List<ReleaseListener> listeners = new ArrayList<>();
    private CiEnvironment ci;
    private ProductionDatabase productionDatabase;
    private String databaseUrl;
    private String databaseUser;
    private String databasePassword;
    private boolean requireTls;
    private final List<String> promoteTags = new ArrayList<>(List.of("latest"));
    private String branch;
    private final List<String> allowedBranches = new ArrayList<>();
    private String branchGuard = "on";
    private String lockMode = "supersede";
    private String lockTimeout = "30m";
    private String testDatabaseUrl;
    private String testDatabaseImage;
    private String testDatabaseUser;
    private String testDatabasePassword;
    private String lockName;
    private String ledgerSchema = ReleaseLedger.DEFAULT_SCHEMA;
    private String ledgerTable = ReleaseLedger.DEFAULT_TABLE;
    private boolean failWhenSuperseded;
    private String awsEndpoint;
    private String awsRegion;
    private String rollout;
    private String rolloutService;
    private String rolloutTimeout;
    private final List<String> localPorts = new ArrayList<>();
    private final List<String> localEnv = new ArrayList<>();
    private String healthUrl;
    private String healthCommand;
    private Path reportFile;
    private boolean forPlan;
    private final List<String> hookEntries = new ArrayList<>();
    private final dev.closedloop.deploy.hook.Hooks hookListeners = new dev.closedloop.deploy.hook.Hooks();
    private String hookTimeout;
    private Path hookDirectory;
    private String lintLevel;
    private String driftCheck;
    private final List<String> driftIgnore = new ArrayList<>();
    private String compatibilityCommand;
    private String compatibilityHealthUrl;
    private String compatibilityTimeout;
    private final List<String> compatibilityEnv = new ArrayList<>();
    private final List<String> lintRules = new ArrayList<>();

    Builder() {}

    /**
     * Hooks as {@code <point>=<command>} ({@code deploy.hooks}): e.g. {@code post-promote=./notify.sh},
     * run with {@code sh -c} in {@link #hookDirectory}.
     */
    public Builder hooks(List<String> entries) {
      if (entries != null) {
        hookEntries.addAll(entries);
      }
      return this;
    }

    /** A hook of the library's own at {@code point}, after the configured commands of that point. */
    public Builder hook(dev.closedloop.deploy.hook.HookPoint point, dev.closedloop.deploy.hook.Hook hook) {
      hookListeners.add(point, hook);
      return this;
    }

    /** How long each hook command may run ({@code deploy.hookTimeout}); default 5m. */
    public Builder hookTimeout(String timeout) {
      this.hookTimeout = timeout;
      return this;
    }

    /**
     * How seriously the migration lint takes every rule ({@code deploy.lint}): {@code off},
     * {@code warn} (the default) or {@code fail}, which refuses to migrate production.
     */
    public Builder lint(String level) {
      this.lintLevel = level;
      return this;
    }

    /**
     * Whether test-migrate compares production's schema with the one its applied migrations build
     * ({@code deploy.driftCheck}): {@code warn} (the default), {@code fail} or {@code off}.
     */
    public Builder driftCheck(String level) {
      this.driftCheck = level;
      return this;
    }

    /**
     * What the drift check leaves out ({@code deploy.driftIgnore}): globs over the objects it names,
     * {@code *} for any text, e.g. {@code extension pg_stat_statements}, {@code * auth.*} (a
     * provider's schema), {@code index *_tmp_idx}.
     */
    public Builder driftIgnore(List<String> globs) {
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
    public Builder compatibilityCommand(String command) {
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
    public Builder compatibilityHealthUrl(String url) {
      this.compatibilityHealthUrl = url;
      return this;
    }

    /** How long the compatibility command may run, and the service may take to be healthy ({@code deploy.compatibilityTimeout}); default 10m. */
    public Builder compatibilityTimeout(String timeout) {
      this.compatibilityTimeout = timeout;
      return this;
    }

    /** {@code NAME=value} for the image, with {url}, {dsn}, {jdbc}, {host}, {port}, {user}, {password}, {database}. */
    public Builder compatibilityEnv(List<String> entries) {
      if (entries != null) {
        entries.stream().filter(entry -> entry != null && !entry.isBlank()).map(String::trim)
            .forEach(compatibilityEnv::add);
      }
      return this;
    }

    /** One rule's level, as {@code <rule-id>=<off|warn|fail>} ({@code deploy.lintRules}). */
    public Builder lintRules(List<String> entries) {
      if (entries != null) {
        lintRules.addAll(entries);
      }
      return this;
    }

    /** Where hook commands run; default the build context. */
    public Builder hookDirectory(Path directory) {
      this.hookDirectory = directory;
      return this;
    }

    /**
     * For a plan, not a release: a production URL or rollout variable whose secret cannot be
     * resolved here (a laptop without the CI's credentials) is left unset and named in
     * {@link ReleaseConfig#unresolved()} instead of refusing the settings.
     */
    public Builder forPlan(boolean plan) {
      this.forPlan = plan;
      return this;
    }

    /** Where each run writes release.json (what it did, also when it failed); null for nowhere. */
    public Builder reportFile(Path file) {
      this.reportFile = file;
      return this;
    }

    /** Where the promoted image goes live: none (default), local, apprunner, ecs, ecs-express. */
    public Builder rollout(String kind) {
      this.rollout = kind;
      return this;
    }

    /**
     * The rollout's target: the App Runner service ARN, {@code cluster/service} (or the service
     * ARN) for ECS, the Express service ARN, or the container name for local.
     */
    public Builder rolloutService(String service) {
      this.rolloutService = service;
      return this;
    }

    /** How long the rollout may take, e.g. {@code 15m}; default 30m. */
    public Builder rolloutTimeout(String timeout) {
      this.rolloutTimeout = timeout;
      return this;
    }

    /** For a local rollout: ports to publish, {@code HOSTPORT:CONTAINERPORT}. */
    public Builder localPorts(List<String> ports) {
      this.localPorts.clear();
      this.localPorts.addAll(ports);
      return this;
    }

    /**
     * For a local rollout: the container's environment as {@code NAME=value}; a value may be a
     * secret reference ({@code env:}, {@code file:}, {@code ssm:}), which is masked.
     */
    public Builder localEnv(List<String> entries) {
      this.localEnv.clear();
      this.localEnv.addAll(entries);
      return this;
    }

    /** For a local rollout: a URL that answers 2xx when the new container is healthy. */
    public Builder healthUrl(String url) {
      this.healthUrl = url;
      return this;
    }

    /** For a local rollout: a command run in the new container ({@code sh -c}) that exits 0 when it is healthy. */
    public Builder healthCommand(String command) {
      this.healthCommand = command;
      return this;
    }

    /**
     * One endpoint for every AWS service closedloop calls (SSM, ECR, …), for moto or LocalStack;
     * default: AWS itself.
     */
    public Builder awsEndpoint(String endpoint) {
      this.awsEndpoint = endpoint;
      return this;
    }

    /** The AWS region; default: the ECR host's region for ECR, else the SDK's chain (AWS_REGION, profile). */
    public Builder awsRegion(String region) {
      this.awsRegion = region;
      return this;
    }

    /** The production database; default: {@link #databaseUrl}, else the DATABASE_URL variable. */
    public Builder productionDatabase(ProductionDatabase database) {
      this.productionDatabase = database;
      return this;
    }

    /**
     * The production database as a connection string (JDBC, libpq URI or key=value), or a
     * secret reference to one ({@code env:NAME}, {@code file:PATH}), or {@code embedded:DIR} for
     * a local stand-in. User and password may be references too.
     */
    public Builder databaseUrl(String url, String user, String password) {
      this.databaseUrl = url;
      this.databaseUser = user;
      this.databasePassword = password;
      return this;
    }

    /** Refuse a remote production database whose connection may fall back to plain text. */
    public Builder requireTls(boolean require) {
      this.requireTls = require;
      return this;
    }

    /** Tags moved to the tested digest at promote; default {@code latest}. */
    public Builder promoteTags(List<String> tags) {
      this.promoteTags.clear();
      this.promoteTags.addAll(tags);
      return this;
    }

    /** The branch being released; default: from the CI variables, else git. */
    public Builder branch(String branch) {
      this.branch = branch;
      return this;
    }

    /** Branch patterns allowed to release; default {@code main} and {@code master}. */
    public Builder allowedBranches(List<String> patterns) {
      this.allowedBranches.addAll(patterns);
      return this;
    }

    /** False lets any branch release, loudly, and records that in the ledger. */
    public Builder branchGuard(boolean enabled) {
      this.branchGuard = enabled ? "on" : "off";
      return this;
    }

    /** {@code on} or {@code off}, as the setting is written; checked by {@link #load()}. */
    public Builder branchGuard(String setting) {
      this.branchGuard = setting;
      return this;
    }

    public Builder lockMode(ReleaseLock.Mode mode) {
      this.lockMode = mode.name();
      return this;
    }

    /** {@code supersede}, {@code queue} or {@code fail}, as the setting is written; checked by {@link #load()}. */
    public Builder lockMode(String setting) {
      this.lockMode = setting;
      return this;
    }

    /** How long a release waits for the lock; default 30 minutes. */
    public Builder lockTimeout(Duration timeout) {
      this.lockTimeout = timeout == null ? null : timeout.toString();
      return this;
    }

    /** The lock timeout as people write it ({@code 30m}, {@code 90s}, {@code 1h}); checked by {@link #load()}. */
    public Builder lockTimeout(String setting) {
      this.lockTimeout = setting;
      return this;
    }

    /** What releases queue on; default: the image repository's path. */
    public Builder lockName(String name) {
      this.lockName = name;
      return this;
    }

    public Builder ledger(String schema, String table) {
      this.ledgerSchema = schema;
      this.ledgerTable = table;
      return this;
    }

    /** Make a superseded release an error instead of a clean exit. */
    public Builder failWhenSuperseded(boolean fail) {
      this.failWhenSuperseded = fail;
      return this;
    }

    /** The image repository, e.g. {@code 123456789012.dkr.ecr.us-west-2.amazonaws.com/app}. */
    public Builder image(String repository) {
      this.image = repository;
      return this;
    }

    /** The commit being released; default: the CI system's commit variable, else git's HEAD. */
    public Builder sha(String sha) {
      this.sha = sha;
      return this;
    }

    public Builder buildContext(Path context) {
      this.buildContext = context;
      return this;
    }

    /** Default: {@code Dockerfile} in the build context. */
    public Builder dockerfile(Path dockerfile) {
      this.dockerfile = dockerfile;
      return this;
    }

    public Builder buildArg(String name, String value) {
      this.buildArgs.put(name, value);
      return this;
    }

    public Builder buildArgs(Map<String, String> args) {
      this.buildArgs.putAll(args);
      return this;
    }

    /** Build arguments written as {@code NAME=value}, as they come from the command line. */
    public Builder buildArgs(List<String> entries) {
      this.buildArgs.putAll(keyValues(entries, "buildArgs (deploy.buildArgs)"));
      return this;
    }

    /** The Dockerfile stage to build ({@code --target}). */
    public Builder buildTarget(String stage) {
      this.buildTarget = stage;
      return this;
    }

    public Builder labels(Map<String, String> labels) {
      this.labels.putAll(labels);
      return this;
    }

    /** Labels written as {@code name=value}, as they come from the command line. */
    public Builder labels(List<String> entries) {
      this.labels.putAll(keyValues(entries, "labels (deploy.labels)"));
      return this;
    }

    /**
     * The source repository's web address, for the {@code org.opencontainers.image.source}
     * label; default: from the CI variables.
     */
    public Builder sourceUrl(String url) {
      this.sourceUrl = url;
      return this;
    }

    /** Tags pushed besides {@code <sha>} at build (never {@code latest}: that moves at promote). */
    public Builder tags(List<String> tags) {
      this.tags.addAll(tags);
      return this;
    }

    /** Rebuild and push even when {@code <sha>} is already in the registry. */
    public Builder forceBuild(boolean force) {
      this.forceBuild = force;
      return this;
    }

    /** The Docker engine; default {@code DOCKER_HOST}, else the platform's socket. */
    public Builder dockerHost(String host) {
      this.dockerHost = host;
      return this;
    }

    /**
     * Credentials for the image's registry; default: the docker CLI's configuration
     * ({@code DOCKER_CONFIG}/config.json: credHelpers, credsStore, auths), and for ECR without
     * any, a token from GetAuthorizationToken.
     */
    public Builder registryCredentials(RegistryCredentials credentials) {
      this.registryCredentials = credentials;
      return this;
    }

    public Builder migrations(Migrations migrations) {
      this.migrations = migrations;
      return this;
    }

    /** Where test-migrate runs; default {@link EphemeralDatabase#embedded()}. */
    public Builder testDatabase(EphemeralDatabase database) {
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
    public Builder testDatabaseImage(String image) {
      this.testDatabaseImage = image;
      return this;
    }

    public Builder testDatabaseUrl(String url, String user, String password) {
      this.testDatabaseUrl = url;
      this.testDatabaseUser = user;
      this.testDatabasePassword = password;
      return this;
    }

    public Builder listener(ReleaseListener listener) {
      this.listeners.add(listener);
      return this;
    }

    /** Where the commit SHA is read from when {@link #sha} is not set. */
    public Builder ciEnvironment(CiEnvironment ci) {
      this.ci = ci;
      return this;
    }

    /**
     * Checks every setting and returns the release.
     *
     * @throws DeployException of kind CONFIGURATION listing every bad setting in one message
     */
    public Release load() {
      if (reportFile != null) { // an earlier goal's report must not stand for this one
        try {
          java.nio.file.Files.deleteIfExists(reportFile);
        } catch (java.io.IOException e) {
          // written anew at the end of the run, or on refusal below
        }
      }
      List<String> problems = new ArrayList<>();
      List<String> unresolved = new ArrayList<>();
      ImageRef imageRef = null;
      if (image != null && !image.isBlank()) {
        try {
          imageRef = ImageRef.parse(image);
          if (imageRef.tagValue().isPresent() || imageRef.digestValue().isPresent()) {
            problems.add("image (deploy.image) names a repository without tag or digest (the tag is"
                + " the commit SHA); got '" + image + "'");
          }
        } catch (DeployException e) {
          problems.add("image (deploy.image): " + e.getMessage());
        }
      }
      List<String> warnings = new ArrayList<>();
      CiEnvironment environment = ci != null ? ci : CiEnvironment.current(buildContext);
      String resolvedSha = sha;
      if (resolvedSha == null || resolvedSha.isBlank()) {
        resolvedSha = environment.sha().orElse(null);
        if (resolvedSha != null && environment.uncommittedChanges()) {
          warnings.add("The working tree has uncommitted changes: an image built now holds them, but is"
              + " tagged with commit " + resolvedSha + ". Commit first, or set deploy.sha");
        }
      }
      String resolvedSource = sourceUrl != null ? sourceUrl : environment.sourceUrl().orElse(null);
      if (resolvedSha != null && !SHA.matcher(resolvedSha).matches()) {
        problems.add("sha (deploy.sha) must be a commit SHA of 7 to 64 lowercase hex digits; got '" + resolvedSha + "'");
      }
      if (buildContext == null) {
        problems.add("buildContext (deploy.buildContext) is null");
      }
      Redactor redactor = new Redactor();
      RegistryCredentials credentials = registryCredentials;
      if (credentials == null && imageRef != null) {
        try {
          credentials = DockerConfig.current(environment.variables()).credentials(imageRef.registry()).orElse(null);
        } catch (DeployException e) {
          problems.add(e.getMessage());
        }
      }
      if (credentials != null) {
        redactor.register(credentials.password());
      }
      AwsSettings aws = parse(problems, () -> AwsSettings.of(awsEndpoint, awsRegion));
      // with bad AWS settings an ssm: reference is not resolved at all (never against AWS itself)
      SecretResolver secrets = new SecretResolver(environment.variables(), redactor, aws);
      try { // closes the SSM client, if an ssm: reference opened one
        ProductionDatabase production = productionDatabase;
        if (production == null) {
          String url = databaseUrl != null && !databaseUrl.isBlank() ? databaseUrl
              : environment.variables().get("DATABASE_URL");
          String setting = databaseUrl != null && !databaseUrl.isBlank()
              ? "databaseUrl (deploy.databaseUrl)" : "the DATABASE_URL variable";
          if (url != null && !url.isBlank()) {
            try {
              // a URL written out in the settings without credentials is no secret, so a typo in it stays
              // legible; one with credentials, or from a secret store or DATABASE_URL, is masked whole
              boolean legible = url.equals(databaseUrl) && !SecretResolver.isReference(url) && !holdsCredentials(url);
              String resolved = legible ? url : secrets.resolve(url, setting);
              String user = secrets.resolveName(databaseUser, "databaseUser (deploy.databaseUser)");
              String password = secrets.resolve(databasePassword, "databasePassword (deploy.databasePassword)");
              if (resolved.startsWith("embedded:")) {
                production = ProductionDatabase.parse(resolved, user, password, setting);
              } else {
                DatabaseTarget target = DatabaseTarget.parse(resolved, user, password, setting);
                redactor.register(target.password()); // a password inside a URL is a secret of its own
                production = ProductionDatabase.at(target);
              }
            } catch (DeployException e) {
              (forPlan ? unresolved : problems).add(redactor.redact(e.getMessage()));
            }
          }
        }
        EphemeralDatabase throwaway = testDatabase;
        if (testDatabaseUrl != null && !testDatabaseUrl.isBlank()) {
          String setting = "testDatabaseUrl (deploy.testDatabaseUrl)";
          try {
            DatabaseTarget server = DatabaseTarget.parse(SecretResolver.isReference(testDatabaseUrl)
                || holdsCredentials(testDatabaseUrl) ? secrets.resolve(testDatabaseUrl, setting) : testDatabaseUrl,
                secrets.resolveName(testDatabaseUser, "testDatabaseUser (deploy.testDatabaseUser)"),
                secrets.resolve(testDatabasePassword, "testDatabasePassword (deploy.testDatabasePassword)"), setting);
            redactor.register(server.password());
            throwaway = EphemeralDatabase.external(server);
          } catch (DeployException e) {
            problems.add(redactor.redact(e.getMessage()));
          }
        }
        if (testDatabaseImage != null && !testDatabaseImage.isBlank()) {
          if (testDatabaseUrl != null && !testDatabaseUrl.isBlank()) {
            problems.add("testDatabaseImage (deploy.testDatabaseImage) and testDatabaseUrl (deploy.testDatabaseUrl)"
                + " both name the test database: set one");
          } else {
            try {
              throwaway = EphemeralDatabase.docker(dev.closedloop.deploy.image.ImageRef.parse(testDatabaseImage.trim()),
                  dockerHost);
            } catch (DeployException | IllegalArgumentException e) {
              problems.add("testDatabaseImage (deploy.testDatabaseImage) is not an image reference ('"
                  + testDatabaseImage.trim() + "'): use e.g. postgres:17 or supabase/postgres:15.8.1.060");
            }
          }
        }
        Duration timeout = parse(problems, () -> ReleaseLock.parseTimeout(lockTimeout));
        if (timeout != null && timeout.isNegative()) {
          problems.add("lockTimeout (deploy.lockTimeout) must be zero or more");
        }
        ReleaseLock.Mode mode = parse(problems, () -> ReleaseLock.Mode.parse(lockMode));
        Boolean guardOn = parse(problems, () -> BranchGuard.enabled(branchGuard));
        parse(problems, () -> new ReleaseLedger(ledgerSchema, ledgerTable));
        for (String tag : promoteTags) {
          if (!TAG.matcher(tag).matches()) {
            problems.add("promoteTags (deploy.promoteTags): '" + tag + "' is not a tag: a tag is up to 128 letters,"
                + " digits, '_', '.' and '-', e.g. latest or stable (promote moves tags to the tested digest; a digest"
                + " cannot be one)");
            continue;
          }
          if (imageRef != null) {
            try {
              imageRef.withTag(tag);
            } catch (DeployException e) {
              problems.add("promoteTags (deploy.promoteTags): " + e.getMessage());
            }
          }
        }
        Map<String, String> env = new LinkedHashMap<>();
        try {
          keyValues(localEnv, "localEnv (deploy.localEnv)").forEach((name, value) -> {
            String setting = "localEnv (deploy.localEnv) " + name;
            try {
              env.put(name, SecretResolver.isReference(value) ? secrets.resolve(value, setting)
                  : secrets.resolveName(value, setting));
            } catch (DeployException e) {
              (forPlan ? unresolved : problems).add(redactor.redact(e.getMessage()));
            }
          });
        } catch (DeployException e) {
          problems.add(e.getMessage());
        }
        RolloutSettings rolloutSettings = parse(problems, () -> RolloutSettings.parse(rollout, rolloutService,
            rolloutTimeout, localPorts, env, healthUrl, healthCommand));
        Duration hookLimit = hookTimeout == null || hookTimeout.isBlank() ? dev.closedloop.deploy.hook.Hooks.DEFAULT_TIMEOUT
            : parse(problems, () -> dev.closedloop.deploy.Durations.parse(hookTimeout, "hookTimeout (deploy.hookTimeout)"));
        if (hookLimit != null && (hookLimit.isZero() || hookLimit.isNegative())) {
          problems.add("hookTimeout (deploy.hookTimeout) must be more than zero");
        }
        dev.closedloop.deploy.hook.Hooks hooks = dev.closedloop.deploy.hook.Hooks.parse(hookEntries,
            hookLimit == null ? dev.closedloop.deploy.hook.Hooks.DEFAULT_TIMEOUT : hookLimit,
            (hookDirectory != null ? hookDirectory : buildContext != null ? buildContext : Path.of("."))
                .toAbsolutePath().normalize(), problems);
        for (var point : dev.closedloop.deploy.hook.HookPoint.values()) {
          hookListeners.at(point).forEach(hook -> hooks.add(point, hook));
        }
        dev.closedloop.deploy.lint.LintSettings lint = dev.closedloop.deploy.lint.LintSettings.parse(lintLevel,
            lintRules, problems);
        dev.closedloop.deploy.CheckLevel drift = driftCheck == null || driftCheck.isBlank()
            ? dev.closedloop.deploy.CheckLevel.WARN : dev.closedloop.deploy.CheckLevel.of(driftCheck)
            .orElse(null);
        if (drift == null) {
          problems.add("driftCheck (deploy.driftCheck) must be off, warn or fail; got '" + driftCheck.trim() + "'");
        }
        Compatibility compatibility = compatibility(problems);
        String resolvedLockName = lockName != null ? lockName : imageRef != null ? imageRef.repository() : null;
        if (problems.isEmpty()) {
          Path context = buildContext.toAbsolutePath().normalize();
          Path file = dockerfile != null ? context.resolve(dockerfile).normalize() : context.resolve("Dockerfile");
          Guards guards = new Guards(branch, allowedBranches, guardOn, mode, timeout, resolvedLockName,
              ledgerSchema, ledgerTable, failWhenSuperseded);
          return new Release(new ReleaseConfig(imageRef, resolvedSha, context, file, buildArgs, buildTarget,
              labels, resolvedSource, tags, forceBuild, dockerHost, credentials, migrations, throwaway,
              production, requireTls, promoteTags, aws, rolloutSettings, reportFile, guards, environment, redactor,
              listeners,
              warnings, unresolved, hooks, lint, drift, List.copyOf(driftIgnore), compatibility));
        }
        DeployException refused = new DeployException(DeployException.Kind.CONFIGURATION, problems.size() == 1
            ? problems.get(0) : problems.size() + " settings are wrong: " + String.join("; ", problems));
        if (reportFile != null) {
          try {
            dev.closedloop.deploy.report.ReleaseReport.write(reportFile, dev.closedloop.deploy.report.ReleaseReport
                .json(null, resolvedSha, ReleaseResult.empty(), refused.kind().name(), refused.getMessage(), redactor));
          } catch (java.io.IOException | RuntimeException e) {
            // the refusal is what to report; the missing file says nothing false
          }
          try {
            dev.closedloop.deploy.report.StepSummary.append(environment.variables(), null, resolvedSha,
                environment.runUrl().orElse(null), ReleaseResult.empty(), refused.kind().name(), refused.getMessage(),
                redactor);
          } catch (java.io.IOException | RuntimeException e) {
            // as above: the refusal itself is reported by the exception
          }
        }
        throw refused;
      } finally {
        secrets.close();
      }
    }

    /** The backward-compatibility proof as set, or null when neither its command nor its health URL is. */
    private Compatibility compatibility(List<String> problems) {
      String command = compatibilityCommand == null || compatibilityCommand.isBlank() ? null
          : compatibilityCommand.trim();
      int before = problems.size();
      java.net.URI health = null;
      if (compatibilityHealthUrl != null && !compatibilityHealthUrl.isBlank()) {
        try {
          health = new java.net.URI(compatibilityHealthUrl.trim());
        } catch (java.net.URISyntaxException e) {
          health = null;
        }
        if (health == null || health.getHost() == null || !("http".equals(health.getScheme())
            || "https".equals(health.getScheme())) || health.getPort() > 65535 || health.getPort() == 0) {
          problems.add("compatibilityHealthUrl (deploy.compatibilityHealthUrl) must be an http(s) URL such as"
              + " http://127.0.0.1:8080/health; got " + (compatibilityHealthUrl.contains("@") ? "one with an '@'"
              + " (a user or password does not belong there)" : "'" + compatibilityHealthUrl.trim() + "'"));
        } else if (health.getRawUserInfo() != null) { // it is printed in progress lines and the plan
          problems.add("compatibilityHealthUrl (deploy.compatibilityHealthUrl) must not hold a user or password");
        }
      }
      Duration timeout = Compatibility.DEFAULT_TIMEOUT;
      if (compatibilityTimeout != null && !compatibilityTimeout.isBlank()) {
        timeout = parse(problems, () -> dev.closedloop.deploy.Durations.parse(compatibilityTimeout,
            "compatibilityTimeout (deploy.compatibilityTimeout)"));
        if (timeout != null && (timeout.isZero() || timeout.isNegative() || timeout.compareTo(Duration.ofDays(1)) > 0)) {
          problems.add("compatibilityTimeout (deploy.compatibilityTimeout) must be more than zero and at most 24h");
        }
      }
      if (command == null && (compatibilityHealthUrl == null || compatibilityHealthUrl.isBlank())) {
        if (!compatibilityEnv.isEmpty() || (compatibilityTimeout != null && !compatibilityTimeout.isBlank())) {
          problems.add((compatibilityEnv.isEmpty() ? "compatibilityTimeout (deploy.compatibilityTimeout)"
              : "compatibilityEnv (deploy.compatibilityEnv)") + " is set but neither compatibilityCommand"
              + " (deploy.compatibilityCommand) nor compatibilityHealthUrl (deploy.compatibilityHealthUrl) is: set"
              + " the command to run from the image production runs, or the URL that image answers 2xx at");
        }
        return null;
      }
      for (String entry : compatibilityEnv) {
        if (!entry.matches("[A-Za-z_][A-Za-z0-9_]*=.*")) {
          problems.add("compatibilityEnv (deploy.compatibilityEnv) entries are NAME=value, e.g."
              + " DATABASE_URL={url}; got '" + entry + "'");
        }
      }
      return problems.size() > before ? null : new Compatibility(command, compatibilityEnv, health, timeout);
    }
  }
}
