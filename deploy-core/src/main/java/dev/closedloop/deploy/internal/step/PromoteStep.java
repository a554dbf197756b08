package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.guard.LedgerEntry;
import dev.closedloop.deploy.guard.LedgerStatus;
import dev.closedloop.deploy.hook.HookPoint;
import dev.closedloop.deploy.image.BuiltImage;
import dev.closedloop.deploy.image.TagMove;
import dev.closedloop.deploy.internal.image.Promoter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Moves the promote tags to the tested image's digest through the registry API (no layer
 * moves), and records each tag's previous digest. In a split job (no migrate in this run) it
 * first proves from the ledger that this commit's migrate succeeded and that no newer release
 * migrated production since.
 */
public final class PromoteStep implements ReleaseStep<PromoteStep.Promotion> {

  /** The promote tags' moves, by a promote or a rollback: what the rollout deploys and may move back. */
  public static final RunState.Key<Promotion> PROMOTED = new RunState.Key<>("promoted");

  /**
   * What moved the promote tags.
   *
   * @param moves each tag's move, with its previous digest
   * @param started when the tags began to move: a deployment the move started began after it
   * @param image the image the tags name now
   * @param finishing for a rollback that finishes a failed one: that one's row (what it moved is this run's to
   *     move back); else null
   */
  public record Promotion(List<TagMove> moves, Instant started, BuiltImage image, LedgerEntry finishing) {
    public Promotion {
      moves = List.copyOf(moves);
    }
  }

  @Override
  public Step step() {
    return Step.PROMOTE;
  }

  @Override
  public RunState.Key<Promotion> result() {
    return PROMOTED;
  }

  @Override
  public DeployException.Kind failureKind() {
    return DeployException.Kind.REGISTRY;
  }

  @Override
  public List<String> missingSettings(ReleaseConfig config) {
    return promoteSettings(config);
  }

  /** What moving the promote tags under the lock needs: a promote and a rollback alike. */
  static List<String> promoteSettings(ReleaseConfig config) {
    List<String> missing = new ArrayList<>(RequiredSettings.imageAndSha(config));
    missing.addAll(RequiredSettings.ledger(config));
    if (config.registry().promoteTags().isEmpty()) { // the first is the one releases go live by
      missing.add("promoteTags (deploy.promoteTags)");
    }
    return missing;
  }

  @Override
  public HookPoint hookAfter() {
    return HookPoint.POST_PROMOTE;
  }

  @Override
  public boolean holdsLock() {
    return true;
  }

  /** A build of uncommitted changes does not reach production under CI: refused before anything runs. */
  @Override
  public void preflight(RunContext context) {
    new ProductionGate(context.config()).refuseUncommittedUnderCi();
  }

  @Override
  public Promotion run(RunContext context) {
    ReleaseConfig config = context.config();
    boolean splitJob = context.heldSession().isEmpty();
    ProductionSession session = context.lockProduction(Step.PROMOTE);
    if (session.superseded()) {
      return null;
    }
    Long migratedBy = null;
    BuiltImage image;
    if (splitJob) {
      LedgerEntry migrated = migratedRow(config, session);
      migratedBy = migrated.id();
      if (migrated.migrationSet() != null) { // this row is the release now: what it runs, for a promotion from here
        session.recordMigrationSet(migrated.migrationSet());
      }
      image = tested(context, session, context.resolveImage(), migrated.imageDigest());
    } else {
      image = context.resolveImage();
    }
    context.goingLive(image);
    context.beforeTagMove();
    session.verifyLock();
    Instant started = Instant.now();
    List<TagMove> moves = new Promoter(context.registry(), context.events(), Step.PROMOTE).promote(config.buildRequest().repository(),
        image.digest(), config.registry().promoteTags(), journal(session));
    if (migratedBy != null) { // the split job's migrate row, if it still waits: its release is complete now
      session.advanceFrom(migratedBy, LedgerStatus.MIGRATED, LedgerStatus.SUCCEEDED);
    }
    return new Promotion(moves, started, image, null);
  }

  /** Each tag's previous digest into the ledger before it moves, and the move once it was read back. */
  static Promoter.Journal journal(ProductionSession session) {
    return new Promoter.Journal() {
      @Override
      public void before(String tag, String previousDigest) {
        session.recordPreviousDigest(tag, previousDigest);
      }

      @Override
      public void moved(String tag) {
        session.recordTagMoved(tag);
      }
    };
  }

