package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.guard.LedgerStatus;
import dev.closedloop.deploy.guard.LockMode;
import dev.closedloop.deploy.internal.guard.ReleaseLedger;
import dev.closedloop.deploy.internal.guard.ReleaseLock;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.internal.Events;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Staging, then production, through the real Maven: two production databases, one registry, one
 * image repository, the environments defined once in the project's POM.
 */
class EnvironmentsIT {

  private static final String LEDGER = "closedloop.release_ledger";
  /** In staging's URL (the embedded server trusts any): never printed by production's job. */
  private static final String STAGING_PASSWORD = "staging-pw-" + Long.toHexString(System.nanoTime());

  @TempDir Path work;
  private Path project;
  private EphemeralDatabase.Instance staging;
  private EphemeralDatabase.Instance production;
  private String repository;
  private String sha;

  @BeforeEach
  void twoDatabasesAndOneRepository() throws Exception {
    project = TestServices.copyProject("environments", work);
    staging = EphemeralDatabase.embedded().start(Events.none());
    production = EphemeralDatabase.embedded().start(Events.none());
    repository = "it/environments-" + TestServices.randomSha().substring(0, 8);
    sha = TestServices.randomSha();
  }

  @AfterEach
  void stop() throws Exception {
    for (EphemeralDatabase.Instance database : new EphemeralDatabase.Instance[] {staging, production}) {
      if (database != null) {
        database.close();
      }
    }
  }

  @Test
  void stagingThenProduction_putsTheSameDigestLive_andEachEnvironmentKeepsItsOwnLedgerAndLock() throws Exception {
    TestServices.Run toStaging = mvn("deploy:release", "-Ddeploy.environment=staging", "-Ddeploy.sha=" + sha);
    assertThat(toStaging.exitCode()).as(toStaging.output()).isZero();
    String digest = TestServices.registryDigest(repository, "staging").orElseThrow();
    assertThat(TestServices.registryDigest(repository, "latest")).as("staging moves its own tag alone").isEmpty();
    assertThat(tables(production.target())).as("staging's release never touched production").isEmpty();

    // the production job's checkout may be a later commit: what goes live is what staging runs
    String later = TestServices.randomSha();
    TestServices.Run toProduction = mvn("deploy:promote", "-Ddeploy.environment=production", "-Ddeploy.from=staging",
        "-Ddeploy.sha=" + later);

    assertThat(toProduction.exitCode()).as(toProduction.output()).isZero();
    assertThat(toProduction.output()).contains("promoting staging's release #1 of " + sha + " (" + digest + ") to"
        + " production", "--- test-migrate ---", "--- migrate ---", "--- promote ---",
        "[WARNING] staging runs " + sha + ", not this checkout's " + later + ": promoting what staging runs",
        "the migration set staging's release #1 of " + sha + " runs, proved again here")
        .doesNotContain("--- build ---").doesNotContain(STAGING_PASSWORD);
    assertThat(new com.fasterxml.jackson.databind.ObjectMapper().readTree(project.resolve(
        "target/deploy/release.json").toFile()).get("sha").asText()).as("the commit promoted").isEqualTo(sha);
    assertThat(TestServices.registryDigest(repository, "latest")).contains(digest);
    assertThat(TestServices.registryDigest(repository, sha)).contains(digest);
    assertThat(TestServices.registryDigest(repository, later)).as("never built").isEmpty();
    assertThat(ReleaseIT.strings(production.target(), "SELECT count(*) FROM flyway_schema_history WHERE success"))
        .containsExactly("9");
    // each ledger holds its own environment's row alone, under its own lock name
    assertThat(rows(staging.target())).containsExactly(repository + "/staging " + sha + " " + digest + " succeeded");
    assertThat(rows(production.target())).containsExactly(repository + "/production " + sha + " " + digest
        + " succeeded");
    assertThat(ReleaseIT.strings(production.target(), "SELECT migration_set FROM " + LEDGER)).isEqualTo(
        ReleaseIT.strings(staging.target(), "SELECT migration_set FROM " + LEDGER)).doesNotContainNull();

    TestServices.Run stagingHistory = mvn("deploy:history", "-Ddeploy.environment=staging");
    assertThat(stagingHistory.exitCode()).as(stagingHistory.output()).isZero();
    assertThat(stagingHistory.output()).contains(repository + "/staging").doesNotContain(repository + "/production");

    // a rollback in staging moves staging's tag back, in staging's ledger; production stays as it is
    String next = TestServices.randomSha();
    TestServices.Run again = mvn("deploy:release", "-Ddeploy.environment=staging", "-Ddeploy.sha=" + next);
    assertThat(again.exitCode()).as(again.output()).isZero();
    assertThat(TestServices.registryDigest(repository, "staging")).isNotEqualTo(java.util.Optional.of(digest));
    TestServices.Run rollback = mvn("deploy:rollback", "-Ddeploy.environment=staging", "-Ddeploy.sha=" + next);
    assertThat(rollback.exitCode()).as(rollback.output()).isZero();
    assertThat(TestServices.registryDigest(repository, "staging")).contains(digest);
    assertThat(TestServices.registryDigest(repository, "latest")).contains(digest);
    assertThat(rows(staging.target())).hasSize(3);
    assertThat(rows(production.target())).hasSize(1);
  }

