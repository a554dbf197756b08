package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.StepResult;
import dev.closedloop.deploy.guard.LedgerStatus;
import dev.closedloop.deploy.hook.HookPoint;
import dev.closedloop.deploy.internal.Events;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Runs stages of steps in order; the steps of one stage side by side, each on a thread of its
 * own. Times each step and emits its events, advances the ledger row after a step that moves
 * it, and reports an unexpected exception as the kind of the step that threw it. When a step
 * fails, the steps beside it are stopped, and no later stage runs.
 */
public final class StepRunner {

  /** Steps that run side by side; a stage of one step runs on the caller's thread. */
  public record Stage(List<ReleaseStep<?>> steps) {
    public Stage {
      steps = List.copyOf(steps);
    }

    public static Stage of(ReleaseStep<?>... steps) {
      return new Stage(List.of(steps));
    }
  }

  private final RunContext context;
  private final HookRunner hooks;

  public StepRunner(RunContext context) {
    this.context = context;
    this.hooks = new HookRunner(context);
  }

  /**
   * Runs the stages; stops early, without failing, when the release was superseded.
   *
   * @throws DeployException the first failure, after every step beside it has ended
   */
  public void run(List<Stage> stages) {
    try {
      for (Stage stage : stages) {
        for (ReleaseStep<?> step : stage.steps()) {
          step.preflight(context);
        }
      }
      for (Stage stage : stages) {
        if (context.superseded()) {
          break;
        }
        if (stage.steps().size() == 1) {
          runStep(stage.steps().get(0));
        } else {
          runSideBySide(stage.steps());
        }
      }
      context.heldSession().filter(session -> !session.superseded()
              && context.state().get(PromoteStep.PROMOTED).isPresent())
          .ifPresent(session -> {
            session.advance(LedgerStatus.SUCCEEDED, null);
            List<StepResult> done = context.state().results();
            hooks.run(HookPoint.POST_RELEASE, done.get(done.size() - 1).step(), "succeeded");
          });
    } catch (DeployException e) {
      context.heldSession().ifPresent(session -> session.fail(context.redactor().redact(e.getMessage())));
      hooks.run(HookPoint.ON_FAILURE, failedStep(stages), "failed");
      throw e;
    }
  }

  /** The step that failed (the first, when steps side by side did), else the run's first step. */
  private Step failedStep(List<Stage> stages) {
    return context.state().results().stream().filter(result -> result.status() == StepResult.Status.FAILED)
        .map(StepResult::step).findFirst().orElse(stages.get(0).steps().get(0).step());
  }

  /** The step's pre-hooks; those of a step that holds the lock run holding it, so the run enters production first. */
  private void before(ReleaseStep<?> step) {
    HookPoint point = step.hookBefore();
    if (point == null || context.config().hooks().at(point).isEmpty()) {
      return;
    }
    if (step.holdsLock() && context.lockProduction(step.step()).superseded()) {
      return;
    }
    hooks.run(point, step.step(), "starting");
  }

  private void after(ReleaseStep<?> step) {
    if (!context.superseded() && step.hookAfter() != null) {
      hooks.run(step.hookAfter(), step.step(), "succeeded");
    }
  }

  private <T> void runStep(ReleaseStep<T> step) {
    Events.StepTimer timer = context.events().start(step.step());
    T result;
    try {
      step.check(context);
      before(step);
      result = step.run(context);
      context.state().put(step.result(), result); // a failed step's value too: the partial result shows it
      DeployException failed = step.failure(result).orElse(null);
      if (failed != null) {
        throw failed;
      }
      if (step.ledgerStatus() != null && !context.superseded()) {
        context.heldSession().ifPresent(session -> session.advance(step.ledgerStatus(), null));
      }
      context.state().add(timer.finished(step.summarize(context.config(), result)));
    } catch (RuntimeException e) {
      if (context.stopped()) {
        // what it ended with may be its own failure, not only the stop's echo: keep it in view
        context.state().add(timer.stopped("stopped because a step beside it failed; it ended with: "
            + e.getMessage()));
        throw new Stopped(e);
      }
      DeployException failure = e instanceof DeployException deploy ? deploy
          : new DeployException(step.failureKind(), step.step() + " failed unexpectedly: " + e, e);
      context.state().add(timer.failed(failure.getMessage()));
      throw failure;
    }
    after(step);
  }

  private void runSideBySide(List<ReleaseStep<?>> steps) {
    ExecutorService threads = Executors.newFixedThreadPool(steps.size(), task -> {
      Thread thread = new Thread(task, "closedloop-step");
      thread.setDaemon(true);
      return thread;
    });
    try {
      ExecutorCompletionService<Void> running = new ExecutorCompletionService<>(threads);
      for (ReleaseStep<?> step : steps) {
        running.submit(() -> {
          Thread.currentThread().setName("closedloop-" + step.step());
          runStep(step);
          return null;
        });
      }
      DeployException first = null;
      List<Throwable> others = new ArrayList<>();
      for (int i = 0; i < steps.size(); i++) {
        Future<Void> done = take(running, steps);
        try {
          done.get(); // done already: never waits
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
          Throwable cause = e.getCause();
          if (cause instanceof Stopped) {
            continue;
          }
          if (first == null && cause instanceof DeployException failure) {
            first = failure;
            context.stop();
          } else {
            others.add(cause);
            context.stop();
          }
        }
      }
      if (first == null && !others.isEmpty()) {
        Throwable cause = others.remove(0);
        throw cause instanceof RuntimeException runtime ? runtime : new IllegalStateException(cause);
      }
      if (first != null) {
        others.forEach(first::addSuppressed);
        throw first;
      }
    } finally {
      threads.shutdownNow();
    }
  }

  private Future<Void> take(ExecutorCompletionService<Void> running, List<ReleaseStep<?>> steps) {
    try {
      return running.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      context.stop();
      throw new DeployException(steps.get(0).failureKind(), "Interrupted while " + steps.stream()
          .map(step -> step.step().id()).toList() + " were running", e);
    }
  }

  /** A step that ended because it was stopped: not a failure of its own. */
  private static final class Stopped extends RuntimeException {
    Stopped(Throwable cause) {
      super(cause.getMessage(), cause, false, false);
    }
  }
}
