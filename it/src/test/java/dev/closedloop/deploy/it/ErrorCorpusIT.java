package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The error corpus: bad inputs a user can make, each through real Maven, each a module of one
 * reactor run with {@code --fail-at-end} (one Maven start for all of them). Each must fail with
 * one line that names the setting or resource and says what to do, with no stack trace at the
 * default log level and no secret, and change nothing: the registry's tags and digests,
 * production's catalog, ledger and migration history, the server's databases and the engine's
 * containers are compared before and after. The cases are listed in docs/troubleshooting.md.
 */
class ErrorCorpusIT {

  private static final Pattern FAILURE = Pattern.compile(
      "^\\[ERROR\\] Failed to execute goal dev\\.closedloop:deploy-maven-plugin:[^ ]+ \\(case\\) on project"
          + " (case-[a-z0-9-]+): (.*) -> \\[Help \\d\\]$");
  private static final String DB_SECRET = "corpus-S3cret-db";
  private static final String URL_SECRET = "p@ss-S3cret";
  private static final String REGISTRY_SECRET = "corpus-S3cret-registry";
  private static final String JDBC_SECRET = "corpus-S3cret-jdbc";

  @TempDir Path work;

  /**
   * One bad input: the goal it runs, the settings that differ from a good release, and what its
   * one line must say (each fragment, in order).
   */
  record Case(String name, String goal, Map<String, String> settings, String... expected) {
    static Case of(String name, String goal, String settingsAndValues, String... expected) {
      Map<String, String> settings = new LinkedHashMap<>();
      if (!settingsAndValues.isEmpty()) {
        for (String pair : settingsAndValues.split(" ;; ")) {
          int equals = pair.indexOf('=');
          settings.put(pair.substring(0, equals), pair.substring(equals + 1));
        }
      }
      return new Case(name, goal, settings, expected);
    }
  }

