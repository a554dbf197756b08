package dev.closedloop.deploy.hook;

import dev.closedloop.deploy.DeployException;
import java.util.Arrays;
import java.util.Locale;

/** Where in a run a hook runs ({@code deploy.hooks} names them as written here). */
public enum HookPoint {
  /** Before build; failing stops the run before it. */
  PRE_BUILD("pre-build"),
  /** Holding the release lock, before the migrations reach production; failing stops the run there. */
  PRE_MIGRATE("pre-migrate"),
  /** After production was migrated, still holding the lock. */
  POST_MIGRATE("post-migrate"),
  /** After the promote tags moved, still holding the lock. */
  POST_PROMOTE("post-promote"),
  /** After every step of a run that promoted (and rolled out) succeeded, still holding the lock. */
  POST_RELEASE("post-release"),
  /** After a step failed, still holding the lock if the run held it. */
  ON_FAILURE("on-failure");

  private final String id;

  HookPoint(String id) {
    this.id = id;
  }

  public String id() {
    return id;
  }

  /** A pre-hook that fails stops the run; a post-hook's failure is reported and recorded only. */
  public boolean stopsOnFailure() {
    return this == PRE_BUILD || this == PRE_MIGRATE;
  }

  public static HookPoint parse(String text, String setting) {
    String value = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
    for (HookPoint point : values()) {
      if (point.id.equals(value)) {
        return point;
      }
    }
    throw new DeployException(DeployException.Kind.CONFIGURATION, setting + ": unknown hook point '" + text
        + "': use " + String.join(", ", Arrays.stream(values()).map(HookPoint::id).toList()));
  }

  @Override
  public String toString() {
    return id;
  }
}
