package dev.closedloop.deploy;

import dev.closedloop.deploy.guard.LockMode;
import java.time.Duration;
import java.util.List;

/**
 * How a release is kept to one branch and one at a time, and to the migration tool production's
 * history was written with.
 *
 * @param migratorSwitch {@code deploy.migratorSwitch}: the migration tool production may switch to from the one
 *     its history shows, confirmed by naming it; null when none is
 */
public record Guards(
    String branch,
    List<String> allowedBranches,
    boolean branchGuard,
    LockMode lockMode,
    Duration lockTimeout,
    String lockName,
    String ledgerSchema,
    String ledgerTable,
    boolean failWhenSuperseded,
    String migratorSwitch) {

  public Guards {
    allowedBranches = List.copyOf(allowedBranches);
  }
}
