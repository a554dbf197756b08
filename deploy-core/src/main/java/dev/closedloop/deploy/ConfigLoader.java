package dev.closedloop.deploy;

import dev.closedloop.deploy.aws.AwsSettings;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.ProductionDatabase;
import dev.closedloop.deploy.guard.CiEnvironment;
import dev.closedloop.deploy.guard.LockMode;
import dev.closedloop.deploy.hook.Hook;
import dev.closedloop.deploy.hook.HookPoint;
import dev.closedloop.deploy.hook.Hooks;
import dev.closedloop.deploy.image.BuildRequest;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import dev.closedloop.deploy.internal.Durations;
import dev.closedloop.deploy.internal.guard.BranchGuard;
import dev.closedloop.deploy.internal.guard.ReleaseLedger;
import dev.closedloop.deploy.internal.guard.ReleaseLock;
import dev.closedloop.deploy.internal.hook.CommandHook;
import dev.closedloop.deploy.internal.image.DockerConfig;
import dev.closedloop.deploy.internal.report.RunReport;
import dev.closedloop.deploy.internal.secret.SecretResolver;
import dev.closedloop.deploy.internal.secret.Secrets;
import dev.closedloop.deploy.rollout.RolloutSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Turns the settings as written into a {@link ReleaseConfig}: resolves secret references, reads
 * Docker's config for the registry's credentials, parses and checks every setting, and names
 * every bad one in one message.
 */
final class ConfigLoader {

  private static final Pattern SHA = Pattern.compile("[0-9a-f]{7,64}");
  /** A tag as the distribution spec defines it. */
  /** A registry as an image names it: a host name or address, maybe a port; no scheme, no path. */
  private static final Pattern INSECURE_REGISTRY = Pattern.compile("(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?");
  private static final Pattern SECRET_ID = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
  private static final Pattern PLATFORM = Pattern.compile("[a-z0-9]+/[a-z0-9_]+(/v[0-9]+)?");
  private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");

  private final ReleaseBuilder settings;

  ConfigLoader(ReleaseBuilder settings) {
    this.settings = settings;
  }

