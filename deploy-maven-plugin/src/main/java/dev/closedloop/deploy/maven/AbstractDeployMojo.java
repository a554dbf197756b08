package dev.closedloop.deploy.maven;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseBuilder;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.StepResult;
import dev.closedloop.deploy.database.FlywaySettings;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import dev.closedloop.deploy.report.CiLog;
import dev.closedloop.deploy.report.GitHubActions;
import java.io.File;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.maven.artifact.DependencyResolutionRequiredException;
import org.apache.maven.plugin.AbstractMojo;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Parameter;
import org.apache.maven.execution.MavenSession;
import org.apache.maven.project.MavenProject;
import org.apache.maven.settings.Server;
import org.apache.maven.settings.Settings;
import org.apache.maven.settings.building.SettingsProblem;
import org.apache.maven.settings.crypto.DefaultSettingsDecryptionRequest;
import org.apache.maven.settings.crypto.SettingsDecrypter;
import org.apache.maven.settings.crypto.SettingsDecryptionResult;

/**
 * Every goal's parameters (one name each, the same as its {@code deploy.*} property), and the one
 * place where failures become Maven's. A goal only names the steps it runs.
 */
abstract class AbstractDeployMojo extends AbstractMojo {

  /** The image repository, without tag: e.g. {@code 123456789012.dkr.ecr.us-west-2.amazonaws.com/app}. */
  @Goals("all")
  @Parameter(property = "deploy.image")
  String image;

  /** The commit being released; default: the CI system's commit variable, else git's HEAD. */
  @Goals({"build", "test-migrate", "migrate", "promote", "release", "rollback", "plan"})
  @Parameter(property = "deploy.sha")
  String sha;

  /** The Docker engine; default {@code DOCKER_HOST}, else the platform's socket. */
  @Goals("all")
  @Parameter(property = "deploy.dockerHost")
  String dockerHost;

  /** Skips the goal. */
  @Goals("all")
  @Parameter(property = "deploy.skip", defaultValue = "false")
  boolean skip;

  // --- build

  /** The directory sent to the Docker engine as the build context. */
  @Goals({"build", "release", "plan"})
  @Parameter(property = "deploy.buildContext", defaultValue = "${project.basedir}")
  File buildContext;

  /** The Dockerfile, inside the build context; default {@code Dockerfile} there. */
  @Goals({"build", "release", "plan"})
  @Parameter(property = "deploy.dockerfile")
  File dockerfile;

  /** Build arguments ({@code --build-arg}) as {@code NAME=value}, comma-separated with -D. */
  @Goals({"build", "release", "plan"})
  @Parameter(property = "deploy.buildArgs")
  List<String> buildArgs = List.of();

  /** The Dockerfile stage to build ({@code --target}). */
  @Goals({"build", "release", "plan"})
  @Parameter(property = "deploy.buildTarget")
  String buildTarget;

  /**
   * BuildKit build secrets, {@code id=env:NAME}, {@code id=file:PATH} or {@code id=ssm:/path}, for
   * {@code RUN --mount=type=secret,id=<id>}; never printed, kept in no layer.
   */
  @Goals({"build", "release", "plan"})
  @Parameter(property = "deploy.buildSecrets")
  List<String> buildSecrets = List.of();

  /** The platforms to build, e.g. {@code linux/amd64,linux/arm64}; several need docker buildx. */
  @Goals({"build", "release", "plan"})
  @Parameter(property = "deploy.platforms")
  List<String> platforms = List.of();

  /** The docker CLI that builds with BuildKit; default {@code docker} on the PATH. */
  @Goals({"build", "release", "plan"})
  @Parameter(property = "deploy.dockerCli")
  String dockerCli;

  /**
   * Labels added to the image as {@code name=value}, comma-separated with -D, besides the OCI
   * revision, creation and source labels.
   */
  @Goals({"build", "release", "plan"})
  @Parameter(property = "deploy.labels")
  List<String> labels = List.of();

  /**
   * The source repository's web address, for the {@code org.opencontainers.image.source} label;
   * default: the POM's {@code <scm><url>}, else the CI system's repository URL.
   */
  @Goals({"build", "release", "plan"})
  @Parameter(property = "deploy.sourceUrl", defaultValue = "${project.scm.url}")
  String sourceUrl;

  /** Tags pushed besides {@code <sha>}, comma-separated with -D. Never {@code latest}. */
  @Goals({"build", "release", "plan"})
  @Parameter(property = "deploy.tags")
  List<String> tags = List.of();

  /** Rebuilds and pushes even when {@code <image>:<sha>} is already in the registry. */
  @Goals({"build", "release", "plan"})
  @Parameter(property = "deploy.forceBuild", defaultValue = "false")
  boolean forceBuild;

  // --- test-migrate

  /**
   * Flyway locations of the migrations, comma-separated with -D: {@code classpath:} (the
   * project's runtime classpath, its dependencies included) or {@code filesystem:} (relative to
   * the project directory).
   */
  @Goals({"test-migrate", "migrate", "release", "plan", "lint"})
  @Parameter(property = "deploy.migrations", defaultValue = "classpath:db/migration")
  List<String> migrations;

