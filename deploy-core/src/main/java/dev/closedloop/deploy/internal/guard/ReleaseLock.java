package dev.closedloop.deploy.internal.guard;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.guard.LedgerEntry;
import dev.closedloop.deploy.guard.LockMode;
import dev.closedloop.deploy.internal.Events;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.zip.CRC32;

/**
 * One release at a time per service: a session-level PostgreSQL advisory lock on a connection
 * of its own, held from before migrate until the release ends, and freed by the server if the
 * process dies. It uses the two-integer key space, which never meets Flyway's own (bigint) lock.
 *
 * <p>While it waits, the release sits in the ledger as queued, and its {@link LockMode} decides
 * what happens.
 */
public final class ReleaseLock implements AutoCloseable {

  /** Reads a timeout as people write it: {@code 30m}, {@code 90s}, {@code 1h}, {@code 500ms}, or ISO-8601. */
  public static Duration parseTimeout(String text) {
    return dev.closedloop.deploy.internal.Durations.parse(text, "lockTimeout (deploy.lockTimeout)");
  }

  /** The outcome of waiting: the lock is held, or a newer release took this one's place. */
  public enum Outcome { ACQUIRED, SUPERSEDED }

  /** Distinguishes closedloop's advisory locks from any other two-key lock in the database. */
  static final int NAMESPACE = 0x636C6F6F; // "cloo"
  /** How long a waiter whose turn it is blocks on the lock before it looks at the queue again. */
  private static final Duration BLOCK_FOR = Duration.ofMillis(200);
  /** A waiter whose turn it is not looks again after this, doubling up to {@link #MAX_PAUSE}. */
  private static final Duration FIRST_PAUSE = Duration.ofMillis(100);
  private static final Duration MAX_PAUSE = Duration.ofSeconds(1);
  /** How often a waiter marks dead releases abandoned (a write): not on every look. */
  private static final Duration SWEEP_EVERY = Duration.ofSeconds(2);

  private final Connection connection;
  private final ReleaseLedger ledger;
  private final String name;
  private final int key;
  private final Events events;
  /** The step that waits for the lock, which its progress lines name. */
  private final Step step;
  private final CommitOrder order;
  private final CommitOrder.Commit mine;
  /** Verdicts by the other release's commit: git is asked once per commit, not once per poll. */
  private final java.util.Map<CommitOrder.Commit, CommitOrder.Comparison> verdicts = new java.util.HashMap<>();
  private boolean held;

  /**
   * @param connection a connection of the lock's own: the lock lives as long as its session
   */
  public ReleaseLock(Connection connection, ReleaseLedger ledger, String name, Events events) {
    this(connection, ledger, name, events, null, null, Step.MIGRATE);
  }

  /**
   * @param order tells which waiting release is of the newer commit; in supersede mode that one
   *     stays. Null: the last to arrive stays.
   * @param mine this release's commit
   */
  public ReleaseLock(Connection connection, ReleaseLedger ledger, String name, Events events, CommitOrder order,
      CommitOrder.Commit mine, Step step) {
    this.step = step;
    this.connection = connection;
    this.ledger = ledger;
    this.name = name;
    this.key = key(name);
    this.events = events;
    this.order = order;
    this.mine = mine;
  }

  static int key(String name) {
    CRC32 crc = new CRC32();
    crc.update(name.getBytes(StandardCharsets.UTF_8));
    return (int) crc.getValue();
  }

  /**
   * Waits for the lock as ledger row {@code id} (queued, owned by this connection's backend).
   *
   * @return ACQUIRED, or SUPERSEDED when a newer release took this one's place (supersede mode)
   * @throws DeployException of kind GUARD when the lock is held (fail mode) or the wait timed out
   */
  public Outcome acquire(long id, LockMode mode, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    long nextSweep = System.nanoTime();
    Duration pause = FIRST_PAUSE;
    boolean announced = false;
    while (true) {
      if (System.nanoTime() - nextSweep >= 0) {
        ledger.abandonDead(connection, name);
        nextSweep = System.nanoTime() + SWEEP_EVERY.toNanos();
      }
      List<LedgerEntry> waiting = ledger.queuedEntries(connection, name);
      if (mode == LockMode.SUPERSEDE) {
        java.util.Optional<String> newer = newerWaiting(id, waiting);
        if (newer.isPresent()) {
          events.progress(step, "superseded by " + newer.get() + ": leaving the queue");
          return Outcome.SUPERSEDED;
        }
      }
      boolean myTurn = mode != LockMode.QUEUE || waiting.isEmpty() || waiting.get(0).id() == id;
      // Whose turn it is waits on the lock itself, and the server hands it over the moment it is
      // free; only one waiter of a lock name does, the others look again less and less often.
      if (myTurn && (mode == LockMode.FAIL ? tryLock() : waitForLock())) {
        held = true;
        // a newer release may have queued while this one blocked on the lock: it takes the place
        java.util.Optional<String> newer = mode == LockMode.SUPERSEDE
            ? newerWaiting(id, ledger.queuedEntries(connection, name)) : java.util.Optional.empty();
        if (newer.isEmpty()) {
          // a dead waiter this one skipped since its last sweep is marked now: the last one through the
          // queue must not leave it queued for ever
          try {
            ledger.abandonDead(connection, name);
          } catch (DeployException e) {
            events.debug("marking abandoned releases: " + e.getMessage());
          }
          return Outcome.ACQUIRED;
        }
        close();
        events.progress(step, "superseded by " + newer.get() + ": leaving the queue");
        return Outcome.SUPERSEDED;
      }
      if (mode == LockMode.FAIL) {
        throw new DeployException(DeployException.Kind.GUARD, "Another release of " + name + " holds the"
            + " release lock (deploy.lockMode=fail): try again when it has finished, or use deploy.lockMode=queue");
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new DeployException(DeployException.Kind.GUARD, "Gave up waiting " + timeout.toSeconds()
            + " s for the release lock of " + name + " (deploy.lockTimeout): another release still holds it. See"
            + " which with deploy:plan, and run again when it has finished, or raise deploy.lockTimeout");
      }
      if (!announced) {
        events.progress(step, "waiting for the release lock of " + name + " (" + mode.name().toLowerCase(Locale.ROOT)
            + " mode, up to " + timeout.toSeconds() + " s)");
        announced = true;
      }
      if (myTurn) {
        pause = FIRST_PAUSE;
      } else {
        sleep(Duration.ofNanos(Math.min(left, pause.toNanos())));
        pause = pause.multipliedBy(2).compareTo(MAX_PAUSE) > 0 ? MAX_PAUSE : pause.multipliedBy(2);
      }
    }
  }

