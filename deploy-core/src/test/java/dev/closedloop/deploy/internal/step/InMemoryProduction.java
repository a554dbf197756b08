package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.guard.LedgerEntry;
import dev.closedloop.deploy.guard.LedgerStatus;
import dev.closedloop.deploy.internal.guard.TagBefore;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Production as a step sees it, in memory: every write to this run's row is one line of
 * {@link #journal}, in order, so a test asserts what was recorded and when.
 */
final class InMemoryProduction implements ProductionSession {

  final List<String> journal = new CopyOnWriteArrayList<>();
  final List<LedgerEntry> rows = new ArrayList<>();
  /** What {@link #promoted()} returns: the service's rows that moved the tags, newest first. */
  final List<LedgerEntry> promotedRows = new ArrayList<>();
  boolean superseded;
  boolean lockLost;
  final long id;

  InMemoryProduction(long id) {
    this.id = id;
  }

  /** A row of another run of the service, as the ledger would return it. */
  static LedgerEntry row(long id, String sha, String digest, String status) {
    return LedgerEntry.fromColumns(id, "registry.example.com/shop", sha, "main", false, null, digest, status, "[]",
        "[]", "{}", Instant.EPOCH, null, null, null, "[]", "[]", null, null, "[]", null, "release");
  }

  /** A row of another run that promoted {@code digest} and whose rollout ended {@code outcome}. */
  static LedgerEntry rolledOut(long id, String sha, String digest, String outcome) {
    return LedgerEntry.fromColumns(id, "registry.example.com/shop", sha, "main", false, null, digest,
        outcome.equals("succeeded") ? "succeeded" : "failed", "[]", "[]", "{}", Instant.EPOCH, null, null, null, "[]",
        "[\"latest\"]", null, null, "[]", outcome, "release");
  }

  @Override
  public boolean superseded() {
    return superseded;
  }

  @Override
  public void verifyLock() {
    journal.add("verify lock");
    if (lockLost) {
      throw new DeployException(DeployException.Kind.GUARD, "Lost the release lock");
    }
  }

  @Override
  public DatabaseTarget target() {
    return DatabaseTarget.parse("postgresql://127.0.0.1:5432/shop", null, null, "databaseUrl (deploy.databaseUrl)");
  }

  @Override
  public String ledgerTable() {
    return "closedloop.releases";
  }

  @Override
  public long ledgerId() {
    return id;
  }

  @Override
  public Optional<Long> ledgerRow() {
    return Optional.of(id);
  }

  @Override
  public ReleaseResult.Guards guards() {
    return new ReleaseResult.Guards("main", false, "registry.example.com/shop", java.time.Duration.ZERO);
  }

  @Override
  public void advance(LedgerStatus status, String error) {
    journal.add("status " + status);
  }

  @Override
  public void fail(String message) {
    journal.add("failed: " + message);
  }

  @Override
  public void record(String column, Object value) {
    journal.add(column + " " + value);
  }

  @Override
  public void recordRollout(String deployment, String outcome) {
    journal.add("rollout " + deployment + " " + outcome);
  }

  @Override
  public void recordTagReverted(String tag) {
    journal.add("reverted " + tag);
  }

  @Override
  public void recordPreviousDigest(String tag, String previousDigest) {
    journal.add("previous " + tag + " " + previousDigest);
  }

  @Override
  public void recordTagMoved(String tag) {
    journal.add("moved " + tag);
  }

  @Override
  public void recordImageDigest(String digest) {
    journal.add("image " + digest);
  }

  /** What {@link #lastMigrator()} answers: production was migrated with Flyway, as the steps' fixture is. */
  String lastMigrator = "flyway";

  @Override
  public void recordMigrator(String migrator) {
    journal.add("migrator " + migrator);
  }

  @Override
  public void recordMigrationSet(String fingerprint) {
    journal.add("migration set " + fingerprint);
  }

  @Override
  public Optional<String> lastMigrator() {
    return Optional.ofNullable(lastMigrator);
  }

  @Override
  public void recordHook(Map<String, Object> run) {
    journal.add("hook " + run.get("hook"));
  }

  @Override
  public void recordRollbackTarget(String sha, String digest) {
    journal.add("rollback target " + sha);
  }

  @Override
  public boolean advanceFrom(long row, LedgerStatus from, LedgerStatus to) {
    journal.add("row " + row + " " + from + " -> " + to);
    return true;
  }

  @Override
  public Optional<LedgerEntry> latestMigrated(String sha) {
    return rows.stream().filter(row -> row.sha().equals(sha) && row.status() == LedgerStatus.MIGRATED).findFirst();
  }

  @Override
  public Optional<LedgerEntry> newerMigrated(long row) {
    return rows.stream().filter(other -> other.id() > row && other.status() == LedgerStatus.MIGRATED).findFirst();
  }

  @Override
  public TagBefore previousDigest(String tag, String digest) {
    return new TagBefore(false, null);
  }

  @Override
  public List<LedgerEntry> promoted() {
    return List.copyOf(promotedRows);
  }

  @Override
  public Optional<LedgerEntry> lastMover() {
    return Optional.empty();
  }

  @Override
  public List<LedgerEntry> appliedSince(long row) {
    return List.of();
  }
}
