package dev.closedloop.deploy.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;

/**
 * One step of a release. It runs with what the {@link RunContext} holds, leaves its result
 * there for the steps after it, and can say what it would do without doing anything.
 *
 * @param <T> what the step produces
 */
public interface ReleaseStep<T> {

  /** Which step this is, in events and results. */
  Step step();

  /** The kind an unexpected exception of this step is reported as. */
  DeployException.Kind failureKind();

  /**
   * Does the step's work. Returns null only when the run was superseded while this step
   * waited, so there was nothing for it to do.
   */
  T run(RunContext context);

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

  /** The status this run's ledger row moves to once the step succeeded; null for none. */
  default String ledgerStatus() {
    return null;
  }
}