  /**
   * Checks every setting and returns the release.
   *
   * @throws DeployException of kind CONFIGURATION listing every bad setting in one message
   */
  Release load() {
    RunReport.clearStale(settings.reportFile); // an earlier goal's report must not stand for this one
    List<String> problems = new ArrayList<>();
    List<String> unresolved = new ArrayList<>();
    ImageRef imageRef = null;
    if (settings.image != null && !settings.image.isBlank()) {
      try {
        imageRef = ImageRef.parse(settings.image);
        if (imageRef.tagValue().isPresent() || imageRef.digestValue().isPresent()) {
          problems.add("image (deploy.image) names a repository without tag or digest (the tag is"
              + " the commit SHA); got '" + settings.image + "'");
        }
      } catch (DeployException e) {
        problems.add("image (deploy.image): " + e.getMessage());
      }
    }
    List<String> warnings = new ArrayList<>();
    CiEnvironment environment = settings.ci != null ? settings.ci : CiEnvironment.current(settings.buildContext);
    String resolvedSha = settings.sha;
    String uncommitted = null;
    if (resolvedSha == null || resolvedSha.isBlank()) {
      resolvedSha = environment.sha().orElse(null);
      uncommitted = resolvedSha == null ? null : environment.uncommittedDiff().orElse(null);
      if (uncommitted != null) {
        warnings.add("The working tree has uncommitted changes: an image built now is tagged " + resolvedSha
            + "-dirty-" + uncommitted + ", never as commit " + resolvedSha + (environment.system().isPresent()
            ? ", and under CI migrate and promote refuse it" : "") + ". Commit first");
      }
    }
    String resolvedSource = settings.sourceUrl != null ? settings.sourceUrl : environment.sourceUrl().orElse(null);
    if (resolvedSha != null && !SHA.matcher(resolvedSha).matches()) {
      problems.add("sha (deploy.sha) must be a commit SHA of 7 to 64 lowercase hex digits; got '" + resolvedSha + "'");
    }
    if (settings.buildContext == null) {
      problems.add("buildContext (deploy.buildContext) is null");
    }
    Secrets masked = new Secrets(); // every secret found while loading: the configuration's redactor masks them
    RegistryCredentials credentials = settings.registryCredentials;
    if (credentials == null && imageRef != null) {
      try {
        credentials = DockerConfig.current(environment.variables()).credentials(imageRef.registry()).orElse(null);
      } catch (DeployException e) {
        problems.add(e.getMessage());
      }
    }
    if (credentials != null) {
      masked.add(credentials.password());
    }
    settings.pullCredentials.values().forEach(other -> masked.add(other.password()));
    AwsSettings aws = parse(problems, () -> AwsSettings.of(settings.awsEndpoint, settings.awsRegion));
    String migratorSwitch = null;
    if (settings.migratorSwitch != null && !settings.migratorSwitch.isBlank()) {
      try {
        migratorSwitch = dev.closedloop.deploy.database.Migrations.Tool.of(settings.migratorSwitch).id();
      } catch (DeployException e) {
        problems.add("migratorSwitch (deploy.migratorSwitch) names the migrator production switches to: flyway,"
            + " goose or image; got '" + settings.migratorSwitch.trim() + "'");
      }
    }
    // with bad AWS settings an ssm: reference is not resolved at all (never against AWS itself)
    SecretResolver secrets = new SecretResolver(environment.variables(), masked, aws);
    try { // closes the SSM client, if an ssm: reference opened one
      ProductionDatabase production = settings.withoutProduction ? null : settings.productionDatabase;
      if (production == null && !settings.withoutProduction) {
        boolean named = settings.databaseUrl != null && !settings.databaseUrl.isBlank();
        String variable = environment.variables().get("DATABASE_URL");
        // outside CI a DATABASE_URL is a laptop's (a .env, a shell left over): production only when named
        boolean fromVariable = !named && variable != null && !variable.isBlank();
        if (fromVariable && environment.system().isEmpty()) {
          warnings.add("DATABASE_URL is set, but outside CI it is not taken as production: set"
              + " deploy.databaseUrl=env:DATABASE_URL to use it");
          fromVariable = false;
        }
        String url = named ? settings.databaseUrl : fromVariable ? variable : null;
        String setting = named ? "databaseUrl (deploy.databaseUrl)" : "the DATABASE_URL variable";
        if (url != null && !url.isBlank()) {
          try {
            // a URL written out in the settings without credentials is no secret, so a typo in it stays
            // legible; one with credentials, or from a secret store or DATABASE_URL, is masked whole
            boolean legible = url.equals(settings.databaseUrl) && !SecretResolver.isReference(url) && !holdsCredentials(url);
            String resolved = legible ? url : secrets.resolve(url, setting);
            String user = secrets.resolveName(settings.databaseUser, "databaseUser (deploy.databaseUser)");
            String password = secrets.resolve(settings.databasePassword, "databasePassword (deploy.databasePassword)");
            if (resolved.startsWith("embedded:")) {
              production = ProductionDatabase.parse(resolved, user, password, setting);
            } else {
              DatabaseTarget target = DatabaseTarget.parse(resolved, user, password, setting);
              masked.add(target.password()); // a password inside a URL is a secret of its own
              production = ProductionDatabase.at(target);
            }
          } catch (DeployException e) {
            (settings.forPlan ? unresolved : problems).add(masked.redact(e.getMessage()));
          }
        }
      }
      EphemeralDatabase throwaway = settings.testDatabase;
      if (settings.testDatabaseUrl != null && !settings.testDatabaseUrl.isBlank()) {
        String setting = "testDatabaseUrl (deploy.testDatabaseUrl)";
        try {
          DatabaseTarget server = DatabaseTarget.parse(SecretResolver.isReference(settings.testDatabaseUrl)
              || holdsCredentials(settings.testDatabaseUrl) ? secrets.resolve(settings.testDatabaseUrl, setting)
              : settings.testDatabaseUrl,
              secrets.resolveName(settings.testDatabaseUser, "testDatabaseUser (deploy.testDatabaseUser)"),
              secrets.resolve(settings.testDatabasePassword, "testDatabasePassword (deploy.testDatabasePassword)"), setting);
          masked.add(server.password());
          throwaway = EphemeralDatabase.external(server);
        } catch (DeployException e) {
          problems.add(masked.redact(e.getMessage()));
        }
      }
      if (settings.testDatabaseImage != null && !settings.testDatabaseImage.isBlank()) {
        if (settings.testDatabaseUrl != null && !settings.testDatabaseUrl.isBlank()) {
          problems.add("testDatabaseImage (deploy.testDatabaseImage) and testDatabaseUrl (deploy.testDatabaseUrl)"
              + " both name the test database: set one");
        } else {
          try {
            throwaway = EphemeralDatabase.docker(ImageRef.parse(settings.testDatabaseImage.trim()),
                settings.dockerHost);
          } catch (DeployException | IllegalArgumentException e) {
            problems.add("testDatabaseImage (deploy.testDatabaseImage) is not an image reference ('"
                + settings.testDatabaseImage.trim() + "'): use e.g. postgres:17 or supabase/postgres:15.8.1.060");
          }
        }
      }
      Duration timeout = parse(problems, () -> ReleaseLock.parseTimeout(settings.lockTimeout));
      if (timeout != null && timeout.isNegative()) {
        problems.add("lockTimeout (deploy.lockTimeout) must be zero or more");
      }
      LockMode mode = parse(problems, () -> LockMode.parse(settings.lockMode));
      Boolean guardOn = parse(problems, () -> BranchGuard.enabled(settings.branchGuard));
      parse(problems, () -> new ReleaseLedger(settings.ledgerSchema, settings.ledgerTable));
      for (String tag : settings.promoteTags) {
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
      Map<String, String> buildSecrets = new LinkedHashMap<>();
      for (String entry : settings.buildSecrets) {
        String trimmed = entry == null ? "" : entry.trim();
        int eq = trimmed.indexOf('=');
        String id = eq < 0 ? "" : trimmed.substring(0, eq).trim();
        String reference = eq < 0 ? "" : trimmed.substring(eq + 1).trim();
        if (trimmed.isEmpty()) {
          continue;
        }
        if (!SECRET_ID.matcher(id).matches() || !SecretResolver.isReference(reference)) {
          // the value is never echoed: it may be the secret itself, written where a reference belongs
          problems.add("buildSecrets (deploy.buildSecrets): an entry" + (SECRET_ID.matcher(id).matches() ? " for '" + id
              + "'" : "") + " is not id=env:NAME, id=file:PATH or id=ssm:/path (the value is a reference to the"
              + " secret, never the secret itself)");
          continue;
        }
        if (buildSecrets.put(id, reference) != null) {
          problems.add("buildSecrets (deploy.buildSecrets): the id '" + id + "' is given twice");
        }
      }
      List<String> platforms = new ArrayList<>();
      for (String platform : settings.platforms) {
        String trimmed = platform == null ? "" : platform.trim();
        if (trimmed.isEmpty()) {
          continue;
        }
        if (!PLATFORM.matcher(trimmed).matches()) {
          problems.add("platforms (deploy.platforms): '" + trimmed + "' is not a platform: os/arch[/variant], e.g."
              + " linux/amd64 or linux/arm64");
          continue;
        }
        platforms.add(trimmed);
      }
      List<String> insecure = new ArrayList<>();
      for (String entry : settings.insecureRegistries) {
        String registry = entry == null ? "" : entry.trim();
        if (registry.isEmpty()) {
          continue;
        }
        if (!INSECURE_REGISTRY.matcher(registry).matches()) {
          problems.add("insecureRegistries (deploy.insecureRegistries): '" + registry + "' is not a registry: name"
              + " it as host or host:port, as in the image name, without http:// or a path");
          continue;
        }
        insecure.add(registry);
      }
      Map<String, String> env = new LinkedHashMap<>();
      try {
        keyValues(settings.localEnv, "localEnv (deploy.localEnv)").forEach((name, value) -> {
          String setting = "localEnv (deploy.localEnv) " + name;
          if (settings.withoutProduction && SecretResolver.isReference(value)) {
            return; // read only by the goals that roll out
          }
          try {
            env.put(name, SecretResolver.isReference(value) ? secrets.resolve(value, setting)
                : secrets.resolveName(value, setting));
          } catch (DeployException e) {
            (settings.forPlan ? unresolved : problems).add(masked.redact(e.getMessage()));
          }
        });
      } catch (DeployException e) {
        problems.add(e.getMessage());
      }
      RolloutSettings rolloutSettings = parse(problems, () -> RolloutSettings.parse(settings.rollout,
          settings.rolloutService, settings.rolloutTimeout, settings.localPorts, env, settings.healthUrl,
          settings.healthCommand, settings.healthExpect, settings.ecsWithoutRollback));
      if (rolloutSettings != null && settings.ownRollout != null) {
        if (rolloutSettings.enabled()) {
          problems.add("rollout (deploy.rollout) is " + rolloutSettings.kind().id() + ", and a Rollout of your own was"
              + " given to the builder too: set one");
        } else {
          rolloutSettings = rolloutSettings.withOwn(settings.ownRollout);
        }
      }
      Duration hookLimit = settings.hookTimeout == null || settings.hookTimeout.isBlank()
          ? Hooks.DEFAULT_TIMEOUT
          : parse(problems, () -> Durations.parse(settings.hookTimeout, "hookTimeout (deploy.hookTimeout)"));
      if (hookLimit != null && (hookLimit.isZero() || hookLimit.isNegative())) {
        problems.add("hookTimeout (deploy.hookTimeout) must be more than zero");
      }
      Duration hookTimeout = hookLimit == null ? Hooks.DEFAULT_TIMEOUT : hookLimit;
      Map<HookPoint, List<Hook>> byPoint = CommandHook.parse(settings.hookEntries, hookTimeout,
          (settings.hookDirectory != null ? settings.hookDirectory
              : settings.buildContext != null ? settings.buildContext : Path.of("."))
              .toAbsolutePath().normalize(), problems);
      // the library's own after the configured commands of each point
      settings.ownHooks.forEach((point, own) -> byPoint.computeIfAbsent(point, p -> new ArrayList<>()).addAll(own));
      Hooks hooks = new Hooks(byPoint, hookTimeout);
      dev.closedloop.deploy.lint.LintSettings lint = dev.closedloop.deploy.lint.LintSettings.parse(settings.lintLevel,
          settings.lintRules, problems);
      dev.closedloop.deploy.CheckLevel drift = settings.driftCheck == null || settings.driftCheck.isBlank()
          ? dev.closedloop.deploy.CheckLevel.WARN : dev.closedloop.deploy.CheckLevel.of(settings.driftCheck)
          .orElse(null);
      if (drift == null) {
        problems.add("driftCheck (deploy.driftCheck) must be off, warn or fail; got '" + settings.driftCheck.trim() + "'");
      }
      Compatibility compatibility = compatibility(problems);
      String resolvedLockName = settings.lockName != null ? settings.lockName
          : imageRef != null ? imageRef.repository() : null;
      problems.addAll(settings.environmentProblems);
      if (settings.environment != null && !settings.environments.containsKey(settings.environment)) {
        problems.add("environment (deploy.environment): '" + settings.environment + "' is not defined; "
            + (settings.environments.isEmpty() ? "the POM defines no <environments>"
            : "the environments are " + String.join(", ", settings.environments.keySet())));
      }
      if (settings.appliedEnvironment != null && resolvedLockName != null
          && !settings.environments.get(settings.appliedEnvironment).namesLock()) {
        resolvedLockName = resolvedLockName + "/" + settings.appliedEnvironment; // its own rows and lock
      }
      if (problems.isEmpty()) {
        Path context = settings.buildContext.toAbsolutePath().normalize();
        Path file = settings.dockerfile != null ? context.resolve(settings.dockerfile).normalize()
            : context.resolve("Dockerfile");
        Map<String, String> labels = new LinkedHashMap<>();
        if (resolvedSource != null && !resolvedSource.isBlank()) {
          labels.put("org.opencontainers.image.source", resolvedSource);
        }
        labels.putAll(settings.labels);
        BuildRequest build = new BuildRequest(imageRef, resolvedSha, context, file, settings.buildArgs,
            settings.buildTarget, labels, settings.tags, settings.forceBuild, uncommitted, buildSecrets, platforms);
        TestMigrateSettings testMigrate = new TestMigrateSettings(settings.migrations, throwaway, drift,
            settings.driftIgnore, compatibility, lint);
        Guards guards = new Guards(settings.branch, settings.allowedBranches, guardOn, mode, timeout, resolvedLockName,
            settings.ledgerSchema, settings.ledgerTable, settings.failWhenSuperseded, migratorSwitch);
        ProductionSettings productionSettings = new ProductionSettings(production, settings.requireTls, guards,
            settings.appliedEnvironment, List.copyOf(settings.environments.keySet()));
        RegistrySettings registry = new RegistrySettings(settings.dockerHost, credentials, settings.promoteTags, aws,
            insecure, settings.pullCredentials, settings.dockerCli);
        return new Release(new ReleaseConfig(build, testMigrate, productionSettings, registry, rolloutSettings, hooks,
            environment, masked.redactor(), settings.listeners, warnings, unresolved, settings.reportFile));
      }
      DeployException refused = new DeployException(DeployException.Kind.CONFIGURATION, problems.size() == 1
          ? problems.get(0) : problems.size() + " settings are wrong: " + String.join("; ", problems));
      RunReport.refused(settings.reportFile, environment, resolvedSha, ReleaseResult.empty(), refused, masked.redactor());
      throw refused;
    } finally {
      secrets.close();
    }
  }

  /** The backward-compatibility proof as set, or null when neither its command nor its health URL is. */
  private Compatibility compatibility(List<String> problems) {
    String command = settings.compatibilityCommand == null || settings.compatibilityCommand.isBlank() ? null
        : settings.compatibilityCommand.trim();
    int before = problems.size();
    java.net.URI health = null;
    if (settings.compatibilityHealthUrl != null && !settings.compatibilityHealthUrl.isBlank()) {
      try {
        health = new java.net.URI(settings.compatibilityHealthUrl.trim());
      } catch (java.net.URISyntaxException e) {
        health = null;
      }
      if (health == null || health.getHost() == null || !("http".equals(health.getScheme())
          || "https".equals(health.getScheme())) || health.getPort() > 65535 || health.getPort() == 0) {
        problems.add("compatibilityHealthUrl (deploy.compatibilityHealthUrl) must be an http(s) URL such as"
            + " http://127.0.0.1:8080/health; got " + (settings.compatibilityHealthUrl.contains("@") ? "one with an '@'"
            + " (a user or password does not belong there)" : "'" + settings.compatibilityHealthUrl.trim() + "'"));
      } else if (health.getRawUserInfo() != null) { // it is printed in progress lines and the plan
        problems.add("compatibilityHealthUrl (deploy.compatibilityHealthUrl) must not hold a user or password");
      }
    }
    Duration timeout = Compatibility.DEFAULT_TIMEOUT;
    if (settings.compatibilityTimeout != null && !settings.compatibilityTimeout.isBlank()) {
      timeout = parse(problems, () -> dev.closedloop.deploy.internal.Durations.parse(settings.compatibilityTimeout,
          "compatibilityTimeout (deploy.compatibilityTimeout)"));
      if (timeout != null && (timeout.isZero() || timeout.isNegative() || timeout.compareTo(Duration.ofDays(1)) > 0)) {
        problems.add("compatibilityTimeout (deploy.compatibilityTimeout) must be more than zero and at most 24h");
      }
    }
    if (command == null && (settings.compatibilityHealthUrl == null || settings.compatibilityHealthUrl.isBlank())) {
      if (!settings.compatibilityEnv.isEmpty()
          || (settings.compatibilityTimeout != null && !settings.compatibilityTimeout.isBlank())) {
        problems.add((settings.compatibilityEnv.isEmpty() ? "compatibilityTimeout (deploy.compatibilityTimeout)"
            : "compatibilityEnv (deploy.compatibilityEnv)") + " is set but neither compatibilityCommand"
            + " (deploy.compatibilityCommand) nor compatibilityHealthUrl (deploy.compatibilityHealthUrl) is: set"
            + " the command to run from the image production runs, or the URL that image answers 2xx at");
      }
      return null;
    }
    String refusal = dev.closedloop.deploy.internal.database.ImageMigrator.refusal(settings.compatibilityEnv,
        "compatibilityEnv (deploy.compatibilityEnv)");
    if (refusal != null) {
      problems.add(refusal);
    }
    return problems.size() > before ? null : new Compatibility(command, settings.compatibilityEnv, health, timeout);
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

  static Map<String, String> keyValues(List<String> entries, String setting) {
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
}
