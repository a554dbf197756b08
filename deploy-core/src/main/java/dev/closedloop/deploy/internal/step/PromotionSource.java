package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.guard.LedgerEntry;
import dev.closedloop.deploy.guard.LedgerStatus;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.guard.ReleaseLedger;
import dev.closedloop.deploy.rollout.Rollout;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;

/**
 * What another environment runs, as its own ledger says: the release {@code deploy:promote
 * -Ddeploy.from=<environment>} takes to this one. Read only, over a read-only connection after the
 * checks a release makes; nothing is written there.
 */
public final class PromotionSource {

  /** How many of its newest rows are looked through for its latest release. */
  private static final int LOOKED_AT = 50;

  private PromotionSource() { }

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

  /**
   * The newest release of {@code source}'s environment, when it succeeded there (its rollout too).
   *
   * @throws DeployException of kind GUARD when it did not, is still running, was rolled back, or
   *     recorded no migration set; CONFIGURATION or DATABASE when the ledger cannot be read
   */
  public static Released read(ReleaseConfig source, Events events) {
    String environment = source.production().environment();
    RequiredSettings.checkLedger(source, "deploy.from=" + environment);
    String service = source.production().guards().lockName();
    ReleaseLedger ledger = ReleaseLedger.of(source.production());
    List<LedgerEntry> recent;
    if (!source.production().database().exists()) {
      recent = List.of();
    } else {
      try (var database = source.production().database().open(events)) {
        new ProductionGate(source).beforeConnecting(database.target()).enforce(events);
        try (Connection c = database.target().readOnly().connect()) {
          recent = ledger.recent(c, service, LOOKED_AT);
        }
      } catch (SQLException e) {
        throw new DeployException(DeployException.Kind.DATABASE, "Cannot read " + environment + "'s ledger "
            + ledger.table() + ": " + e.getMessage(), e);
      }
    }
    // a superseded row changed nothing there: the environment runs what came before it
    Optional<LedgerEntry> latest = recent.stream().filter(row -> row.status() != LedgerStatus.SUPERSEDED).findFirst();
    LedgerEntry row = latest.orElseThrow(() -> refusal(environment + " has no release of " + service + " in "
        + ledger.table() + " to promote"));
    String what = environment + "'s latest " + (row.rollback() ? "entry, rollback #" : "release #") + row.id()
        + " of " + row.sha();
    if (row.rollback()) {
      throw refusal(what + ", went back to an earlier image: promote after a release succeeds there");
    }
    if (row.status() != LedgerStatus.SUCCEEDED) {
      throw refusal(what + " " + (row.status().terminal() ? "ended " + row.status() + (row.error() == null ? ""
          : " (" + row.error() + ")") : "is still " + row.status() + ": wait for it to end"));
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

  private static DeployException refusal(String why) {
    return new DeployException(DeployException.Kind.GUARD, "Refusing to promote: " + why + ". Nothing was changed");
  }
}
