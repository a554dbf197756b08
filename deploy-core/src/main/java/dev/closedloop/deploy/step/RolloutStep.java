package dev.closedloop.deploy.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Durations;
import dev.closedloop.deploy.Events;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.Promoter;
import dev.closedloop.deploy.image.TagMove;
import dev.closedloop.deploy.rollout.Rollout;
import dev.closedloop.deploy.rollout.RolloutResult;
import dev.closedloop.deploy.rollout.RolloutSettings;
import dev.closedloop.deploy.rollout.Rollouts;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Follows the deployment of the promoted image to its end: succeeded; rolled back or failed, after
 * which the promote tags are moved back to their previous digests (so the registry names what
 * runs again, and the next automatic deployment cannot bring the bad image back); or timed out,
 * when the tags are left as they are. Each status change is printed as it happens, and the
 * ledger records the deployment followed and how it ended.
 */
public final class RolloutStep implements ReleaseStep<RolloutResult> {

  @Override
  public Step step() {
    return Step.ROLLOUT;
  }

  @Override
  public DeployException.Kind failureKind() {
    return DeployException.Kind.ROLLOUT;
  }

  /** The target must exist and take this image before anything is migrated or promoted. */
  @Override
  public void preflight(RunContext context) {
    context.events().progress(Step.ROLLOUT, context.rollout().check());
  }

  @Override
  public RolloutResult run(RunContext context) {
    ReleaseSession session = context.session();
    if (session.superseded()) {
      return null;
    }
    ReleaseConfig config = context.config();
    Events events = context.events();
    Rollout rollout = context.rollout();
    List<TagMove> moves = context.promotion().orElseThrow(() -> new IllegalStateException("rollout before promote"));
    ImageRef image = config.image().withDigest(context.image().digest());
    session.verifyLock();
    session.advance("rolling_out", null);
    Rollout.Deployment deployment;
    try {
      deployment = rollout.start(new Rollout.Request(image, context.promoteStarted(), moves));
    } catch (DeployException e) {
      context.rollout(new RolloutResult(rollout.target(), null, Rollout.Outcome.FAILED, e.getMessage()));
      session.recordRollout(null, Rollout.Outcome.FAILED.id());
      throw new DeployException(DeployException.Kind.ROLLOUT, "Could not deploy " + image + " to " + rollout.target()
          + ": " + e.getMessage() + ". " + revert(context, session, moves), e);
    }
    session.recordRollout(deployment.id(), null);
    events.progress(Step.ROLLOUT, rollout.target() + ": following " + deployment.description());

    Duration timeout = config.rollout().timeout();
    Instant deadline = Instant.now().plus(timeout);
    Rollout.Observation last = null;
    String lastError = null;
    Rollout.Outcome outcome = null;
    for (int attempt = 1; outcome == null; attempt++) {
      try {
        Rollout.Observation now = rollout.observe(deployment);
        if (last == null || !now.line().equals(last.line())) {
          events.progress(Step.ROLLOUT, rollout.target() + ": " + now.line());
        }
        last = now;
        lastError = null;
        outcome = switch (now.state()) {
          case SUCCEEDED -> Rollout.Outcome.SUCCEEDED;
          case ROLLED_BACK -> Rollout.Outcome.ROLLED_BACK;
          case FAILED -> Rollout.Outcome.FAILED;
          case IN_PROGRESS -> null;
        };
      } catch (DeployException e) { // one lost answer is no verdict: asked again until the deadline
        if (!e.getMessage().equals(lastError)) {
          events.warn("could not see how the rollout goes (asking again): " + e.getMessage());
        }
        lastError = e.getMessage();
      }
      if (outcome == null) {
        Duration left = Duration.between(Instant.now(), deadline);
        if (left.isNegative() || left.isZero()) {
          outcome = rollout.onTimeout();
          last = new Rollout.Observation(Rollout.State.IN_PROGRESS, "TIMED_OUT", "not finished within "
              + Durations.format(timeout) + (last != null ? "; last seen " + last.line() : "")
              + (lastError != null ? "; " + lastError : ""));
        } else {
          Duration wait = rollout.pollInterval(attempt);
          Rollouts.sleep(wait.compareTo(left) < 0 ? wait : left);
        }
      }
    }
    try {
      rollout.end(deployment, outcome);
    } catch (DeployException e) {
      events.warn(e.getMessage());
    }
    String status = last.line();
    context.rollout(new RolloutResult(rollout.target(), deployment.id(), outcome, status));
    session.recordRollout(deployment.id(), outcome.id());
    String what = rollout.target() + " (" + deployment.description() + ")";
    return switch (outcome) {
      case SUCCEEDED -> context.rolloutResult().orElseThrow();
      case TIMED_OUT -> throw new DeployException(DeployException.Kind.ROLLOUT, what + " did not finish within "
          + Durations.format(timeout) + " (deploy.rolloutTimeout): " + status + ". The tags are left as they are ("
          + tags(moves) + "), the ledger records the rollout as timed_out: see how the deployment ended, then"
          + " release again or move the tags back");
      case ROLLED_BACK, FAILED -> throw new DeployException(DeployException.Kind.ROLLOUT, what + " "
          + (outcome == Rollout.Outcome.ROLLED_BACK ? "rolled back" : "failed") + ": " + status + ". "
          + revert(context, session, moves));
    };
  }

