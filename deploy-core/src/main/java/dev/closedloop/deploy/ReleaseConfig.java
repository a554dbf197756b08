package dev.closedloop.deploy;

import dev.closedloop.deploy.guard.CiEnvironment;
import dev.closedloop.deploy.hook.Hooks;
import dev.closedloop.deploy.image.BuildRequest;
import dev.closedloop.deploy.rollout.RolloutSettings;
import dev.closedloop.deploy.secret.Redactor;
import java.nio.file.Path;
import java.util.List;

/**
 * A release's immutable configuration, by group: what to build, what test-migrate proves, production
 * and its guards, the registry side, the rollout and the hooks, plus what holds for the whole run.
 * Built with {@link Release#configure()}; every setting has one name, the same as its
 * {@code deploy.*} property in the Maven plugin.
 *
 * @param buildRequest the image to build: its repository and sha are null when not set
 * @param redactor masks the secrets resolved while loading; a run masks those and the ones it adds
 *     later (ECR's push token) with its own, {@link Release#redactor()}
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
    hooks = hooks == null ? Hooks.none() : hooks;
    redactor = redactor == null ? Redactor.none() : redactor;
  }

  /**
   * The same release at commit {@code sha}, which it does not build (a promotion of what another
   * environment runs): working-tree changes no longer name its image.
   */
  ReleaseConfig atCommit(String sha) {
    BuildRequest b = buildRequest;
    return new ReleaseConfig(new BuildRequest(b.repository(), sha, b.context(), b.dockerfile(), b.buildArgs(),
        b.target(), b.labels(), b.extraTags(), b.force(), null, b.secrets(), b.platforms()), testMigrate, production,
        registry, rollout, hooks, ci, redactor, listeners, warnings, unresolved, reportFile);
  }

  /** What a log or a debugger may show: no build argument's value, no credential, no URL with a password. */
  @Override
  public String toString() {
    return "ReleaseConfig[image=" + buildRequest.repository() + ", sha=" + buildRequest.sha() + ", buildContext="
        + buildRequest.context() + ", buildArgs=" + buildRequest.buildArgs().keySet() + ", migrations="
        + testMigrate.migrations() + ", testDatabase=" + (testMigrate.testDatabase() != null
        ? testMigrate.testDatabase().describe() : null) + ", productionDatabase=" + (production.database() != null
        ? production.database().describe() : null) + ", promoteTags=" + registry.promoteTags() + ", rollout="
        + rollout.kind().id() + (rollout.enabled() ? " " + rollout.service() : "") + ", guards=" + production.guards()
        + ", registryCredentials=" + (registry.registryCredentials() != null ? "****" : null) + "]";  }
}
