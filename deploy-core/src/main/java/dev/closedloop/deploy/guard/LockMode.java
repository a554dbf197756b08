package dev.closedloop.deploy.guard;

import dev.closedloop.deploy.DeployException;
import java.util.Locale;

/**
 * How a release that finds the release lock held behaves ({@code deploy.lockMode}):
 * {@code supersede} (like a CI concurrency group: a newer waiting release replaces an older
 * waiting one, which ends as superseded), {@code queue} (first in, first out: every release runs)
 * or {@code fail} (give up at once when the lock is held).
 */
public enum LockMode {
  SUPERSEDE, QUEUE, FAIL;

  /**
   * The mode {@code deploy.lockMode} names, in any case.
   *
   * @throws DeployException of kind CONFIGURATION for another name
   */
  public static LockMode parse(String text) {
    try {
      return valueOf(text.trim().toUpperCase(Locale.ROOT));
    } catch (RuntimeException e) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "Unknown lock mode '" + text
          + "' (deploy.lockMode): use supersede, queue or fail");
    }
  }
}
