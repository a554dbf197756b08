package dev.closedloop.deploy.internal.guard;

import dev.closedloop.deploy.guard.CiEnvironment;
import java.util.Objects;

/**
 * Tells which of two releases is of the newer commit: by git ancestry when the local history
 * holds both commits, else by the CI system's run number, else it cannot tell (and the caller
 * falls back to the order the releases arrived in).
 */
public final class CommitOrder {

  /** How one commit stands to another. */
  public enum Verdict { NEWER, OLDER, SAME, UNKNOWN }

  /** A verdict and what it rests on, for messages. */
  public record Comparison(Verdict verdict, String basis) {}

  /**
   * One side of a comparison: a commit, the commits before it that its clone knew (recorded in the
   * ledger, so every release compares the same facts, whatever its own clone holds), and the CI
   * system's run number with the scope it counts in (a workflow, a job, a project).
   */
  public record Commit(String sha, Long runNumber, String runScope, java.util.List<String> ancestry) {
    public Commit {
      ancestry = ancestry == null ? java.util.List.of() : java.util.List.copyOf(ancestry);
    }

    /** The commit as the release of ledger row {@code entry} recorded it. */
    public static Commit of(dev.closedloop.deploy.guard.LedgerEntry entry) {
      return new Commit(entry.sha(), entry.runNumber(), entry.runScope(), entry.ancestry());
    }

    boolean descendsFrom(String other) {
      return ancestry.stream().anyMatch(known -> sameCommit(known, other));
    }
  }

  /** Full and abbreviated SHAs of one commit are the same commit. */
  static boolean sameCommit(String a, String b) {
    return a != null && b != null && (a.startsWith(b) || b.startsWith(a)) && Math.min(a.length(), b.length()) >= 7;
  }

  private final CiEnvironment ci;

  public CommitOrder(CiEnvironment ci) {
    this.ci = ci;
  }

  /** How {@code mine} stands to {@code other}: NEWER means mine is the newer commit. */
  public Comparison compare(Commit mine, Commit other) {
    if (Objects.equals(mine.sha(), other.sha()) || sameCommit(mine.sha(), other.sha())) {
      return new Comparison(Verdict.SAME, "the same commit");
    }
    // first what the ledger recorded: both releases read the same facts, so they agree
    if (other.descendsFrom(mine.sha())) {
      return new Comparison(Verdict.OLDER, "git history");
    }
    if (mine.descendsFrom(other.sha())) {
      return new Comparison(Verdict.NEWER, "git history");
    }
    boolean otherBeforeMine = ci.isAncestor(other.sha(), mine.sha()).orElse(false);
    boolean mineBeforeOther = !otherBeforeMine && ci.isAncestor(mine.sha(), other.sha()).orElse(false);
    if (otherBeforeMine || mineBeforeOther) {
      return new Comparison(otherBeforeMine ? Verdict.NEWER : Verdict.OLDER, "git history");
    }
    // run numbers count within one workflow, job or project: compared only within the same one
    if (mine.runNumber() != null && other.runNumber() != null && !mine.runNumber().equals(other.runNumber())
        && Objects.equals(mine.runScope(), other.runScope())) {
      return new Comparison(mine.runNumber() > other.runNumber() ? Verdict.NEWER : Verdict.OLDER, "CI run numbers "
          + mine.runNumber() + " and " + other.runNumber());
    }
    return new Comparison(Verdict.UNKNOWN, "neither git history (a shallow clone has only the newest commits:"
        + " fetch the whole history, e.g. fetch-depth: 0) nor CI run numbers tell them apart");
  }
}
