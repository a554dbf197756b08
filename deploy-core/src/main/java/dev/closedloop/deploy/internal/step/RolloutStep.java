package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.guard.LedgerKind;
import dev.closedloop.deploy.guard.LedgerStatus;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.TagMove;
import dev.closedloop.deploy.internal.Durations;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.guard.TagBefore;
import dev.closedloop.deploy.internal.image.Promoter;
import dev.closedloop.deploy.internal.rollout.Rollouts;
import dev.closedloop.deploy.rollout.Rollout;
import dev.closedloop.deploy.rollout.RolloutResult;
import dev.closedloop.deploy.rollout.RolloutSettings;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Follows the deployment of the promoted image to its end: succeeded; rolled back or failed, after
 * which the promote tags are moved back to their previous digests (so the registry names what
 * runs again, and the next automatic deployment cannot bring the bad image back); or timed out,
 * when the tags are left as they are. Each status change is printed as it happens, and the
 * ledger records the deployment followed and how it ended.
 */
public final class RolloutStep implements ReleaseStep<RolloutStep.Ended> {

  /** How the rollout ended. */
  public static final RunState.Key<Ended> ROLLED_OUT = new RunState.Key<>("rolled out");

  /**
   * How the rollout ended, and the failure that ending is (rolled back, failed, timed out); null
   * when it succeeded. The result stays in a failed run's partial result.
   */
  public record Ended(RolloutResult result, DeployException failure) { }

  @Override
  public Step step() {
    return Step.ROLLOUT;
  }

  @Override
  public RunState.Key<Ended> result() {
    return ROLLED_OUT;
  }

  @Override
  public DeployException.Kind failureKind() {
    return DeployException.Kind.ROLLOUT;
  }

  @Override
  public List<String> missingSettings(ReleaseConfig config) {
    return config.buildRequest().repository() == null ? List.of("image (deploy.image)") : List.of();
  }

  @Override
  public boolean holdsLock() {
    return true;
  }

  @Override
  public Optional<DeployException> failure(Ended ended) {
    return Optional.ofNullable(ended == null ? null : ended.failure());
  }

  /** The target must exist and take this image before anything is migrated or promoted. */
  @Override
  public void preflight(RunContext context) {
    context.events().progress(Step.ROLLOUT, context.rollout().check());
  }

  @Override
  public Ended run(RunContext context) {
    ProductionSession session = context.lockProduction(Step.ROLLOUT);
    if (session.superseded()) {
      return null;
    }
    ReleaseConfig config = context.config();
    Events events = context.events();
    Rollout rollout = context.rollout();
    PromoteStep.Promotion promotion = context.state().get(PromoteStep.PROMOTED)
        .orElseThrow(() -> new IllegalStateException("rollout before promote"));
    List<TagMove> moves = promotion.moves();
    ImageRef image = config.buildRequest().repository().withDigest(promotion.image().digest());
    Duration timeout = config.rollout().timeout();
    Instant deadline = Instant.now().plus(timeout);
    session.verifyLock();
    session.advance(LedgerStatus.ROLLING_OUT, null); // before the act: from here on a deployment may have started
    Rollout.Deployment deployment;
    try {
      deployment = rollout.start(new Rollout.Request(image, promotion.started(), moves, deadline));
    } catch (RuntimeException e) {
      String reverted = revert(context, session, promotion); // first: the registry must name what runs
      return new Ended(finish(context, session, rollout, null, Rollout.Outcome.FAILED, "NOT_STARTED"),
          new DeployException(DeployException.Kind.ROLLOUT, "Could not deploy " + image + " to " + rollout.target()
              + ": " + e.getMessage() + ". " + reverted, e));
    }
    try {
      session.recordRollout(deployment.id(), null);
    } catch (DeployException e) {
      events.warn("could not record the deployment in the ledger: " + e.getMessage());
    }
    events.progress(Step.ROLLOUT, rollout.target() + ": following " + deployment.description());

    Watch watch = watch(rollout, deployment, deadline, events);
    Rollout.Outcome outcome = watch.outcome() != null ? watch.outcome() : rollout.onTimeout();
    try {
      rollout.end(deployment, outcome);
    } catch (RuntimeException e) {
      events.warn("after the rollout " + outcome.id() + ": " + e.getMessage());
    }
    boolean failed = outcome == Rollout.Outcome.ROLLED_BACK || outcome == Rollout.Outcome.FAILED;
    // before the ledger: it may be out of reach
    String reverted = failed ? revert(context, session, promotion) : null;
    String status = watch.status(timeout);
    RolloutResult result = finish(context, session, rollout, deployment.id(), outcome, status);
    String what = rollout.target() + " (" + deployment.description() + ")";
    if (outcome == Rollout.Outcome.SUCCEEDED) {
      return new Ended(result, null);
    }
    if (failed) {
      return new Ended(result, new DeployException(DeployException.Kind.ROLLOUT, what + " "
          + (outcome == Rollout.Outcome.ROLLED_BACK ? "rolled back" : "failed") + ": " + status + ". " + reverted,
          watch.lost()));
    }
    return new Ended(result, new DeployException(DeployException.Kind.ROLLOUT, what + (watch.lost() != null
        ? " could not be followed to its end: " : " did not finish within " + Durations.format(timeout)
        + " (deploy.rolloutTimeout): ") + status + ". The tags are left as they are (" + tags(moves) + "), the ledger"
        + " records the rollout as timed_out: see how the deployment ended, then release again or move the tags back",
        watch.lost()));
  }

