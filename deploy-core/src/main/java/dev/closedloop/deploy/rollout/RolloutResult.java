package dev.closedloop.deploy.rollout;

/**
 * How a rollout ended.
 *
 * @param target what it deployed to
 * @param deployment the operation, deployment or container followed, as the ledger records it
 * @param outcome succeeded, rolled back, failed or timed out
 * @param status the target's last word on it
 */
public record RolloutResult(String target, String deployment, Rollout.Outcome outcome, String status) { }
