package dev.closedloop.deploy;

import dev.closedloop.deploy.database.MigrationOutcome;
import dev.closedloop.deploy.image.BuiltImage;
import java.util.List;
import java.util.Optional;

/** What a release run did: one result per step that ran, and the values the steps produced. */
public final class ReleaseResult {

  private final List<StepResult> steps;
  private final BuiltImage image;
  private final MigrationOutcome testMigration;

  ReleaseResult(List<StepResult> steps, BuiltImage image, MigrationOutcome testMigration) {
    this.steps = List.copyOf(steps);
    this.image = image;
    this.testMigration = testMigration;
  }

  public List<StepResult> steps() {
    return steps;
  }

  /** The image in the registry, once build ran. */
  public Optional<BuiltImage> image() {
    return Optional.ofNullable(image);
  }

  /** The migrations test-migrate proved on the throwaway database, once it ran. */
  public Optional<MigrationOutcome> testMigration() {
    return Optional.ofNullable(testMigration);
  }

  public boolean succeeded() {
    return steps.stream().allMatch(s -> s.status() == StepResult.Status.SUCCEEDED);
  }

  @Override
  public String toString() {
    return "ReleaseResult" + steps;
  }
}