  private List<Case> cases(Paths paths) {
    String registry = TestServices.registry();
    return List.of(
        // --- the image and the commit
        Case.of("image-with-tag", "build", "deploy.image=" + registry + "/it/corpus:v1",
            "image (deploy.image) names a repository without tag or digest"),
        Case.of("image-malformed", "build", "deploy.image=" + registry + "/Not Valid",
            "image (deploy.image)", "Not Valid"),
        Case.of("sha-malformed", "build", "deploy.sha=HEAD~1",
            "sha (deploy.sha) must be a commit SHA of 7 to 64 lowercase hex digits"),
        Case.of("registry-unknown-host", "build", "deploy.image=no-such-registry.invalid/it/corpus",
            "Cannot reach the registry no-such-registry.invalid", "check the image parameter (deploy.image)"),
        Case.of("registry-wrong-password", "build", "deploy.image=" + paths.authRegistry + "/it/corpus",
            paths.authRegistry, "settings.xml"),
        Case.of("tags-latest", "build", "deploy.tags=latest",
            "deploy.tags", "deploy.promoteTags"),
        Case.of("dockerfile-missing", "build", "deploy.dockerfile=Missing.Dockerfile",
            "Missing.Dockerfile", "deploy.dockerfile"),
        Case.of("build-context-missing", "build", "deploy.buildContext=" + work.resolve("no-such-dir"),
            "deploy.buildContext", "is not a directory"),
        Case.of("docker-down", "build", "deploy.dockerHost=unix://" + work.resolve("no-docker.sock"),
            "Cannot reach the Docker engine", "no-docker.sock", "start it"),
        Case.of("build-arg-malformed", "build", "deploy.buildArgs=VERSION",
            "deploy.buildArgs", "NAME=value"),
        // --- the databases
        Case.of("jdbc-url-typo", "migrate", "deploy.databaseUrl=jdbc:postgres://127.0.0.1:5432/shop",
            "databaseUrl (deploy.databaseUrl)", "jdbc:postgres://127.0.0.1:5432/shop", "use jdbc:postgresql://"),
        Case.of("jdbc-url-typo-with-password", "migrate", "deploy.databaseUrl=jdbc:postgres://127.0.0.1:5432/shop"
            + "?user=app&password=" + JDBC_SECRET, "databaseUrl (deploy.databaseUrl)", "use jdbc:postgresql://"),
        Case.of("jdbc-url-with-user-info", "migrate", "deploy.databaseUrl=jdbc:postgresql://app:" + JDBC_SECRET
            + "@127.0.0.1:5432/shop", "A JDBC URL takes no user:password@", "deploy.databasePassword"),
        Case.of("libpq-uri-unescaped-at", "migrate", "deploy.databaseUrl=postgres://app:" + URL_SECRET
            + "@127.0.0.1:1/shop", "Cannot connect to jdbc:postgresql://127.0.0.1:1/shop as app",
            "Check that the hostname and port are correct"),
        Case.of("database-unreachable", "migrate", "deploy.databaseUrl=postgres://postgres@127.0.0.1:1/none",
            "Cannot connect to jdbc:postgresql://127.0.0.1:1/none"),
        Case.of("database-wrong-password", "migrate", "deploy.databaseUrl=" + paths.passwordDatabase
            + " ;; deploy.databasePassword=" + DB_SECRET, "password authentication failed",
            "check the user and password"),
        Case.of("database-name-missing", "migrate", "deploy.databaseUrl=postgres://postgres@127.0.0.1:"
            + paths.productionPort + "/no_such_database", "no_such_database", "check the database name"),
        Case.of("database-not-tls-required", "migrate", "deploy.databaseUrl=postgres://app@db.example.com/shop"
            + " ;; deploy.requireTls=true", "sslmode=require", "deploy.requireTls is set"),
        Case.of("database-transaction-pooler", "migrate",
            "deploy.databaseUrl=postgres://app@aws-0-eu-west-1.pooler.supabase.com:6543/postgres",
            "deploy.databaseUrl", "6543", "port 5432"),
        Case.of("test-database-unreachable", "test-migrate", "deploy.testDatabaseUrl=postgres://x@127.0.0.1:1/x",
            "127.0.0.1:1"),
        Case.of("test-database-image-unpullable", "test-migrate", "deploy.testDatabaseImage=127.0.0.1:1/postgres:15",
            "Cannot pull 127.0.0.1:1/postgres:15 into the Docker engine at"),
        // --- secrets
        Case.of("secret-env-missing", "migrate", "deploy.databasePassword=env:CLOSEDLOOP_CORPUS_UNSET",
            "CLOSEDLOOP_CORPUS_UNSET", "deploy.databasePassword"),
        Case.of("secret-env-empty", "migrate", "deploy.databasePassword=env:CLOSEDLOOP_CORPUS_EMPTY",
            "CLOSEDLOOP_CORPUS_EMPTY", "which is empty", "give it a value"),
        Case.of("secret-file-missing", "migrate", "deploy.databasePassword=file:" + work.resolve("no-such-secret"),
            "no-such-secret"),
        Case.of("secret-file-empty", "migrate", "deploy.databasePassword=file:" + paths.emptySecret,
            paths.emptySecret.getFileName().toString(), "which is empty"),
        Case.of("secret-ssm-missing", "migrate", "deploy.databaseUrl=ssm:/corpus/missing ;; deploy.awsEndpoint="
            + paths.moto + " ;; deploy.awsRegion=us-east-1", "/corpus/missing", "us-east-1"),
        Case.of("aws-region-malformed", "migrate", "deploy.databaseUrl=ssm:/corpus/url ;; deploy.awsRegion=Mars 1",
            "awsRegion (deploy.awsRegion)"),
        Case.of("aws-endpoint-malformed", "migrate", "deploy.awsEndpoint=not a url", "awsEndpoint (deploy.awsEndpoint)"),
        // --- guards
        Case.of("branch-not-allowed", "migrate", "deploy.branch=feature/login",
            "Refusing to release from branch 'feature/login'", "deploy.allowedBranches"),
        Case.of("branch-guard-malformed", "migrate", "deploy.branchGuard=maybe", "branchGuard (deploy.branchGuard)"),
        Case.of("lock-mode-malformed", "migrate", "deploy.lockMode=sometimes", "deploy.lockMode",
            "supersede, queue or fail"),
        Case.of("lock-timeout-malformed", "migrate", "deploy.lockTimeout=soon", "lockTimeout (deploy.lockTimeout)",
            "30m"),
        Case.of("ledger-name-malformed", "migrate", "deploy.ledgerTable=Release-Ledger", "deploy.ledgerTable"),
        // --- migrations
        Case.of("migration-syntax-error", "test-migrate", "deploy.migrations=filesystem:" + paths.broken,
            "V2__broken.sql failed at line 1"),
        Case.of("migration-duplicate-version", "test-migrate", "deploy.migrations=filesystem:" + paths.duplicate,
            "more than one migration with version 2", "give each file a version of its own"),
        Case.of("migrations-location-missing", "test-migrate", "deploy.migrations=filesystem:"
            + work.resolve("no-such-migrations"), "deploy.migrations", "is not a directory"),
        Case.of("migrations-location-unsupported", "test-migrate", "deploy.migrations=s3:bucket/migrations",
            "deploy.migrations", "classpath:"),
        Case.of("migrations-none", "test-migrate", "deploy.migrations=filesystem:" + paths.empty,
            "No migrations found", "deploy.migrations"),
        Case.of("migrator-unknown", "test-migrate", "deploy.migrator=liquibase", "deploy.migrator"),
        Case.of("goose-on-classpath", "test-migrate", "deploy.migrator=goose ;; deploy.migrations=classpath:db",
            "filesystem:"),
        Case.of("image-migrator-without-command", "test-migrate", "deploy.migrator=image",
            "migrationCommand (deploy.migrationCommand)"),
        Case.of("flyway-out-of-order", "test-migrate", "flyway.outOfOrder=true", "flyway.outOfOrder is refused",
            "in the order test-migrate proved"),
        Case.of("migration-env-unknown-placeholder", "test-migrate", "deploy.migrator=image ;;"
            + " deploy.migrationCommand=goose -dir /migrations up ;; deploy.migrationEnv=GOOSE_DBSTRING={passwd}",
            "migrationEnv (deploy.migrationEnv): {passwd} in GOOSE_DBSTRING is no placeholder",
            "{dsn}, {url}, {jdbc}, {host}, {port}, {user}, {password}, {database}"),
        // --- promote and rollout
        Case.of("promote-tag-digest", "promote", "deploy.promoteTags=sha256:0123", "promoteTags (deploy.promoteTags)",
            "is not a tag"),
        Case.of("rollout-unknown", "release", "deploy.rollout=kubernetes", "rollout (deploy.rollout)"),
        Case.of("rollout-arn-invalid", "release", "deploy.rollout=apprunner ;; deploy.rolloutService=shop",
            "rolloutService (deploy.rolloutService)", "arn:aws:apprunner"),
        Case.of("rollout-timeout-malformed", "release", "deploy.rollout=local ;; deploy.rolloutService=shop"
            + " ;; deploy.rolloutTimeout=forever ;; deploy.localPorts=18080:8080"
            + " ;; deploy.healthUrl=http://127.0.0.1:18080/health",
            "rolloutTimeout (deploy.rolloutTimeout) 'forever' is not a duration: write e.g. 30m"),
        Case.of("local-ports-malformed", "release", "deploy.rollout=local ;; deploy.rolloutService=shop"
            + " ;; deploy.localPorts=eighty ;; deploy.healthCommand=true",
            "localPorts (deploy.localPorts) takes HOSTPORT:CONTAINERPORT entries such as 18080:8080"),
        Case.of("rollback-to-malformed", "rollback", "deploy.to=yesterday", "to (deploy.to)"),
        // --- hooks and formats
        Case.of("hook-point-unknown", "build", "deploy.hooks=pre-deploy=./notify.sh", "hooks (deploy.hooks)",
            "pre-build"),
        Case.of("hook-command-not-found", "build", "deploy.hooks=pre-build=no-such-command-xyz",
            "The pre-build hook failed", "command not found"),
        Case.of("hook-fails", "build", "deploy.hooks=pre-build=exit 4", "The pre-build hook failed", "exited with 4"),
        Case.of("hook-timeout-malformed", "build", "deploy.hookTimeout=later", "hookTimeout (deploy.hookTimeout)"),
        Case.of("drift-check-unknown", "build", "deploy.driftCheck=strict", "driftCheck (deploy.driftCheck)",
            "off, warn or fail"),
        Case.of("compatibility-health-url-malformed", "build", "deploy.compatibilityHealthUrl=localhost:8080/health",
            "compatibilityHealthUrl (deploy.compatibilityHealthUrl)", "http(s) URL"),
        Case.of("lint-level-unknown", "build", "deploy.lint=strict", "lint (deploy.lint)", "off, warn or fail"),
        Case.of("lint-rule-unknown", "build", "deploy.lintRules=ban-drops=fail", "lintRules (deploy.lintRules)",
            "ban-drop-table"),
        Case.of("history-format-unknown", "history", "deploy.historyFormat=xml", "historyFormat (deploy.historyFormat)"),
        Case.of("plan-format-unknown", "plan", "deploy.planFormat=yaml", "planFormat (deploy.planFormat)"));
  }