  /** {@code flyway} (default), {@code goose} (SQL files read as goose reads them) or {@code image} (a command run from the image). */
  @Goals({"test-migrate", "migrate", "release", "plan", "lint"})
  @Parameter(property = "deploy.migrator", defaultValue = "flyway")
  String migrator;

  /** goose's version table; default: the {@code GOOSE_TABLE} variable, else {@code goose_db_version}. */
  @Goals({"test-migrate", "migrate", "release", "plan", "lint"})
  @Parameter(property = "deploy.gooseTable")
  String gooseTable;

  /** goose: apply a file older than the newest applied version, as goose's -allow-missing does. */
  @Goals({"test-migrate", "migrate", "release", "plan", "lint"})
  @Parameter(property = "deploy.gooseAllowMissing", defaultValue = "false")
  boolean gooseAllowMissing;

  /**
   * Confirms a switch of migration tool on a production whose history another tool wrote, by
   * naming the new one (flyway, goose or image); without it such a switch is refused.
   */
  @Goals({"migrate", "release", "plan"})
  @Parameter(property = "deploy.migratorSwitch")
  String migratorSwitch;

  /**
   * Flyway placeholders, {@code NAME=value}: {@code ${NAME}} in a migration becomes the value, on
   * the throwaway database and on production alike. The Flyway Maven plugin's
   * {@code flyway.placeholders.*}, {@code flyway.schemas}, {@code flyway.table},
   * {@code flyway.baselineOnMigrate} and {@code flyway.baselineVersion} properties are read too.
   */
  @Goals({"test-migrate", "migrate", "release", "plan", "lint"})
  @Parameter(property = "deploy.placeholders")
  List<String> placeholders = List.of();

  /** With {@code deploy.migrator=image}: the command run from the built image, e.g. {@code goose -dir /migrations up}. */
  @Goals({"test-migrate", "migrate", "release", "plan"})
  @Parameter(property = "deploy.migrationCommand")
  String migrationCommand;

  /** With {@code deploy.migrator=image}: its environment, {@code NAME=value} with {@code {dsn}}, {@code {url}}… */
  @Goals({"test-migrate", "migrate", "release", "plan"})
  @Parameter(property = "deploy.migrationEnv")
  List<String> migrationEnv = List.of();

  /** With {@code deploy.migrator=image}: a command run before and after, e.g. {@code goose -dir /migrations status}. */
  @Goals({"test-migrate", "migrate", "release", "plan"})
  @Parameter(property = "deploy.migrationCheckCommand")
  String migrationCheckCommand;

  /**
   * A PostgreSQL image to test on instead of the embedded server, e.g. {@code postgres:15} or
   * {@code supabase/postgres:15.8.1.060}: a container of it per run on the Docker engine,
   * removed afterwards. Started as the official {@code postgres} image is.
   */
  @Goals({"test-migrate", "migrate", "release", "plan", "lint"})
  @Parameter(property = "deploy.testDatabaseImage")
  String testDatabaseImage;

  /**
   * A PostgreSQL server to test on instead of the embedded one: each run creates a fresh
   * database there and drops it afterwards. The user needs CREATEDB. A JDBC URL, a libpq URI
   * ({@code postgres://user:password@host:5432/db}) or a key=value string, or a reference to one
   * ({@code env:NAME}, {@code file:PATH}).
   */
  @Goals({"test-migrate", "migrate", "release", "plan", "lint"})
  @Parameter(property = "deploy.testDatabaseUrl")
  String testDatabaseUrl;

  /** The user for {@code testDatabaseUrl} (or {@code env:NAME}, {@code file:PATH}). */
  @Goals({"test-migrate", "migrate", "release", "plan", "lint"})
  @Parameter(property = "deploy.testDatabaseUser")
  String testDatabaseUser;

  /** The password for {@code testDatabaseUrl} (or {@code env:NAME}, {@code file:PATH}). */
  @Goals({"test-migrate", "migrate", "release", "plan", "lint"})
  @Parameter(property = "deploy.testDatabasePassword")
  String testDatabasePassword;

  // --- migrate, promote

  /**
   * The production database: a JDBC URL, a libpq URI, a key=value string, a reference to one
   * ({@code env:NAME}, {@code file:PATH}, {@code ssm:/path/name}), or {@code embedded:DIR} for a
   * local stand-in kept in DIR. Default: the {@code DATABASE_URL} variable.
   */
  @Goals({"migrate", "promote", "release", "rollback", "history", "plan", "lint"})
  @Parameter(property = "deploy.databaseUrl")
  String databaseUrl;

  /** The production database user (or {@code env:NAME}, {@code file:PATH}, {@code ssm:/path/name}). */
  @Goals({"migrate", "promote", "release", "rollback", "history", "plan", "lint"})
  @Parameter(property = "deploy.databaseUser")
  String databaseUser;

