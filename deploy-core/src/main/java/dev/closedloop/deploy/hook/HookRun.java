package dev.closedloop.deploy.hook;

import java.time.Duration;

/**
 * One hook that ran: where, what, for which step, how it ended.
 *
 * @param error null when it succeeded, else one line on how it failed
 */
public record HookRun(HookPoint point, String hook, String step, Duration duration, String error) {

  public boolean succeeded() {
    return error == null;
  }
}
