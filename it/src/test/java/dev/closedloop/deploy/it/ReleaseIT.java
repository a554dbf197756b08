package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseEvent;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.guard.LedgerEntry;
import dev.closedloop.deploy.guard.LedgerStatus;
import dev.closedloop.deploy.guard.LockMode;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.guard.ReleaseLedger;
import dev.closedloop.deploy.internal.guard.ReleaseLock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `mvn deploy:release` in a consumer project, against a real production PostgreSQL and registry. */
class ReleaseIT {

  private static final ReleaseLedger LEDGER = new ReleaseLedger("closedloop", "release_ledger");
  private static EphemeralDatabase.Instance server;

  @TempDir Path work;

  private Path project;
  private String repository;
  private DatabaseTarget production;

  @BeforeAll
  static void startServer() {
    server = EphemeralDatabase.embedded().start(Events.none());
  }

  @AfterAll
  static void stopServer() {
    server.close();
  }

  @BeforeEach
  void setUp() throws Exception {
    project = TestServices.copyProject("consumer", work);
    repository = "it/release-" + UUID.randomUUID().toString().substring(0, 8);
    String database = "prod_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    execute(server.target(), "CREATE DATABASE " + database);
    production = DatabaseTarget.of("jdbc:postgresql://127.0.0.1:" + server.target().port() + "/" + database,
        "postgres", null);
  }

  private String databaseUrl() {
    return "postgres://postgres@127.0.0.1:" + production.port() + "/" + production.database();
  }

  private TestServices.Run release(String sha, String... extra) {
    return release(Map.of(), sha, extra);
  }

  private TestServices.Run release(Map<String, String> env, String sha, String... extra) {
    return goal(env, sha, "deploy:release", extra);
  }

  private TestServices.Run goal(Map<String, String> env, String sha, String goal, String... extra) {
    List<String> args = new ArrayList<>(List.of("-Ddeploy.image=" + TestServices.registry() + "/" + repository,
        "-Ddeploy.sha=" + sha, "-Ddeploy.databaseUrl=" + databaseUrl()));
    args.addAll(List.of(extra));
    if (args.stream().noneMatch(a -> a.startsWith("-Ddeploy.branch="))) {
      args.add("-Ddeploy.branch=main");
    }
    args.add(goal);
    return TestServices.run(project, env, TestServices.mvnw(args.toArray(String[]::new)).toArray(String[]::new));
  }