  @Test
  void twoEnvironmentsOnOneDatabase_neverShareALock_norARow() throws Exception {
    ReleaseLedger ledger = new ReleaseLedger("closedloop", "release_ledger");
    try (Connection holder = staging.target().connect()) {
      // a staging release holds staging's lock, and goes on holding it
      ledger.ensure(holder);
      long held = ledger.enqueue(holder, new ReleaseLedger.Attempt(repository + "/staging", "0".repeat(40), "main",
          false, null, null));
      try (ReleaseLock lock = new ReleaseLock(holder, ledger, repository + "/staging", Events.none())) {
        lock.acquire(held, LockMode.QUEUE, Duration.ofSeconds(5));
        ledger.advance(holder, held, LedgerStatus.RUNNING, null);

        TestServices.Run toProduction = mvnOn(staging, "deploy:release", "-Ddeploy.environment=production",
            "-Ddeploy.sha=" + sha, "-Ddeploy.lockMode=queue", "-Ddeploy.lockTimeout=20s");
        TestServices.Run toStaging = mvnOn(staging, "deploy:release", "-Ddeploy.environment=staging",
            "-Ddeploy.sha=" + sha, "-Ddeploy.lockMode=queue", "-Ddeploy.lockTimeout=2s");

        assertThat(toProduction.exitCode()).as("production's lock is its own: " + toProduction.output()).isZero();
        assertThat(toStaging.exitCode()).as("staging's is held: " + toStaging.output()).isEqualTo(1);
        assertThat(toStaging.output()).contains(repository + "/staging");
      }
    }
    assertThat(ReleaseIT.strings(staging.target(), "SELECT service FROM " + LEDGER + " ORDER BY id")).containsExactly(
        repository + "/staging", repository + "/production", repository + "/staging");
    assertThat(TestServices.registryDigest(repository, "latest")).isPresent();
    assertThat(TestServices.registryDigest(repository, "staging")).as("staging's release never got its lock")
        .isEmpty();
  }

