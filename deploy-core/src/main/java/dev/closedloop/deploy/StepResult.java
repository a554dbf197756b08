package dev.closedloop.deploy;

import java.time.Duration;

/** How one step of a release ended. */
public record StepResult(Step step, Status status, Duration duration, String summary) {

  public enum Status {
    SUCCEEDED,
    FAILED,
    /** Stopped before it finished because a step running beside it failed. */
    STOPPED
  }
}
