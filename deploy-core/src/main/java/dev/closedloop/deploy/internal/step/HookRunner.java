package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.guard.LedgerKind;
import dev.closedloop.deploy.hook.Hook;
import dev.closedloop.deploy.hook.HookPoint;
import dev.closedloop.deploy.hook.HookRun;
import dev.closedloop.deploy.internal.Durations;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs the hooks of one point for a step, while the run still holds whatever it holds (the
 * release lock included), and records each in the run's result and its ledger row. A failing
 * pre-hook stops the run; any other hook's failure is warned about and recorded, and what
 * succeeded stays.
 */
final class HookRunner {

  private final RunContext context;

  HookRunner(RunContext context) {
    this.context = context;
  }

  /**
   * @param status what {@code DEPLOY_STATUS} says: {@code starting}, {@code succeeded} or {@code failed}
   * @throws DeployException of kind HOOK when a pre-hook failed
   */
  void run(HookPoint point, Step step, String status) {
    ReleaseConfig config = context.config();
    List<Hook> hooks = config.hooks().at(point);
    for (Hook hook : hooks) {
      String what = context.redactor().redact(hook.describe());
      context.events().progress(step, point + " hook: " + what);
      long start = System.nanoTime();
      String error = null;
      try {
        runWithin(hook, environment(point, step, status), line -> context.events().progress(step, "[" + point + "] "
            + line), config.hooks().timeout());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        error = "interrupted";
      } catch (Exception e) {
        error = e instanceof DeployException ? e.getMessage() : String.valueOf(e.getMessage() != null ? e.getMessage()
            : e);
      }
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      error = error == null ? null : context.redactor().redact(error);
      HookRun run = new HookRun(point, what, step.id(), took, error);
      context.state().add(run);
      record(run);
      if (error == null) {
        context.events().progress(step, point + " hook succeeded in " + Durations.format(took));
      } else if (point.stopsOnFailure()) {
        throw new DeployException(DeployException.Kind.HOOK, "The " + point + " hook failed, so " + step
            + " did not run: " + error);
      } else {
        context.events().warn("The " + point + " hook failed (what succeeded stays as it is): " + error);
      }
    }
  }

  /**
   * Runs {@code hook} on a thread of its own and waits a little longer than {@code timeout} (a
   * command hook kills itself at {@code timeout}); a library hook that is still busy then is
   * interrupted and counts as failed, so no hook holds the release lock for ever.
   */
  private static void runWithin(Hook hook, Map<String, String> env, java.util.function.Consumer<String> output,
      Duration timeout) throws Exception {
    java.util.concurrent.FutureTask<Void> task = new java.util.concurrent.FutureTask<>(() -> {
      hook.run(env, output);
      return null;
    });
    Thread thread = new Thread(task, "closedloop-hook");
    thread.setDaemon(true);
    thread.start();
    try {
      task.get(timeout.plusSeconds(10).toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      task.cancel(true);
      throw new DeployException(DeployException.Kind.HOOK, "the hook '" + hook.describe() + "' did not end within "
          + Durations.format(timeout) + " (deploy.hookTimeout)");
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof InterruptedException) { // the hook's own: it must not interrupt the release
        throw new DeployException(DeployException.Kind.HOOK, "the hook '" + hook.describe() + "' was interrupted");
      }
      throw e.getCause() instanceof Exception cause ? cause : new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      task.cancel(true);
      throw e;
    }
  }

  /** Into the ledger row, when the run has one; a ledger out of reach is warned about, never fatal. */
  private void record(HookRun run) {
    context.heldSession().ifPresent(session -> {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("hook", run.point().id());
      row.put("command", run.hook());
      row.put("step", run.step());
      row.put("durationMillis", run.duration().toMillis());
      row.put("error", run.error());
      try {
        session.recordHook(row);
      } catch (DeployException e) {
        context.events().warn("could not record the " + run.point() + " hook in the ledger: " + e.getMessage());
      }
    });
  }

  /** The variables a hook gets; never a secret. */
  private Map<String, String> environment(HookPoint point, Step step, String status) {
    ReleaseConfig config = context.config();
    Map<String, String> env = new LinkedHashMap<>();
    env.put("DEPLOY_HOOK", point.id());
    env.put("DEPLOY_KIND", context.kind().id());
    // the commit whose image this run puts live: a rollback's target, not the checkout it runs from
    env.put("DEPLOY_SHA", context.kind() == LedgerKind.ROLLBACK ? context.knownImage().flatMap(image -> image.image().tagValue())
        .orElse("") : nonNull(config.buildRequest().sha()));
    env.put("DEPLOY_DIGEST", context.knownImage().map(image -> image.digest()).orElse(""));
    env.put("DEPLOY_BRANCH", context.triedSession().map(session -> session.guards().branch())
        .or(() -> java.util.Optional.ofNullable(config.production().guards().branch()))
        .orElseGet(() -> nonNull(config.ci().branch().name())));
    env.put("DEPLOY_STEP", step.id());
    env.put("DEPLOY_STATUS", status);
    env.put("DEPLOY_RUN_URL", config.ci().runUrl().orElse(""));
    env.put("DEPLOY_LEDGER_ID", context.triedSession().flatMap(ProductionSession::ledgerRow).map(String::valueOf)
        .orElse(""));
    return env;
  }

  private static String nonNull(String value) {
    return value == null ? "" : value;
  }
}