  @Test
  void aStagingReleasedAgain_whileThePromotionWaitsForProductionsLock_isNotWhatGoesLive() throws Exception {
    TestServices.Run first = mvn("deploy:release", "-Ddeploy.environment=staging", "-Ddeploy.sha=" + sha);
    assertThat(first.exitCode()).as(first.output()).isZero();
    ReleaseLedger ledger = new ReleaseLedger("closedloop", "release_ledger");
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor();
    try (Connection holder = production.target().connect()) {
      // another production release holds production's lock while staging moves on
      ledger.ensure(holder);
      long held = ledger.enqueue(holder, new ReleaseLedger.Attempt(repository + "/production", "0".repeat(40), "main",
          false, null, null));
      ReleaseLock lock = new ReleaseLock(holder, ledger, repository + "/production", Events.none());
      lock.acquire(held, LockMode.QUEUE, Duration.ofSeconds(5));
      ledger.advance(holder, held, LedgerStatus.RUNNING, null);
      java.util.concurrent.Future<TestServices.Run> promotion = pool.submit(() -> mvn("deploy:promote",
          "-Ddeploy.environment=production", "-Ddeploy.from=staging", "-Ddeploy.sha=" + sha,
          "-Ddeploy.lockMode=queue", "-Ddeploy.lockTimeout=2m", "-Ddeploy.hooks=pre-migrate=touch pre-migrate-ran"));
      for (int i = 0; i < 600 && ledger.history(holder, repository + "/production").size() < 2; i++) {
        Thread.sleep(100); // until the promotion waits in the queue
      }
      String next = TestServices.randomSha();
      TestServices.Run second = mvn("deploy:release", "-Ddeploy.environment=staging", "-Ddeploy.sha=" + next);
      assertThat(second.exitCode()).as(second.output()).isZero();
      ledger.advance(holder, held, LedgerStatus.SUCCEEDED, null);
      lock.close();

      TestServices.Run toProduction = promotion.get(3, java.util.concurrent.TimeUnit.MINUTES);

      assertOneLineFailure(toProduction, "Refusing to promote: staging no longer runs release #1 of " + sha
          + " but #2 of " + next + ", since this promotion began");
      assertThat(ReleaseIT.strings(production.target(), "SELECT to_regclass('public.flyway_schema_history')::text"))
          .as("nothing applied").containsOnlyNulls();
      assertThat(project.resolve("pre-migrate-ran")).as("refused before production's hooks").doesNotExist();
      assertThat(TestServices.registryDigest(repository, "latest")).isEmpty();
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aStagingReleasedBySplitJobs_isPromotedToo_andNoTopLevelServerIsRead() throws Exception {
    // a top-level settings.xml server this runner does not have: each environment gives its own database, so it
    // is never read
    TestServices.Run toStaging = mvn("deploy:build", "deploy:migrate", "deploy:promote", "-Ddeploy.environment=staging",
        "-Ddeploy.sha=" + sha, "-Ddeploy.databaseServerId=no-such-server");
    assertThat(toStaging.exitCode()).as(toStaging.output()).isZero();
    String digest = TestServices.registryDigest(repository, "staging").orElseThrow();

    TestServices.Run toProduction = mvn("deploy:promote", "-Ddeploy.environment=production", "-Ddeploy.from=staging",
        "-Ddeploy.sha=" + sha, "-Ddeploy.databaseServerId=no-such-server");

    assertThat(toProduction.exitCode()).as(toProduction.output()).isZero();
    assertThat(toProduction.output()).contains("promoting staging's release #2 of " + sha);
    assertThat(TestServices.registryDigest(repository, "latest")).contains(digest);
  }

  @Test
  void aFailedStaging_blocksThePromotion_andProductionIsNotTouched() throws Exception {
    ReleaseIT.execute(staging.target(), "CREATE TABLE customers (id int)"); // V1 creates it: staging's migrate fails
    TestServices.Run toStaging = mvn("deploy:release", "-Ddeploy.environment=staging", "-Ddeploy.sha=" + sha);
    assertThat(toStaging.exitCode()).as(toStaging.output()).isEqualTo(1);

    TestServices.Run toProduction = mvn("deploy:promote", "-Ddeploy.environment=production", "-Ddeploy.from=staging",
        "-Ddeploy.sha=" + sha);

    assertOneLineFailure(toProduction, "Refusing to promote: staging's latest release #1 of " + sha + " ended failed");
    assertThat(toProduction.output()).contains("Nothing was changed");
    assertThat(tables(production.target())).isEmpty();
    assertThat(ReleaseIT.strings(production.target(), "SELECT to_regclass('" + LEDGER + "')::text"))
        .containsOnlyNulls();
    assertThat(TestServices.registryDigest(repository, "latest")).isEmpty();
  }

  @Test
  void aMigrationSetOtherThanStagingsRuns_isRefusedBeforeProductionChanges() throws Exception {
    TestServices.Run toStaging = mvn("deploy:release", "-Ddeploy.environment=staging", "-Ddeploy.sha=" + sha);
    assertThat(toStaging.exitCode()).as(toStaging.output()).isZero();
    Path extra = Files.createDirectories(project.resolve("extra"));
    Files.writeString(extra.resolve("V100__audit.sql"), "CREATE TABLE audit (id bigint);\n");

    TestServices.Run toProduction = mvn("deploy:promote", "-Ddeploy.environment=production", "-Ddeploy.from=staging",
        "-Ddeploy.sha=" + sha, "-Ddeploy.migrations=classpath:db/migration,filesystem:extra",
        "-Ddeploy.hooks=pre-migrate=touch pre-migrate-ran");

    assertOneLineFailure(toProduction, "Refusing to migrate production: staging's release #1 of " + sha
        + " runs the migration set sha256:");
    assertThat(toProduction.output()).contains("the migrations here are not the ones it ran. Nothing was applied");
    // refused before production's lock and its pre-migrate hooks: not even a ledger row there
    assertThat(tables(production.target())).isEmpty();
    assertThat(project.resolve("pre-migrate-ran")).doesNotExist();
    assertThat(TestServices.registryDigest(repository, "latest")).isEmpty();
  }

  @Test
  void withEnvironmentsDefined_aReleaseNamesOne_andAnUnknownOneIsRefused() throws Exception {
    TestServices.Run unnamed = mvn("deploy:release", "-Ddeploy.sha=" + sha);
    TestServices.Run unknown = mvn("deploy:migrate", "-Ddeploy.environment=prod", "-Ddeploy.sha=" + sha);

    assertOneLineFailure(unnamed, "environment (deploy.environment, one of staging, production) is required by");
    assertOneLineFailure(unknown, "environment (deploy.environment): 'prod' is not defined; the environments are"
        + " staging, production");
    assertThat(tables(staging.target())).isEmpty();
    assertThat(tables(production.target())).isEmpty();
    assertThat(TestServices.registryDigest(repository, sha)).as("refused before the build").isEmpty();
  }

  private TestServices.Run mvn(String... args) {
    return run(staging, production, args);
  }

  /** Both environments on {@code database}. */
  private TestServices.Run mvnOn(EphemeralDatabase.Instance database, String... args) {
    return run(database, database, args);
  }

  private TestServices.Run run(EphemeralDatabase.Instance stagingDatabase, EphemeralDatabase.Instance productionDatabase,
      String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("-Ddeploy.image=" + TestServices.registry() + "/" + repository, "-Ddeploy.branch=main",
        "-Dstaging.databaseUrl=" + url(stagingDatabase).replace("postgres@", "postgres:" + STAGING_PASSWORD + "@"),
        "-Dproduction.databaseUrl=" + url(productionDatabase)));
    return TestServices.run(project, java.util.Map.of("DATABASE_URL", ""),
        TestServices.mvnw(all.toArray(String[]::new)).toArray(String[]::new));
  }

  private static String url(EphemeralDatabase.Instance database) {
    return "postgres://postgres@127.0.0.1:" + database.target().port() + "/" + database.target().database();
  }

  /** Each ledger row as "service sha digest status". */
  private static List<String> rows(DatabaseTarget target) throws Exception {
    return ReleaseIT.strings(target, "SELECT service || ' ' || sha || ' ' || image_digest || ' ' || status FROM " + LEDGER
        + " ORDER BY id");
  }

  /** The tables a release makes: the service's in public, and the ledger. */
  private static List<String> tables(DatabaseTarget target) throws Exception {
    return ReleaseIT.strings(target, "SELECT table_schema || '.' || table_name FROM information_schema.tables"
        + " WHERE table_schema IN ('public', 'closedloop')");
  }

  private static void assertOneLineFailure(TestServices.Run run, String message) {
    assertThat(run.exitCode()).as(run.output()).isEqualTo(1);
    List<String> errors = run.output().lines().filter(l -> l.startsWith("[ERROR] Failed to execute goal")).toList();
    assertThat(errors).as(run.output()).hasSize(1);
    assertThat(errors.get(0)).contains(message);
    assertThat(run.output()).doesNotContain("\tat ");
  }
}
