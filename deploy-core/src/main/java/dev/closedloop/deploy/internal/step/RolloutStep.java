package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.guard.LedgerEntry;
import dev.closedloop.deploy.guard.LedgerKind;
import dev.closedloop.deploy.guard.LedgerStatus;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.TagMove;
import dev.closedloop.deploy.internal.Durations;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.guard.TagBefore;
import dev.closedloop.deploy.internal.image.Promoter;
import dev.closedloop.deploy.internal.rollout.LiveCheck;
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
      RolloutResult result = finish(context, session, rollout, null, Rollout.Outcome.FAILED, "NOT_STARTED");
      String reverted = revert(context, session, promotion, null, deadline);
      return new Ended(result,
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
    String status = watch.status(timeout);
    if (outcome == Rollout.Outcome.SUCCEEDED && asksLive(config.rollout())) {
      String notServed = awaitServed(context, deadline);
      if (notServed != null) { // the platform's word is not the public address's: nobody can tell which is right
        outcome = Rollout.Outcome.TIMED_OUT;
        status = status + ", but " + notServed;
      }
    }
    try {
      rollout.end(deployment, outcome);
    } catch (RuntimeException e) {
      events.warn("after the rollout " + outcome.id() + ": " + e.getMessage());
    }
    boolean failed = outcome == Rollout.Outcome.ROLLED_BACK || outcome == Rollout.Outcome.FAILED;
    // the outcome first, then the tags: a run that dies between the two leaves a ledger that says what happened
    RolloutResult result = finish(context, session, rollout, deployment.id(), outcome, status);
    String reverted = failed ? revert(context, session, promotion, watch.last(), deadline) : null;
    String what = rollout.target() + " (" + deployment.description() + ")";
    if (outcome == Rollout.Outcome.SUCCEEDED) {
      return new Ended(result, null);
    }
    if (failed) {
      return new Ended(result, new DeployException(DeployException.Kind.ROLLOUT, what + " "
          + (outcome == Rollout.Outcome.ROLLED_BACK ? "rolled back" : "failed") + ": " + status + ". " + reverted,
          watch.lost()));
    }
    if (outcome == Rollout.Outcome.SUPERSEDED) {
      return new Ended(result, new DeployException(DeployException.Kind.ROLLOUT, what + " was superseded by another"
          + " deployment: " + status + ". It is not a rollback: the tags are left as they are (" + tags(moves) + "),"
          + " and the ledger records the rollout as superseded. See who deployed, then release again", watch.lost()));
    }
    return new Ended(result, new DeployException(DeployException.Kind.ROLLOUT, what + (watch.lost() != null
        ? " could not be followed to its end: " : " did not finish within " + Durations.format(timeout)
        + " (deploy.rolloutTimeout): ") + status + ". The tags are left as they are (" + tags(moves) + "), the ledger"
        + " records the rollout as timed_out: see how the deployment ended, then release again or move the tags back",
        watch.lost()));
  }

  /** True when the public address has the last word: a local rollout asks it (and for the text) itself. */
  private static boolean asksLive(RolloutSettings rollout) {
    return rollout.healthUrl() != null && rollout.kind() != RolloutSettings.Kind.LOCAL;
  }

  /** Asks deploy.healthUrl until it serves this release; null once it did, else why not, as one phrase. */
  private static String awaitServed(RunContext context, Instant deadline) {
    RolloutSettings settings = context.config().rollout();
    String url = context.redactor().redact(settings.healthUrl().toString());
    String expect = settings.healthExpect();
    context.events().progress(Step.ROLLOUT, "asking " + url + " until it answers 2xx" + (expect == null ? ""
        : " with '" + expect + "'"));
    String last = LiveCheck.awaitServed(settings.healthUrl(), expect, deadline,
        answer -> context.events().progress(Step.ROLLOUT, url + " " + context.redactor().redact(answer)));
    return last == null ? null : url + " " + context.redactor().redact(last) + " until deploy.rolloutTimeout"
        + " ended";
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
            case SUPERSEDED -> {
              return new Watch(Rollout.Outcome.SUPERSEDED, now, null, null);
            }
            case IN_PROGRESS -> { }
          }
        } catch (DeployException e) { // one lost answer is no verdict: asked again until the deadline
          if (!Rollouts.waitingHelps(e)) { // a permission, a missing service: no answer later will differ
            return new Watch(null, last, e.getMessage(), e);
          }
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

  /** How many times a tag's move back is tried before the release ends saying it was not. */
  private static final int REVERT_ATTEMPTS = 3;

  /**
   * Moves each tag the promote moved back, when it still names this release's image, and says
   * what it did in one sentence. The tags go where the platform went back to: the image it names
   * as restored (ECS: its task definition's), else the last release of this service whose rollout
   * succeeded (what App Runner returns to), else each tag's digest before this run. What is
   * planned is in the ledger before the first tag moves. A tag already at this image before the
   * run (a re-run) goes back to where the release that moved it found it, from the ledger; in a
   * rollback, it stays: the rollback did not move it. A tag that did not exist before cannot go
   * back to anything and is named. When the move back starts a deployment (App Runner deploys a
   * tag moved back too), that one is followed to its end and recorded.
   *
   * @param last the last observation of the deployment, or null when none started
   */
  private static String revert(RunContext context, ProductionSession session, PromoteStep.Promotion promotion,
      Rollout.Observation last, Instant deadline) {
    ImageRef repository = context.config().buildRequest().repository();
    String restored = restoredDigest(context, session, promotion, last);
    List<TagMove> planned = new ArrayList<>();
    List<String> left = new ArrayList<>();
    for (TagMove promoted : promotion.moves()) {
      TagMove move = plannedMove(context, session, promotion, promoted, left);
      if (move != null && restored != null) {
        move = new TagMove(move.tag(), restored, move.digest(), true);
      }
      if (move != null) {
        planned.add(move);
      }
    }
    java.util.Map<String, Object> record = new java.util.LinkedHashMap<>();
    record.put("planned", planned.stream().collect(java.util.stream.Collectors.toMap(TagMove::tag,
        TagMove::previousDigest, (a, b) -> a, java.util.LinkedHashMap::new)));
    recordRevert(context, session, record);
    if (!planned.isEmpty()) {
      try {
        context.rollout().beforeTagMove();
      } catch (RuntimeException e) { // the tags go back all the same: the registry must name what runs
        context.events().warn("could not read " + context.rollout().target() + " before moving the tags back: "
            + e.getMessage());
      }
    }
    Instant revertStarted = Instant.now();
    Promoter promoter = new Promoter(context.registry(), context.events(), Step.ROLLOUT);
    List<String> done = new ArrayList<>();
    List<TagMove> moved = new ArrayList<>();
    for (TagMove move : planned) {
      String failed = null;
      Promoter.Reverted reverted = null;
      for (int attempt = 1; attempt <= REVERT_ATTEMPTS; attempt++) {
        try {
          reverted = promoter.revert(repository, move);
          failed = null;
          break;
        } catch (RuntimeException e) {
          failed = e.getMessage();
          if (attempt < REVERT_ATTEMPTS) {
            context.events().warn("could not move " + move.tag() + " back to " + move.previousDigest() + " (attempt "
                + attempt + " of " + REVERT_ATTEMPTS + ", trying again): " + e.getMessage());
            Rollouts.sleep(java.time.Duration.ofSeconds(attempt));
          }
        }
      }
      if (failed != null) {
        left.add("could not move " + move.tag() + " back to " + move.previousDigest() + " (tried " + REVERT_ATTEMPTS
            + " times: " + failed + "); it still names " + move.digest() + ": the next release moves it, or `mvn"
            + " deploy:rollback` puts the previous release back");
        continue;
      }
      if (reverted == Promoter.Reverted.MOVED_ELSEWHERE) {
        left.add(move.tag() + " was moved by someone else meanwhile and is left as it is");
        continue;
      }
      done.add(move.tag() + " names " + move.previousDigest() + " again");
      if (reverted == Promoter.Reverted.MOVED) { // only a move deploys anything
        moved.add(move);
      }
      try {
        session.recordTagReverted(move.tag());
      } catch (DeployException e) {
        context.events().warn("could not record in the ledger that " + move.tag() + " moved back: " + e.getMessage());
      }
    }
    String deployed = moved.isEmpty() ? null : followRevert(context, session, moved, revertStarted, deadline, record);
    if (done.isEmpty() && left.isEmpty()) {
      return "No tag had moved, so none moved back";
    }
    return "Tags: " + String.join("; ", concat(done, left)) + (deployed == null ? "" : ". " + deployed);
  }

  /**
   * The digest the platform went back to, when it can be told: what the last observation names
   * (of this repository, by digest); else, after a deployment the platform rolled back, the
   * image of the newest earlier release that reached production, when its rollout succeeded
   * (releases that failed or rolled back never served and are passed over; one that timed out,
   * was superseded or had no rollout leaves it unknown). Null: each tag goes back to its own
   * digest before this run, as when no deployment started at all.
   */
  private static String restoredDigest(RunContext context, ProductionSession session, PromoteStep.Promotion promotion,
      Rollout.Observation last) {
    if (last == null) { // nothing started: the platform still runs what it ran
      return null;
    }
    String ours = promotion.image().digest();
    ImageRef repository = context.config().buildRequest().repository();
    if (last.restored() != null && last.restored().name().equals(repository.name())
        && last.restored().digestValue().isPresent()) {
      String restored = last.restored().digestValue().get();
      return restored.equals(ours) ? null : restored;
    }
    try {
      return session.promoted().stream()
          .filter(entry -> entry.id() != session.ledgerId() && !entry.imageDigest().equals(ours))
          .filter(entry -> entry.rolloutOutcome() != Rollout.Outcome.ROLLED_BACK
              && entry.rolloutOutcome() != Rollout.Outcome.FAILED)
          .findFirst().filter(entry -> entry.rolloutOutcome() == Rollout.Outcome.SUCCEEDED)
          .map(LedgerEntry::imageDigest).orElse(null);
    } catch (DeployException e) {
      context.events().warn("could not read the last release whose rollout succeeded (the tags go back to their"
          + " digests before this run): " + e.getMessage());
      return null;
    }
  }

  /** What moving {@code promoted} back means, or null (with the reason in {@code left}) when it stays. */
  private static TagMove plannedMove(RunContext context, ProductionSession session, PromoteStep.Promotion promotion,
      TagMove promoted, List<String> left) {
    TagMove move = promoted;
    if (!promoted.moved() && context.kind() == LedgerKind.ROLLBACK) {
      // the failed rollback this one finishes moved it: back to where that one found it; else not this run's move
      Optional<String> before = Optional.ofNullable(promotion.finishing())
          .map(rollback -> rollback.previousDigest(promoted.tag()));
      if (before.isEmpty()) {
        left.add(promoted.tag() + " named " + promoted.digest() + " before this rollback: it is left as it is");
        return null;
      }
      move = new TagMove(promoted.tag(), before.get(), promoted.digest(), true);
    } else if (!promoted.moved()) {
      move = movedBefore(context, session, promoted);
    }
    if (move == null) {
      left.add(promoted.tag() + " named " + promoted.digest() + " before this release, and no earlier release"
          + " in the ledger moved it there: it is left as it is");
      return null;
    }
    if (move.previous().isEmpty()) {
      left.add(move.tag() + " did not exist before this release and still names " + move.digest()
          + " (remove it, or release a good commit)");
      return null;
    }
    return move;
  }

  /**
   * The deployment the move back started, when the target deploys on a tag move: followed to its
   * end (within the release's deadline) and recorded, so the next release finds the service idle.
   *
   * @return a sentence on it, or null when the move started none
   */
  private static String followRevert(RunContext context, ProductionSession session, List<TagMove> moved,
      Instant started, Instant deadline, java.util.Map<String, Object> record) {
    Rollout rollout = context.rollout();
    ImageRef image = context.config().buildRequest().repository().withDigest(moved.get(0).previousDigest());
    Optional<Rollout.Deployment> deployment;
    try {
      deployment = rollout.reverted(new Rollout.Request(image, started, moved, deadline));
    } catch (RuntimeException e) {
      context.events().warn("could not find the deployment moving the tags back started on " + rollout.target()
          + ": " + e.getMessage());
      return "Whether moving them back started a deployment on " + rollout.target() + " is unknown: " + e.getMessage();
    }
    if (deployment.isEmpty()) {
      return null;
    }
    record.put("deployment", deployment.get().id());
    recordRevert(context, session, record);
    context.events().progress(Step.ROLLOUT, rollout.target() + ": following " + deployment.get().description()
        + ", which moving the tags back started");
    Watch watch = watch(rollout, deployment.get(), deadline, context.events());
    Rollout.Outcome outcome = watch.outcome() != null ? watch.outcome() : Rollout.Outcome.TIMED_OUT;
    record.put("outcome", outcome.id());
    recordRevert(context, session, record);
    String status = watch.status(context.config().rollout().timeout());
    return switch (outcome) {
      case SUCCEEDED -> "The deployment moving them back started (" + deployment.get().id() + ") succeeded";
      case TIMED_OUT -> "The deployment moving them back started (" + deployment.get().id() + ") had not ended when"
          + " deploy.rolloutTimeout did: " + status + "; the service finishes it on its own";
      default -> "The deployment moving them back started (" + deployment.get().id() + ") ended "
          + outcome.id().replace('_', ' ') + ": " + status + ": the service may not serve " + image;
    };
  }

  private static void recordRevert(RunContext context, ProductionSession session, java.util.Map<String, Object> record) {
    try {
      session.record("rollout_revert", record);
    } catch (DeployException e) {
      context.events().warn("could not record the tags' move back in the ledger: " + e.getMessage());
    }
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
          + (rollout.healthExpect() == null ? "" : " (answering '" + rollout.healthExpect() + "')")
          : "'" + rollout.healthCommand() + "'") + " on spare ports before it replaces the old one";
      case OWN -> "follow the deployment " + rollout.service() + " starts (a rollout of the embedder's own)";
      case NONE -> "nothing";
    };
    String live = !asksLive(rollout) ? ""
        : "; then ask " + config.redactor().redact(rollout.healthUrl().toString()) + " until it answers 2xx"
        + (rollout.healthExpect() == null ? "" : " with '" + rollout.healthExpect() + "'");
    return how + live + "; wait up to " + Durations.format(rollout.timeout()) + " in all; on a rollback or failure"
        + " move " + String.join(", ", config.registry().promoteTags()) + " back to the image the service went back"
        + " to (else the last release whose rollout succeeded, else the previous digests)";
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
