package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * The settings steps share, named as a refusal names them, and the check a run makes before its
 * first step: every setting any of its steps lacks, in one message.
 */
public final class RequiredSettings {

  private RequiredSettings() { }

  /** What building or naming {@code <image>:<sha>} needs. */
  static List<String> imageAndSha(ReleaseConfig config) {
    List<String> missing = new ArrayList<>();
    if (config.buildRequest().repository() == null) {
      missing.add("image (deploy.image)");
    }
    if (config.buildRequest().sha() == null) {
      missing.add("sha (deploy.sha; no CI variable or git repository gave one)");
    }
    return missing;
  }

  /** What the ledger needs: production, where it is kept, and the lock's name, whose rows it keeps. */
  static List<String> ledger(ReleaseConfig config) {
    List<String> missing = new ArrayList<>();
    if (config.production().environment() == null && !config.production().environments().isEmpty()) {
      // the top-level settings are no environment's: going there by default would be a guess
      missing.add("environment (deploy.environment, one of " + String.join(", ", config.production().environments())
          + ")");
      return missing; // the rest would be that environment's
    }
    if (config.production().database() == null) {
      missing.add("databaseUrl (deploy.databaseUrl, or under CI the DATABASE_URL variable)");
    }
    if (config.production().guards().lockName() == null) {
      missing.add("lockName (deploy.lockName, or deploy.image to derive it from)");
    }
    return missing;
  }

  /**
   * Refuses a run of {@code steps} that lacks a setting one of them needs.
   *
   * @throws DeployException of kind CONFIGURATION naming every missing setting at once
   */
  public static void check(ReleaseConfig config, List<? extends ReleaseStep<?>> steps) {
    List<String> missing = steps.stream().flatMap(step -> step.missingSettings(config).stream()).distinct().toList();
    refuseUnlessEmpty(missing, steps.stream().map(ReleaseStep::step).toList().toString());
  }

  /** Refuses reading the ledger for {@code by} without production and the lock's name. */
  static void checkLedger(ReleaseConfig config, String by) {
    refuseUnlessEmpty(ledger(config), "[" + by + "]");
  }

  /** Refuses reading the ledger ({@code deploy:history}) without production and the lock's name. */
  public static void checkHistory(ReleaseConfig config) {
    refuseUnlessEmpty(ledger(config), "[history]");
  }

  private static void refuseUnlessEmpty(List<String> missing, String by) {
    if (!missing.isEmpty()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, String.join(", ", missing)
          + (missing.size() == 1 ? " is" : " are") + " required by " + by + " but not set");
    }
  }
}
