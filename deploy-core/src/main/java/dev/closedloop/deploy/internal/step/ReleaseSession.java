package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.ProductionDatabase;
import dev.closedloop.deploy.guard.LedgerEntry;
import dev.closedloop.deploy.guard.LedgerKind;
import dev.closedloop.deploy.guard.LedgerStatus;
import dev.closedloop.deploy.guard.LockMode;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.guard.BranchGuard;
import dev.closedloop.deploy.internal.guard.CommitOrder;
import dev.closedloop.deploy.internal.guard.ReleaseLedger;
import dev.closedloop.deploy.internal.guard.ReleaseLock;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * The production side of one run: past the branch guard, connected, one row in the ledger and
 * the release lock, held from before migrate until the run ends. Closing it frees the lock and
 * the connections (and stops a local stand-in for production).
 */
public final class ReleaseSession implements ProductionSession, AutoCloseable {

  /** How many commits of its history a release records, to be ordered against others. */
  private static final int ANCESTRY_DEPTH = 200;

  private final ReleaseLedger ledger;
  private final Events events;
  /** The step that entered production, which the session's progress lines name. */
  private final Step step;
  private ProductionDatabase.Session database;
  private Connection connection;
  private ReleaseLock lock;
  // read by another thread for a failed run's result: what was decided as far as it got
  private volatile Long ledgerId;
  private volatile String lockName;
  private boolean superseded;
  private volatile String branch;
  private volatile boolean branchGuardOverridden;
  private volatile java.time.Duration lockWait;

  private ReleaseSession(ReleaseLedger ledger, Events events, Step step) {
    this.ledger = ledger;
    this.events = events;
    this.step = step;
  }

  /**
   * Checks the branch, connects to production, joins the ledger's queue and waits for the lock.
   * On failure, everything it opened is closed again before the exception leaves.
   */
  static ReleaseSession open(RunContext context, Step step) {
    ReleaseConfig config = context.config();
    Events events = context.events();
    ProductionGate gate = new ProductionGate(config);
    BranchGuard.Decision branch = gate.branch().orThrow();
    if (branch.overridden()) {
      events.warn(branch.warning());
    }
    // a rollback learns what it restores only under the lock
    String digest = context.kind() == LedgerKind.ROLLBACK ? null : context.resolveImage().digest();
    ReleaseSession session = new ReleaseSession(ReleaseLedger.of(config.production()), events, step);
    session.branch = branch.branch();
    session.branchGuardOverridden = branch.overridden();
    context.opening(session); // what it decides is known from here on, also when waiting for the lock fails
    try {
      session.connect(config, gate, events);
      session.join(config, branch, digest, context);
      return session;
    } catch (RuntimeException e) {
      session.fail(context.redactor().redact(String.valueOf(e.getMessage())));
      session.close();
      throw e;
    }
  }

  private void connect(ReleaseConfig config, ProductionGate gate, Events events) {
    ProductionDatabase production = config.production().database();
    events.progress(step, "production database: " + production.describe());
    database = production.open(events);
    DatabaseTarget target = database.target();
    gate.beforeConnecting(target).enforce(events);
    gate.poolerOnServer(target);
    connection = target.connect();
    ReleaseLock.prepareSession(connection);
  }

