package dev.closedloop.deploy.hook;

import java.util.Map;

/**
 * A team's own action at a {@link HookPoint}: notify a channel, warm a cache, run a smoke test.
 * It runs while the release still holds its lock. Throwing (or, for a command, a non-zero exit)
 * is its failure.
 */
public interface Hook {

  /**
   * Runs the hook.
   *
   * @param environment {@code DEPLOY_SHA}, {@code DEPLOY_DIGEST}, {@code DEPLOY_BRANCH},
   *     {@code DEPLOY_STEP}, {@code DEPLOY_STATUS}, {@code DEPLOY_RUN_URL}, {@code DEPLOY_LEDGER_ID}
   *     and {@code DEPLOY_HOOK}; never a secret. Unknown values are empty strings
   * @param output where each line of its output goes (the run's log, masked)
   */
  void run(Map<String, String> environment, java.util.function.Consumer<String> output) throws Exception;

  /** What it is, for the log and the ledger: the command, or a listener's name. */
  String describe();
}
