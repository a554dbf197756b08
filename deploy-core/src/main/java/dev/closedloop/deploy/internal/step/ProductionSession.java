package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.guard.LedgerEntry;
import dev.closedloop.deploy.guard.LedgerStatus;
import dev.closedloop.deploy.internal.guard.TagBefore;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A run inside production: past the branch guard, with its row in the ledger, holding the release
 * lock (or superseded while it waited). What steps read and write there goes through here, about
 * this run's row and the rows of its service (the lock's name). {@link ReleaseSession} is the one
 * over JDBC; a step's unit test brings one of its own.
 */
public interface ProductionSession {

  /** True when a newer release took this one's place while it waited: nothing more may run. */
  boolean superseded();

  /**
   * Checks that the session still holds the release lock, before an act that must not race another release.
   *
   * @throws dev.closedloop.deploy.DeployException of kind GUARD when it does not
   */
  void verifyLock();

  /** Production, as migrations reach it. */
  DatabaseTarget target();

  /** The ledger's table, as messages name it. */
  String ledgerTable();

  /** This run's row in the ledger. */
  long ledgerId();

  /** This run's row, once the session wrote one (also when it failed after). */
  Optional<Long> ledgerRow();

  /** What the guards decided: the branch that passed, whether by override, and how long the lock took. */
  ReleaseResult.Guards guards();

  /** Moves this run's row to {@code status}. */
  void advance(LedgerStatus status, String error);

  /** Marks this run's row failed with {@code message} (already redacted); a ledger out of reach is warned about. */
  void fail(String message);

  /** Records a value (a list or a map, stored as JSON) in column {@code column} of this run's row. */
  void record(String column, Object value);

  /** Records the deployment the rollout follows and, once it ended, how. */
  void recordRollout(String deployment, String outcome);

  /** Records that promote tag {@code tag} was moved back to its previous digest. */
  void recordTagReverted(String tag);

  /** Records {@code tag}'s digest before this run moves it: the fact before the act. */
  void recordPreviousDigest(String tag, String previousDigest);

  /** Records that {@code tag} was moved and read back. */
  void recordTagMoved(String tag);

  /** Records the image this run puts live, when it is not the one the row was written with. */
  void recordImageDigest(String digest);

  /** Records the migration tool this run migrates production with. */
  void recordMigrator(String migrator);

  /** Records the fingerprint of the migration set this run proved and applies to production. */
  void recordMigrationSet(String fingerprint);

  /** The migration tool of this service's newest release that migrated production, when the ledger says. */
  Optional<String> lastMigrator();

  /** Records a hook that ran. */
  void recordHook(Map<String, Object> run);

  /** Records the release a rollback goes back to. */
  void recordRollbackTarget(String sha, String digest);

  /** Moves row {@code id} from {@code from} to {@code to}, only if it still is at {@code from}. */
  boolean advanceFrom(long id, LedgerStatus from, LedgerStatus to);

  /** The latest row of this service whose migrate of {@code sha} succeeded. */
  Optional<LedgerEntry> latestMigrated(String sha);

  /** A row of this service that migrated production after row {@code id}. */
  Optional<LedgerEntry> newerMigrated(long id);

  /** Where {@code tag} pointed before the release of this service that moved it to {@code digest}. */
  TagBefore previousDigest(String tag, String digest);

  /** This service's rows that moved (or were about to move) the promote tags, newest first. */
  List<LedgerEntry> promoted();

  /** The latest row before this run's that moved a promote tag. */
  Optional<LedgerEntry> lastMover();

  /** This service's rows after row {@code id} that applied, or planned, migrations. */
  List<LedgerEntry> appliedSince(long id);
}