  private void join(ReleaseConfig config, BranchGuard.Decision branch, String digest, RunContext context) {
    ledger.ensure(connection);
    lockName = config.production().guards().lockName();
    CommitOrder order = new CommitOrder(config.ci());
    // what this clone knows of the history goes into the ledger, for releases whose clones know less
    CommitOrder.Commit mine = new CommitOrder.Commit(config.buildRequest().sha(), config.ci().runNumber().orElse(null),
        config.ci().runScope().orElse(null), config.ci().ancestry(config.buildRequest().sha(), ANCESTRY_DEPTH));
    ledgerId = ledger.enqueue(connection, new ReleaseLedger.Attempt(lockName, config.buildRequest().sha(), branch.branch(),
        branch.overridden(), config.ci().runUrl().orElse(null), digest, mine,
        context.kind()));
    lock = new ReleaseLock(connection, ledger, lockName, events, order, mine, step);
    long waiting = System.nanoTime();
    ReleaseLock.Outcome outcome;
    try {
      // a rollback takes its turn: no release's commit supersedes it, and it supersedes none
      LockMode mode = context.kind() == LedgerKind.ROLLBACK && config.production().guards().lockMode() == LockMode.SUPERSEDE
          ? LockMode.QUEUE : config.production().guards().lockMode();
      outcome = lock.acquire(ledgerId, mode, config.production().guards().lockTimeout());
    } finally {
      lockWait = java.time.Duration.ofNanos(System.nanoTime() - waiting);
    }
    if (outcome == ReleaseLock.Outcome.SUPERSEDED) {
      supersede(config, "a newer release of " + lockName + " took this one's place while it waited", null);
      return;
    }
    // Arrival at the lock is not commit order: never release an older commit over a newer one.
    // A rollback goes back to an older release on purpose: the order guard is not for it.
    var released = context.kind() == LedgerKind.ROLLBACK ? java.util.Optional.<LedgerEntry>empty()
        : ledger.latestReleased(connection, lockName, ledgerId);
    if (released.isPresent()) {
      CommitOrder.Comparison comparison = order.compare(mine, CommitOrder.Commit.of(released.get()));
      if (comparison.verdict() == CommitOrder.Verdict.OLDER) {
        String why = "commit " + config.buildRequest().sha() + " is older than " + released.get().sha() + ", which release #"
            + released.get().id() + " already released (" + comparison.basis() + "): an older commit never goes"
            + " live over a newer one by an accident of timing";
        events.progress(step, "superseded: " + why);
        supersede(config, why, why);
        return;
      }
      if (comparison.verdict() == CommitOrder.Verdict.UNKNOWN) {
        events.warn("Cannot tell whether commit " + config.buildRequest().sha() + " is newer than " + released.get().sha()
            + " (release #" + released.get().id() + "): " + comparison.basis() + ". Going by arrival order");
      }
    }
    ledger.advance(connection, ledgerId, LedgerStatus.RUNNING, null);
    events.progress(step, "holding the release lock of " + lockName + " (ledger #" + ledgerId + ")");
  }

  private void supersede(ReleaseConfig config, String why, String error) {
    ledger.advance(connection, ledgerId, LedgerStatus.SUPERSEDED, error);
    if (config.production().guards().failWhenSuperseded()) {
      throw new DeployException(DeployException.Kind.GUARD, "Superseded: " + why
          + " (deploy.failWhenSuperseded is set)");
    }
    superseded = true;
  }

  /** Production, as migrations reach it. */
  @Override
  public DatabaseTarget target() {
    return database.target();
  }

  /** This run's row in the ledger. */
  @Override
  public long ledgerId() {
    return ledgerId;
  }

  /** This run's row in the ledger, once the session wrote one (also when it failed after). */
  @Override
  public java.util.Optional<Long> ledgerRow() {
    return java.util.Optional.ofNullable(ledgerId);
  }

  /** What the guards decided: the branch that passed, whether by override, and how long the lock took. */
  @Override
  public dev.closedloop.deploy.ReleaseResult.Guards guards() {
    return new dev.closedloop.deploy.ReleaseResult.Guards(branch, branchGuardOverridden, lockName, lockWait);
  }

  /** True when a newer release took this one's place while it waited: nothing more may run. */
  @Override
  public boolean superseded() {
    return superseded;
  }

  /**
   * Checks that this session still holds the release lock, before an act that must not race
   * another release (a connection reset by a pooler or a proxy loses it without a word).
   *
   * @throws DeployException of kind GUARD when it does not
   */
  @Override
  public void verifyLock() {
    if (!lock.held()) {
      throw new DeployException(DeployException.Kind.GUARD, "Lost the release lock of " + lockName + " (its"
          + " connection to production was reset?): refusing to go on, another release may be running. Run the"
          + " release again");
    }
  }

