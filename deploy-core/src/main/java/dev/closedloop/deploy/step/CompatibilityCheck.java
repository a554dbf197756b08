package dev.closedloop.deploy.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Loopback;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.ImageRunner;
import java.util.List;
import java.util.Optional;

/**
 * The backward-compatibility proof: during every rollout the image production runs now works on
 * the new schema for a while, and a platform rollback brings it back without the old schema. So
 * after test-migrate, that image (by the digest the first promote tag names) runs the team's
 * smoke command against the migrated throwaway database, and the release stops before
 * production is touched when it fails.
 */
final class CompatibilityCheck {

  /** How long the command may run: a smoke test, not a service (one that starts a server never ends). */
  static final java.time.Duration TIMEOUT = java.time.Duration.ofMinutes(10);

  private CompatibilityCheck() { }

  /** The image production runs now, by digest; empty when no release is live yet. */
  static Optional<ImageRef> live(RunContext context) {
    ReleaseConfig config = context.config();
    ImageRef tag = config.image().withTag(config.promoteTags().get(0));
    return context.registry().digestOf(tag).map(digest -> config.image().withDigest(digest));
  }

  /**
   * Runs the check against {@code migrated} when it is set.
   *
   * @throws DeployException of kind MIGRATION when the command fails: the new schema breaks the running image
   */
  static void run(RunContext context, DatabaseTarget migrated) {
    ReleaseConfig config = context.config();
    ReleaseConfig.Compatibility check = config.compatibility();
    if (check == null) {
      return;
    }
    if (config.image() == null || config.promoteTags().isEmpty()) {
      context.events().warn("compatibility check skipped: it runs the image a promote tag names, and deploy.image"
          + " or deploy.promoteTags is not set");
      return;
    }
    ImageRef tag = config.image().withTag(config.promoteTags().get(0));
    Optional<ImageRef> live = live(context);
    if (live.isEmpty()) {
      context.events().progress(Step.TEST_MIGRATE, "compatibility check: " + tag + " does not exist yet, so no"
          + " image runs in production to check");
      return;
    }
    java.net.URI engine = java.net.URI.create(context.docker().host());
    if (engine.getScheme() != null && engine.getScheme().startsWith("tcp") && !Loopback.isLoopback(engine.getHost())
        && Loopback.isLoopback(migrated.host())) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "The compatibility check runs the image with"
          + " the Docker engine's host network, and the engine at " + context.docker().host() + " is not on this"
          + " machine: it cannot reach the throwaway database here. Use a local engine, or point"
          + " deploy.testDatabaseUrl at a server the engine reaches");
    }
    ImageRunner runner = new ImageRunner(context.docker(), live.get(), context::registryCredentials);
    context.events().progress(Step.TEST_MIGRATE, "compatibility check: running '" + check.command() + "' from "
        + live.get() + " (what " + tag + " names) against the migrated throwaway database");
    List<String> env = Migrations.fillConnection(check.env(), migrated, context.events());
    String database = migrated.host() + ":" + migrated.port() + "/" + migrated.database();
    java.util.concurrent.CompletableFuture<Long> running = java.util.concurrent.CompletableFuture.supplyAsync(
        () -> runner.run("compatibility", database, ImageRunner.argv(check.command()), env,
            line -> context.events().progress(Step.TEST_MIGRATE, "  " + line)), task -> {
          Thread thread = new Thread(task, "closedloop-compatibility-check");
          thread.setDaemon(true);
          thread.start();
        });
    long code;
    try {
      code = running.get(TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException | InterruptedException e) {
      runner.stop("compatibility", database);
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new DeployException(DeployException.Kind.MIGRATION, "'" + check.command() + "' from " + live.get()
          + (e instanceof InterruptedException ? " was stopped" : " did not end within " + TIMEOUT.toMinutes()
              + " minutes and was stopped") + ": the compatibility check takes a command that ends (a smoke test),"
          + " not a service. Production was not touched", e);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new DeployException(DeployException.Kind.DOCKER, "The compatibility check failed: " + e.getCause(), e);
    }
    if (code != 0) {
      throw new DeployException(DeployException.Kind.MIGRATION, "The image production runs now (" + live.get()
          + ") fails on the migrated schema: '" + check.command() + "' exited with " + code + "; its output is in the"
          + " log above. Production was not touched. During the rollout, and after a rollback, that image runs on"
          + " this schema: make the migration backward compatible (stop using what it removes in one release, remove"
          + " it in a later one)");
    }
    context.events().progress(Step.TEST_MIGRATE, "compatibility check: " + live.get() + " works on the migrated"
        + " schema ('" + check.command() + "' exited with 0)");
  }
}
