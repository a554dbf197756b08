package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.guard.LedgerEntry;
import dev.closedloop.deploy.guard.LedgerStatus;
import dev.closedloop.deploy.guard.LockMode;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.guard.ReleaseLedger;
import dev.closedloop.deploy.internal.guard.ReleaseLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Four whole releases of four commits started at once against one production database, while
 * a fifth holds the lock: what the ledger and the registry show afterwards.
 */
class ConcurrentReleaseIT {

  private static final ReleaseLedger LEDGER = new ReleaseLedger("closedloop", "release_ledger");
  private static EphemeralDatabase.Instance production;

  @TempDir Path context;

  @BeforeAll
  static void start() {
    production = EphemeralDatabase.embedded().start(Events.none());
  }

  @AfterAll
  static void stop() {
    production.close();
  }

  @Test
  void supersede_olderWaitingReleasesEndSuperseded_theNewestIsReleased() throws Exception {
    Race race = race(LockMode.SUPERSEDE);

    assertThat(race.outcomes).containsExactly(ReleaseResult.Outcome.SUPERSEDED, ReleaseResult.Outcome.SUPERSEDED,
        ReleaseResult.Outcome.SUPERSEDED, ReleaseResult.Outcome.COMPLETED);
    assertThat(TestServices.registryDigest(race.repository, "latest")).contains(race.digests.get(3));
    List<LedgerEntry> rows = race.ledger;
    assertThat(rows).extracting((LedgerEntry r) -> r.status().id())
        .containsExactly("succeeded", "superseded", "superseded", "superseded", "succeeded");
    assertNeverTwoAtOnce(rows);
  }

  @Test
  void queue_everyReleaseRuns_oneAtATime_inArrivalOrder() throws Exception {
    Race race = race(LockMode.QUEUE);

    assertThat(race.outcomes).containsOnly(ReleaseResult.Outcome.COMPLETED);
    assertThat(TestServices.registryDigest(race.repository, "latest")).contains(race.digests.get(3));
    List<LedgerEntry> rows = race.ledger;
    assertThat(rows).extracting((LedgerEntry r) -> r.status().id()).containsOnly("succeeded").hasSize(5);
    assertNeverTwoAtOnce(rows);
    List<Instant> starts = rows.stream().map(r -> at(r, "running")).toList();
    assertThat(starts).isSorted();
    // each release saw the one before it as latest's previous digest: none was skipped
    for (int i = 2; i < 5; i++) {
      assertThat(rows.get(i).previousDigests()).containsOnly(entry("latest", race.digests.get(i - 2)));
    }
  }