  /** What the cases refer to, made before the run. */
  record Paths(String authRegistry, String passwordDatabase, int productionPort, String moto, Path emptySecret,
      Path broken, Path duplicate, Path empty) { }

  @Test
  void everyBadInput_failsInOneLineNamingTheSettingAndTheFix_noStackTraceNoSecret_andChangesNothing()
      throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    var first = fixture.release("1", settings -> { });
    String sha = first.image().orElseThrow().image().tagValue().orElseThrow();
    Path state = Files.createDirectories(work.resolve("state"));
    try (TestServices.OwnRegistry auth = AuthenticatedRegistryIT.startAuthenticatedRegistry(state);
         TestServices.Moto moto = TestServices.startMoto(state)) {
      Paths paths = new Paths(auth.address(), productionWithPassword(), fixture.production.port(), moto.endpoint(),
          Files.writeString(work.resolve("empty-secret"), ""), migrations("broken", "V2__broken.sql",
              "CREATE TABLE broken (id int PRIMARY KEY;\n"), duplicate(), Files.createDirectories(work.resolve("none")));
      List<Case> cases = cases(paths);
      Map<String, Object> before = PlanIT.state(fixture);

      Path settings = work.resolve("settings.xml");
      Files.writeString(settings, "<settings><servers><server><id>" + auth.address() + "</id><username>deployer"
          + "</username><password>" + REGISTRY_SECRET + "</password></server></servers></settings>\n");
      SoftAssertions soft = new SoftAssertions();
      run(fixture, sha, cases, "error-corpus.log", soft, "-s", settings.toString());
      Map<String, Object> after = PlanIT.state(fixture);
      for (String part : before.keySet()) {
        soft.assertThat(after.get(part)).as("nothing changed: " + part).isEqualTo(before.get(part));
      }
      soft.assertAll();
      assertThat(cases).hasSizeGreaterThanOrEqualTo(40);
      assertThat(troubleshooting()).as("docs/troubleshooting.md has a section for each case")
          .containsAll(cases.stream().map(Case::name).toList());
    }
  }

  /**
   * Bad inputs found only past the branch guard, holding (or waiting for) the release lock: their
   * attempt is in the ledger as a failed row, which is the ledger's job. Nothing else changes: not
   * the registry, not production's schema or migration history, not the rows already there.
   */
  @Test
  void badInputsFoundUnderTheLock_failInOneLine_andLeaveOnlyAFailedRowInTheLedger() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    var first = fixture.release("1", settings -> { });
    String sha = first.image().orElseThrow().image().tagValue().orElseThrow();
    String unmigrated = TestServices.randomSha();
    dev.closedloop.deploy.Release.configure().image(TestServices.registry() + "/" + fixture.repository)
        .sha(unmigrated).buildContext(fixture.context).dockerHost(TestServices.dockerHost()).load().build();
    Path changed = migrations("changed", "V2__add_body.sql", "ALTER TABLE notes ADD COLUMN body text;\n");
    Files.writeString(changed.resolve("V1__create_notes.sql"), "CREATE TABLE notes (id bigint PRIMARY KEY);\n");
    Path unsafe = migrations("unsafe", "V2__index_notes.sql", "CREATE INDEX notes_id ON notes (id);\n");
    List<Case> cases = List.of(
        Case.of("lint-refused", "migrate", "deploy.migrations=filesystem:" + unsafe + " ;; deploy.lint=fail",
            "Refusing to migrate production: the migration lint found 2 statements at level fail",
            "'-- closedloop:allow require-concurrent-index-creation'"),
        Case.of("checksum-changed", "migrate", "deploy.migrations=filesystem:" + changed,
            "checksum mismatch for migration version 1", "put the applied file back as it was"),
        Case.of("promote-without-migrate", "promote", "deploy.sha=" + unmigrated,
            "Refusing to promote " + unmigrated, "Run deploy:migrate first"),
        Case.of("lock-held", "migrate", "deploy.lockName=corpus-locked ;; deploy.lockMode=fail",
            "holds the release lock (deploy.lockMode=fail)", "try again when it has finished"),
        Case.of("lock-timeout", "migrate", "deploy.lockName=corpus-locked ;; deploy.lockMode=queue"
            + " ;; deploy.lockTimeout=1s", "Gave up waiting 1 s for the release lock of corpus-locked (deploy.lockTimeout)",
            "raise deploy.lockTimeout"));
    Map<String, Object> before = PlanIT.state(fixture);

    SoftAssertions soft = new SoftAssertions();
    try (Connection holder = fixture.production.connect(); Statement s = holder.createStatement()) {
      // what a running release holds: the advisory lock of its lock name
      java.util.zip.CRC32 crc = new java.util.zip.CRC32();
      crc.update("corpus-locked".getBytes(java.nio.charset.StandardCharsets.UTF_8));
      s.execute("SELECT pg_advisory_lock(" + 0x636C6F6F + ", " + (int) crc.getValue() + ")");
      run(fixture, sha, cases, "error-corpus-locked.log", soft);
    }

    Map<String, Object> after = PlanIT.state(fixture);
    for (String part : before.keySet()) {
      if (!part.equals("ledger")) {
        soft.assertThat(after.get(part)).as("nothing changed: " + part).isEqualTo(before.get(part));
      }
    }
    @SuppressWarnings("unchecked") List<String> rowsBefore = (List<String>) before.get("ledger");
    @SuppressWarnings("unchecked") List<String> rowsAfter = (List<String>) after.get("ledger");
    soft.assertThat(rowsAfter.subList(0, rowsBefore.size())).as("the rows already there").isEqualTo(rowsBefore);
    soft.assertThat(rowsAfter.subList(rowsBefore.size(), rowsAfter.size())).as("one failed row per case")
        .hasSize(cases.size()).allMatch(row -> row.contains("\"status\": \"failed\""));
    soft.assertAll();
    assertThat(troubleshooting()).containsAll(cases.stream().map(Case::name).toList());
  }

  /** Runs the cases as one reactor and checks each one's line, the stack traces and the secrets. */
  private void run(RolloutFixture fixture, String sha, List<Case> cases, String logName, SoftAssertions soft,
      String... mavenArgs) throws Exception {
    Path reactor = reactor(fixture, sha, cases);
    List<String> command = new java.util.ArrayList<>(List.of("-fae"));
    command.addAll(List.of(mavenArgs));
    command.add("validate");
    ProcessBuilder maven = new ProcessBuilder(TestServices.mvnw(command.toArray(String[]::new)))
        .directory(reactor.toFile()).redirectErrorStream(true);
    maven.environment().put("CLOSEDLOOP_CORPUS_EMPTY", "");
    maven.environment().put("AWS_ACCESS_KEY_ID", "testing");
    maven.environment().put("AWS_SECRET_ACCESS_KEY", "testing");
    maven.environment().put("AWS_EC2_METADATA_DISABLED", "true");
    Process process = maven.start();
    String output = new String(process.getInputStream().readAllBytes());
    int exit = process.waitFor();
    Path log = TestServices.root().resolve("it/target/" + logName); // to read when a case fails
    Files.createDirectories(log.getParent());
    Files.writeString(log, output);

    soft.assertThat(exit).as("exit code").isNotZero();
    Map<String, String> messages = new LinkedHashMap<>();
    for (String line : output.lines().toList()) {
      Matcher m = FAILURE.matcher(line);
      if (m.matches()) {
        messages.putIfAbsent(m.group(1), m.group(2));
      }
    }
    for (Case c : cases) {
      String message = messages.get("case-" + c.name());
      soft.assertThat(message).as(c.name() + " fails with one line").isNotNull();
      if (message != null) {
        soft.assertThat(message).as(c.name()).containsSubsequence(c.expected());
      }
    }
    soft.assertThat(output.lines()).as("no stack trace at the default log level")
        .noneMatch(line -> line.startsWith("\tat ") || line.startsWith("Caused by:"));
    soft.assertThat(output).as("no secret").doesNotContain(DB_SECRET).doesNotContain(URL_SECRET)
        .doesNotContain(REGISTRY_SECRET).doesNotContain(JDBC_SECRET);
    for (Case c : cases) { // nor in what each goal wrote
      Path report = reactor.resolve("case-" + c.name()).resolve("target/deploy/release.json");
      if (Files.exists(report)) {
        soft.assertThat(Files.readString(report)).as(c.name() + " release.json").doesNotContain(DB_SECRET)
            .doesNotContain(URL_SECRET).doesNotContain(REGISTRY_SECRET).doesNotContain(JDBC_SECRET);
      }
    }
  }

  /** The case names docs/troubleshooting.md has a section for ({@code ### <name>}). */
  private static List<String> troubleshooting() throws IOException {
    return Files.readString(TestServices.root().resolve("docs/troubleshooting.md")).lines()
        .filter(line -> line.startsWith("### ")).map(line -> line.substring(4).replace("`", "").trim()).toList();
  }

  /** The machine's PostgreSQL of scripts/services, which wants a password. */
  private static String productionWithPassword() {
    String url = System.getenv("CLOSEDLOOP_PRODUCTION_URL");
    assertThat(url).as("CLOSEDLOOP_PRODUCTION_URL (scripts/services env)").isNotBlank();
    return url;
  }

  private Path migrations(String name, String file, String sql) throws IOException {
    Path dir = Files.createDirectories(work.resolve(name));
    Files.writeString(dir.resolve("V1__create_notes.sql"), "CREATE TABLE notes (id int PRIMARY KEY);\n");
    Files.writeString(dir.resolve(file), sql);
    return dir;
  }

  private Path duplicate() throws IOException {
    Path dir = migrations("duplicate", "V2__add_body.sql", "ALTER TABLE notes ADD COLUMN body text;\n");
    Files.writeString(dir.resolve("V2__add_title.sql"), "ALTER TABLE notes ADD COLUMN title text;\n");
    return dir;
  }

  /** A reactor of one module per case, each binding its goal to validate, under a parent with a good release's settings. */
  private Path reactor(RolloutFixture fixture, String sha, List<Case> cases) throws IOException {
    Path root = Files.createDirectories(work.resolve("corpus"));
    StringBuilder modules = new StringBuilder();
    for (Case c : cases) {
      modules.append("    <module>case-").append(c.name()).append("</module>\n");
      StringBuilder properties = new StringBuilder();
      c.settings().forEach((name, value) -> properties.append("    <").append(name).append(">").append(xml(value))
          .append("</").append(name).append(">\n"));
      Path module = Files.createDirectories(root.resolve("case-" + c.name()));
      Files.writeString(module.resolve("pom.xml"), """
          <project xmlns="http://maven.apache.org/POM/4.0.0">
            <modelVersion>4.0.0</modelVersion>
            <parent><groupId>dev.closedloop.it</groupId><artifactId>corpus</artifactId><version>1</version></parent>
            <artifactId>case-%s</artifactId>
            <packaging>pom</packaging>
            <properties>
          %s  </properties>
            <build><plugins><plugin>
              <groupId>dev.closedloop</groupId><artifactId>deploy-maven-plugin</artifactId>
              <executions><execution><id>case</id><phase>validate</phase><goals><goal>%s</goal></goals></execution></executions>
            </plugin></plugins></build>
          </project>
          """.formatted(c.name(), properties, c.goal()));
    }
    Files.writeString(root.resolve("pom.xml"), """
        <project xmlns="http://maven.apache.org/POM/4.0.0">
          <modelVersion>4.0.0</modelVersion>
          <groupId>dev.closedloop.it</groupId>
          <artifactId>corpus</artifactId>
          <version>1</version>
          <packaging>pom</packaging>
          <properties>
            <deploy.image>%s</deploy.image>
            <deploy.sha>%s</deploy.sha>
            <deploy.branch>main</deploy.branch>
            <deploy.buildContext>%s</deploy.buildContext>
            <deploy.migrations>filesystem:%s</deploy.migrations>
            <deploy.databaseUrl>%s</deploy.databaseUrl>
            <deploy.dockerHost>%s</deploy.dockerHost>
          </properties>
          <modules>
        %s  </modules>
          <build><pluginManagement><plugins><plugin>
            <groupId>dev.closedloop</groupId><artifactId>deploy-maven-plugin</artifactId><version>%s</version>
          </plugin></plugins></pluginManagement></build>
        </project>
        """.formatted(TestServices.registry() + "/" + fixture.repository, sha, fixture.context,
        work.resolve("migrations"), xml("postgres://postgres@127.0.0.1:" + fixture.production.port() + "/"
            + fixture.production.database()), TestServices.dockerHost(), modules, TestServices.version()));
    return root;
  }

  private static String xml(String text) {
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
