package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.guard.LedgerEntry;
import dev.closedloop.deploy.guard.LedgerStatus;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.guard.ReleaseLedger;
import dev.closedloop.deploy.rollout.Rollout;
import java.sql.SQLException;
import java.util.Optional;

/**
 * What another environment runs, as its own ledger says: the release {@code deploy:promote
 * -Ddeploy.from=<environment>} takes to this one. Read only, over a read-only connection after the
 * checks a release makes; nothing is written there.
 */
public final class PromotionSource {

  private final ReleaseConfig source;
  private final Released released;

  private PromotionSource(ReleaseConfig source, Released released) {
    this.source = source;
    this.released = released;
  }

  /**
   * The release an environment runs.
   *
   * @param environment its name
   * @param id its ledger row there
   * @param migrationSet the fingerprint of the migration set it proved and applied
   */
  public record Released(String environment, long id, String sha, String digest, String migrationSet) {

    /** "staging's release #4 of 3f2a9c1": for messages. */
    public String describe() {
      return environment + "'s release #" + id + " of " + sha;
    }
  }

  /** What the environment ran when this promotion began. */
  public Released released() {
    return released;
  }

  /**
   * The newest release of {@code source}'s environment, when it succeeded there (its rollout too).
   *
   * @throws DeployException of kind GUARD when it did not, is still running, was rolled back, or
   *     recorded no migration set; CONFIGURATION or DATABASE when the ledger cannot be read
   */
  public static PromotionSource read(ReleaseConfig source, Events events) {
    return new PromotionSource(source, latest(source, events));
  }

  /**
   * Refuses, holding this environment's lock, when the environment promoted from no longer runs
   * what this promotion began with: it was rolled back, or released again, while this one waited.
   *
   * @throws DeployException of kind GUARD then; nothing was applied yet
   */
  public void stillRuns(Events events) {
    Released now = latest(source, events);
    if (now.id() != released.id()) {
      throw new DeployException(DeployException.Kind.GUARD, "Refusing to promote: " + released.environment()
          + " no longer runs release #" + released.id() + " of " + released.sha() + " but #" + now.id() + " of "
          + now.sha() + ", since this promotion began. Nothing was applied (this environment's ledger records the"
          + " refusal); run it again to promote what " + released.environment() + " runs now");
    }
  }

  private static Released latest(ReleaseConfig source, Events events) {
    String environment = source.production().environment();
    RequiredSettings.checkLedger(source, "deploy.from=" + environment);
    String service = source.production().guards().lockName();
    ReleaseLedger ledger = ReleaseLedger.of(source.production());
    Latest latest;
    try {
      latest = new ProductionGate(source).readOnly(events, new Latest(Optional.empty(), false), c -> {
        // a superseded row changed nothing there: the environment runs what came before it
        Optional<LedgerEntry> found = ledger.latestNotSuperseded(c, service);
        boolean dead = found.isPresent() && found.get().status().inFlight()
            && ledger.alive(c, service).stream().noneMatch(alive -> alive.id() == found.get().id());
        return new Latest(found, dead);
      });
    } catch (SQLException e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot read " + environment + "'s ledger "
          + ledger.table() + ": " + e.getMessage(), e);
    }
    boolean dead = latest.dead();
    LedgerEntry row = latest.row().orElseThrow(() -> refusal(environment + " has no release of " + service + " in "
        + ledger.table() + " to promote"));
    String what = environment + "'s latest " + (row.rollback() ? "entry, rollback #" : "release #") + row.id()
        + " of " + row.sha();
    if (row.rollback()) {
      throw refusal(what + ", went back to an earlier image: promote after a release succeeds there");
    }
    if (row.status() != LedgerStatus.SUCCEEDED) {
      throw refusal(what + " " + (row.status().terminal() ? "ended " + row.status() + (row.error() == null ? ""
          : " (" + row.error() + ")") : dead ? "stopped at " + row.status() + ": its process died; release "
          + environment + " again" : "is still " + row.status() + ": wait for it to end"));
    }
    if (row.rolloutOutcome() != null && row.rolloutOutcome() != Rollout.Outcome.SUCCEEDED) {
      throw refusal(what + " rolled out " + row.rolloutOutcome().id());
    }
    if (row.imageDigest() == null || row.migrationSet() == null) {
      throw refusal(what + " recorded no " + (row.imageDigest() == null ? "image digest" : "migration set")
          + " (an older closedloop made it): release " + environment + " again");
    }
    return new Released(environment, row.id(), row.sha(), row.imageDigest(), row.migrationSet());
  }

  /** The environment's newest row that was not superseded, and whether it is in flight with its process gone. */
  private record Latest(Optional<LedgerEntry> row, boolean dead) { }

  private static DeployException refusal(String why) {
    return new DeployException(DeployException.Kind.GUARD, "Refusing to promote: " + why + ". Nothing was changed");
  }
}
