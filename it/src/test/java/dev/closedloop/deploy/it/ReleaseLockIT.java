package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.guard.LedgerEntry;
import dev.closedloop.deploy.guard.LedgerStatus;
import dev.closedloop.deploy.guard.LockMode;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.guard.ReleaseLedger;
import dev.closedloop.deploy.internal.guard.ReleaseLock;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The release lock and ledger on a real PostgreSQL, with releases racing for it. */
class ReleaseLockIT {

  private static EphemeralDatabase.Instance production;
  private static final ReleaseLedger LEDGER = new ReleaseLedger("closedloop", "release_ledger");

  @BeforeAll
  static void start() throws Exception {
    production = EphemeralDatabase.embedded().start(Events.none());
    try (Connection c = production.target().connect()) {
      LEDGER.ensure(c); // once, so no release's first DDL skews the arrival order below
    }
  }

  @AfterAll
  static void stop() {
    production.close();
  }

  /** One release: join the queue, wait, hold the lock for {@code hold}, finish. */
  private static String release(String service, String sha, LockMode mode, Duration hold) throws Exception {
    try (Connection c = production.target().connect()) {
      LEDGER.ensure(c);
      long id = LEDGER.enqueue(c, new ReleaseLedger.Attempt(service, sha, "main", false, null, null));
      try (ReleaseLock lock = new ReleaseLock(c, LEDGER, service, Events.none())) {
        ReleaseLock.Outcome outcome = lock.acquire(id, mode, Duration.ofSeconds(30));
        if (outcome == ReleaseLock.Outcome.SUPERSEDED) {
          LEDGER.advance(c, id, LedgerStatus.SUPERSEDED, null);
          return sha + ":superseded";
        }
        LEDGER.advance(c, id, LedgerStatus.RUNNING, null);
        Thread.sleep(hold.toMillis());
        LEDGER.advance(c, id, LedgerStatus.SUCCEEDED, null);
        return sha + ":ran";
      }
    }
  }