  @Test
  void release_buildsMigratesAndPromotes_thenAReRunResumesWithNothingLeftToDo() throws Exception {
    String sha = TestServices.randomSha();

    TestServices.Run run = release(sha);

    assertThat(run.exitCode()).as(run.output()).isZero();
    String digest = TestServices.registryDigest(repository, sha).orElseThrow();
    assertThat(TestServices.registryDigest(repository, "latest")).contains(digest);
    assertThat(tables(production)).contains("customers", "orders", "order_items", "products", "service_health");
    List<LedgerEntry> rows = ledger();
    assertThat(rows).hasSize(1);
    LedgerEntry row = rows.get(0);
    assertThat(row.status().id()).isEqualTo("succeeded");
    assertThat(row.sha()).isEqualTo(sha);
    assertThat(row.branch()).isEqualTo("main");
    assertThat(row.imageDigest()).isEqualTo(digest);
    assertThat(row.migrationsApplied()).contains("V1 create customers", "R order totals");
    assertThat(row.previousDigests()).containsOnly(entry("latest", null));
    assertThat(row.statusHistory()).extracting(change -> change.status().id())
        .containsSubsequence("queued", "running", "migrated", "promoted", "succeeded");
    assertThat(run.output()).contains("9 migrations applied to production", "latest moved at " + digest);
    String report = Files.readString(project.resolve("target/deploy/release.json")); // the default place
    assertThat(report).contains("\"goal\" : \"release\"", "\"outcome\" : \"succeeded\"", "\"digest\" : \"" + digest);

    TestServices.Run again = release(sha);

    assertThat(again.exitCode()).as(again.output()).isZero();
    assertThat(again.output()).contains("reused " + TestServices.registry() + "/" + repository + ":" + sha,
        "production is already at the tested set", "latest already at " + digest);
    assertThat(ledger()).extracting((LedgerEntry r) -> r.status().id()).containsExactly("succeeded", "succeeded");

    // the build step never moves latest, even when a later commit is built
    String next = TestServices.randomSha();
    Files.writeString(project.resolve("Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\nLABEL next=1\n");
    TestServices.Run build = TestServices.run(project, TestServices.mvnw("-Ddeploy.image=" + TestServices.registry()
        + "/" + repository, "-Ddeploy.sha=" + next, "deploy:build").toArray(String[]::new));
    assertThat(build.exitCode()).as(build.output()).isZero();
    assertThat(TestServices.registryDigest(repository, next)).isPresent().isNotEqualTo(TestServices.registryDigest(repository, "latest"));
    assertThat(TestServices.registryDigest(repository, "latest")).contains(digest);
  }

  @Test
  void release_whenTheLastMigrationFailsOnProduction_leavesLatestAndSchemaAsTheyWere() throws Exception {
    Path migrations = Files.createDirectories(work.resolve("migrations"));
    Files.writeString(migrations.resolve("V1__create_people.sql"), "CREATE TABLE people (id int PRIMARY KEY, name text);\n");
    String first = TestServices.randomSha();
    TestServices.Run firstRun = release(first, "-Ddeploy.migrations=filesystem:" + migrations);
    assertThat(firstRun.exitCode()).as(firstRun.output()).isZero();
    String before = TestServices.registryDigest(repository, "latest").orElseThrow();
    execute(production, "INSERT INTO people VALUES (1, 'Ada'), (2, 'Ada')"); // data only production has
    // passes on the empty throwaway database, fails on production's data
    Files.writeString(migrations.resolve("V2__unique_names.sql"),
        "ALTER TABLE people ADD COLUMN email text;\nALTER TABLE people ADD CONSTRAINT people_name_key UNIQUE (name);\n");
    Files.writeString(project.resolve("Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\nLABEL v=2\n");
    String second = TestServices.randomSha();

    TestServices.Run run = release(second, "-Ddeploy.migrations=filesystem:" + migrations);

    assertThat(run.exitCode()).isNotZero();
    assertThat(run.output()).contains("[ERROR] Failed to execute goal")
        .contains("Migration V2__unique_names.sql failed at line 2: ERROR: could not create unique index \"people_name_key\"");
    assertThat(TestServices.registryDigest(repository, "latest")).as("latest unchanged").contains(before);
    assertThat(TestServices.registryDigest(repository, second)).as("the image was built").isPresent();
    assertThat(strings(production, "SELECT column_name FROM information_schema.columns WHERE table_name = 'people'"
        + " ORDER BY column_name")).as("V2 rolled back whole").containsExactly("id", "name");
    List<LedgerEntry> rows = ledger();
    assertThat(rows).extracting((LedgerEntry r) -> r.status().id()).containsExactly("succeeded", "failed");
    assertThat(rows.get(1).error()).startsWith("Migration V2__unique_names.sql failed at line 2");
  }

  /** Flyway's own transaction-scoped lock is known to deadlock with CREATE INDEX CONCURRENTLY. */
  @Test
  @org.junit.jupiter.api.Timeout(180)
  void release_withANonTransactionalMigration_runsUnderTheReleaseLockWithoutDeadlock() throws Exception {
    Path migrations = Files.createDirectories(work.resolve("concurrent"));
    Files.writeString(migrations.resolve("V1__create_orders.sql"),
        "CREATE TABLE orders (id int PRIMARY KEY, placed_at timestamptz);\n"
            + "INSERT INTO orders SELECT g, now() FROM generate_series(1, 1000) g;\n");
    Files.writeString(migrations.resolve("V2__index_orders_concurrently.sql"),
        "CREATE INDEX CONCURRENTLY orders_placed_idx ON orders (placed_at);\n");
    Files.writeString(migrations.resolve("V2__index_orders_concurrently.sql.conf"), "executeInTransaction=false\n");

    TestServices.Run run = release(TestServices.randomSha(), "-Ddeploy.migrations=filesystem:" + migrations);

    assertThat(run.exitCode()).as(run.output()).isZero();
    assertThat(strings(production, "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'orders_placed_idx'::regclass"))
        .containsExactly("true");
    assertThat(ledger()).extracting((LedgerEntry r) -> r.status().id()).containsExactly("succeeded");
  }

  @Test
  void release_throughPgBouncerInTransactionMode_isRefused_inSessionModeItReleases() throws Exception {
    try (PgBouncer transaction = PgBouncer.start(work.resolve("tx"), production.port(), "transaction");
        PgBouncer session = PgBouncer.start(work.resolve("session"), production.port(), "session")) {
      String sha = TestServices.randomSha();

      TestServices.Run refused = release(sha, "-Ddeploy.databaseUrl=postgres://postgres@127.0.0.1:" + transaction.port
          + "/" + production.database());

      assertThat(refused.exitCode()).isEqualTo(1);
      assertThat(refused.output()).contains("runs two separate sessions on one server backend")
          .contains("use a session-mode pooler or the direct connection string");
      assertThat(strings(production, "SELECT coalesce(to_regclass('closedloop.release_ledger')::text, 'none')"))
          .as("refused before the ledger was even created").containsExactly("none");
      assertThat(TestServices.registryDigest(repository, "latest")).isEmpty();

      TestServices.Run released = release(sha, "-Ddeploy.databaseUrl=postgres://postgres@127.0.0.1:" + session.port
          + "/" + production.database());

      assertThat(released.exitCode()).as(released.output()).isZero();
      assertThat(ledger()).extracting((LedgerEntry r) -> r.status().id()).containsExactly("succeeded");
    }
  }

  /** A real PgBouncer in front of the test's PostgreSQL, run as nobody (it will not run as root). */
  private record PgBouncer(Process process, int port) implements AutoCloseable {
    static PgBouncer start(Path dir, int postgresPort, String poolMode) throws Exception {
      Files.createDirectories(dir);
      int port;
      try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
        port = socket.getLocalPort();
      }
      Files.writeString(dir.resolve("pgbouncer.ini"), """
          [databases]
          * = host=127.0.0.1 port=%d user=postgres
          [pgbouncer]
          listen_addr = 127.0.0.1
          listen_port = %d
          auth_type = any
          pool_mode = %s
          unix_socket_dir =
          """.formatted(postgresPort, port, poolMode));
      for (Path p = dir; p != null && p.startsWith(dir.getParent().getParent()); p = p.getParent()) {
        Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
      }
      Files.setPosixFilePermissions(dir.resolve("pgbouncer.ini"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
      String binary = Files.isExecutable(Path.of("/usr/sbin/pgbouncer")) ? "/usr/sbin/pgbouncer" : "pgbouncer";
      List<String> command = new ArrayList<>(List.of(binary));
      if ("root".equals(System.getProperty("user.name"))) {
        command.addAll(List.of("-u", "nobody"));
      }
      command.add(dir.resolve("pgbouncer.ini").toString());
      Process process = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(dir.resolve("pgbouncer.log").toFile()).start();
      for (int i = 0; i < 100; i++) { // 10 s at most
        try (java.net.Socket probe = new java.net.Socket("127.0.0.1", port)) {
          return new PgBouncer(process, port);
        } catch (IOException e) {
          Thread.sleep(100);
        }
      }
      process.destroy();
      throw new AssertionError("PgBouncer did not start: " + Files.readString(dir.resolve("pgbouncer.log")));
    }

    @Override
    public void close() throws InterruptedException {
      process.destroy();
      process.waitFor();
    }
  }

  @Test
  void release_fromAFeatureBranchOrAPullRequest_isRefusedBeforeAnyConnection_whateverDeployBranchSays()
      throws IOException {
    // nothing listens on this port: a release that tried to connect would say so instead
    String closed = "postgres://postgres@127.0.0.1:1/nowhere";

    TestServices.Run feature = release(TestServices.randomSha(), "-Ddeploy.branch=feature/login",
        "-Ddeploy.databaseUrl=" + closed);
    TestServices.Run pullRequest = release(Map.of("GITHUB_ACTIONS", "true", "GITHUB_EVENT_NAME", "pull_request",
        "GITHUB_HEAD_REF", "feature/login", "GITHUB_BASE_REF", "main", "GITHUB_REF", "refs/pull/7/merge"),
        TestServices.randomSha(), "-Ddeploy.branch=main", "-Ddeploy.databaseUrl=" + closed);

    assertThat(feature.exitCode()).isEqualTo(1);
    assertThat(feature.output()).contains("Refusing to release from branch 'feature/login' (deploy.branch):"
        + " deploy.allowedBranches allows main, master").doesNotContain("Cannot connect");
    assertThat(pullRequest.exitCode()).isEqualTo(1);
    assertThat(pullRequest.output()).contains("Refusing to release from pull request 'feature/login -> main'"
        + " (GitHub Actions pull_request event)").doesNotContain("Cannot connect");
    assertThat(TestServices.registryDigest(repository, "latest")).isEmpty();
  }

  @Test
  void requireTls_refusesAPlainTextProductionUrl_beforeAnyConnectionIsTried() throws IOException {
    // the host does not exist: a release that tried to reach it would say so instead
    TestServices.Run run = release(TestServices.randomSha(), "-Ddeploy.requireTls=true",
        "-Ddeploy.databaseUrl=postgres://postgres:Pw-Never-Sent@db.example.invalid:5432/shop?sslmode=prefer");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.output()).contains("databaseUrl (deploy.databaseUrl): the connection to db.example.invalid does not"
        + " require TLS (sslmode=prefer): add sslmode=require (or verify-full) to the URL (deploy.requireTls is set)")
        .doesNotContain("Cannot connect").doesNotContain("UnknownHost").doesNotContain("Pw-Never-Sent");
  }

  @Test
  void release_withTheBranchGuardOff_releasesLoudly_andTheLedgerRecordsTheOverride() throws Exception {
    TestServices.Run run = release(TestServices.randomSha(), "-Ddeploy.branch=feature/debug-deploy",
        "-Ddeploy.branchGuard=off");

    assertThat(run.exitCode()).as(run.output()).isZero();
    assertThat(run.output()).contains("[WARNING] BRANCH GUARD OFF (deploy.branchGuard=off): releasing to production"
        + " from branch 'feature/debug-deploy' (deploy.branch)");
    LedgerEntry row = ledger().get(0);
    assertThat(row.branch()).isEqualTo("feature/debug-deploy");
    assertThat(row.branchGuardOverridden()).isTrue();
    assertThat(row.status().id()).isEqualTo("succeeded");
  }

  @Test
  void release_whenTestMigrateFails_neverMigratesProduction_havingOnlyTriedToReadIt() throws IOException {
    Path migrations = Files.createDirectories(work.resolve("broken"));
    Files.writeString(migrations.resolve("V1__broken.sql"), "CREATE TABLE (;\n");

    TestServices.Run run = release(TestServices.randomSha(), "-Ddeploy.migrations=filesystem:" + migrations,
        "-Ddeploy.databaseUrl=postgres://postgres@127.0.0.1:1/nowhere");

    assertThat(run.exitCode()).isEqualTo(1);
    // production is read (read-only) before test-migrate, for the drift check and the version match; nothing more
    assertThat(run.output()).contains("Migration V1__broken.sql failed").doesNotContain("--- migrate ---")
        .contains("[WARNING] production could not be read before test-migrate (no drift check, no version match):"
            + " Cannot connect to jdbc:postgresql://127.0.0.1:1/nowhere?readOnly=true&readOnlyMode=always");
  }

  @Test
  void release_killedDuringMigrate_freesTheLock_leavesTheDatabaseConsistent_andTheNextReleaseSucceeds() throws Exception {
    Path migrations = Files.createDirectories(work.resolve("slow"));
    Files.writeString(migrations.resolve("V1__create_things.sql"), "CREATE TABLE things (id int PRIMARY KEY);\n");
    // slow only where the marker exists: production, not the throwaway database
    Files.writeString(migrations.resolve("V2__slow_change.sql"), """
        ALTER TABLE things ADD COLUMN label text;
        DO $$ BEGIN
          IF to_regclass('marker.slow') IS NOT NULL THEN PERFORM pg_sleep(60); END IF;
        END $$;
        """);
    // outside public, which Flyway wants empty before its first migration
    execute(production, "CREATE SCHEMA marker; CREATE TABLE marker.slow (id int)");
    List<String> args = new ArrayList<>(List.of("-Ddeploy.image=" + TestServices.registry() + "/" + repository,
        "-Ddeploy.sha=" + TestServices.randomSha(), "-Ddeploy.databaseUrl=" + databaseUrl(), "-Ddeploy.branch=main",
        "-Ddeploy.migrations=filesystem:" + migrations, "deploy:release"));
    Process maven = new ProcessBuilder(TestServices.mvnw(args.toArray(String[]::new))).directory(project.toFile())
        .redirectErrorStream(true).redirectOutput(work.resolve("killed.log").toFile()).start();
    try {
      try {
        awaitSql(production, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%'"
            + " AND pid <> pg_backend_pid()", "1");
      } catch (AssertionError e) {
        throw new AssertionError(e.getMessage() + "; the release said: " + Files.readString(work.resolve("killed.log")));
      }
      maven.destroyForcibly().waitFor(); // SIGKILL: no shutdown hook, no finally block runs
    } finally {
      maven.destroyForcibly();
    }

    awaitSql(production, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2", "0");
    assertThat(strings(production, "SELECT column_name FROM information_schema.columns WHERE table_name = 'things'"
        + " ORDER BY column_name")).as("V2 rolled back").containsExactly("id");
    execute(production, "DROP SCHEMA marker CASCADE");

    TestServices.Run next = release(TestServices.randomSha(), "-Ddeploy.migrations=filesystem:" + migrations);

    assertThat(next.exitCode()).as(next.output()).isZero();
    assertThat(strings(production, "SELECT column_name FROM information_schema.columns WHERE table_name = 'things'"
        + " ORDER BY column_name")).containsExactly("id", "label");
    List<LedgerEntry> rows = ledger();
    assertThat(rows).extracting((LedgerEntry r) -> r.status().id()).containsExactly("failed", "succeeded");
    assertThat(rows.get(0).error()).isEqualTo("abandoned: its process died");
  }

  private List<LedgerEntry> ledger() throws SQLException {
    try (Connection c = production.connect()) {
      return LEDGER.history(c, repository);
    }
  }

  @Test
  void release_recordsMigratingWithThePlannedMigrations_beforeTheFirstOneRuns() throws Exception {
    Path migrations = Files.createDirectories(work.resolve("observing"));
    // the first migration copies what the ledger says at that moment (nothing on the throwaway database)
    Files.writeString(migrations.resolve("V1__observe_ledger.sql"), """
        CREATE TABLE seen (status text, planned text);
        DO $$ BEGIN
          IF to_regclass('closedloop.release_ledger') IS NOT NULL THEN
            EXECUTE 'INSERT INTO seen SELECT status, migrations_planned::text FROM closedloop.release_ledger'
              || ' ORDER BY id DESC LIMIT 1';
          END IF;
        END $$;
        """);
    Files.writeString(migrations.resolve("V2__create_people.sql"), "CREATE TABLE people (id int PRIMARY KEY);\n");

    TestServices.Run run = release(TestServices.randomSha(), "-Ddeploy.migrations=filesystem:" + migrations);

    assertThat(run.exitCode()).as(run.output()).isZero();
    assertThat(strings(production, "SELECT status || ' ' || planned FROM seen"))
        .containsExactly("migrating [\"V1 observe ledger\", \"V2 create people\"]");
    LedgerEntry row = ledger().get(0);
    assertThat(row.statusHistory()).extracting(change -> change.status().id())
        .containsSubsequence("running", "migrating", "migrated", "promoted", "succeeded");
    assertThat(row.migrationsPlanned()).containsExactly("V1 observe ledger", "V2 create people");
    assertThat(row.tagsMoved()).containsExactly("latest");
  }

  @Test
  void splitJobs_promoteMovesTheDigestThatMigrateRecorded_evenAfterAForcedRebuild() throws Exception {
    String sha = TestServices.randomSha();
    assertThat(goal(Map.of(), sha, "deploy:build").exitCode()).isZero();
    String tested = TestServices.registryDigest(repository, sha).orElseThrow();
    TestServices.Run migrate = goal(Map.of(), sha, "deploy:migrate");
    assertThat(migrate.exitCode()).as(migrate.output()).isZero();

    Files.writeString(project.resolve("Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\nLABEL rebuilt=1\n");
    assertThat(goal(Map.of(), sha, "deploy:build", "-Ddeploy.forceBuild=true").exitCode()).isZero();
    String rebuilt = TestServices.registryDigest(repository, sha).orElseThrow();
    assertThat(rebuilt).isNotEqualTo(tested);

    TestServices.Run promote = goal(Map.of(), sha, "deploy:promote");

    assertThat(promote.exitCode()).as(promote.output()).isZero();
    assertThat(promote.output()).contains("now names " + rebuilt + ", not the " + tested + " that deploy:migrate recorded");
    assertThat(TestServices.registryDigest(repository, "latest")).contains(tested);
    List<LedgerEntry> rows = ledger();
    assertThat(rows).extracting((LedgerEntry r) -> r.status().id()).containsExactly("succeeded", "succeeded");
    assertThat(rows.get(1).imageDigest()).isEqualTo(tested);
    assertThat(rows.get(1).tagsMoved()).containsExactly("latest");
  }

  @Test
  void splitJobs_anOlderPromote_isRefused_whenANewerReleaseMigratedAndThenFailed() throws Exception {
    String older = TestServices.randomSha();
    assertThat(goal(Map.of(), older, "deploy:build").exitCode()).isZero();
    assertThat(goal(Map.of(), older, "deploy:migrate").exitCode()).isZero();

    // a newer commit adds a migration, migrates production, then fails at promote
    Path extra = Files.createDirectories(work.resolve("newer"));
    Files.writeString(extra.resolve("V100__add_nickname.sql"), "ALTER TABLE customers ADD COLUMN nickname text;\n");
    String newer = TestServices.randomSha();
    Release release = Release.configure().image(TestServices.registry() + "/" + repository).sha(newer)
        .buildContext(project).dockerHost(TestServices.dockerHost())
        .migrations(Migrations.flyway("classpath:db/migration", "filesystem:" + extra))
        .databaseUrl(databaseUrl(), null, null).branch("main")
        .listener(event -> {
          if (event instanceof ReleaseEvent.StepFinished done && done.step() == Step.MIGRATE) {
            deleteConfigBlob(newer); // the registry now refuses the manifest: promote fails
          }
        })
        .load();
    assertThatThrownBy(release::release).isInstanceOfSatisfying(DeployException.class,
        e -> assertThat(e.kind()).as(e.getMessage()).isEqualTo(DeployException.Kind.REGISTRY));
    assertThat(ledger().get(1).status().id()).isEqualTo("failed");
    assertThat(ledger().get(1).statusHistory()).extracting(change -> change.status().id())
        .contains("migrating", "migrated");

    TestServices.Run promote = goal(Map.of(), older, "deploy:promote");

    assertThat(promote.exitCode()).isEqualTo(1);
    assertThat(promote.output()).contains("Refusing to promote " + older + ": release #" + ledger().get(1).id()
        + " of " + newer + " migrated production after it");
    assertThat(TestServices.registryDigest(repository, "latest")).as("latest never moved").isEmpty();
  }

  @Test
  void release_whenPromoteFailsBetweenTwoTags_theLedgerSaysWhichTagsMoved() throws Exception {
    String sha = TestServices.randomSha();
    String latest = TestServices.registry() + "/" + repository + ":latest";
    Release release = Release.configure().image(TestServices.registry() + "/" + repository).sha(sha)
        .buildContext(project).dockerHost(TestServices.dockerHost())
        .migrations(Migrations.flyway("classpath:db/migration"))
        .databaseUrl(databaseUrl(), null, null).branch("main").promoteTags(List.of("latest", "stable"))
        .listener(event -> {
          if (event instanceof ReleaseEvent.Progress p && p.message().startsWith(latest + ": ")) {
            deleteConfigBlob(sha); // latest has moved; the registry now refuses the manifest for stable
          }
        })
        .load();

    assertThatThrownBy(release::release).isInstanceOf(DeployException.class);

    String digest = TestServices.registryDigest(repository, sha).orElseThrow();
    assertThat(TestServices.registryDigest(repository, "latest")).contains(digest);
    assertThat(TestServices.registryDigest(repository, "stable")).isEmpty();
    LedgerEntry row = ledger().get(0);
    assertThat(row.status().id()).isEqualTo("failed");
    assertThat(row.previousDigests()).containsOnly(entry("latest", null), entry("stable", null));
    assertThat(row.tagsMoved()).containsExactly("latest");
  }

  /** Deletes the config blob of {@code <repository>:<tag>} from the registry, which then refuses its manifest. */
  private void deleteConfigBlob(String tag) {
    try {
      java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
      String base = "http://" + TestServices.registry() + "/v2/" + repository;
      String manifest = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/manifests/" + tag))
          .header("Accept", "application/vnd.docker.distribution.manifest.v2+json").build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).body();
      String config = new com.fasterxml.jackson.databind.ObjectMapper().readTree(manifest).path("config")
          .path("digest").asText();
      int status = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/blobs/" + config))
          .DELETE().build(), java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode();
      assertThat(status).as("DELETE blob " + config).isEqualTo(202);
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void queue_aDeadWaiterBehindASessionPooler_isAbandoned_andTheReleasesAroundItRun() throws Exception {
    try (PgBouncer pool = PgBouncer.start(work.resolve("pool"), production.port(), "session");
        Connection holder = DatabaseTarget.of("jdbc:postgresql://127.0.0.1:" + pool.port + "/" + production.database(),
            "postgres", null).connect()) {
      LEDGER.ensure(holder);
      long held = LEDGER.enqueue(holder, new ReleaseLedger.Attempt(repository, "a".repeat(40), "main", false, null, null));
      ReleaseLock lock = new ReleaseLock(holder, LEDGER, repository, Events.none());
      lock.acquire(held, LockMode.QUEUE, java.time.Duration.ofSeconds(5));
      LEDGER.advance(holder, held, LedgerStatus.RUNNING, null);

      // three releases queue behind it through the pooler; the second dies while it waits
      List<String> shas = List.of(TestServices.randomSha(), TestServices.randomSha(), TestServices.randomSha());
      List<Process> releases = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        releases.add(new ProcessBuilder(TestServices.mvnw("-Ddeploy.image=" + TestServices.registry() + "/"
            + repository, "-Ddeploy.sha=" + shas.get(i), "-Ddeploy.databaseUrl=postgres://postgres@127.0.0.1:"
            + pool.port + "/" + production.database(), "-Ddeploy.branch=main", "-Ddeploy.lockMode=queue",
            "-Ddeploy.lockTimeout=3m", "deploy:release")).directory(project.toFile()).redirectErrorStream(true)
            .redirectOutput(work.resolve("release-" + i + ".log").toFile()).start());
        awaitSql(production, "SELECT count(*) FROM closedloop.release_ledger WHERE status = 'queued'",
            Integer.toString(i + 1)); // arrival order is the order started
      }
      Thread.sleep(3000); // the second waiter now looks at the queue about once a second, idle in between
      Integer deadBackend = ledger().get(2).backendPid();
      releases.get(1).destroyForcibly().waitFor(); // SIGKILL, like a CI runner that vanished
      Thread.sleep(500);
      assertThat(strings(production, "SELECT count(*) FROM pg_stat_activity WHERE pid = " + deadBackend))
          .as("the pooler keeps the dead release's server session for its next client").containsExactly("1");
      LEDGER.advance(holder, held, LedgerStatus.SUCCEEDED, null);
      lock.close();

      for (int i : new int[] {0, 2}) {
        assertThat(releases.get(i).waitFor(3, java.util.concurrent.TimeUnit.MINUTES)).isTrue();
        assertThat(releases.get(i).exitValue()).as(Files.readString(work.resolve("release-" + i + ".log"))).isZero();
      }
      List<LedgerEntry> rows = ledger();
      assertThat(rows).extracting(LedgerEntry::sha, (LedgerEntry r) -> r.status().id()).containsExactly(
          org.assertj.core.groups.Tuple.tuple("a".repeat(40), "succeeded"),
          org.assertj.core.groups.Tuple.tuple(shas.get(0), "succeeded"),
          org.assertj.core.groups.Tuple.tuple(shas.get(1), "failed"),
          org.assertj.core.groups.Tuple.tuple(shas.get(2), "succeeded"));
      assertThat(rows.get(2).error()).isEqualTo("abandoned: its process died");
    }
  }

  private static void awaitSql(DatabaseTarget target, String sql, String expected) throws Exception {
    for (int i = 0; i < 600; i++) { // 60 s at most
      List<String> values = strings(target, sql);
      if (values.equals(List.of(expected))) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError(sql + " never gave " + expected);
  }

  private static List<String> tables(DatabaseTarget target) throws SQLException {
    return strings(target, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
  }

  static void execute(DatabaseTarget target, String sql) throws SQLException {
    try (Connection c = target.connect(); Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  static List<String> strings(DatabaseTarget target, String sql) throws SQLException {
    List<String> values = new ArrayList<>();
    try (Connection c = target.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        values.add(rs.getString(1));
      }
    }
    return values;
  }
}
