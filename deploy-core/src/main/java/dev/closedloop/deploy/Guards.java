package dev.closedloop.deploy;

import dev.closedloop.deploy.guard.LockMode;
import java.time.Duration;
import java.util.List;

/** How a release is kept to one branch and one at a time. */
public record Guards(
    String branch,
    List<String> allowedBranches,
    boolean branchGuard,
    LockMode lockMode,
    Duration lockTimeout,
    String lockName,
    String ledgerSchema,
    String ledgerTable,
    boolean failWhenSuperseded) {

  public Guards {
    allowedBranches = List.copyOf(allowedBranches);
  }
}
