package dev.closedloop.deploy;

import dev.closedloop.deploy.database.MigrationOutcome;
import dev.closedloop.deploy.image.BuiltImage;
import dev.closedloop.deploy.image.TagMove;
import dev.closedloop.deploy.rollout.RolloutResult;
import java.util.List;
import java.util.Optional;

/** What a release run did: one result per step that ran, and the values the steps produced. */
public final class ReleaseResult {

  /** How the run ended when it did not fail (a failure throws {@link DeployException}). */
  public enum Outcome {
    /** Every step that was asked for ran. */
    COMPLETED,
    /** A newer release of the same service took this one's place while it waited for the lock. */
    SUPERSEDED
  }

  private final List<StepResult> steps;
  private final BuiltImage image;
  private final MigrationOutcome testMigration;
  private final MigrationOutcome migration;
  private final List<TagMove> promotion;
  private final Long ledgerId;
  private final RolloutResult rollout;
  private final Guards guards;
  private final Outcome outcome;
  private final List<dev.closedloop.deploy.hook.HookRun> hooks;
  private final List<dev.closedloop.deploy.lint.Finding> lint;

  ReleaseResult(List<StepResult> steps, BuiltImage image, MigrationOutcome testMigration,
      MigrationOutcome migration, List<TagMove> promotion, Long ledgerId, RolloutResult rollout, Guards guards,
      Outcome outcome, List<dev.closedloop.deploy.hook.HookRun> hooks, List<dev.closedloop.deploy.lint.Finding> lint) {
    this.hooks = hooks == null ? List.of() : List.copyOf(hooks);
    this.lint = lint == null ? null : List.copyOf(lint);
    this.steps = List.copyOf(steps);
    this.image = image;
    this.testMigration = testMigration;
    this.migration = migration;
    this.promotion = promotion == null ? null : List.copyOf(promotion);
    this.ledgerId = ledgerId;
    this.rollout = rollout;
    this.guards = guards;
    this.outcome = outcome;
  }

  /** The result of a run in which no step ran. */
  static ReleaseResult empty() {
    return new ReleaseResult(List.of(), null, null, null, null, null, null, null, Outcome.COMPLETED, List.of(), null);
  }

  public List<StepResult> steps() {
    return steps;
  }

  /** The image in the registry, once build ran (or the image found by its SHA tag). */
  public Optional<BuiltImage> image() {
    return Optional.ofNullable(image);
  }

  /** The migrations test-migrate proved on the throwaway database, once it ran. */
  public Optional<MigrationOutcome> testMigration() {
    return Optional.ofNullable(testMigration);
  }

  /** What migrate applied to production. */
  public Optional<MigrationOutcome> migration() {
    return Optional.ofNullable(migration);
  }

  /** Each promote tag's move, with its previous digest. */
  public Optional<List<TagMove>> promotion() {
    return Optional.ofNullable(promotion);
  }

  /** This release's row in the ledger. */
  public Optional<Long> ledgerId() {
    return Optional.ofNullable(ledgerId);
  }

  /** How the rollout ended, when one ran (also in a failure's partial result). */
  public Optional<RolloutResult> rollout() {
    return Optional.ofNullable(rollout);
  }

  /**
   * What the guards decided, once the run reached production.
   *
   * @param branch the branch that passed the guard
   * @param branchGuardOverridden true when it passed only because of deploy.branchGuard=off
   * @param lockName what the release queued on
   * @param lockWait how long it waited for the lock; null when it never got that far
   */
  public record Guards(String branch, boolean branchGuardOverridden, String lockName, java.time.Duration lockWait) { }

  /** What the guards decided, when the run reached production. */
  public Optional<Guards> guards() {
    return Optional.ofNullable(guards);
  }

  /** Each hook that ran, in order, and how it ended. */
  public List<dev.closedloop.deploy.hook.HookRun> hooks() {
    return hooks;
  }

  /** What the migration lint found in the migrations migrate applied (or refused), once it read them. */
  public Optional<List<dev.closedloop.deploy.lint.Finding>> lint() {
    return Optional.ofNullable(lint);
  }

  public Outcome outcome() {
    return outcome;
  }

  public boolean succeeded() {
    return outcome == Outcome.COMPLETED
        && steps.stream().allMatch(s -> s.status() == StepResult.Status.SUCCEEDED);
  }

  @Override
  public String toString() {
    return "ReleaseResult" + steps + (outcome == Outcome.SUPERSEDED ? " superseded" : "");
  }
}