  /** The production database password (or {@code env:NAME}, {@code file:PATH}, {@code ssm:/path/name}). */
  @Goals({"migrate", "promote", "release", "rollback", "history", "plan", "lint"})
  @Parameter(property = "deploy.databasePassword")
  String databasePassword;

  /**
   * The settings.xml {@code <server>} whose username and (decryptable) password are production's,
   * when {@code deploy.databaseUser} / {@code deploy.databasePassword} are not set.
   */
  @Goals({"migrate", "promote", "release", "rollback", "history", "plan", "lint"})
  @Parameter(property = "deploy.databaseServerId")
  String databaseServerId;

  /** Refuse a remote production database whose connection may fall back to plain text. */
  @Goals({"migrate", "promote", "release", "rollback", "history", "plan", "lint"})
  @Parameter(property = "deploy.requireTls", defaultValue = "false")
  boolean requireTls;

  /** Tags moved to the tested image's digest at promote, comma-separated with -D. */
  @Goals({"promote", "release", "rollback", "plan"})
  @Parameter(property = "deploy.promoteTags", defaultValue = "latest")
  List<String> promoteTags;

  /**
   * Registries off loopback ({@code host[:port]}) spoken to over plain HTTP; any other one that
   * answers plain HTTP is refused.
   */
  @Goals("all")
  @Parameter(property = "deploy.insecureRegistries")
  List<String> insecureRegistries;

  /** The branch being released; default: from the CI variables, else git. */
  @Goals({"migrate", "promote", "release", "rollback", "plan"})
  @Parameter(property = "deploy.branch")
  String branch;

  /** Branch patterns allowed to release ({@code *} within a segment, {@code **} across). */
  @Goals({"migrate", "promote", "release", "rollback", "plan"})
  @Parameter(property = "deploy.allowedBranches", defaultValue = "main,master")
  List<String> allowedBranches;

  /** {@code off} lets any branch release, loudly, and records it in the ledger. */
  @Goals({"migrate", "promote", "release", "rollback", "plan"})
  @Parameter(property = "deploy.branchGuard", defaultValue = "on")
  String branchGuard;

  /** {@code supersede} (a newer waiting release replaces an older one), {@code queue} or {@code fail}. */
  @Goals({"migrate", "promote", "release", "rollback", "plan"})
  @Parameter(property = "deploy.lockMode", defaultValue = "supersede")
  String lockMode;

  /** How long a release waits for the lock: {@code 30m}, {@code 90s}, {@code 1h}. */
  @Goals({"migrate", "promote", "release", "rollback", "plan"})
  @Parameter(property = "deploy.lockTimeout", defaultValue = "30m")
  String lockTimeout;

  /** What releases queue on; default: the image repository's path. */
  @Goals({"migrate", "promote", "release", "rollback", "history", "plan"})
  @Parameter(property = "deploy.lockName")
  String lockName;

  /** The ledger's schema in the production database. */
  @Goals({"migrate", "promote", "release", "rollback", "history", "plan"})
  @Parameter(property = "deploy.ledgerSchema", defaultValue = "closedloop")
  String ledgerSchema;

  /** The ledger's table. */
  @Goals({"migrate", "promote", "release", "rollback", "history", "plan"})
  @Parameter(property = "deploy.ledgerTable", defaultValue = "release_ledger")
  String ledgerTable;

  /** Make a superseded release fail the build instead of ending cleanly. */
  @Goals({"migrate", "promote", "release", "rollback", "plan"})
  @Parameter(property = "deploy.failWhenSuperseded", defaultValue = "false")
  boolean failWhenSuperseded;

  // --- AWS

  /**
   * One endpoint for every AWS service closedloop calls (SSM, ECR), e.g. {@code http://127.0.0.1:4566}
   * for LocalStack or moto. Default: AWS itself.
   */
  @Goals("all")
  @Parameter(property = "deploy.awsEndpoint")
  String awsEndpoint;

  /** The AWS region; default: an ECR host's own region, else the SDK's chain ({@code AWS_REGION}, the profile). */
  @Goals("all")
  @Parameter(property = "deploy.awsRegion")
  String awsRegion;

  // --- rollout (after promote, in release and promote)

  /** Where the promoted image goes live: none, local, apprunner, ecs or ecs-express. */
  @Goals({"promote", "release", "rollback", "plan"})
  @Parameter(property = "deploy.rollout", defaultValue = "none")
  String rollout;

  /**
   * The rollout's target: the App Runner service ARN; {@code cluster/service} or the service ARN for
   * ECS; the Express service ARN; the container name for {@code local}.
   */
  @Goals({"promote", "release", "rollback", "plan"})
  @Parameter(property = "deploy.rolloutService")
  String rolloutService;

  /** How long the rollout may take before the release fails as timed out: {@code 15m}, {@code 1h}. */
  @Goals({"promote", "release", "rollback", "plan"})
  @Parameter(property = "deploy.rolloutTimeout", defaultValue = "30m")
  String rolloutTimeout;