  /**
   * How watching a deployment ended: its outcome (null when the deadline passed first, or it could
   * no longer be followed), the last observation, and what made it stop following, if anything.
   */
  private record Watch(Rollout.Outcome outcome, Rollout.Observation last, String lastError, RuntimeException lost) {

    String status(Duration timeout) {
      String seen = last != null ? last.line() : null;
      if (lost != null) {
        return "UNKNOWN (stopped following it: " + lost.getMessage() + (seen != null ? "; last seen " + seen : "")
            + ")";
      }
      if (outcome == null) {
        return "TIMED_OUT (not finished within " + Durations.format(timeout) + (seen != null ? "; last seen " + seen
            : "") + (lastError != null ? "; " + lastError : "") + ")";
      }
      return seen;
    }
  }

  /** Observes the deployment until it ends or the deadline passes, printing each change. */
  private static Watch watch(Rollout rollout, Rollout.Deployment deployment, Instant deadline, Events events) {
    Rollout.Observation last = null;
    String lastError = null;
    try {
      for (int attempt = 1; ; attempt++) {
        try {
          Rollout.Observation now = rollout.observe(deployment);
          if (last == null || !now.line().equals(last.line())) {
            events.progress(Step.ROLLOUT, rollout.target() + ": " + now.line());
          }
          last = now;
          lastError = null;
          switch (now.state()) {
            case SUCCEEDED -> {
              return new Watch(Rollout.Outcome.SUCCEEDED, now, null, null);
            }
            case ROLLED_BACK -> {
              return new Watch(Rollout.Outcome.ROLLED_BACK, now, null, null);
            }
            case FAILED -> {
              return new Watch(Rollout.Outcome.FAILED, now, null, null);
            }
            case IN_PROGRESS -> { }
          }
        } catch (DeployException e) { // one lost answer is no verdict: asked again until the deadline
          if (!e.getMessage().equals(lastError)) {
            events.warn("could not see how the rollout goes (asking again): " + e.getMessage());
          }
          lastError = e.getMessage();
        }
        Duration left = Duration.between(Instant.now(), deadline);
        if (left.isNegative() || left.isZero()) {
          return new Watch(null, last, lastError, null);
        }
        Duration wait = rollout.pollInterval(attempt);
        Rollouts.sleep(wait.compareTo(left) < 0 ? wait : left);
      }
    } catch (RuntimeException e) { // interrupted, or a fault of ours: the deployment goes on, unknown
      return new Watch(null, last, lastError, e);
    }
  }

  /** Records how the rollout ended, in the result and (when it can be reached) the ledger. */
  private static RolloutResult finish(RunContext context, ProductionSession session, Rollout rollout, String deployment,
      Rollout.Outcome outcome, String status) {
    RolloutResult result = new RolloutResult(rollout.target(), deployment, outcome, status);
    try {
      session.recordRollout(deployment, outcome.id());
    } catch (DeployException e) {
      context.events().warn("could not record the rollout's outcome (" + outcome.id() + ") in the ledger: "
          + e.getMessage());
    }
    return result;
  }

