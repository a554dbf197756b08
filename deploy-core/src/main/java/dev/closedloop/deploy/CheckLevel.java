package dev.closedloop.deploy;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/** How seriously a check is taken: a lint rule ({@code deploy.lint}), the drift check ({@code deploy.driftCheck}). */
public enum CheckLevel {
  /** Not looked for. */
  OFF,
  /** Reported; the release goes on. */
  WARN,
  /** Reported, and the release stops before production is touched. */
  FAIL;

  /** {@code off}, {@code warn} or {@code fail}, in any letter case; empty for anything else. */
  public static Optional<CheckLevel> of(String name) {
    return Arrays.stream(values()).filter(l -> l.name().equalsIgnoreCase(name == null ? "" : name.trim()))
        .findFirst();
  }

  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}