  /** Moves this run's row to {@code status}. */
  @Override
  public void advance(LedgerStatus status, String error) {
    ledger.advance(connection, ledgerId, status, error);
  }

  /**
   * Marks this run's row failed with {@code message} (already redacted), when it has a row. A
   * ledger out of reach is warned about: the failure that led here is the one to report.
   */
  @Override
  public void fail(String message) {
    if (ledgerId == null || connection == null) {
      return;
    }
    try {
      ledger.advance(connection, ledgerId, LedgerStatus.FAILED, message);
    } catch (DeployException ledgerDown) {
      events.warn("could not record the failure in the ledger: " + ledgerDown.getMessage());
    }
  }

  /** Records the deployment the rollout follows and, once it ended, how. */
  @Override
  public void recordRollout(String deployment, String outcome) {
    ledger.recordRollout(connection, ledgerId, deployment, outcome);
  }

  /** Records that promote tag {@code tag} was moved back to its previous digest. */
  @Override
  public void recordTagReverted(String tag) {
    ledger.recordTagReverted(connection, ledgerId, tag);
  }

  /** Records a value (a list or a map, stored as JSON) in column {@code column} of this run's row. */
  @Override
  public void record(String column, Object value) {
    ledger.record(connection, ledgerId, column, value);
  }

  @Override
  public String ledgerTable() {
    return ledger.table();
  }

  @Override
  public void recordPreviousDigest(String tag, String previousDigest) {
    ledger.recordPreviousDigest(connection, ledgerId, tag, previousDigest);
  }

  @Override
  public void recordTagMoved(String tag) {
    ledger.recordTagMoved(connection, ledgerId, tag);
  }

  @Override
  public void recordImageDigest(String digest) {
    ledger.recordImageDigest(connection, ledgerId, digest);
  }

  @Override
  public void recordMigrationSet(String fingerprint) {
    ledger.recordMigrationSet(connection, ledgerId, fingerprint);
  }

  @Override
  public void recordMigrator(String migrator) {
    ledger.recordMigrator(connection, ledgerId, migrator);
  }

  @Override
  public java.util.Optional<String> lastMigrator() {
    return ledger.lastMigrator(connection, lockName);
  }

  @Override
  public void recordHook(java.util.Map<String, Object> run) {
    ledger.recordHook(connection, ledgerId, run);
  }

  @Override
  public void recordRollbackTarget(String sha, String digest) {
    ledger.recordRollbackTarget(connection, ledgerId, sha, digest);
  }

  @Override
  public boolean advanceFrom(long id, LedgerStatus from, LedgerStatus to) {
    return ledger.advanceFrom(connection, id, from, to);
  }

  @Override
  public java.util.Optional<LedgerEntry> latestMigrated(String sha) {
    return ledger.latestMigrated(connection, lockName, sha);
  }

  @Override
  public java.util.Optional<LedgerEntry> newerMigrated(long id) {
    return ledger.newerMigrated(connection, lockName, id);
  }

  @Override
  public dev.closedloop.deploy.internal.guard.TagBefore previousDigest(String tag, String digest) {
    return ledger.previousDigest(connection, lockName, tag, digest);
  }

  @Override
  public java.util.List<LedgerEntry> promoted() {
    return ledger.promoted(connection, lockName);
  }

  @Override
  public java.util.Optional<LedgerEntry> lastMover() {
    return ledger.lastMover(connection, lockName, ledgerId);
  }

  @Override
  public java.util.List<LedgerEntry> appliedSince(long id) {
    return ledger.appliedSince(connection, lockName, id);
  }

  @Override
  public void close() {
    if (lock != null) {
      lock.close();
    }
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException e) {
        events.debug("closing the lock connection: " + e.getMessage());
      }
    }
    if (database != null) {
      database.close();
    }
  }
}
