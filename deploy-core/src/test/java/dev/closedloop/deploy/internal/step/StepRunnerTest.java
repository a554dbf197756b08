package dev.closedloop.deploy.internal.step;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.ReleaseEvent;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.StepResult;
import dev.closedloop.deploy.guard.CiEnvironment;
import dev.closedloop.deploy.internal.Events;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runner's contract, with steps written for the test: ordering, stopping, failure kinds. */
class StepRunnerTest {

  @TempDir Path dir;

  private final List<ReleaseEvent> events = new CopyOnWriteArrayList<>();
  private final List<String> journal = new CopyOnWriteArrayList<>();

  private RunContext context() {
    ReleaseConfig config = Release.configure().buildContext(dir).ciEnvironment(new CiEnvironment(Map.of(), dir))
        .load().config();
    return new RunContext(config, new Events(List.of(events::add)));
  }

  @Test
  void whenOneOfTwoSideBySideStepsFails_theOtherIsStopped_andNoLaterStageRuns() throws Exception {
    CountDownLatch bothRunning = new CountDownLatch(2);
    CountDownLatch stopped = new CountDownLatch(1);
    ReleaseStep<String> slow = step(Step.TEST_MIGRATE, DeployException.Kind.DATABASE, context -> {
      bothRunning.countDown();
      try (RunContext.Registration onStop = context.onStop(() -> {
        journal.add("test-migrate cleaned up");
        stopped.countDown();
      })) {
        await(stopped);
        throw new DeployException(DeployException.Kind.DATABASE, "connection closed under Flyway");
      }
    });
    ReleaseStep<String> failing = step(Step.BUILD, DeployException.Kind.DOCKER, context -> {
      bothRunning.countDown();
      await(bothRunning);
      throw new DeployException(DeployException.Kind.DOCKER, "docker build failed: no such file");
    });
    ReleaseStep<String> later = step(Step.MIGRATE, DeployException.Kind.DATABASE, context -> {
      journal.add("migrate ran");
      return "migrated";
    });

    try (RunContext context = context()) {
      assertThatThrownBy(() -> new StepRunner(context).run(List.of(StepRunner.Stage.of(failing, slow),
              StepRunner.Stage.of(later))))
          .isInstanceOfSatisfying(DeployException.class, e -> {
            assertThat(e.kind()).isEqualTo(DeployException.Kind.DOCKER);
            assertThat(e.getMessage()).isEqualTo("docker build failed: no such file");
            assertThat(e.getSuppressed()).isEmpty();
          });
      assertThat(journal).containsExactly("test-migrate cleaned up");
      assertThat(context.state().results()).extracting(StepResult::step, StepResult::status).containsExactlyInAnyOrder(
          org.assertj.core.groups.Tuple.tuple(Step.BUILD, StepResult.Status.FAILED),
          org.assertj.core.groups.Tuple.tuple(Step.TEST_MIGRATE, StepResult.Status.STOPPED));
    }
  }

  @Test
  void sideBySideSteps_runAtTheSameTime_andBothResultsAreKept() {
    CountDownLatch bothRunning = new CountDownLatch(2);
    Function<RunContext, String> meet = context -> {
      bothRunning.countDown();
      await(bothRunning); // deadlocks unless the two really run at once
      return "done";
    };
    try (RunContext context = context()) {
      new StepRunner(context).run(List.of(StepRunner.Stage.of(step(Step.BUILD, DeployException.Kind.DOCKER, meet),
          step(Step.TEST_MIGRATE, DeployException.Kind.DATABASE, meet))));

      assertThat(context.state().results()).extracting(StepResult::status).containsOnly(StepResult.Status.SUCCEEDED);
      assertThat(events).filteredOn(e -> e instanceof ReleaseEvent.StepFinished).hasSize(2);
    }
  }

