package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.guard.LedgerStatus;
import dev.closedloop.deploy.hook.HookPoint;
import java.util.List;
import java.util.Optional;

/**
 * One step of a release, and its whole contract: the settings it needs, what it produces (under
 * its {@link #result()} key, where the {@link StepRunner} stores what {@link #run} returns), its
 * hook points, the ledger status it moves the run's row to, and what it would do, said without
 * doing anything. Adding a step is one class like this and one line where a goal lists its steps.
 *
 * @param <T> what the step produces
 */
public interface ReleaseStep<T> {

  /** Which step this is, in events and results. */
  Step step();

  /** Where the runner keeps what {@link #run} returned, for the steps after it and the result. */
  RunState.Key<T> result();

  /** The kind an unexpected exception of this step is reported as. */
  DeployException.Kind failureKind();

  /**
   * The settings this step needs and {@code config} lacks, each as {@code name (deploy.name)}; the
   * run refuses before any step starts, naming every one of every step at once.
   */
  List<String> missingSettings(ReleaseConfig config);

  /**
   * Does the step's work and returns what it produced; it reads what earlier steps produced from
   * {@code context.state()} and never writes there. Returns null only when the run was superseded
   * while this step waited, so there was nothing for it to do.
   */
  T run(RunContext context);

  /**
   * The failure a produced value stands for (a rollout that rolled back), thrown by the runner once
   * the value is stored, so that a failed run's partial result still has it; empty for success.
   */
  default Optional<DeployException> failure(T result) {
    return Optional.empty();
  }

  /** One line on what {@link #run} did, for the step's end event and the summary. */
  String summarize(ReleaseConfig config, T result);

  /**
   * What the step would do, without touching anything: no image built, no database started,
   * no connection made. The dry-run plan prints these lines.
   */
  String describe(ReleaseConfig config);

  /**
   * Checks, before the first step of the run starts, what this step will need and cannot get back
   * once the run changed something (a rollout target that does not exist, say).
   */
  default void preflight(RunContext context) { }

  /**
   * Refuses, once the steps before it ran and before its pre-hooks run or its lock is taken, what
   * those steps found that it must not act on.
   */
  default void check(RunContext context) { }

  /** The hook point that runs right before this step; null for none. */
  default HookPoint hookBefore() {
    return null;
  }

  /** The hook point that runs once this step succeeded; null for none. */
  default HookPoint hookAfter() {
    return null;
  }

  /**
   * True when the step works holding the release lock: its {@link #hookBefore} hooks then run
   * holding it too, so the run enters production before them.
   */
  default boolean holdsLock() {
    return false;
  }

  /** The status this run's ledger row moves to once the step succeeded; null for none. */
  default LedgerStatus ledgerStatus() {
    return null;
  }
}
