package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.Compatibility;
import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.internal.Durations;
import dev.closedloop.deploy.internal.Loopback;
import dev.closedloop.deploy.internal.database.ImageMigrator;
import dev.closedloop.deploy.internal.image.ImageRunner;
import java.util.List;
import java.util.Optional;

/**
 * The backward-compatibility proof: during every rollout the image production runs now works on
 * the new schema for a while, and a platform rollback brings it back without the old schema. So
 * after test-migrate, that image (by the digest the first promote tag names) runs against the
 * migrated throwaway database: started as the service it is until its health URL answers 2xx, or
 * running the team's smoke command, or both; the release stops before production is touched when
 * it fails.
 */
final class CompatibilityCheck {

  private static final java.time.Duration REQUEST_TIMEOUT = java.time.Duration.ofSeconds(5);
  private static final java.time.Duration WAITING_LINE = java.time.Duration.ofSeconds(15);

  private CompatibilityCheck() { }

  /** The image production runs now, by digest; empty when no release is live yet. */
  static Optional<ImageRef> live(RunContext context) {
    ReleaseConfig config = context.config();
    ImageRef tag = config.buildRequest().repository().withTag(config.registry().promoteTags().get(0));
    return context.registry().digestOf(tag).map(digest -> config.buildRequest().repository().withDigest(digest));
  }