  /**
   * Moves each tag the promote moved back to its previous digest, when it still names this
   * release's image, and says what it did in one sentence. A tag already at this image before
   * the run (a re-run) goes back to where the release that moved it found it, from the ledger;
   * in a rollback, it stays: the rollback did not move it.
   * A tag that did not exist before cannot go back to anything and is named.
   */
  private static String revert(RunContext context, ProductionSession session, PromoteStep.Promotion promotion) {
    ImageRef repository = context.config().buildRequest().repository();
    Promoter promoter = new Promoter(context.registry(), context.events(), Step.ROLLOUT);
    List<TagMove> moves = promotion.moves();
    List<String> done = new ArrayList<>();
    List<String> left = new ArrayList<>();
    for (TagMove promoted : moves) {
      TagMove move = promoted;
      if (!promoted.moved() && context.kind() == LedgerKind.ROLLBACK) {
        // the failed rollback this one finishes moved it: back to where that one found it; else not this run's move
        Optional<String> before = Optional.ofNullable(promotion.finishing())
            .map(rollback -> rollback.previousDigest(promoted.tag()));
        if (before.isEmpty()) {
          left.add(promoted.tag() + " named " + promoted.digest() + " before this rollback: it is left as it is");
          continue;
        }
        move = new TagMove(promoted.tag(), before.get(), promoted.digest(), true);
      } else if (!promoted.moved()) {
        move = movedBefore(context, session, promoted);
      }
      if (move == null) {
        left.add(promoted.tag() + " named " + promoted.digest() + " before this release, and no earlier release"
            + " in the ledger moved it there: it is left as it is");
        continue;
      }
      if (move.previous().isEmpty()) {
        left.add(move.tag() + " did not exist before this release and still names " + move.digest()
            + " (remove it, or release a good commit)");
        continue;
      }
      boolean reverted;
      try {
        reverted = promoter.revert(repository, move);
      } catch (RuntimeException e) {
        left.add("could not move " + move.tag() + " back to " + move.previousDigest() + ": " + e.getMessage());
        continue;
      }
      if (!reverted) {
        left.add(move.tag() + " was moved by someone else meanwhile and is left as it is");
        continue;
      }
      done.add(move.tag() + " names " + move.previousDigest() + " again");
      try {
        session.recordTagReverted(move.tag());
      } catch (DeployException e) {
        context.events().warn("could not record in the ledger that " + move.tag() + " moved back: " + e.getMessage());
      }
    }
    if (done.isEmpty() && left.isEmpty()) {
      return "No tag had moved, so none moved back";
    }
    return "Tags: " + String.join("; ", concat(done, left));
  }

  /** For a tag this run found at its image already: the move of the release that put it there, from the ledger. */
  private static TagMove movedBefore(RunContext context, ProductionSession session, TagMove tag) {
    try {
      TagBefore before = session.previousDigest(tag.tag(), tag.digest());
      return before.recorded() ? new TagMove(tag.tag(), before.digest(), tag.digest(), true) : null;
    } catch (DeployException e) {
      context.events().warn("could not read where " + tag.tag() + " pointed before: " + e.getMessage());
      return null;
    }
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
  public String summarize(ReleaseConfig config, Ended ended) {
    if (ended == null) {
      return "superseded by a newer release";
    }
    RolloutResult result = ended.result();
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
      case OWN -> "follow the deployment " + rollout.service() + " starts (a rollout of the embedder's own)";
      case NONE -> "nothing";
    };
    return how + "; wait up to " + Durations.format(rollout.timeout()) + "; on a rollback or failure move "
        + String.join(", ", config.registry().promoteTags()) + " back to the previous digests";
  }

  /**
   * The plan's rollout section: the target as its read-only check sees it.
   *
   * @param check what the check said, redacted; null when it failed
   * @param problem why the check failed, redacted (a missing service or missing credentials: the plan cannot tell
   *     which); else null
   * @return null without {@code deploy.rollout}
   */
  static dev.closedloop.deploy.report.PlanRollout plan(ReleaseConfig config, String check, String problem) {
    RolloutSettings rollout = config.rollout();
    if (!rollout.enabled()) {
      return null;
    }
    return new dev.closedloop.deploy.report.PlanRollout(rollout.kind().id(), rollout.service(),
        problem == null ? check : problem, problem == null);
  }
}
