package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.MigrationSet;
import dev.closedloop.deploy.database.Migrator;
import dev.closedloop.deploy.guard.LedgerEntry;
import dev.closedloop.deploy.guard.LedgerStatus;
import dev.closedloop.deploy.hook.HookPoint;
import dev.closedloop.deploy.image.BuiltImage;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.TagMove;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.image.Promoter;
import dev.closedloop.deploy.internal.lint.Destructive;
import dev.closedloop.deploy.rollout.Rollout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Moves the promote tags back to an earlier release's image: by default the image the release
 * live now replaced (as its row recorded the first promote tag's previous digest), or the release
 * of {@code deploy.to} (a commit SHA or an image digest). Past the branch guard and holding the
 * release lock, where it also chooses: a release finishing meanwhile cannot change the answer.
 * Database migrations are not reverted; it says which were applied since, and which of those
 * drop or rename something.
 */
public final class RollbackStep implements ReleaseStep<PromoteStep.Promotion> {

  private static final Pattern DIGEST = Pattern.compile("sha256:[0-9a-f]{64}");
  private static final Pattern SHA = Pattern.compile("[0-9a-f]{7,64}");
  private final String to;

  /** @param to a commit SHA or an image digest ({@code deploy.to}); null for what the live release replaced */
  public RollbackStep(String to) {
    this.to = to == null || to.isBlank() ? null : to.trim();
  }

  @Override
  public Step step() {
    return Step.ROLLBACK;
  }

  /** A rollback moves the promote tags as a promote does, and the rollout after it reads them there. */
  @Override
  public RunState.Key<PromoteStep.Promotion> result() {
    return PromoteStep.PROMOTED;
  }

  @Override
  public DeployException.Kind failureKind() {
    return DeployException.Kind.REGISTRY;
  }

  @Override
  public List<String> missingSettings(ReleaseConfig config) {
    return PromoteStep.promoteSettings(config);
  }

  @Override
  public HookPoint hookAfter() {
    return HookPoint.POST_PROMOTE;
  }

  @Override
  public boolean holdsLock() {
    return true;
  }

  @Override
  public void preflight(RunContext context) {
    if (to != null && !DIGEST.matcher(to).matches() && !SHA.matcher(to).matches()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "to (deploy.to) must be a commit SHA (7 to 64"
          + " lowercase hex digits) or an image digest (sha256:<64 hex digits>); got '" + to + "'");
    }
  }

  @Override
  public PromoteStep.Promotion run(RunContext context) {
    ReleaseConfig config = context.config();
    Events events = context.events();
    ImageRef live = config.buildRequest().repository().withTag(config.registry().promoteTags().get(0));
    // what the operator saw live when asking: a release that goes live while this waits for the lock
    // is not the release they meant to undo
    Optional<String> asked = context.registry().digestOf(live);
    ProductionSession session = context.lockProduction(Step.ROLLBACK);
    if (session.superseded()) {
      return null;
    }
    Optional<String> current = context.registry().digestOf(live);
    if (to == null && !current.equals(asked)) {
      throw new DeployException(DeployException.Kind.GUARD, live + " moved from " + asked.orElse("(none)") + " to "
          + current.orElse("(none)") + " while this rollback waited for the release lock (a release went live):"
          + " nothing was rolled back. Run deploy:rollback again to undo that one, or name the target with deploy.to");
    }
    Target chosen = target(context, session, current.orElse(null));
    LedgerEntry target = chosen.release();
    if (context.registry().digestOf(config.buildRequest().repository().withDigest(target.imageDigest())).isEmpty()) {
      throw new DeployException(DeployException.Kind.REGISTRY, "Cannot roll back to release #" + target.id() + " ("
          + target.sha() + "): its image " + target.imageDigest() + " is no longer in the registry");
    }
    session.recordRollbackTarget(target.sha(), target.imageDigest());
    BuiltImage image = new BuiltImage(config.buildRequest().repository().withTag(target.sha()), target.imageDigest(), List.of(), true);
    context.goingLive(image);
    events.progress(Step.ROLLBACK, "rolling back " + live + " from " + current.orElse("(no digest)") + " to release #"
        + target.id() + " of " + target.sha() + " (" + target.imageDigest() + ")");
    migrationsNotReverted(context, session, target);
    context.beforeTagMove();
    session.verifyLock();
    java.time.Instant started = java.time.Instant.now();
    List<TagMove> moves = new Promoter(context.registry(), events, Step.ROLLBACK).promote(config.buildRequest().repository(),
        target.imageDigest(), config.registry().promoteTags(), PromoteStep.journal(session));
    return new PromoteStep.Promotion(moves, started, image, chosen.finishing());
  }

  /**
   * The release a rollback goes back to.
   *
   * @param finishing the failed rollback this one finishes, whose moves are this one's to move back; else null
   */
  private record Target(LedgerEntry release, LedgerEntry finishing) { }

  /** The release to go back to, as the ledger knows it. */
  private Target target(RunContext context, ProductionSession session, String currentDigest) {
    ReleaseConfig config = context.config();
    Events events = context.events();
    String service = config.production().guards().lockName();
    // releases only: a rollback's row names an earlier release's image, never a release of its own
    List<LedgerEntry> all = session.promoted();
    List<LedgerEntry> started = all.stream().filter(entry -> !entry.rollback()).toList();
    // a target must have gone live: its move recorded, not only what the move would replace
    List<LedgerEntry> promoted = started.stream().filter(LedgerEntry::moved).toList();
    if (to == null) {
      // a rollback that moved the tag and then failed or died, run again: finish it, never go one further back
      LedgerEntry last = session.lastMover()
          .orElse(null);
      if (last != null && last.rollback() && last.status() == LedgerStatus.FAILED && currentDigest != null
          && currentDigest.equals(last.imageDigest())) {
        Optional<LedgerEntry> restored = promoted.stream()
            .filter(entry -> entry.imageDigest().equals(currentDigest)).findFirst();
        if (restored.isPresent()) {
          events.progress(Step.ROLLBACK, "rollback #" + last.id() + " moved " + config.registry().promoteTags().get(0)
              + " to release #" + restored.get().id() + " and ended " + last.status().id() + ": finishing it");
          // the rollback that moved it recorded where from; one that finished it before moved nothing itself
          String tag = config.registry().promoteTags().get(0);
          return new Target(restored.get(), all.stream().filter(entry -> entry.rollback() && entry.id() <= last.id()
                  && currentDigest.equals(entry.imageDigest()) && entry.previousDigest(tag) != null
                  && !currentDigest.equals(entry.previousDigest(tag)))
              .findFirst().orElse(last));
        }
      }
      // what the release live now replaced: never forward to a release an earlier rollback took away
      String tag = config.registry().promoteTags().get(0);
      // the row that moved the tag there: a re-run's row found it there already and replaced nothing
      LedgerEntry live = started.stream().filter(entry -> entry.imageDigest().equals(currentDigest))
          .filter(entry -> !currentDigest.equals(entry.previousDigest(tag)))
          .findFirst().orElseThrow(() -> new DeployException(DeployException.Kind.GUARD, "Nothing to roll back from:"
              + " no release of " + service + " in the ledger " + session.ledgerTable() + " put the image " + tag
              + " names now (" + currentDigest + ") live. Name the target with deploy.to=<sha|digest> (deploy:history"
              + " lists them)"));
      String replaced = live.previousDigest(tag);
      LedgerEntry target = promoted.stream().filter(entry -> entry.imageDigest().equals(replaced)).findFirst()
          .orElseThrow(() -> new DeployException(DeployException.Kind.GUARD, "Nothing to roll back to: release #"
              + live.id() + " of " + live.sha() + ", live now, " + (replaced == null ? "was the first to move " + tag
              : "replaced " + replaced + ", which no release in the ledger " + session.ledgerTable() + " promoted")
              + ". Name the target with deploy.to=<sha|digest> (deploy:history lists them)"));
      // a release the platform rolled back never served (its tag stayed only because moving it back failed);
      // one that timed out was left to finish, and often did
      java.util.Set<Long> seen = new java.util.HashSet<>();
      while ((target.rolloutOutcome() == Rollout.Outcome.ROLLED_BACK
          || target.rolloutOutcome() == Rollout.Outcome.FAILED)
          && seen.add(target.id())) {
        String before = target.previousDigest(tag);
        Optional<LedgerEntry> earlier = promoted.stream().filter(entry -> entry.imageDigest().equals(before))
            .findFirst();
        if (earlier.isEmpty()) {
          break;
        }
        events.progress(Step.ROLLBACK, "release #" + target.id() + " of " + target.sha() + " is passed over: its"
            + " rollout ended " + target.rolloutOutcome().id().replace('_', ' '));
        target = earlier.get();
      }
      return new Target(target, null);
    }
    boolean digest = DIGEST.matcher(to).matches();
    return new Target(promoted.stream().filter(entry -> digest ? entry.imageDigest().equals(to)
            : entry.sha().startsWith(to) || to.startsWith(entry.sha())).findFirst()
        .orElseThrow(() -> new DeployException(DeployException.Kind.GUARD, "Cannot roll back to " + to + " (deploy.to):"
            + " no release of " + service + " in the ledger " + session.ledgerTable() + " ever promoted "
            + (digest ? "that image" : "that commit") + ". Roll back only to an image that was live before; see"
            + " deploy:history")), null);
  }

  /** Says plainly what stays: migrations applied since the target, and which take something away. */
  private static void migrationsNotReverted(RunContext context, ProductionSession session, LedgerEntry target) {
    ReleaseConfig config = context.config();
    List<String> labels = new ArrayList<>();
    List<String> named = new ArrayList<>();
    for (LedgerEntry entry : session.appliedSince(target.id())) {
      List<String> applied = entry.appliedMigrations();
      if (!applied.isEmpty()) {
        for (String label : applied) {
          if (!labels.contains(label)) {
            labels.add(label);
            named.add(label);
          } else { // planned by a failed release before: applied for certain now
            named.set(labels.indexOf(label), label);
          }
        }
      } else { // it failed or died while migrating: what it planned may be applied in part
        for (String label : entry.plannedMigrations()) {
          if (!labels.contains(label)) {
            labels.add(label);
            named.add(label + " (perhaps: release #" + entry.id() + " " + entry.status().id() + " while migrating)");
          }
        }
      }
    }
    Events events = context.events();
    if (labels.isEmpty()) {
      events.progress(Step.ROLLBACK, "no migration was applied to production after release #" + target.id() + " of "
          + target.sha() + ": the schema is the one its image ran on");
      return;
    }
    events.warn("Database migrations are not reverted: production keeps " + labels.size() + (labels.size() == 1
        ? " migration" : " migrations") + " applied after release #" + target.id() + " of " + target.sha() + ": "
        + String.join(", ", named));
    Map<String, String> scripts = scripts(context, session);
    for (String label : labels) {
      String script = scripts.get(label);
      if (script == null) {
        continue;
      }
      for (String change : destructive(script)) {
        events.warn(label + " " + change + ": the image of " + target.sha() + " may still read it, and fail");
      }
    }
  }

  /** Each migration's SQL by label, as the files here hold them; empty when they cannot be read. */
  private static Map<String, String> scripts(RunContext context, ProductionSession session) {
    Map<String, String> scripts = new LinkedHashMap<>();
    ReleaseConfig config = context.config();
    if (config.testMigrate().migrations() == null || config.testMigrate().migrations().runFromImage()) {
      return scripts;
    }
    try {
      Migrator migrator = config.testMigrate().migrations().migrator(Events.none(), Step.ROLLBACK);
      MigrationSet set = migrator.inspect(session.target().readOnly()).set();
      if (set != null) {
        for (MigrationSet.Migration migration : set.migrations()) {
          config.testMigrate().migrations().read(migration.script()).ifPresent(sql -> scripts.put(migration.label(), sql));
        }
      }
    } catch (RuntimeException e) {
      context.events().debug("cannot read the migrations to look for dropped or renamed objects: " + e.getMessage());
    }
    return scripts;
  }

  /** What a migration's SQL takes away, in words: "drops column legacy_name", "renames orders to purchases". */
  static List<String> destructive(String sql) {
    return Destructive.changes(sql);
  }

  @Override
  public String summarize(ReleaseConfig config, PromoteStep.Promotion promotion) {
    if (promotion == null) {
      return "superseded by a newer release";
    }
    return "rolled back: " + PromoteStep.moves(promotion.moves());
  }

  @Override
  public String describe(ReleaseConfig config) {
    return "holding the release lock, move " + String.join(", ", config.registry().promoteTags()) + " back to "
        + (to == null ? "the image the live release replaced" : "the image released as " + to)
        + "; migrations are not reverted";
  }

  @Override
  public LedgerStatus ledgerStatus() {
    return LedgerStatus.PROMOTED;
  }
}