  /**
   * The environment to release to: one of {@code <environments>}, whose settings replace the
   * top-level ones. Required by the goals that reach production once environments are defined.
   */
  @Goals({"migrate", "promote", "release", "rollback", "history", "plan", "lint"})
  @Parameter(property = "deploy.environment")
  String environment;

  /**
   * Named groups of settings ({@code <environment><name>staging</name>…</environment>}): database
   * URL and credentials, lock name, promote tags, allowed branches, rollout, health check, hooks.
   */
  @Parameter
  List<Environment> environments = List.of();

  /** Local rollout: ports to publish, {@code HOSTPORT:CONTAINERPORT}, comma-separated with -D. */
  @Goals({"promote", "release", "rollback", "plan"})
  @Parameter(property = "deploy.localPorts")
  List<String> localPorts = List.of();

  /** Local rollout: the container's environment, {@code NAME=value}; a value may be env:, file: or ssm: (masked). */
  @Goals({"promote", "release", "rollback", "plan"})
  @Parameter(property = "deploy.localEnv")
  List<String> localEnv = List.of();

  /**
   * A URL answering 2xx when the release is live: for a local rollout on a host port of localPorts;
   * for App Runner and ECS the service's public address, asked after the platform says it succeeded.
   */
  @Goals({"promote", "release", "rollback", "plan"})
  @Parameter(property = "deploy.healthUrl")
  String healthUrl;

  /** Text healthUrl's answer must contain (e.g. the commit SHA a version endpoint returns). */
  @Goals({"promote", "release", "rollback", "plan"})
  @Parameter(property = "deploy.healthExpect")
  String healthExpect;

  /** ECS: follow a service without the circuit breaker's rollback to steady state, judged by healthUrl. */
  @Goals({"promote", "release", "rollback", "plan"})
  @Parameter(property = "deploy.ecsWithoutRollback", defaultValue = "false")
  boolean ecsWithoutRollback;

  /** Local rollout: a command run in the new container ({@code sh -c}) that exits 0 when it is healthy. */
  @Goals({"promote", "release", "rollback", "plan"})
  @Parameter(property = "deploy.healthCommand")
  String healthCommand;

  /**
   * Commands run at points of the run, as {@code <point>=<command>}: points {@code pre-build},
   * {@code pre-migrate}, {@code post-migrate}, {@code post-promote}, {@code post-release},
   * {@code on-failure}. Run with {@code sh -c} in the project's directory.
   */
  @Goals({"build", "test-migrate", "migrate", "promote", "release", "rollback"})
  @Parameter(property = "deploy.hooks")
  List<String> hooks = List.of();

  /** How long each hook may run before it is killed and counts as failed. */
  @Goals({"build", "test-migrate", "migrate", "promote", "release", "rollback"})
  @Parameter(property = "deploy.hookTimeout", defaultValue = "5m")
  String hookTimeout;

  /**
   * How the migration lint treats what it finds in the migrations pending on production:
   * {@code warn} reports each, {@code fail} refuses to migrate, {@code off} does not look.
   */
  @Goals("all")
  @Parameter(property = "deploy.lint", defaultValue = "warn")
  String lint;

  /**
   * One rule's level, as {@code <rule-id>=<off|warn|fail>}, e.g.
   * {@code require-concurrent-index-creation=fail}; it takes precedence over {@code deploy.lint}.
   */
  @Goals("all")
  @Parameter(property = "deploy.lintRules")
  List<String> lintRules = List.of();

  /**
   * Whether test-migrate (and the plan) compares production's schema with the one the migrations
   * production has applied build: {@code warn} reports each difference, {@code fail} stops the
   * release before production is touched, {@code off} does not look.
   */
  @Goals("all")
  @Parameter(property = "deploy.driftCheck", defaultValue = "warn")
  String driftCheck;

  /**
   * What the drift check leaves out: globs over the objects it names ({@code *} for any text), e.g.
   * {@code extension pg_stat_statements}, {@code * auth.*} for a provider's schema.
   */
  @Goals("all")
  @Parameter(property = "deploy.driftIgnore")
  List<String> driftIgnore = List.of();

  /**
   * The backward-compatibility proof: a command run, after test-migrate, from the image production
   * runs now (the digest the first promote tag names) against the migrated throwaway database,
   * e.g. {@code /app/smoke-test}. A non-zero exit stops the release before production is touched.
   */
  @Goals({"test-migrate", "migrate", "release", "plan"})
  @Parameter(property = "deploy.compatibilityCommand")
  String compatibilityCommand;

  /**
   * The backward-compatibility proof as a service: the image production runs now is started with
   * its own entrypoint, on the Docker engine's host network, against the migrated throwaway
   * database, and must answer 2xx at this URL (e.g. {@code http://127.0.0.1:8080/health}) before
   * the release goes on. With {@code deploy.compatibilityCommand} as well, the command runs once
   * it is healthy.
   */
  @Goals({"test-migrate", "migrate", "release", "plan"})
  @Parameter(property = "deploy.compatibilityHealthUrl")
  String compatibilityHealthUrl;

