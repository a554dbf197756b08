package dev.closedloop.deploy.report;

/**
 * The rollout target as its read-only check sees it.
 *
 * @param kind e.g. {@code app-runner}
 * @param detail what the check said, or its problem; redacted
 * @param ok false when the check failed (a missing service or missing credentials: the plan cannot tell which)
 */
public record PlanRollout(String kind, String target, String detail, boolean ok) {

  /** The line for a plan with or without a rollout. */
  static String line(PlanRollout rollout) {
    return "Rollout: " + (rollout == null ? "none (deploy.rollout)"
        : rollout.target() + ": " + (rollout.ok() ? "" : "problem: ") + rollout.detail());
  }
}