  /**
   * A split job promotes the digest its migrate job recorded, not whatever {@code <sha>} names
   * now: a forced rebuild in between must not change what goes live.
   */
  private static BuiltImage tested(RunContext context, ProductionSession session, BuiltImage now, String digest) {
    if (digest == null || digest.equals(now.digest())) {
      return now;
    }
    context.events().warn(now.image() + " now names " + now.digest() + ", not the " + digest + " that deploy:migrate"
        + " recorded (rebuilt in between?): promoting " + digest + ", the image whose migrations were applied");
    session.recordImageDigest(digest);
    return new BuiltImage(now.image(), digest, now.tags(), true);
  }

  /** The ledger row of this commit's migrate, when no newer release migrated production since. */
  private static LedgerEntry migratedRow(ReleaseConfig config, ProductionSession session) {
    LedgerEntry migrated = session.latestMigrated(config.buildRequest().sha())
        .orElseThrow(() -> new DeployException(DeployException.Kind.GUARD, "Refusing to promote " + config.buildRequest().sha()
            + ": the ledger has no successful migrate for this commit. Run deploy:migrate first"));
    session.newerMigrated(migrated.id()).ifPresent(newer -> {
      throw new DeployException(DeployException.Kind.GUARD, "Refusing to promote " + config.buildRequest().sha() + ": release #"
          + newer.id() + " of " + newer.sha() + " migrated production after it, and its image is the one that"
          + " fits the schema now");
    });
    return migrated;
  }

  @Override
  public String summarize(ReleaseConfig config, Promotion promotion) {
    if (promotion == null) {
      return "superseded by a newer release";
    }
    return moves(promotion.moves());
  }

  /** Each tag's move in a few words. */
  static String moves(List<TagMove> moves) {
    return String.join(", ", moves.stream().map(m -> m.tag() + (m.moved() ? " moved" : " already")
        + " at " + m.digest()).toList());
  }

  @Override
  public String describe(ReleaseConfig config) {
    return "move " + String.join(", ", config.registry().promoteTags().stream().map(tag -> config.buildRequest().repository().withTag(tag).toString())
        .toList()) + " to the digest of " + config.buildRequest().shaRef() + " (manifest only, no layers),"
        + " recording each tag's previous digest in the ledger";
  }

  @Override
  public LedgerStatus ledgerStatus() {
    return LedgerStatus.PROMOTED;
  }

  /**
   * What the registry said of a promote tag.
   *
   * @param digest what it names now; null when it names nothing or was not read
   * @param known false when the registry was not read
   */
  record TagNow(String tag, String digest, boolean known) { }

  /** The plan's tag moves: each promote tag from what it names now to the image build would push or reuse. */
  static List<dev.closedloop.deploy.report.PlanTagMove> planTagMoves(ReleaseConfig config, List<TagNow> now,
      dev.closedloop.deploy.report.PlanImage image) {
    // a digest known only when the image is reused; a build's digest is known after it
    String next = image.action() == dev.closedloop.deploy.report.PlanImage.Action.REUSE ? image.digest() : null;
    return now.stream().map(tag -> new dev.closedloop.deploy.report.PlanTagMove(tag.tag(),
        config.buildRequest().repository().withTag(tag.tag()).toString(), tag.digest(), tag.known(), next)).toList();
  }

  /**
   * The plan's compatibility section: the check, and the image it would run from (what the first
   * promote tag names now).
   *
   * @return null without a compatibility check
   */
  static dev.closedloop.deploy.report.PlanCompatibility planCompatibility(ReleaseConfig config,
      dev.closedloop.deploy.secret.Redactor redactor, List<dev.closedloop.deploy.report.PlanTagMove> moves,
      PlanNotes notes) {
    dev.closedloop.deploy.Compatibility check = config.testMigrate().compatibility();
    if (check == null) {
      return null;
    }
    dev.closedloop.deploy.report.PlanTagMove first = moves.isEmpty() ? null : moves.get(0);
    boolean known = first != null && first.known();
    String digest = first == null ? null : first.currentDigest();
    if (!known) {
      notes.unknown("compatibility check: which image production runs is not known (the registry was not read)");
    }
    return new dev.closedloop.deploy.report.PlanCompatibility(
        check.command() == null ? null : redactor.redact(check.command()),
        check.healthUrl() == null ? null : redactor.redact(check.healthUrl().toString()),
        dev.closedloop.deploy.internal.Durations.format(check.timeout()),
        digest == null ? null : config.buildRequest().repository().withDigest(digest).toString(), known);
  }
}
