package dev.closedloop.deploy.guard;

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

  /** One side of a comparison: a commit and, when the CI system gave one, its run number. */
  public record Commit(String sha, Long runNumber) {}

  private final CiEnvironment ci;

  public CommitOrder(CiEnvironment ci) {
    this.ci = ci;
  }

  /** How {@code mine} stands to {@code other}: NEWER means mine is the newer commit. */
  public Comparison compare(Commit mine, Commit other) {
    if (Objects.equals(mine.sha(), other.sha())) {
      return new Comparison(Verdict.SAME, "the same commit");
    }
    boolean otherBeforeMine = ci.isAncestor(other.sha(), mine.sha()).orElse(false);
    boolean mineBeforeOther = !otherBeforeMine && ci.isAncestor(mine.sha(), other.sha()).orElse(false);
    if (otherBeforeMine || mineBeforeOther) {
      return new Comparison(otherBeforeMine ? Verdict.NEWER : Verdict.OLDER, "git history");
    }
    if (mine.runNumber() != null && other.runNumber() != null && !mine.runNumber().equals(other.runNumber())) {
      return new Comparison(mine.runNumber() > other.runNumber() ? Verdict.NEWER : Verdict.OLDER, "CI run numbers "
          + mine.runNumber() + " and " + other.runNumber());
    }
    return new Comparison(Verdict.UNKNOWN, "neither git history (a shallow clone has only the newest commits:"
        + " fetch the whole history, e.g. fetch-depth: 0) nor CI run numbers tell them apart");
  }
}