  @Test
  void anUnexpectedException_isReportedAsTheKindOfTheStepThatThrewIt() {
    ReleaseStep<String> promote = step(Step.PROMOTE, DeployException.Kind.REGISTRY, context -> {
      throw new IllegalStateException("manifest vanished");
    });
    try (RunContext context = context()) {
      assertThatThrownBy(() -> new StepRunner(context).run(List.of(StepRunner.Stage.of(promote))))
          .isInstanceOfSatisfying(DeployException.class, e -> {
            assertThat(e.kind()).isEqualTo(DeployException.Kind.REGISTRY);
            assertThat(e.getMessage()).isEqualTo("promote failed unexpectedly: java.lang.IllegalStateException:"
                + " manifest vanished");
          });
      assertThat(events).last().isEqualTo(new ReleaseEvent.StepFailed(Step.PROMOTE,
          ((ReleaseEvent.StepFailed) events.get(events.size() - 1)).duration(),
          "promote failed unexpectedly: java.lang.IllegalStateException: manifest vanished"));
    }
  }

  @Test
  void theContext_closesWhatItOpened_newestFirst_alsoAfterAFailure() {
    RunContext context = context();
    try (context) {
      ownForTest(context, "registry");
      ownForTest(context, "docker");
      ownForTest(context, "session");
      throw new IllegalStateException("a step failed");
    } catch (IllegalStateException expected) {
      // closed on the way out
    }
    assertThat(journal).containsExactly("closed session", "closed docker", "closed registry");
  }

  @Test
  void onStop_registeredAfterTheStop_runsAtOnce() {
    try (RunContext context = context()) {
      context.stop();
      context.onStop(() -> journal.add("ran"));
      assertThat(journal).containsExactly("ran");
      assertThat(context.stopped()).isTrue();
    }
  }

  private void ownForTest(RunContext context, String name) {
    context.own((AutoCloseable) () -> journal.add("closed " + name));
  }

  private static void await(CountDownLatch latch) {
    try {
      if (!latch.await(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("timed out");
      }
    } catch (InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  private static ReleaseStep<String> step(Step id, DeployException.Kind kind, Function<RunContext, String> body) {
    return new ReleaseStep<>() {
      @Override
      public Step step() {
        return id;
      }

      private final RunState.Key<String> result = new RunState.Key<>(id + " for the test");

      @Override
      public RunState.Key<String> result() {
        return result;
      }

      @Override
      public DeployException.Kind failureKind() {
        return kind;
      }

      @Override
      public List<String> missingSettings(ReleaseConfig config) {
        return List.of();
      }

      @Override
      public String run(RunContext context) {
        return body.apply(context);
      }

      @Override
      public String summarize(ReleaseConfig config, String result) {
        return result;
      }

      @Override
      public String describe(ReleaseConfig config) {
        return id + " for the test";
      }
    };
  }

  @Test
  void aStepWhoseValueIsAFailure_hasItsValueStored_thenTheFailureThrown() {
    RunState.Key<String> key = new RunState.Key<>("rolled out");
    DeployException rolledBack = new DeployException(DeployException.Kind.ROLLOUT, "the deployment rolled back");
    ReleaseStep<String> rollout = new ReleaseStep<>() {
      @Override
      public Step step() {
        return Step.ROLLOUT;
      }

      @Override
      public RunState.Key<String> result() {
        return key;
      }

      @Override
      public DeployException.Kind failureKind() {
        return DeployException.Kind.ROLLOUT;
      }

      @Override
      public List<String> missingSettings(ReleaseConfig config) {
        return List.of();
      }

      @Override
      public String run(RunContext context) {
        return "ROLLBACK_SUCCEEDED";
      }

      @Override
      public java.util.Optional<DeployException> failure(String result) {
        return java.util.Optional.of(rolledBack);
      }

      @Override
      public String summarize(ReleaseConfig config, String result) {
        return result;
      }

      @Override
      public String describe(ReleaseConfig config) {
        return "roll out";
      }
    };

    try (RunContext context = context()) {
      assertThatThrownBy(() -> new StepRunner(context).run(List.of(StepRunner.Stage.of(rollout))))
          .isSameAs(rolledBack);
      assertThat(context.state().get(key)).contains("ROLLBACK_SUCCEEDED");
      assertThat(context.state().results()).extracting(StepResult::step, StepResult::status, StepResult::summary)
          .containsExactly(org.assertj.core.groups.Tuple.tuple(Step.ROLLOUT, StepResult.Status.FAILED,
              "the deployment rolled back"));
    }
  }
}