  /** How long the compatibility command may run, and the service may take to answer its health URL; default 10m. */
  @Goals({"test-migrate", "migrate", "release", "plan"})
  @Parameter(property = "deploy.compatibilityTimeout")
  String compatibilityTimeout;

  /**
   * {@code NAME=value} for the image the compatibility check runs, with {@code {url}},
   * {@code {dsn}}, {@code {jdbc}}, {@code {host}}, {@code {port}}, {@code {user}},
   * {@code {password}}, {@code {database}} filled in for the migrated throwaway database.
   */
  @Goals({"test-migrate", "migrate", "release", "plan"})
  @Parameter(property = "deploy.compatibilityEnv")
  List<String> compatibilityEnv = List.of();

  /** Where each goal writes what it did (also when it failed): steps, image, migrations, guards, tags, rollout. */
  @Goals({"build", "test-migrate", "migrate", "promote", "release", "rollback"})
  @Parameter(property = "deploy.reportFile", defaultValue = "${project.build.directory}/deploy/release.json")
  File reportFile;

  @Parameter(defaultValue = "${project}", readonly = true, required = true)
  MavenProject project;

  @Parameter(defaultValue = "${session}", readonly = true, required = true)
  MavenSession session;

  @Parameter(defaultValue = "${settings}", readonly = true, required = true)
  Settings settings;

  @Parameter(defaultValue = "${plugin}", readonly = true, required = true)
  org.apache.maven.plugin.descriptor.PluginDescriptor plugin;

  @Parameter(defaultValue = "${repositorySystemSession}", readonly = true, required = true)
  org.eclipse.aether.RepositorySystemSession repositorySession;

  @javax.inject.Inject
  org.eclipse.aether.RepositorySystem repositorySystem;

  /**
   * The version of the embedded PostgreSQL's binaries artifact to resolve for this machine; its
   * major version is the throwaway database's.
   */
  @Goals({"test-migrate", "migrate", "promote", "release", "rollback", "history", "plan", "lint"})
  @Parameter(property = "deploy.embeddedPostgresVersion")
  String embeddedPostgresVersion;

  private final SettingsDecrypter decrypter;
  /**
   * Standard output itself: Maven's System.out strips escape sequences in batch mode, and
   * GitLab's sections are made of them.
   */
  private static final java.io.PrintStream RAW_OUT = new java.io.PrintStream(
      new java.io.FileOutputStream(java.io.FileDescriptor.out), false, java.nio.charset.StandardCharsets.UTF_8);

  /** The settings.xml servers a plan or a lint found missing, each warned about once. */
  private final java.util.Set<String> unreadServers = new java.util.HashSet<>();

  /** The CI system's groups and annotations; nothing outside CI. */
  private final CiLog ci = CiLog.of(System.getenv());

  AbstractDeployMojo(SettingsDecrypter decrypter) {
    this.decrypter = decrypter;
  }

  @Override
  public final void execute() throws MojoExecutionException, MojoFailureException {
    if (skip) {
      getLog().info("Skipping " + goal() + " (deploy.skip)");
      return;
    }
    useMavensProxy();
    beforeConfiguring();
    if (startsEmbeddedPostgres()) {
      EmbeddedPostgresBinaries.addIfMissing(repositorySystem, repositorySession,
          project.getRemotePluginRepositories(), plugin.getClassRealm(),
          embeddedPostgresVersion != null && !embeddedPostgresVersion.isBlank() ? embeddedPostgresVersion.trim()
              : EmbeddedPostgresBinaries.defaultVersion(), getLog());
    }
    if (buildsImage()) {
      StaleBuild.warning(project, goal()).ifPresent(getLog()::warn);
    }
    try {
      Release release = configure().load();
      // at the start of a line, before anything else: GitHub reads workflow commands only there.
      // On standard error, which the runner reads for commands too: standard output may be JSON for a pipe
      GitHubActions.maskSecrets(release, command -> {
        System.err.println(command);
        System.err.flush();
      });
      ReleaseResult result = run(release);
      if (result != null) { // null: the goal prints what it read, no step ran
        summarize(result, release.redactor()); // with the secrets the run added, such as ECR's push token
      }
    } catch (DeployException e) {
      // each step's end was logged as it happened; Maven prints the failure itself
      ci.error(e.getMessage()).forEach(System.err::println);
      System.err.flush();
      throwForMaven(e);
    }
  }

