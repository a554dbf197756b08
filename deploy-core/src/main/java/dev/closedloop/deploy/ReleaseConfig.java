package dev.closedloop.deploy;

import dev.closedloop.deploy.aws.AwsSettings;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.database.ProductionDatabase;
import dev.closedloop.deploy.guard.CiEnvironment;
import dev.closedloop.deploy.guard.ReleaseLedger;
import dev.closedloop.deploy.guard.ReleaseLock;
import dev.closedloop.deploy.image.BuildRequest;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import dev.closedloop.deploy.rollout.RolloutSettings;
import dev.closedloop.deploy.secret.Redactor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A release's immutable configuration. Built with {@link Release#configure()}; every setting has
 * one name, the same as its {@code deploy.*} property in the Maven plugin.
 */
public record ReleaseConfig(
    ImageRef image,
    String sha,
    Path buildContext,
    Path dockerfile,
    Map<String, String> buildArgs,
    String buildTarget,
    Map<String, String> labels,
    String sourceUrl,
    List<String> tags,
    boolean forceBuild,
    String dockerHost,
    RegistryCredentials registryCredentials,
    Migrations migrations,
    EphemeralDatabase testDatabase,
    ProductionDatabase productionDatabase,
    boolean requireTls,
    List<String> promoteTags,
    AwsSettings aws,
    RolloutSettings rollout,
    Path reportFile,
    Guards guards,
    CiEnvironment ci,
    Redactor redactor,
    List<ReleaseListener> listeners,
    List<String> warnings,
    List<String> unresolved,
    dev.closedloop.deploy.hook.Hooks hooks,
    dev.closedloop.deploy.lint.LintSettings lint,
    dev.closedloop.deploy.CheckLevel driftCheck,
    List<String> driftIgnore,
    Compatibility compatibility) {

  /**
   * The backward-compatibility proof: the image production runs now, against the migrated
   * throwaway database, with {@code env} ({@code NAME=value}, the connection's placeholders
   * filled in). It is started as a service until {@code healthUrl} answers 2xx, or runs
   * {@code command} to its end, or both (the command while the service runs); each wait ends
   * after {@code timeout}. Either of {@code command} and {@code healthUrl} may be null, not both.
   */
  public record Compatibility(String command, List<String> env, java.net.URI healthUrl, Duration timeout) {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);

    public Compatibility {
      env = List.copyOf(env);
      timeout = timeout == null ? DEFAULT_TIMEOUT : timeout;
      if (command == null && healthUrl == null) {
        throw new IllegalArgumentException("a compatibility check needs a command or a health URL");
      }
    }

    /** What the check does, for progress lines and the plan. */
    public String describe() {
      return describe(command, healthUrl == null ? null : healthUrl.toString());
    }

    /** What a check of {@code command} and {@code healthUrl}, either null, does. */
    public static String describe(String command, String healthUrl) {
      String service = healthUrl == null ? null : "start it and wait for " + healthUrl + " to answer 2xx";
      String run = command == null ? null : "run '" + command + "'" + (service == null ? "" : " while it serves");
      return service == null ? run : run == null ? service : service + ", then " + run;
    }
  }

  /** How a release is kept to one branch and one at a time. */
  public record Guards(
      String branch,
      List<String> allowedBranches,
      boolean branchGuard,
      ReleaseLock.Mode lockMode,
      Duration lockTimeout,
      String lockName,
      String ledgerSchema,
      String ledgerTable,
      boolean failWhenSuperseded) {

    public Guards {
      allowedBranches = List.copyOf(allowedBranches);
    }
  }

  public ReleaseConfig {
    buildArgs = Map.copyOf(buildArgs);
    labels = Map.copyOf(labels);
    tags = List.copyOf(tags);
    promoteTags = List.copyOf(promoteTags);
    listeners = List.copyOf(listeners);
    warnings = List.copyOf(warnings);
    unresolved = unresolved == null ? List.of() : List.copyOf(unresolved);
    hooks = hooks == null ? new dev.closedloop.deploy.hook.Hooks() : hooks;
  }

  /** What a log or a debugger may show: no build argument's value, no credential, no URL with a password. */
  @Override
  public String toString() {
    return "ReleaseConfig[image=" + image + ", sha=" + sha + ", buildContext=" + buildContext + ", buildArgs="
        + buildArgs.keySet() + ", migrations=" + migrations + ", testDatabase="
        + (testDatabase != null ? testDatabase.describe() : null) + ", productionDatabase="
        + (productionDatabase != null ? productionDatabase.describe() : null) + ", promoteTags=" + promoteTags
        + ", rollout=" + rollout.kind().id() + (rollout.enabled() ? " " + rollout.service() : "")
        + ", guards=" + guards + ", registryCredentials=" + (registryCredentials != null ? "****" : null) + "]";
  }

  /** The build request this configuration describes. */
  public BuildRequest buildRequest() {
    Map<String, String> allLabels = new LinkedHashMap<>();
    if (sourceUrl != null && !sourceUrl.isBlank()) {
      allLabels.put("org.opencontainers.image.source", sourceUrl);
    }
    allLabels.putAll(labels);
    return new BuildRequest(image, sha, buildContext, dockerfile, buildArgs, buildTarget, allLabels, tags, forceBuild);
  }

  /** The ledger this configuration names. */
  public ReleaseLedger ledger() {
    return new ReleaseLedger(guards.ledgerSchema(), guards.ledgerTable());
  }

  /**
   * Checks that the settings {@code steps} need are set.
   *
   * @throws DeployException of kind CONFIGURATION naming every missing setting at once
   */
  void require(Step... steps) {
    List<String> missing = new ArrayList<>();
    for (Step step : steps) {
      switch (step) {
        case BUILD -> {
          if (image == null) {
            missing.add("image (deploy.image)");
          }
          if (sha == null) {
            missing.add("sha (deploy.sha; no CI variable or git repository gave one)");
          }
        }
        case TEST_MIGRATE -> {
          if (migrations == null) {
            missing.add("migrations (deploy.migrations)");
          } else if (migrations.runFromImage()) { // run from <image>:<sha>
            if (image == null) {
              missing.add("image (deploy.image)");
            }
            if (sha == null) {
              missing.add("sha (deploy.sha; no CI variable or git repository gave one)");
            }
          }
          if (testDatabase == null) {
            missing.add("testDatabase (deploy.testDatabaseUrl, or the embedded default)");
          }
        }
        case ROLLOUT -> {
          if (image == null) {
            missing.add("image (deploy.image)");
          }
        }
        case MIGRATE, PROMOTE, ROLLBACK -> { // all write the ledger, under the release lock, with the image's digest
          if (image == null) {
            missing.add("image (deploy.image)");
          }
          if (sha == null) {
            missing.add("sha (deploy.sha; no CI variable or git repository gave one)");
          }
          missing.addAll(ledgerMissing());
          if (step != Step.MIGRATE && promoteTags.isEmpty()) { // the first is the one releases go live by
            missing.add("promoteTags (deploy.promoteTags)");
          }
        }
        default -> { }
      }
    }
    missing = missing.stream().distinct().toList();
    if (!missing.isEmpty()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION,
          String.join(", ", missing) + (missing.size() == 1 ? " is" : " are") + " required by "
              + List.of(steps) + " but not set");
    }
  }

  /** What reading the ledger needs (deploy:history): production and the lock's name, nothing of a commit. */
  void requireLedger() {
    List<String> missing = ledgerMissing();
    if (!missing.isEmpty()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, String.join(", ", missing)
          + (missing.size() == 1 ? " is" : " are") + " required by [history] but not set");
    }
  }

  /** The ledger's settings not set: production, where it is kept, and the lock's name, whose rows it keeps. */
  private List<String> ledgerMissing() {
    List<String> missing = new ArrayList<>();
    if (productionDatabase == null) {
      missing.add("databaseUrl (deploy.databaseUrl, or the DATABASE_URL variable)");
    }
    if (guards.lockName() == null) {
      missing.add("lockName (deploy.lockName, or deploy.image to derive it from)");
    }
    return missing;
  }
}