  /**
   * Runs the check against {@code migrated} when it is set.
   *
   * @throws DeployException of kind MIGRATION when the image fails: the new schema breaks the running image
   */
  static void run(RunContext context, DatabaseTarget migrated) {
    ReleaseConfig config = context.config();
    Compatibility check = config.testMigrate().compatibility();
    if (check == null) {
      return;
    }
    stopIfStopped(context);
    if (config.buildRequest().repository() == null || config.registry().promoteTags().isEmpty()) {
      context.events().warn("compatibility check skipped: it runs the image a promote tag names, and deploy.image"
          + " or deploy.promoteTags is not set");
      return;
    }
    ImageRef tag = config.buildRequest().repository().withTag(config.registry().promoteTags().get(0));
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
    if (check.healthUrl() != null && !local(engine)) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "deploy.compatibilityHealthUrl is asked from"
          + " this machine, and the Docker engine at " + context.docker().host() + ", whose host network the image"
          + " serves on, is not on it: use a local engine, or deploy.compatibilityCommand");
    }
    ImageRunner runner = new ImageRunner(context.docker(), live.get(), context::registryCredentials);
    context.events().progress(Step.TEST_MIGRATE, "compatibility check: " + check.describe() + " from "
        + live.get() + " (what " + tag + " names) against the migrated throwaway database");
    for (String orphan : runner.removeOrphans("compatibility")) {
      context.events().progress(Step.TEST_MIGRATE, "compatibility check: removed container " + orphan + ", left by"
          + " a release that was killed");
    }
    List<String> env = ImageMigrator.fill(check.env(), migrated, context.events());
    String database = migrated.host() + ":" + migrated.port() + "/" + migrated.database();
    // a step failing beside this one ends the check now, not after its timeout
    try (RunContext.Registration stopping = context.onStop(() -> runner.stop("compatibility", database))) {
      if (check.healthUrl() == null) {
        command(context, check, runner, database, env);
      } else {
        runner.pull(); // first: what answers at the URL from now on is the image
        refuseAnswered(check.healthUrl());
        try (ImageRunner.Service service = runner.start("compatibility", database, env)) {
          awaitHealthy(context, check, service, live.get());
          if (check.command() != null) {
            command(context, check, runner, database, env);
          }
        }
      }
    }
    context.events().progress(Step.TEST_MIGRATE, "compatibility check: " + live.get() + " works on the migrated"
        + " schema (" + (check.healthUrl() == null ? "" : check.healthUrl() + " answered 2xx")
        + (check.healthUrl() != null && check.command() != null ? ", " : "")
        + (check.command() == null ? "" : "'" + check.command() + "' exited with 0") + ")");
  }

  /** Runs the smoke command from the image to its end, within the timeout. */
  private static void command(RunContext context, Compatibility check, ImageRunner runner,
      String database, List<String> env) {
    java.util.concurrent.CompletableFuture<Long> running = java.util.concurrent.CompletableFuture.supplyAsync(
        () -> runner.run("compatibility", database, ImageRunner.argv(check.command()), env,
            line -> context.events().progress(Step.TEST_MIGRATE, "  " + line)), task -> {
          Thread thread = new Thread(task, "closedloop-compatibility-check");
          thread.setDaemon(true);
          thread.start();
        });
    long code;
    long deadline = System.nanoTime() + check.timeout().toNanos();
    try {
      while (true) { // a step failing beside this one ends it, also one that failed before it started
        try {
          code = running.get(Math.min(500_000_000L, Math.max(1, deadline - System.nanoTime())),
              java.util.concurrent.TimeUnit.NANOSECONDS);
          break;
        } catch (java.util.concurrent.TimeoutException e) {
          if (context.stopped()) {
            runner.stop("compatibility", database);
            stopIfStopped(context);
          }
          if (System.nanoTime() - deadline >= 0) {
            throw e;
          }
        }
      }
    } catch (java.util.concurrent.TimeoutException | InterruptedException e) {
      runner.stop("compatibility", database);
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new DeployException(DeployException.Kind.MIGRATION, "'" + check.command() + "' from "
          + runner.image() + (e instanceof InterruptedException ? " was stopped" : " did not end within "
          + Durations.format(check.timeout()) + " (deploy.compatibilityTimeout) and was stopped") + ": the"
          + " compatibility command is one that ends (a smoke test); to check a service, set"
          + " deploy.compatibilityHealthUrl. Production was not touched", e);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new DeployException(DeployException.Kind.DOCKER, "The compatibility check failed: " + e.getCause(), e);
    }
    if (code != 0) {
      stopIfStopped(context);
      throw refused(runner.image(), "'" + check.command() + "' exited with " + code + "; its output is in the log"
          + " above");
    }
  }

  /**
   * Waits until the service answers 2xx at its health URL; refuses when it stops first, or does
   * not within the timeout.
   */
  private static void awaitHealthy(RunContext context, Compatibility check, ImageRunner.Service service,
      ImageRef live) {
    java.net.URI url = check.healthUrl();
    java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().connectTimeout(REQUEST_TIMEOUT)
        .version(java.net.http.HttpClient.Version.HTTP_1_1).build(); // as a platform's health check asks
    long started = System.nanoTime();
    long lastLine = started;
    String last = "nothing answered yet";
    while (true) {
      stopIfStopped(context);
      Optional<dev.closedloop.deploy.internal.image.Containers.State> state = service.state();
      if (state.isEmpty() || !state.get().running()) {
        stopIfStopped(context);
        String code = state.map(s -> String.valueOf(s.exitCode())).orElse("unknown (the container is gone)");
        showLog(context, service, "exited with code " + code);
        throw refused(live, "stopped before " + url + " answered 2xx: it exited with code " + code + "; its last"
            + " lines are in the log above");
      }
      try {
        java.net.http.HttpResponse<Void> response = http.send(java.net.http.HttpRequest.newBuilder(url)
            .timeout(REQUEST_TIMEOUT).GET().build(), java.net.http.HttpResponse.BodyHandlers.discarding());
        // the answer is the image's only while it runs: one that could not listen may not have exited
        // yet, so a second answer a second later, from a container still running, is what counts
        if (response.statusCode() / 100 == 2 && confirmed(http, url, service)) {
          return;
        }
        last = url + " answered " + response.statusCode();
      } catch (java.io.IOException e) {
        last = url + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new DeployException(DeployException.Kind.MIGRATION, "Interrupted while waiting for " + url
            + "; the compatibility check's container was removed. Production was not touched", e);
      }
      long now = System.nanoTime();
      if (now - started > check.timeout().toNanos()) {
        showLog(context, service, "was not healthy");
        throw refused(live, "did not answer 2xx at " + url + " within " + Durations.format(check.timeout())
            + " (deploy.compatibilityTimeout); last: " + last + "; its last lines are in the log above");
      }
      if (now - lastLine > WAITING_LINE.toNanos()) {
        lastLine = now;
        context.events().progress(Step.TEST_MIGRATE, "compatibility check: waiting for " + url + " ("
            + Durations.format(java.time.Duration.ofNanos(now - started)) + "; " + last + ")");
      }
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new DeployException(DeployException.Kind.MIGRATION, "Interrupted while waiting for " + url
            + "; the compatibility check's container was removed. Production was not touched", e);
      }
    }
  }

  private static boolean confirmed(java.net.http.HttpClient http, java.net.URI url, ImageRunner.Service service)
      throws java.io.IOException, InterruptedException {
    Thread.sleep(1000);
    java.net.http.HttpResponse<Void> again = http.send(java.net.http.HttpRequest.newBuilder(url)
        .timeout(REQUEST_TIMEOUT).GET().build(), java.net.http.HttpResponse.BodyHandlers.discarding());
    return again.statusCode() / 100 == 2 && service.state().map(s -> s.running()).orElse(false);
  }

  /** What the service printed last goes to the log, masked; never into the error or the ledger. */
  private static void showLog(RunContext context, ImageRunner.Service service, String what) {
    String log = service.logTail(20);
    if (!log.isEmpty()) {
      context.events().warn(service.name() + " " + what + "; its last lines:\n" + log);
    }
  }

  /**
   * Something already answering at the health URL would pass the check in the image's place: the
   * service runs on the engine's host network, where it cannot listen on a port that is taken.
   */
  private static void refuseAnswered(java.net.URI url) {
    int port = url.getPort() != -1 ? url.getPort() : "https".equals(url.getScheme()) ? 443 : 80;
    try (java.net.Socket socket = new java.net.Socket()) {
      socket.connect(new java.net.InetSocketAddress(url.getHost(), port), 1000);
    } catch (java.io.IOException e) {
      return; // nothing listens there: what answers later is the image
    }
    throw new DeployException(DeployException.Kind.CONFIGURATION, "Something already listens at " + url.getHost()
        + ":" + port + " before the compatibility check starts the image, so " + url + " would answer for it, not"
        + " for the image. Stop it, or have the image listen on a free port (e.g. deploy.compatibilityEnv=PORT=18081,"
        + " if the service reads PORT) and point deploy.compatibilityHealthUrl there");
  }

  private static void stopIfStopped(RunContext context) {
    if (context.stopped()) {
      throw new DeployException(DeployException.Kind.MIGRATION, "The compatibility check was stopped: a step beside"
          + " it failed");
    }
  }

  /** An engine on this machine: its host network is this machine's. */
  private static boolean local(java.net.URI engine) {
    String scheme = engine.getScheme() == null ? "unix" : engine.getScheme();
    return scheme.equals("unix") || scheme.equals("npipe")
        || (scheme.startsWith("tcp") || scheme.startsWith("http")) && Loopback.isLoopback(engine.getHost());
  }

  private static DeployException refused(ImageRef live, String what) {
    return new DeployException(DeployException.Kind.MIGRATION, "The image production runs now (" + live + ") fails"
        + " on the migrated schema: " + what + ". Production was not touched. During the rollout, and after a"
        + " rollback, that image runs on this schema: make the migration backward compatible (stop using what it"
        + " removes in one release, remove it in a later one)");
  }
}