  /**
   * settings.xml's active proxy as Java's proxy properties, which the registry client and the AWS
   * SDK read, unless the JVM was given its own; HTTPS_PROXY and the like are read by them as well.
   */
  private void useMavensProxy() {
    org.apache.maven.settings.Proxy proxy = settings == null ? null : settings.getActiveProxy();
    if (proxy == null || proxy.getHost() == null || proxy.getHost().isBlank()) {
      return;
    }
    String scheme = proxy.getProtocol() == null ? "http" : proxy.getProtocol().toLowerCase(java.util.Locale.ROOT);
    for (String prefix : List.of("https", "http")) {
      if (System.getProperty(prefix + ".proxyHost") == null) {
        System.setProperty(prefix + ".proxyHost", proxy.getHost());
        System.setProperty(prefix + ".proxyPort", String.valueOf(proxy.getPort()));
      }
    }
    if (System.getProperty("http.nonProxyHosts") == null && proxy.getNonProxyHosts() != null
        && !proxy.getNonProxyHosts().isBlank()) {
      System.setProperty("http.nonProxyHosts", proxy.getNonProxyHosts().replace(',', '|'));
    }
    if (proxy.getUsername() != null && !proxy.getUsername().isBlank()) {
      getLog().warn("settings.xml proxy " + proxy.getId() + " has a username: closedloop's registry client does not"
          + " authenticate to proxies, so ask for an unauthenticated one (or NO_PROXY the registry)");
    }
    getLog().debug("proxy from settings.xml: " + scheme + "://" + proxy.getHost() + ":" + proxy.getPort());
  }

  /** The Flyway Maven plugin's {@code flyway.*} properties, as the POM sets them and the command line overrides them. */
  private Map<String, String> flywayProperties() {
    Map<String, String> flyway = new java.util.TreeMap<>();
    for (java.util.Properties properties : List.of(project.getProperties(), session.getUserProperties())) {
      properties.stringPropertyNames().stream().filter(name -> name.startsWith("flyway."))
          .forEach(name -> flyway.put(name, properties.getProperty(name)));
    }
    List<String> unread = FlywaySettings.unread(flyway);
    if (!unread.isEmpty()) {
      getLog().warn("closedloop does not apply " + String.join(", ", unread) + ": it reads flyway.placeholders.*,"
          + " flyway.schemas, flyway.table, flyway.baselineOnMigrate and flyway.baselineVersion (production is"
          + " deploy.databaseUrl)");
    }
    return flyway;
  }

  /** The goal's name, for messages. */
  abstract String goal();

  /** What a goal does before its settings are read, which may fail: clearing what an earlier run left. */
  void beforeConfiguring() { }

  /** False for a goal that only reads: it neither writes release.json nor removes the last goal's. */
  boolean writesReport() {
    return true;
  }

  /** True for a goal that builds the image (build, release), from the project as this build left it. */
  boolean buildsImage() {
    return false;
  }

  /**
   * False for a goal that never reaches production (build, test-migrate): production's settings
   * are not resolved, so a pull-request build needs none of its secrets.
   */
  boolean reachesProduction() {
    return true;
  }

  /**
   * Whether this goal may start the embedded PostgreSQL: every goal but build may (the throwaway
   * database, or production given as embedded:, maybe through a variable or reference), so the
   * binaries are resolved when they are missing; cached, that costs nothing.
   */
  private boolean startsEmbeddedPostgres() {
    return !(buildsImage() && !reachesProduction());
  }

  /** True for a goal that only plans: secrets it cannot resolve here are named in the plan, not refused. */
  boolean plansOnly() {
    return false;
  }

  /** What a goal read, for a terminal through Maven's log, or as JSON alone on standard output for a pipe. */
  void print(List<String> lines, dev.closedloop.deploy.report.Format format) {
    if (format == dev.closedloop.deploy.report.Format.JSON) {
      lines.forEach(System.out::println);
      System.out.flush();
    } else {
      lines.forEach(getLog()::info);
    }
  }

  /** Runs the goal; null when it ran no step (it only read and printed). */
  abstract ReleaseResult run(Release release);

