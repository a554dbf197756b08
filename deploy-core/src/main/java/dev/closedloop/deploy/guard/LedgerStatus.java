package dev.closedloop.deploy.guard;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Where a ledger row stands, as its {@code status} column and each {@code status_history} entry
 * record it: queued, running, migrating, migrated, promoted, rolling_out, then succeeded; or
 * failed, superseded.
 */
public enum LedgerStatus {
  QUEUED("queued"),
  RUNNING("running"),
  MIGRATING("migrating"),
  MIGRATED("migrated"),
  PROMOTED("promoted"),
  ROLLING_OUT("rolling_out"),
  SUCCEEDED("succeeded"),
  FAILED("failed"),
  SUPERSEDED("superseded");

  private final String id;

  LedgerStatus(String id) {
    this.id = id;
  }

  /** The column value. */
  public String id() {
    return id;
  }

  /** True for a status a row ends in: it sets {@code finished_at}. */
  public boolean terminal() {
    return this == SUCCEEDED || this == FAILED || this == SUPERSEDED;
  }

  /**
   * True while the row's release is at work on it or waiting for the lock: not ended, and not at
   * {@code migrated}, where a split job's migrate stops to wait for its promote.
   */
  public boolean inFlight() {
    return !terminal() && this != MIGRATED;
  }

  /**
   * The status a column holds.
   *
   * @throws IllegalArgumentException for a value no status has, naming it and the known ones
   */
  public static LedgerStatus of(String id) {
    for (LedgerStatus status : values()) {
      if (status.id.equals(id)) {
        return status;
      }
    }
    throw new IllegalArgumentException("Unknown ledger status '" + id + "' (known: "
        + Arrays.stream(values()).map(LedgerStatus::id).collect(Collectors.joining(", ")) + ")");
  }

  @Override
  public String toString() {
    return id;
  }
}
