package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.database.MigrationSet;

/** Wording shared by the steps' one-line summaries. */
final class Summaries {

  private Summaries() {}

  /** "1 migration", "9 migrations". */
  static String migrations(int count) {
    return count + (count == 1 ? " migration" : " migrations");
  }

  /** The fingerprint's algorithm and first 12 hex digits: enough to tell sets apart in a log. */
  static String shortFingerprint(MigrationSet set) {
    String fingerprint = set.fingerprint();
    return fingerprint.substring(0, Math.min(fingerprint.length(), "sha256:".length() + 12));
  }
}