  private ReleaseBuilder configure() {
    return Release.configure()
        .image(image)
        .sha(sha)
        .dockerHost(dockerHost)
        .registryCredentials(registryCredentials())
        .pullCredentials(baseImageCredentials())
        .listener(new MavenLogListener(getLog(), ci, RAW_OUT, System.err))
        .buildContext(buildContext.toPath())
        .dockerfile(dockerfile != null ? dockerfile.toPath() : null)
        .buildArgs(buildArgs)
        .buildTarget(buildTarget)
        .buildSecrets(buildSecrets != null ? buildSecrets : List.of())
        .platforms(platforms != null ? platforms : List.of())
        .dockerCli(dockerCli)
        .labels(labels)
        .sourceUrl(sourceUrl)
        .tags(tags)
        .forceBuild(forceBuild)
        .migrations(Migrations.of(migrator, migrations, gooseTable, migrationCommand, migrationEnv,
                migrationCheckCommand)
            .allowingMissing(gooseAllowMissing)
            .withFlyway(Migrations.Tool.of(migrator) == Migrations.Tool.FLYWAY
                ? FlywaySettings.parse(placeholders, flywayProperties()) : null)
            .relativeTo(project.getBasedir().toPath())
            .withClassLoader(projectClassLoader()))
        .databaseUrl(databaseUrl, topLevelDatabaseUsed() ? databaseCredential(databaseUser, Server::getUsername)
            : databaseUser, topLevelDatabaseUsed() ? databaseCredential(databasePassword, Server::getPassword)
            : databasePassword)
        .requireTls(requireTls)
        .promoteTags(promoteTags)
        .insecureRegistries(insecureRegistries != null ? insecureRegistries : List.of())
        .branch(branch)
        .allowedBranches(allowedBranches)
        .branchGuard(branchGuard)
        .lockMode(lockMode)
        .lockTimeout(lockTimeout)
        .lockName(lockName)
        .ledger(ledgerSchema, ledgerTable)
        .failWhenSuperseded(failWhenSuperseded)
        .testDatabaseUrl(testDatabaseUrl, testDatabaseUser, testDatabasePassword)
        .testDatabaseImage(testDatabaseImage)
        .awsEndpoint(awsEndpoint)
        .awsRegion(awsRegion)
        .rollout(rollout)
        .rolloutService(rolloutService)
        .rolloutTimeout(rolloutTimeout)
        .localPorts(localPorts)
        .localEnv(localEnv)
        .healthUrl(healthUrl)
        .healthCommand(healthCommand)
        .healthExpect(healthExpect)
        .ecsWithoutRollback(ecsWithoutRollback)
        .reportFile(reportFile != null && writesReport() ? reportFile.toPath() : null)
        .hooks(hooks)
        .hookTimeout(hookTimeout)
        .hookDirectory(project.getBasedir().toPath())
        .lint(lint)
        .driftCheck(driftCheck)
        .driftIgnore(driftIgnore)
        .compatibilityCommand(compatibilityCommand)
        .compatibilityHealthUrl(compatibilityHealthUrl)
        .compatibilityTimeout(compatibilityTimeout)
        .compatibilityEnv(compatibilityEnv)
        .lintRules(lintRules)
        .migratorSwitch(migratorSwitch)
        .environments(environments.stream().map(this::environment).toList())
        .environment(environment)
        .forPlan(plansOnly())
        .withoutProduction(!reachesProduction());
  }

  /** An {@code <environment>} as the engine takes it, its database credentials read as the top-level ones are. */
  private dev.closedloop.deploy.Environment environment(Environment given) {
    dev.closedloop.deploy.Environment environment = dev.closedloop.deploy.Environment.named(given.name)
        .requireTls(given.requireTls)
        .lockName(given.lockName)
        .promoteTags(given.promoteTags)
        .allowedBranches(given.allowedBranches)
        .rollout(given.rollout)
        .rolloutService(given.rolloutService)
        .rolloutTimeout(given.rolloutTimeout)
        .healthUrl(given.healthUrl)
        .healthExpect(given.healthExpect)
        .healthCommand(given.healthCommand)
        .localPorts(given.localPorts)
        .localEnv(given.localEnv)
        .hooks(given.hooks)
        .awsRegion(given.awsRegion);
    if (given.setsDatabase()) {
      // its own database takes its own credentials: never the top-level ones, which may be another database's.
      // They are read only for the environments this goal uses, so a runner needs no other environment's server
      boolean used = given.name != null && environmentsUsed().contains(given.name.trim());
      environment.databaseUrl(given.databaseUrl != null ? given.databaseUrl : databaseUrl,
          used ? databaseCredential(given.databaseUser, given.databaseServerId, Server::getUsername) : null,
          used ? databaseCredential(given.databasePassword, given.databaseServerId, Server::getPassword) : null);
    }
    return environment;
  }

  /**
   * False when every environment this goal uses gives its own database: the top-level
   * credentials' settings.xml server is then not read, so a runner needs none of it.
   */
  private boolean topLevelDatabaseUsed() {
    java.util.Set<String> used = environmentsUsed();
    return used.isEmpty() || used.stream().anyMatch(name -> environments.stream().noneMatch(given ->
        given.name != null && given.name.trim().equals(name) && given.setsDatabase()));
  }

  /** The environments this goal reads settings of: the one selected, and for a promotion the one it takes from. */
  java.util.Set<String> environmentsUsed() {
    return environment == null || environment.isBlank() ? java.util.Set.of() : java.util.Set.of(environment.trim());
  }

  /**
   * MojoFailureException when the release said no, MojoExecutionException when it could not run.
   * Maven prints every cause's message after ours, so the cause is attached only under -X, where
   * the whole chain is wanted; otherwise the error stays the one line we wrote.
   */
  private void throwForMaven(DeployException e) throws MojoExecutionException, MojoFailureException {
    boolean withCause = getLog().isDebugEnabled();
    if (e.kind().isRefusal()) {
      throw withCause ? new MojoFailureException(e.getMessage(), e) : new MojoFailureException(e.getMessage());
    }
    throw withCause ? new MojoExecutionException(e.getMessage(), e) : new MojoExecutionException(e.getMessage());
  }

