package dev.closedloop.deploy.rollout;

import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.TagMove;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * A place the promoted image goes live: App Runner, ECS, ECS Express or a local container. The
 * rollout step checks it before anything changes, starts (or finds) the deployment after the
 * promote, and observes it until it ends; what to do about the tags is the step's business.
 */
public interface Rollout extends AutoCloseable {

  /** What it deploys to, for messages: "App Runner service arn:…". */
  String target();

  /**
   * Checks, before anything is migrated or promoted, that the target exists, is reachable with
   * these credentials and deploys this image, so a typo fails the release while nothing changed.
   *
   * @return one line on what was found
   * @throws dev.closedloop.deploy.DeployException naming the setting or the resource
   */
  String check();

  /**
   * Called just before the promote tags move: by a promote or a rollback, and before they move
   * back after a failed deployment. A target that deploys on a tag move notes here what it
   * already had, so that {@link #start} and {@link #reverted} can tell the deployment the move
   * started from those before it, without trusting anyone's clock.
   *
   * @throws dev.closedloop.deploy.DeployException when the target cannot be read: the tags do not move
   */
  default void beforeTagMove() { }

  /**
   * Starts the deployment of {@code request.image()}, or finds the one the tag move started;
   * any wait stays within {@code request.deadline()}.
   *
   * @throws dev.closedloop.deploy.DeployException when the target refused it
   */
  Deployment start(Request request);

  /**
   * The promote tags moved back to {@code request.image()} after a deployment that failed or
   * rolled back. A target that deploys on a tag move started a deployment of it: that one is
   * returned, followed to its end and recorded. Empty for a target the tags do not drive.
   */
  default java.util.Optional<Deployment> reverted(Request request) {
    return java.util.Optional.empty();
  }

  /** The deployment's state now; an SDK or engine failure is thrown and retried by the caller. */
  Observation observe(Deployment deployment);

  /**
   * Called once the deployment ended (also when it timed out), before the tags are repaired:
   * a local rollout removes the container that lost.
   */
  default void end(Deployment deployment, Outcome outcome) { }

  /** How a deployment that did not end within {@code deploy.rolloutTimeout} counts. */
  default Outcome onTimeout() {
    return Outcome.TIMED_OUT;
  }

  /** How long to wait before observation number {@code attempt} (from 1). */
  default Duration pollInterval(int attempt) {
    return Duration.ofMillis(Math.min(10_000, (long) (1000 * Math.pow(1.5, Math.max(0, attempt - 1)))));
  }

  @Override
  default void close() { }

  /**
   * What to deploy.
   *
   * @param image the promoted image by digest ({@code repo@sha256:…})
   * @param promoteStarted when the first tag began to move: a deployment the move started began after it
   * @param moves the promote step's tag moves
   * @param deadline when the rollout must have ended ({@code deploy.rolloutTimeout} after it began)
   */
  record Request(ImageRef image, Instant promoteStarted, List<TagMove> moves, Instant deadline) {
    public Request {
      moves = List.copyOf(moves);
    }

    /** True when {@code tag} moved in this run (a tag already there starts no auto-deploy). */
    public boolean moved(String tag) {
      return moves.stream().anyMatch(move -> move.tag().equals(tag) && move.moved());
    }
  }

  /** A deployment being followed; {@code id} is what the ledger records (operation, deployment, container). */
  record Deployment(String id, String description) { }

  /**
   * Where a deployment is. SUPERSEDED: another deployment, not ours and not a rollback, took its
   * place (someone else's UpdateService): the release did not fail there, and its tags stay.
   */
  enum State { IN_PROGRESS, SUCCEEDED, ROLLED_BACK, FAILED, SUPERSEDED }

  /**
   * One look at a deployment.
   *
   * @param status the target's own word for it (IN_PROGRESS, ROLLBACK_SUCCEEDED…), printed when it changes
   * @param detail more on it, or null
   * @param restored after a rollback, the image the target went back to when it can tell (ECS: the image of the
   *     task definition it rolled back to), by digest or tag; null when it cannot
   */
  record Observation(State state, String status, String detail, ImageRef restored) {
    public Observation(State state, String status, String detail) {
      this(state, status, detail, null);
    }

    public String line() {
      return detail == null || detail.isBlank() ? status : status + " (" + detail + ")";
    }
  }

  /** How a rollout ended. */
  enum Outcome {
    SUCCEEDED("succeeded"), ROLLED_BACK("rolled_back"), FAILED("failed"), TIMED_OUT("timed_out"),
    /** Another deployment took the place of ours: neither a failure of this release nor a success. */
    SUPERSEDED("superseded");

    private final String id;

    Outcome(String id) {
      this.id = id;
    }

    /** As the ledger's {@code rollout_outcome} records it. */
    public String id() {
      return id;
    }

    /**
     * The outcome a {@code rollout_outcome} column holds; null for null (no rollout, or not ended).
     *
     * @throws IllegalArgumentException for a value no outcome has
     */
    public static Outcome of(String id) {
      if (id == null) {
        return null;
      }
      for (Outcome outcome : values()) {
        if (outcome.id.equals(id)) {
          return outcome;
        }
      }
      throw new IllegalArgumentException("Unknown rollout outcome '" + id + "' (known: succeeded, rolled_back, failed,"
          + " timed_out, superseded)");
    }
  }
}