  /**
   * Makes the lock's session one that lasts as long as its release and no longer: no server
   * timeout ends it in the middle of a long migration, and TCP keepalives end it within about a
   * minute when the machine that ran the release vanished without closing its socket (instead of
   * the kernel's two hours), so the server frees the lock.
   */
  public static void prepareSession(Connection connection) {
    try (Statement s = connection.createStatement()) {
      s.execute("DO $$ BEGIN"
          + " PERFORM set_config('statement_timeout', '0', false);"
          + " PERFORM set_config('idle_in_transaction_session_timeout', '0', false);"
          + " IF current_setting('server_version_num')::int >= 140000 THEN"
          + "   PERFORM set_config('idle_session_timeout', '0', false); END IF;"
          + " PERFORM set_config('tcp_keepalives_idle', '30', false);"
          + " PERFORM set_config('tcp_keepalives_interval', '10', false);"
          + " PERFORM set_config('tcp_keepalives_count', '3', false);"
          + " END $$");
    } catch (SQLException e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot prepare the release lock's session: "
          + e.getMessage(), e);
    }
  }

  /**
   * Blocks on the lock for at most {@link #BLOCK_FOR}; true when it was granted. The lock_timeout
   * that ends the wait is set for this one statement only: the ledger's reads and writes on the
   * same session never get it.
   */
  private boolean waitForLock() {
    try (Statement s = connection.createStatement()) {
      boolean granted = false;
      try {
        s.execute("SET lock_timeout = " + BLOCK_FOR.toMillis());
        s.execute("SELECT pg_advisory_lock(" + NAMESPACE + ", " + key + ")");
        granted = true;
      } catch (SQLException e) {
        if (!"55P03".equals(e.getSQLState())) { // 55P03, lock_not_available: another release still holds it
          throw e;
        }
      } finally {
        try {
          s.execute("RESET lock_timeout");
        } catch (SQLException e) {
          if (!granted) {
            throw e;
          }
          events.debug("lock_timeout not reset (" + e.getMessage() + "); the lock is held"); // and must be recorded so
        }
      }
      return granted;
    } catch (SQLException e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot wait for the release lock: " + e.getMessage(), e);
    }
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(Math.max(1, duration.toMillis()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DeployException(DeployException.Kind.GUARD, "Interrupted while waiting for the release lock", e);
    }
  }

  /**
   * A waiting release that should stay instead of this one, described: the newest commit stays
   * (by git history or run number), and where they cannot be told apart, the last to arrive.
   */
  private java.util.Optional<String> newerWaiting(long id, List<LedgerEntry> waiting) {
    for (LedgerEntry other : waiting) {
      if (other.id() == id || other.rollback()) { // a rollback waits its turn, whatever its checkout's commit
        continue;
      }
      CommitOrder.Comparison comparison = order == null || mine == null
          ? new CommitOrder.Comparison(CommitOrder.Verdict.UNKNOWN, "arrival")
          : verdicts.computeIfAbsent(CommitOrder.Commit.of(other), commit -> order.compare(mine, commit));
      boolean otherStays = switch (comparison.verdict()) {
        case OLDER -> true;
        case NEWER -> false;
        case SAME, UNKNOWN -> other.id() > id;
      };
      if (otherStays) {
        return java.util.Optional.of("release #" + other.id() + " of " + other.sha()
            + (comparison.verdict() == CommitOrder.Verdict.OLDER ? ", a newer commit (" + comparison.basis() + ")"
                : ", which arrived later"));
      }
    }
    return java.util.Optional.empty();
  }

  private boolean tryLock() {
    try (PreparedStatement s = connection.prepareStatement("SELECT pg_try_advisory_lock(?, ?)")) {
      s.setInt(1, NAMESPACE);
      s.setInt(2, key);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    } catch (SQLException e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot take the release lock: " + e.getMessage(), e);
    }
  }

  /** True when this connection's session holds the lock now, as the server sees it. */
  public boolean held() {
    if (!held) {
      return false;
    }
    try (PreparedStatement s = connection.prepareStatement("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
        + " AND classid = ? AND objid = ? AND objsubid = 2 AND pid = pg_backend_pid() AND granted")) {
      s.setInt(1, NAMESPACE);
      s.setInt(2, key);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getInt(1) > 0;
      }
    } catch (SQLException e) {
      return false; // no answer from the session is no proof it holds anything
    }
  }

  @Override
  public void close() {
    if (!held) {
      return;
    }
    held = false;
    try (PreparedStatement s = connection.prepareStatement("SELECT pg_advisory_unlock(?, ?)")) {
      s.setInt(1, NAMESPACE);
      s.setInt(2, key);
      s.execute();
    } catch (SQLException e) {
      // the session ends with the connection, and the server frees the lock then
      events.debug("release lock not released explicitly (" + e.getMessage() + "); closing the session frees it");
    }
  }
}
