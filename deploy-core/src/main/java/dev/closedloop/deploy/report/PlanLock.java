package dev.closedloop.deploy.report;

import java.util.List;

/**
 * The release lock as the ledger shows it.
 *
 * @param name the lock releases of this service queue on
 * @param known false when the ledger was not read
 * @param holder the release that holds the lock; null when it is free or not known
 * @param queue the releases waiting for it, first in line first
 */
public record PlanLock(String name, boolean known, Holder holder, List<Holder> queue) {

  /** A release alive in the ledger. */
  public record Holder(long id, String sha, String status, String startedAt) { }

  public PlanLock {
    queue = List.copyOf(queue);
  }

  String line() {
    if (!known) {
      return "  release lock of " + name + ": not known";
    }
    return "  release lock of " + name + ": " + (holder == null ? "free"
        : "held by #" + holder.id() + " (" + holder.sha() + ", " + holder.status() + ")") + "; "
        + (queue.isEmpty() ? "nobody waiting"
            : queue.size() + " waiting: "
                + String.join(", ", queue.stream().map(waiting -> "#" + waiting.id()).toList()));
  }
}