  /**
   * Moves each tag the promote moved back to its previous digest, when it still names this
   * release's image, and says what it did in one sentence. A tag that did not exist before
   * cannot go back to anything and is named.
   */
  private static String revert(RunContext context, ReleaseSession session, List<TagMove> moves) {
    ImageRef repository = context.config().image();
    Promoter promoter = new Promoter(context.registry(), context.events());
    List<String> done = new ArrayList<>();
    List<String> left = new ArrayList<>();
    for (TagMove move : moves) {
      if (!move.moved()) {
        continue; // it named this image before the release: nothing to go back to
      }
      if (move.previous().isEmpty()) {
        left.add(move.tag() + " did not exist before this release and still names " + move.digest()
            + " (remove it, or release a good commit)");
        continue;
      }
      try {
        if (promoter.revert(repository, move)) {
          session.recordTagReverted(move.tag());
          done.add(move.tag() + " names " + move.previousDigest() + " again");
        } else {
          left.add(move.tag() + " was moved by someone else meanwhile and is left as it is");
        }
      } catch (DeployException e) {
        left.add("could not move " + move.tag() + " back to " + move.previousDigest() + ": " + e.getMessage());
      }
    }
    if (done.isEmpty() && left.isEmpty()) {
      return "No tag had moved, so none moved back";
    }
    return "Tags: " + String.join("; ", concat(done, left));
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  private static String tags(List<TagMove> moves) {
    return String.join(", ", moves.stream().map(m -> m.tag() + " names " + m.digest()).toList());
  }

  @Override
  public String summarize(ReleaseConfig config, RolloutResult result) {
    if (result == null) {
      return "superseded by a newer release";
    }
    return result.target() + ": " + result.outcome().id().replace('_', ' ') + ", " + result.status();
  }

  @Override
  public String describe(ReleaseConfig config) {
    RolloutSettings rollout = config.rollout();
    String how = switch (rollout.kind()) {
      case APP_RUNNER -> "follow the App Runner deployment the tag move starts (or StartDeployment) on "
          + rollout.service();
      case ECS -> "register a revision of " + rollout.service() + "'s task definition with only the image changed,"
          + " UpdateService, and follow its rolloutState";
      case ECS_EXPRESS -> "UpdateExpressGatewayService " + rollout.service() + " with the new image and follow its"
          + " revisions";
      case LOCAL -> "run the image as container " + rollout.service() + " (" + (rollout.ports().isEmpty() ? "no ports"
          : "ports " + rollout.ports()) + "), checked by " + (rollout.healthUrl() != null ? rollout.healthUrl()
          : "'" + rollout.healthCommand() + "'") + " on spare ports before it replaces the old one";
      case NONE -> "nothing";
    };
    return how + "; wait up to " + Durations.format(rollout.timeout()) + "; on a rollback or failure move "
        + String.join(", ", config.promoteTags()) + " back to the previous digests";
  }
}