  private void summarize(ReleaseResult result, dev.closedloop.deploy.secret.Redactor redactor) {
    getLog().info("closedloop summary:" + (result.outcome() == ReleaseResult.Outcome.SUPERSEDED
        ? " superseded by a newer release (ledger #" + result.ledgerId().orElse(null) + ")" : ""));
    for (StepResult step : result.steps()) {
      getLog().info(String.format("  %-13s %-9s %6.1f s  %s", step.step(), step.status().name().toLowerCase(),
          step.duration().toMillis() / 1000.0, redactor.redact(step.summary())));
    }
  }

  /** The project's runtime classpath, where {@code classpath:} migrations are looked up. */
  private ClassLoader projectClassLoader() {
    List<URL> urls = new ArrayList<>();
    try {
      for (String element : project.getRuntimeClasspathElements()) {
        urls.add(new File(element).toURI().toURL());
      }
    } catch (DependencyResolutionRequiredException | MalformedURLException e) {
      throw new DeployException(DeployException.Kind.CONFIGURATION,
          "Cannot read the project's runtime classpath: " + e.getMessage(), e);
    }
    return new URLClassLoader(urls.toArray(URL[]::new), getClass().getClassLoader());
  }

  /** Credentials from the settings.xml {@code <server>} whose id is the registry host. */
  /**
   * {@code value} when set; else, with {@code deploy.databaseServerId}, that settings.xml
   * {@code <server>}'s (its password decrypted), as Flyway's plugin reads them.
   */
  private String databaseCredential(String value, java.util.function.Function<Server, String> part) {
    return databaseCredential(value, databaseServerId, part);
  }

  private String databaseCredential(String value, String serverId, java.util.function.Function<Server, String> part) {
    if ((value != null && !value.isBlank()) || serverId == null || serverId.isBlank()
        || !reachesProduction()) { // a goal that never reaches production reads none of its credentials
      return value;
    }
    Server server = settings == null ? null : settings.getServer(serverId.trim());
    if (server == null && plansOnly()) { // a plan or a lint names what it cannot reach, and goes on
      if (unreadServers.add(serverId.trim())) {
        getLog().warn("databaseServerId: settings.xml has no <server> with the id '" + serverId.trim() + "' here,"
            + " so the database credentials it holds are not read");
      }
      return value;
    }
    if (server == null) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "databaseServerId (deploy.databaseServerId):"
          + " settings.xml has no <server> with the id '" + serverId.trim() + "'");
    }
    SettingsDecryptionResult decrypted = decrypter.decrypt(new DefaultSettingsDecryptionRequest(server));
    for (SettingsProblem problem : decrypted.getProblems()) {
      getLog().warn("settings.xml <server> " + serverId.trim() + ": " + problem.getMessage());
    }
    return part.apply(decrypted.getServer() != null ? decrypted.getServer() : server);
  }

  private RegistryCredentials registryCredentials() {
    if (image == null || settings == null) {
      return null;
    }
    String registry;
    try {
      registry = ImageRef.parse(image).registry();
    } catch (DeployException e) {
      return null; // load() reports the bad reference with the other settings
    }
    Server server = settings.getServer(registry);
    return server == null ? null : serverCredentials(server, "pushing anonymously");
  }

  /**
   * For a goal that builds: the settings.xml {@code <server>}s named as registries ({@code
   * host.domain}, {@code host:port}, {@code localhost}) other than the image's, for base images
   * the Dockerfile pulls from them.
   */
  private java.util.Map<String, RegistryCredentials> baseImageCredentials() {
    java.util.Map<String, RegistryCredentials> found = new java.util.LinkedHashMap<>();
    if (!buildsImage() || settings == null) {
      return found;
    }
    String own;
    try {
      own = image == null ? null : ImageRef.parse(image).registry();
    } catch (DeployException e) {
      own = null;
    }
    for (Server server : settings.getServers()) {
      String id = server.getId();
      if (id != null && !id.equals(own) && id.matches("[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+(:\\d+)?|[A-Za-z0-9.-]+:\\d+|localhost")) {
        RegistryCredentials credentials = serverCredentials(server, null); // a Maven repository's server, maybe
        if (credentials != null) {
          found.put(id, credentials);
        }
      }
    }
    return found;
  }

  /**
   * A {@code <server>}'s username and decrypted password, or null when it has not both: with a
   * warning that ends with {@code otherwise}, unless that is null.
   */
  private RegistryCredentials serverCredentials(Server server, String otherwise) {
    SettingsDecryptionResult decrypted = decrypter.decrypt(new DefaultSettingsDecryptionRequest(server));
    for (SettingsProblem problem : decrypted.getProblems()) {
      getLog().warn("settings.xml <server> " + server.getId() + ": " + problem.getMessage());
    }
    Server plain = decrypted.getServer() != null ? decrypted.getServer() : server;
    if (plain.getUsername() == null || plain.getPassword() == null) {
      if (otherwise != null) {
        getLog().warn("settings.xml <server> " + server.getId() + " has no username or password; " + otherwise);
      }
      return null;
    }
    return new RegistryCredentials(plain.getUsername(), plain.getPassword());
  }
}
