package dev.closedloop.deploy.guard;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Events;
import dev.closedloop.deploy.Step;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.zip.CRC32;

/**
 * One release at a time per service: a session-level PostgreSQL advisory lock on a connection
 * of its own, held from before migrate until the release ends, and freed by the server if the
 * process dies. It uses the two-integer key space, which never meets Flyway's own (bigint) lock.
 *
 * <p>While it waits, the release sits in the ledger as queued, and the mode decides:
 * {@code supersede} (like a CI concurrency group: a newer waiting release replaces an older
 * waiting one, which ends as superseded), {@code queue} (first in, first out: every release runs)
 * or {@code fail} (give up at once when the lock is held).
 */
public final class ReleaseLock implements AutoCloseable {

  /** How a release that finds the lock held behaves. */
  public enum Mode {
    SUPERSEDE, QUEUE, FAIL;

    public static Mode parse(String text) {
      try {
        return valueOf(text.trim().toUpperCase(Locale.ROOT));
      } catch (RuntimeException e) {
        throw new DeployException(DeployException.Kind.CONFIGURATION, "Unknown lock mode '" + text
            + "' (deploy.lockMode): use supersede, queue or fail");
      }
    }
  }

  /**
   * Reads a timeout as people write it: {@code 30m}, {@code 90s}, {@code 1h}, {@code 500ms}, or
   * ISO-8601 ({@code PT30M}).
   */
  public static Duration parseTimeout(String text) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)\\s*(ms|s|m|h)").matcher(text == null ? "" : text.trim());
    try {
      if (m.matches()) {
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
          case "ms" -> Duration.ofMillis(n);
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          default -> Duration.ofHours(n);
        };
      }
      return Duration.parse(text.trim());
    } catch (RuntimeException e) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "lockTimeout (deploy.lockTimeout) '" + text
          + "' is not a duration: write e.g. 30m, 90s or 1h");
    }
  }

  /** The outcome of waiting: the lock is held, or a newer release took this one's place. */
  public enum Outcome { ACQUIRED, SUPERSEDED }

  /** Distinguishes closedloop's advisory locks from any other two-key lock in the database. */
  static final int NAMESPACE = 0x636C6F6F; // "cloo"
  private static final Duration POLL = Duration.ofMillis(50);

  private final Connection connection;
  private final ReleaseLedger ledger;
  private final String name;
  private final int key;
  private final Events events;
  private boolean held;

  /**
   * @param connection a connection of the lock's own: the lock lives as long as its session
   */
  public ReleaseLock(Connection connection, ReleaseLedger ledger, String name, Events events) {
    this.connection = connection;
    this.ledger = ledger;
    this.name = name;
    this.key = key(name);
    this.events = events;
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
  public Outcome acquire(long id, Mode mode, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    boolean announced = false;
    while (true) {
      ledger.abandonDead(connection, name);
      List<Long> queued = ledger.queued(connection, name);
      if (mode == Mode.SUPERSEDE && !queued.isEmpty() && queued.get(queued.size() - 1) > id) {
        events.progress(Step.MIGRATE, "superseded by release #" + queued.get(queued.size() - 1)
            + " of a newer commit: leaving the queue");
        return Outcome.SUPERSEDED;
      }
      boolean myTurn = mode != Mode.QUEUE || queued.isEmpty() || queued.get(0) == id;
      if (myTurn && tryLock()) {
        held = true;
        return Outcome.ACQUIRED;
      }
      if (mode == Mode.FAIL) {
        throw new DeployException(DeployException.Kind.GUARD, "Another release of " + name + " holds the"
            + " release lock (deploy.lockMode=fail): try again when it has finished, or use deploy.lockMode=queue");
      }
      if (System.nanoTime() > deadline) {
        throw new DeployException(DeployException.Kind.GUARD, "Gave up waiting " + timeout.toSeconds()
            + " s for the release lock of " + name + " (deploy.lockTimeout): another release still holds it");
      }
      if (!announced) {
        events.progress(Step.MIGRATE, "waiting for the release lock of " + name + " (" + mode.name().toLowerCase(Locale.ROOT)
            + " mode, up to " + timeout.toSeconds() + " s)");
        announced = true;
      }
      try {
        Thread.sleep(POLL.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new DeployException(DeployException.Kind.GUARD, "Interrupted while waiting for the release lock", e);
      }
    }
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