  private static List<String> raceFour(String service, LockMode mode) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<String>> results = new ArrayList<>();
      for (int i = 1; i <= 4; i++) {
        String sha = "sha" + i;
        results.add(pool.submit(() -> release(service, sha, mode, Duration.ofMillis(1000))));
        Thread.sleep(250); // arrival order 1, 2, 3, 4; 1 holds the lock while the others arrive
      }
      List<String> outcomes = new ArrayList<>();
      for (Future<String> result : results) {
        outcomes.add(result.get());
      }
      return outcomes;
    } finally {
      pool.shutdown();
    }
  }

  @Test
  void supersede_fourAtOnce_theFirstRuns_olderWaitersAreSuperseded_theNewestWins() throws Exception {
    String service = "shop-supersede";

    List<String> outcomes = raceFour(service, LockMode.SUPERSEDE);

    assertThat(outcomes).containsExactly("sha1:ran", "sha2:superseded", "sha3:superseded", "sha4:ran");
    List<LedgerEntry> rows = ledger(service);
    assertThat(rows).extracting(LedgerEntry::sha).containsExactly("sha1", "sha2", "sha3", "sha4");
    assertThat(rows).extracting((LedgerEntry r) -> r.status().id())
        .containsExactly("succeeded", "superseded", "superseded", "succeeded");
    assertNeverTwoAtOnce(rows);
  }

  @Test
  void queue_fourAtOnce_allRun_oneAtATime_inArrivalOrder() throws Exception {
    String service = "shop-queue";

    List<String> outcomes = raceFour(service, LockMode.QUEUE);

    assertThat(outcomes).containsExactly("sha1:ran", "sha2:ran", "sha3:ran", "sha4:ran");
    List<LedgerEntry> rows = ledger(service);
    assertThat(rows).extracting((LedgerEntry r) -> r.status().id()).containsOnly("succeeded");
    assertNeverTwoAtOnce(rows);
    List<Instant> starts = rows.stream().map(r -> instant(LedgerStatus.RUNNING, r)).toList();
    assertThat(starts).isSorted();
  }

  @Test
  void fail_whenTheLockIsHeld_failsAtOnce_namingTheOtherModes() throws Exception {
    String service = "shop-fail";
    try (Connection holder = production.target().connect()) {
      LEDGER.ensure(holder);
      long first = LEDGER.enqueue(holder, new ReleaseLedger.Attempt(service, "sha1", "main", false, null, null));
      try (ReleaseLock lock = new ReleaseLock(holder, LEDGER, service, Events.none())) {
        assertThat(lock.acquire(first, LockMode.FAIL, Duration.ofSeconds(5))).isEqualTo(ReleaseLock.Outcome.ACQUIRED);
        LEDGER.advance(holder, first, LedgerStatus.RUNNING, null);

        assertThatThrownBy(() -> release(service, "sha2", LockMode.FAIL, Duration.ZERO))
            .isInstanceOfSatisfying(DeployException.class, e -> {
              assertThat(e.kind()).isEqualTo(DeployException.Kind.GUARD);
              assertThat(e.getMessage()).isEqualTo("Another release of shop-fail holds the release lock"
                  + " (deploy.lockMode=fail): try again when it has finished, or use deploy.lockMode=queue");
            });
      }
    }
  }

  /** Killed while it ran, and while it followed its rollout after the tags moved. */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"running", "promoted", "rolling_out"})
  void aReleaseWhoseProcessDied_freesTheLock_andIsMarkedAbandoned(String diedAt) throws Exception {
    String service = "shop-killed-" + diedAt.replace('_', '-');
    Connection dying = production.target().connect();
    LEDGER.ensure(dying);
    long dead = LEDGER.enqueue(dying, new ReleaseLedger.Attempt(service, "sha1", "main", false, null, null));
    ReleaseLock lock = new ReleaseLock(dying, LEDGER, service, Events.none());
    assertThat(lock.acquire(dead, LockMode.QUEUE, Duration.ofSeconds(5))).isEqualTo(ReleaseLock.Outcome.ACQUIRED);
    LEDGER.advance(dying, dead, LedgerStatus.of(diedAt), null);

    dying.close(); // what kill -9 does to the session: the server ends it and frees its lock

    assertThat(release(service, "sha2", LockMode.QUEUE, Duration.ZERO)).isEqualTo("sha2:ran");
    List<LedgerEntry> rows = ledger(service);
    assertThat(rows).extracting((LedgerEntry r) -> r.status().id()).containsExactly("failed", "succeeded");
    assertThat(rows.get(0).error()).isEqualTo("abandoned: its process died");
  }

  @Test
  void waiting_givesUpAfterTheTimeout_withTheSettingNamed() throws Exception {
    String service = "shop-timeout";
    try (Connection holder = production.target().connect(); Connection waiter = production.target().connect()) {
      LEDGER.ensure(holder);
      long first = LEDGER.enqueue(holder, new ReleaseLedger.Attempt(service, "sha1", "main", false, null, null));
      try (ReleaseLock lock = new ReleaseLock(holder, LEDGER, service, Events.none())) {
        lock.acquire(first, LockMode.QUEUE, Duration.ofSeconds(5));
        LEDGER.advance(holder, first, LedgerStatus.RUNNING, null);
        long second = LEDGER.enqueue(waiter, new ReleaseLedger.Attempt(service, "sha2", "main", false, null, null));

        assertThatThrownBy(() -> new ReleaseLock(waiter, LEDGER, service, Events.none())
                .acquire(second, LockMode.QUEUE, Duration.ofSeconds(1)))
            .hasMessage("Gave up waiting 1 s for the release lock of shop-timeout (deploy.lockTimeout):"
                + " another release still holds it. See which with deploy:plan, and run again when it has finished,"
                + " or raise deploy.lockTimeout");
      }
    }
  }

  @Test
  void theLock_isNotFlywaysLock() throws Exception {
    try (Connection a = production.target().connect(); Connection b = production.target().connect()) {
      LEDGER.ensure(a);
      long id = LEDGER.enqueue(a, new ReleaseLedger.Attempt("shop-flyway", "sha1", "main", false, null, null));
      try (ReleaseLock lock = new ReleaseLock(a, LEDGER, "shop-flyway", Events.none())) {
        lock.acquire(id, LockMode.FAIL, Duration.ofSeconds(1));
        // Flyway takes bigint advisory locks; none of them is blocked by ours
        try (var s = b.createStatement(); var rs = s.executeQuery(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2")) {
          rs.next();
          assertThat(rs.getInt(1)).as("ours are two-key (objsubid 2) locks: the release lock and the ledger"
              + " row's own").isEqualTo(2);
        }
      }
    }
  }

  @Test
  void theLedger_inASchemaMadeForIt_needsNoRightToCreateSchemas() throws Exception {
    try (Connection admin = production.target().connect(); var s = admin.createStatement()) {
      s.execute("DROP SCHEMA IF EXISTS deploy_audit CASCADE; DROP ROLE IF EXISTS ledger_keeper;"
          + " CREATE ROLE ledger_keeper LOGIN; CREATE SCHEMA deploy_audit AUTHORIZATION ledger_keeper");
    }
    DatabaseTarget asKeeper = DatabaseTarget.of(production.target().jdbcUrl(), "ledger_keeper", null);
    ReleaseLedger ledger = new ReleaseLedger("deploy_audit", "order"); // a keyword as a name, quoted
    try (Connection c = asKeeper.connect()) {
      ledger.ensure(c);
      ledger.ensure(c); // again, as every release does
      long id = ledger.enqueue(c, new ReleaseLedger.Attempt("shop-keeper", "sha1", "main", false, null, null));
      ledger.advance(c, id, LedgerStatus.SUCCEEDED, null);
      assertThat(ledger.history(c, "shop-keeper")).extracting((LedgerEntry r) -> r.status().id()).containsExactly("succeeded");
    }
  }

  private static List<LedgerEntry> ledger(String service) throws Exception {
    try (Connection c = production.target().connect()) {
      return LEDGER.history(c, service);
    }
  }

  /** From the ledger alone: no release's running interval overlaps another's. */
  private static void assertNeverTwoAtOnce(List<LedgerEntry> rows) {
    List<Instant[]> intervals = rows.stream().filter(r -> r.status().id().equals("succeeded"))
        .map(r -> new Instant[] {instant(LedgerStatus.RUNNING, r), instant(LedgerStatus.SUCCEEDED, r)})
        .sorted((x, y) -> x[0].compareTo(y[0])).toList();
    for (int i = 1; i < intervals.size(); i++) {
      assertThat(intervals.get(i)[0]).as("release %d starts after release %d finished", i + 1, i)
          .isAfterOrEqualTo(intervals.get(i - 1)[1]);
    }
  }

  private static Instant instant(LedgerStatus status, LedgerEntry row) {
    return row.statusHistory().stream().filter(change -> change.status() == status).findFirst()
        .map(LedgerEntry.StatusChange::at).orElseThrow(() -> new AssertionError(status + " not in " + row.statusHistory()));
  }
}
