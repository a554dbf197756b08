package dev.closedloop.deploy;

import dev.closedloop.deploy.aws.AwsSettings;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.database.ProductionDatabase;
import dev.closedloop.deploy.guard.CiEnvironment;
import dev.closedloop.deploy.guard.ReleaseLedger;
import dev.closedloop.deploy.hook.Hooks;
import dev.closedloop.deploy.image.BuildRequest;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import dev.closedloop.deploy.lint.LintSettings;
import dev.closedloop.deploy.rollout.RolloutSettings;
import dev.closedloop.deploy.secret.Redactor;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A release's immutable configuration, by group: what to build, what test-migrate proves, production
 * and its guards, the registry side, the rollout and the hooks, plus what holds for the whole run.
 * Built with {@link Release#configure()}; every setting has one name, the same as its
 * {@code deploy.*} property in the Maven plugin.
 *
 * @param buildRequest the image to build: its repository and sha are null when not set
 * @param unresolved for a plan, the settings whose secrets could not be resolved here
 * @param reportFile where each run writes release.json; null for nowhere
 */
public record ReleaseConfig(
    BuildRequest buildRequest,
    TestMigrateSettings testMigrate,
    ProductionSettings production,
    RegistrySettings registry,
    RolloutSettings rollout,
    Hooks hooks,
    CiEnvironment ci,
    Redactor redactor,
    List<ReleaseListener> listeners,
    List<String> warnings,
    List<String> unresolved,
    Path reportFile) {

  public ReleaseConfig {
    listeners = List.copyOf(listeners);
    warnings = List.copyOf(warnings);
    unresolved = unresolved == null ? List.of() : List.copyOf(unresolved);
    hooks = hooks == null ? new Hooks() : hooks;
  }

  /** What a log or a debugger may show: no build argument's value, no credential, no URL with a password. */
  @Override
  public String toString() {
    return "ReleaseConfig[image=" + image() + ", sha=" + sha() + ", buildContext=" + buildContext() + ", buildArgs="
        + buildArgs().keySet() + ", migrations=" + migrations() + ", testDatabase="
        + (testDatabase() != null ? testDatabase().describe() : null) + ", productionDatabase="
        + (productionDatabase() != null ? productionDatabase().describe() : null) + ", promoteTags=" + promoteTags()
        + ", rollout=" + rollout.kind().id() + (rollout.enabled() ? " " + rollout.service() : "")
        + ", guards=" + guards() + ", registryCredentials=" + (registryCredentials() != null ? "****" : null) + "]";
  }

  // Delegates kept while callers move to the groups.

  public ImageRef image() {
    return buildRequest.repository();
  }

  public String sha() {
    return buildRequest.sha();
  }

  public Path buildContext() {
    return buildRequest.context();
  }

  public Path dockerfile() {
    return buildRequest.dockerfile();
  }

  public Map<String, String> buildArgs() {
    return buildRequest.buildArgs();
  }

  public String buildTarget() {
    return buildRequest.target();
  }

  public List<String> tags() {
    return buildRequest.extraTags();
  }

  public boolean forceBuild() {
    return buildRequest.force();
  }

  public Migrations migrations() {
    return testMigrate.migrations();
  }

  public EphemeralDatabase testDatabase() {
    return testMigrate.testDatabase();
  }

  public CheckLevel driftCheck() {
    return testMigrate.driftCheck();
  }

  public List<String> driftIgnore() {
    return testMigrate.driftIgnore();
  }

  public Compatibility compatibility() {
    return testMigrate.compatibility();
  }

  public LintSettings lint() {
    return testMigrate.lint();
  }

  public ProductionDatabase productionDatabase() {
    return production.database();
  }

  public boolean requireTls() {
    return production.requireTls();
  }

  public Guards guards() {
    return production.guards();
  }

  public ReleaseLedger ledger() {
    return production.ledger();
  }

  public String dockerHost() {
    return registry.dockerHost();
  }

  public RegistryCredentials registryCredentials() {
    return registry.registryCredentials();
  }

  public List<String> promoteTags() {
    return registry.promoteTags();
  }

  public AwsSettings aws() {
    return registry.aws();
  }
}
