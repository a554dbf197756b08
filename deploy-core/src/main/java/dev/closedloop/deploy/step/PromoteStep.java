package dev.closedloop.deploy.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.guard.ReleaseLedger;
import dev.closedloop.deploy.image.BuiltImage;
import dev.closedloop.deploy.image.Promoter;
import dev.closedloop.deploy.image.TagMove;
import java.util.List;

/**
 * Moves the promote tags to the tested image's digest through the registry API (no layer
 * moves), and records each tag's previous digest. In a split job (no migrate in this run) it
 * first proves from the ledger that this commit's migrate succeeded and that no newer release
 * migrated production since.
 */
public final class PromoteStep implements ReleaseStep<List<TagMove>> {

  @Override
  public Step step() {
    return Step.PROMOTE;
  }

  @Override
  public DeployException.Kind failureKind() {
    return DeployException.Kind.REGISTRY;
  }

  @Override
  public List<TagMove> run(RunContext context) {
    ReleaseConfig config = context.config();
    boolean splitJob = context.openSession().isEmpty();
    ReleaseSession session = context.session();
    if (session.superseded()) {
      return null;
    }
    Long migratedBy = null;
    if (splitJob) {
      ReleaseLedger.Entry migrated = migratedRow(config, session);
      migratedBy = migrated.id();
      tested(context, session, migrated.imageDigest());
    }
    session.verifyLock();
    String digest = context.image().digest();
    context.promoteStarted(java.time.Instant.now());
    List<TagMove> moves = new Promoter(context.registry(), context.events()).promote(config.image(), digest,
        config.promoteTags(), journal(session));
    context.promotion(moves);
    if (migratedBy != null) { // the split job's migrate row, if it still waits: its release is complete now
      session.ledger().advanceFrom(session.connection(), migratedBy, "migrated", "succeeded");
    }
    return moves;
  }

  /** Each tag's previous digest into the ledger before it moves, and the move once it was read back. */
  static Promoter.Journal journal(ReleaseSession session) {
    return new Promoter.Journal() {
      @Override
      public void before(String tag, String previousDigest) {
        session.ledger().recordPreviousDigest(session.connection(), session.ledgerId(), tag, previousDigest);
      }

      @Override
      public void moved(String tag) {
        session.ledger().recordTagMoved(session.connection(), session.ledgerId(), tag);
      }
    };
  }

  /**
   * A split job promotes the digest its migrate job recorded, not whatever {@code <sha>} names
   * now: a forced rebuild in between must not change what goes live.
   */
  private static void tested(RunContext context, ReleaseSession session, String digest) {
    BuiltImage now = context.image();
    if (digest == null || digest.equals(now.digest())) {
      return;
    }
    context.events().warn(now.image() + " now names " + now.digest() + ", not the " + digest + " that deploy:migrate"
        + " recorded (rebuilt in between?): promoting " + digest + ", the image whose migrations were applied");
    context.image(new BuiltImage(now.image(), digest, now.tags(), true));
    session.ledger().recordImageDigest(session.connection(), session.ledgerId(), digest);
  }

  /** The ledger row of this commit's migrate, when no newer release migrated production since. */
  private static ReleaseLedger.Entry migratedRow(ReleaseConfig config, ReleaseSession session) {
    ReleaseLedger ledger = session.ledger();
    String lockName = config.guards().lockName();
    ReleaseLedger.Entry migrated = ledger.latestMigrated(session.connection(), lockName, config.sha())
        .orElseThrow(() -> new DeployException(DeployException.Kind.GUARD, "Refusing to promote " + config.sha()
            + ": the ledger has no successful migrate for this commit. Run deploy:migrate first"));
    ledger.newerMigrated(session.connection(), lockName, migrated.id()).ifPresent(newer -> {
      throw new DeployException(DeployException.Kind.GUARD, "Refusing to promote " + config.sha() + ": release #"
          + newer.id() + " of " + newer.sha() + " migrated production after it, and its image is the one that"
          + " fits the schema now");
    });
    return migrated;
  }

  @Override
  public String summarize(ReleaseConfig config, List<TagMove> moves) {
    if (moves == null) {
      return "superseded by a newer release";
    }
    return String.join(", ", moves.stream().map(m -> m.tag() + (m.moved() ? " moved" : " already")
        + " at " + m.digest()).toList());
  }

  @Override
  public String describe(ReleaseConfig config) {
    return "move " + String.join(", ", config.promoteTags().stream().map(tag -> config.image().withTag(tag).toString())
        .toList()) + " to the digest of " + config.buildRequest().shaRef() + " (manifest only, no layers),"
        + " recording each tag's previous digest in the ledger";
  }

  @Override
  public String ledgerStatus() {
    return "promoted";
  }
}