  /**
   * Four commits of one branch, each released by its own Maven process from its own clone, started
   * a second apart; the third builds longest, so it reaches the lock after the fourth. The newest
   * commit must end on latest, and no release may go live after a newer one did.
   */
  @Test
  void fourCommitsFromFourProcesses_theNewestCommitEndsOnLatest_evenWhenAnOlderOneArrivesLast() throws Exception {
    String repository = "it/order-" + UUID.randomUUID().toString().substring(0, 8);
    String database = "order_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    try (Connection c = production.target().connect(); java.sql.Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + database);
    }
    DatabaseTarget target = DatabaseTarget.of("jdbc:postgresql://127.0.0.1:" + production.target().port() + "/"
        + database, "postgres", null);
    Path origin = TestServices.copyProject("consumer", context.resolve("origin"));
    Path logs = Files.createDirectories(Path.of("it/target/release-order-logs")); // kept for a failure's reader
    git(origin, "init", "-q", "-b", "main");
    int[] buildSeconds = {0, 0, 25, 0}; // the third reaches the lock well after the fourth went live
    List<String> shas = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      Files.writeString(origin.resolve("commit.txt"), UUID.randomUUID().toString()); // no build cache from earlier runs
      Files.writeString(origin.resolve("Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\nCOPY commit.txt /\n"
          + "RUN [\"/bin/busybox\", \"sleep\", \"" + buildSeconds[i] + "\"]\n");
      git(origin, "add", "-A");
      git(origin, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "commit " + (i + 1));
      shas.add(TestServices.run(origin, "git", "rev-parse", "HEAD").output().trim());
    }
    List<Process> releases = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      Path clone = context.resolve("clone-" + (i + 1));
      git(context, "clone", "-q", origin.toString(), clone.toString());
      git(clone, "checkout", "-q", shas.get(i));
      List<String> args = new ArrayList<>(TestServices.mvnw("-Ddeploy.image=" + TestServices.registry() + "/"
          + repository, "-Ddeploy.databaseUrl=postgres://postgres@127.0.0.1:" + target.port() + "/" + database,
          "-Ddeploy.branch=main", "-Ddeploy.lockTimeout=5m", "deploy:release"));
      ProcessBuilder maven = new ProcessBuilder(args).directory(clone.toFile()).redirectErrorStream(true)
          .redirectOutput(logs.resolve("release-" + (i + 1) + ".log").toFile());
      maven.environment().remove("DATABASE_URL");
      releases.add(maven.start());
      Thread.sleep(1000);
    }
    for (int i = 0; i < 4; i++) {
      assertThat(releases.get(i).waitFor(5, java.util.concurrent.TimeUnit.MINUTES)).isTrue();
      assertThat(releases.get(i).exitValue()).as(Files.readString(logs.resolve("release-" + (i + 1) + ".log")))
          .isZero();
    }

    String newest = TestServices.registryDigest(repository, shas.get(3)).orElseThrow();
    assertThat(TestServices.registryDigest(repository, "latest")).contains(newest);
    List<LedgerEntry> rows;
    try (Connection c = target.connect()) {
      rows = LEDGER.history(c, repository);
    }
    assertThat(rows).hasSize(4).extracting((LedgerEntry r) -> r.status().id()).as("none lost, none failed")
        .allMatch(status -> status.equals("succeeded") || status.equals("superseded"));
    assertThat(rows).filteredOn(r -> r.sha().equals(shas.get(3))).extracting((LedgerEntry r) -> r.status().id())
        .containsExactly("succeeded");
    LedgerEntry third = rows.stream().filter(r -> r.sha().equals(shas.get(2))).findFirst().orElseThrow();
    LedgerEntry fourth = rows.stream().filter(r -> r.sha().equals(shas.get(3))).findFirst().orElseThrow();
    assertThat(third.startedAt()).as("the third arrived after the fourth went live").isAfter(at(fourth, "succeeded"));
    assertThat(third.status().id()).isEqualTo("superseded");
    assertThat(third.error()).isEqualTo("commit " + shas.get(2) + " is older than " + shas.get(3) + ", which release #"
        + fourth.id() + " already released (git history): an older commit never goes live over a newer one by an"
        + " accident of timing");
    assertNeverTwoAtOnce(rows);
    // the releases that went live did so in commit order
    List<Integer> liveOrder = rows.stream().filter(r -> r.status().id().equals("succeeded"))
        .sorted(java.util.Comparator.comparing(r -> at(r, "running"))).map(r -> shas.indexOf(r.sha())).toList();
    assertThat(liveOrder).isSorted();
  }

  private static void git(Path dir, String... args) {
    List<String> command = new ArrayList<>(List.of("git", "-C", dir.toString()));
    command.addAll(List.of(args));
    TestServices.Run run = TestServices.run(dir, command.toArray(String[]::new));
    assertThat(run.exitCode()).as(String.join(" ", command) + ": " + run.output()).isZero();
  }

  private record Race(String repository, List<String> digests, List<ReleaseResult.Outcome> outcomes,
      List<LedgerEntry> ledger) {}

  private Race race(LockMode mode) throws Exception {
    String repository = "it/race-" + UUID.randomUUID().toString().substring(0, 8);
    String image = TestServices.registry() + "/" + repository;
    DatabaseTarget target = production.target();
    Files.copy(TestServices.busybox(), context.resolve("busybox"));
    List<String> shas = new ArrayList<>();
    List<String> digests = new ArrayList<>();
    for (int i = 1; i <= 4; i++) { // four commits, four images
      Files.writeString(context.resolve("Dockerfile"), "FROM scratch\nCOPY busybox /\nLABEL commit=" + i + "\n");
      String sha = TestServices.randomSha();
      shas.add(sha);
      digests.add(Release.configure().image(image).sha(sha).buildContext(context).dockerHost(TestServices.dockerHost())
          .load().build().image().orElseThrow().digest());
    }

    ExecutorService pool = Executors.newFixedThreadPool(4);
    try (Connection holder = target.connect()) {
      LEDGER.ensure(holder);
      long held = LEDGER.enqueue(holder, new ReleaseLedger.Attempt(repository, "0".repeat(40), "main", false, null, null));
      ReleaseLock lock = new ReleaseLock(holder, LEDGER, repository, Events.none());
      lock.acquire(held, mode, Duration.ofSeconds(5));
      LEDGER.advance(holder, held, LedgerStatus.RUNNING, null);

      List<Future<ReleaseResult>> results = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        String sha = shas.get(i);
        results.add(pool.submit(() -> Release.configure().image(image).sha(sha).buildContext(context)
            .dockerHost(TestServices.dockerHost()).migrations(Migrations.flyway("classpath:db/migration"))
            .productionDatabase(dev.closedloop.deploy.database.ProductionDatabase.at(target))
            .branch("main").lockMode(mode).lockTimeout(Duration.ofMinutes(2))
            .load().release()));
        awaitQueued(holder, repository, i + 1); // arrival order is the order started
      }
      LEDGER.advance(holder, held, LedgerStatus.SUCCEEDED, null);
      lock.close();

      List<ReleaseResult.Outcome> outcomes = new ArrayList<>();
      for (Future<ReleaseResult> result : results) {
        outcomes.add(result.get().outcome());
      }
      return new Race(repository, digests, outcomes, LEDGER.history(holder, repository));
    } finally {
      pool.shutdownNow();
    }
  }

  private static void awaitQueued(Connection c, String service, int count) throws InterruptedException {
    for (int i = 0; i < 600; i++) { // 60 s at most
      if (LEDGER.history(c, service).stream().filter(r -> r.status().id().equals("queued")
          || r.status().id().equals("superseded")).count() >= count) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError(count + " releases never queued");
  }

  /** From the ledger alone: no two releases were between running and their end at once. */
  private static void assertNeverTwoAtOnce(List<LedgerEntry> rows) {
    List<Instant[]> intervals = rows.stream().filter(r -> r.status().id().equals("succeeded"))
        .map(r -> new Instant[] {at(r, "running"), at(r, "succeeded")})
        .sorted((x, y) -> x[0].compareTo(y[0])).toList();
    for (int i = 1; i < intervals.size(); i++) {
      assertThat(intervals.get(i)[0]).isAfterOrEqualTo(intervals.get(i - 1)[1]);
    }
  }

  private static Instant at(LedgerEntry row, String status) {
    return row.statusHistory().stream().filter(change -> change.status().id().equals(status)).findFirst()
        .map(LedgerEntry.StatusChange::at).orElseThrow(() -> new AssertionError(status + " not in " + row.statusHistory()));
  }
}
