package dev.closedloop.deploy.report;


/**
 * The backward-compatibility proof: what production runs now, run against the migrated throwaway database.
 *
 * @param command redacted; null when only a health URL checks it
 * @param healthUrl redacted; null when only a command checks it
 * @param image the image it would run, by digest; null when none runs yet or it is not known
 * @param known false when the registry was not read
 */
public record PlanCompatibility(String command, String healthUrl, String timeout, String image, boolean known) {

  String line() {
    return "Compatibility check: " + (image == null
        ? (known ? "no image runs in production yet, nothing to check" : "the image production runs is not known")
        : dev.closedloop.deploy.Compatibility.describe(command, healthUrl) + " from " + image
            + ", what production runs now, against the migrated throwaway database");
  }
}
