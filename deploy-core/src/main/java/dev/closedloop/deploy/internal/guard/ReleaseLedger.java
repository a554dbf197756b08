package dev.closedloop.deploy.internal.guard;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ProductionSettings;
import dev.closedloop.deploy.guard.LedgerEntry;
import dev.closedloop.deploy.guard.LedgerKind;
import dev.closedloop.deploy.guard.LedgerStatus;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.zip.CRC32;

/**
 * One row per release attempt in the production database: who, what, and every status it went
 * through. Rows are inserted and advanced, never deleted or rewritten; it is the audit trail.
 *
 * <p>Statuses: queued, running, migrating, migrated, promoted, rolling_out, succeeded; or failed,
 * superseded. A rollout's deployment and outcome (succeeded, rolled_back, failed, timed_out) and
 * the tags moved back after a rollback have columns of their own.
 * A fact is written before the act that makes it true: {@code migrating} with the migrations
 * about to be applied before the first one runs, each promote tag's previous digest before its
 * move and the tag in {@code tags_moved} after it, so a release that died anywhere leaves a row
 * saying what may have happened.
 */
public final class ReleaseLedger {

  public static final String DEFAULT_SCHEMA = "closedloop";
  public static final String DEFAULT_TABLE = "release_ledger";

  private static final Set<String> JSON_COLUMNS = Set.of("migrations_applied", "migrations_planned", "rollout_revert");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  /**
   * What a new attempt records when it joins the queue.
   *
   * @param kind a release, or a row of deploy:rollback, which no release is ordered against
   */
  public record Attempt(String service, String sha, String branch, boolean branchGuardOverridden,
      String ciRunUrl, String imageDigest, CommitOrder.Commit commit, LedgerKind kind) {

    public Attempt(String service, String sha, String branch, boolean branchGuardOverridden, String ciRunUrl,
        String imageDigest, CommitOrder.Commit commit) {
      this(service, sha, branch, branchGuardOverridden, ciRunUrl, imageDigest, commit, LedgerKind.RELEASE);
    }

    public Attempt(String service, String sha, String branch, boolean branchGuardOverridden, String ciRunUrl,
        String imageDigest) {
      this(service, sha, branch, branchGuardOverridden, ciRunUrl, imageDigest,
          new CommitOrder.Commit(sha, null, null, List.of()));
    }
  }

  private final String schema;
  private final String name;
  /**
   * The first key of each row's own advisory lock (the second is the row's id): one per ledger
   * table, so two ledgers of one database never share a row's lock.
   */
  private final int rowLock;
  /** schema.table, as users write it in messages. */
  private final String table;
  /** The same, quoted for SQL: a name like {@code order} is no keyword there. */
  private final String quoted;

  public ReleaseLedger(String schema, String table) {
    for (String name : new String[] {schema, table}) {
      if (name == null || !IDENTIFIER.matcher(name).matches()) {
        throw new DeployException(DeployException.Kind.CONFIGURATION, "Invalid ledger name '" + name
            + "' (deploy.ledgerSchema, deploy.ledgerTable): use lowercase letters, digits and '_'");
      }
    }
    this.schema = schema;
    this.name = table;
    this.table = schema + "." + table;
    CRC32 crc = new CRC32();
    crc.update(("rows of " + this.table).getBytes(StandardCharsets.UTF_8));
    this.rowLock = (int) crc.getValue();
    this.quoted = '"' + schema + "\".\"" + table + '"';
  }

  /** The ledger production's guards name ({@code deploy.ledgerSchema}, {@code deploy.ledgerTable}). */
  public static ReleaseLedger of(ProductionSettings production) {
    return new ReleaseLedger(production.guards().ledgerSchema(), production.guards().ledgerTable());
  }

  public String table() {
    return table;
  }

  /**
   * Creates the schema and table when missing, and the columns later versions added; safe to run
   * from many releases at once.
   */
  public void ensure(Connection c) {
    LedgerTable.ensure(c, schema, table, quoted);
  }

  /**
   * Inserts a queued row for this attempt, and in the same statement takes the row's own advisory
   * lock on {@code c}'s session: the row is alive exactly while that session is, which the server
   * knows even behind a session pooler that keeps its backend for the next client (the pooler's
   * reset frees the lock), so a dead release is told apart from a slow one.
   */
  public long enqueue(Connection c, Attempt attempt) {
    String sql = "INSERT INTO " + quoted + " (service, sha, branch, branch_guard_overridden, ci_run_url, image_digest,"
        + " run_number, run_scope, ancestry, kind, row_locked, status, status_history, backend_pid)"
        + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, true, " + literal(LedgerStatus.QUEUED.id()) + ","
        + " jsonb_build_array(jsonb_build_object('status', " + literal(LedgerStatus.QUEUED.id()) + ", 'at',"
        + " clock_timestamp())), pg_backend_pid())"
        + " RETURNING id, pg_advisory_lock((" + rowLock + ")::int, (id & 2147483647)::int)";
    try (PreparedStatement s = c.prepareStatement(sql)) {
      s.setString(1, attempt.service());
      s.setString(2, attempt.sha());
      s.setString(3, attempt.branch());
      s.setBoolean(4, attempt.branchGuardOverridden());
      s.setString(5, attempt.ciRunUrl());
      s.setString(6, attempt.imageDigest());
      s.setObject(7, attempt.commit().runNumber(), java.sql.Types.BIGINT);
      s.setString(8, attempt.commit().runScope());
      s.setString(9, json(attempt.commit().ancestry()));
      s.setString(10, attempt.kind().id());
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    } catch (SQLException e) {
      throw failure("record the release", e);
    }
  }

  /** Moves row {@code id} to {@code status}, appending it to the history; terminal statuses set finished_at. */
  public void advance(Connection c, long id, LedgerStatus status, String error) {
    transition(c, id, null, status, error);
  }

  /**
   * Records {@code value} as JSON in {@code migrations_applied} (a list of labels) or
   * {@code previous_digests} (tag to digest, null for a tag that did not exist) of row {@code id}.
   */
  public void record(Connection c, long id, String column, Object value) {
    if (!JSON_COLUMNS.contains(column)) {
      throw new IllegalArgumentException(column);
    }
    update(c, id, column + " = ?::jsonb", "record " + column, json(value));
  }

  /** Records, before its move, where promote tag {@code tag} pointed (null: it did not exist). */
  public void recordPreviousDigest(Connection c, long id, String tag, String previousDigest) {
    update(c, id, "previous_digests = previous_digests || jsonb_build_object(?::text, ?::text)", "record the previous"
        + " digest of " + tag, tag, previousDigest);
  }

  /** Records, after its move was read back, that promote tag {@code tag} moved. */
  public void recordTagMoved(Connection c, long id, String tag) {
    update(c, id, "tags_moved = tags_moved || jsonb_build_array(?::text)", "record the move of " + tag, tag);
  }

  /**
   * Records the deployment a rollout follows (null when it could not start one) and, once it
   * ended, its outcome (null before that).
   */
  public void recordRollout(Connection c, long id, String deployment, String outcome) {
    update(c, id, "rollout_deployment = ?, rollout_outcome = ?", "record the rollout", deployment, outcome);
  }

  /** Records the migration tool ({@code deploy.migrator}) this run migrates production with. */
  public void recordMigrator(Connection c, long id, String migrator) {
    update(c, id, "migrator = ?", "record the migrator", migrator);
  }

  /**
   * The migration tool of {@code service}'s newest row that migrated production; empty when no
   * row says (none migrated, or all before the ledger recorded it).
   */
  public java.util.Optional<String> lastMigrator(Connection c, String service) {
    String sql = "SELECT to_jsonb(" + quoted + ".*) ->> 'migrator' FROM " + quoted + " WHERE service = ? AND "
        + reached(LedgerStatus.MIGRATED) + " AND to_jsonb(" + quoted + ".*) ->> 'migrator' IS NOT NULL"
        + " ORDER BY id DESC LIMIT 1";
    try (PreparedStatement s = c.prepareStatement(sql)) {
      s.setString(1, service);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? java.util.Optional.of(rs.getString(1)) : java.util.Optional.empty();
      }
    } catch (SQLException e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot read the release ledger " + table + ": "
          + e.getMessage(), e);
    }
  }

  /** Records a hook that ran: {@code {hook, command, step, durationMillis, error}}. */
  public void recordHook(Connection c, long id, Map<String, Object> run) {
    update(c, id, "hooks = hooks || jsonb_build_array(?::jsonb)", "record a hook", json(run));
  }

  /** Records, after it was read back, that promote tag {@code tag} names its previous digest again. */
  public void recordTagReverted(Connection c, long id, String tag) {
    update(c, id, "tags_reverted = tags_reverted || jsonb_build_array(?::text)", "record the revert of " + tag, tag);
  }

  /**
   * Moves row {@code id} from {@code from} to {@code to}, and only from there: a row that ended
   * otherwise meanwhile is left as it is. True when it moved.
   */
  public boolean advanceFrom(Connection c, long id, LedgerStatus from, LedgerStatus to) {
    return transition(c, id, from, to, null);
  }

  /** One status transition of row {@code id}, from any status when {@code from} is null. */
  private boolean transition(Connection c, long id, LedgerStatus from, LedgerStatus to, String error) {
    boolean terminal = to.terminal();
    String sql = "UPDATE " + quoted + " SET status = ?, status_history = status_history || jsonb_build_array("
        + "jsonb_build_object('status', ?::text, 'at', clock_timestamp())), error = coalesce(?, error)"
        + (terminal ? ", finished_at = clock_timestamp()" : "") + " WHERE id = ?" + (from != null ? " AND status = ?" : "");
    try (PreparedStatement s = c.prepareStatement(sql)) {
      s.setString(1, to.id());
      s.setString(2, to.id());
      s.setString(3, error);
      s.setLong(4, id);
      if (from != null) {
        s.setString(5, from.id());
      }
      return s.executeUpdate() == 1;
    } catch (SQLException e) {
      throw failure("advance the release to " + to, e);
    }
  }


  /** Records the digest this release acts on, when it is known only after the row was made. */
  public void recordImageDigest(Connection c, long id, String digest) {
    update(c, id, "image_digest = ?", "record the image digest", digest);
  }

  /**
   * Records the fingerprint of the migration set this release proved and applies: what an
   * environment promoted from runs, compared with the set a promotion would apply.
   */
  public void recordMigrationSet(Connection c, long id, String fingerprint) {
    update(c, id, "migration_set = ?", "record the migration set", fingerprint);
  }

  /** Records what a rollback restores: the commit and digest of the release it goes back to. */
  public void recordRollbackTarget(Connection c, long id, String sha, String digest) {
    update(c, id, "sha = ?, image_digest = ?", "record the rollback's target", sha, digest);
  }

  /**
   * What a rollback may go back to: rows of {@code service} whose tags moved (status history
   * says promoted, or the run recorded a move, or what a move would replace, before it died),
   * newest first, each with an image digest.
   */
  public List<LedgerEntry> promoted(Connection c, String service) {
    // a run that died after moving a tag, before it wrote "promoted", recorded the move (or what it replaced) first
    return select(c, " WHERE service = ? AND image_digest IS NOT NULL AND (" + reached(LedgerStatus.PROMOTED)
        + " OR tags_moved <> '[]'::jsonb OR previous_digests <> '{}'::jsonb) ORDER BY id DESC",
        s -> s.setString(1, service));
  }

  /**
   * The newest row of {@code service} before {@code id} that moved a tag (or recorded the move),
   * or, for a rollback, chose its target; empty when there is none. Rows that moved nothing (a
   * release superseded or failed early) do not count, however many there are.
   */
  public Optional<LedgerEntry> lastMover(Connection c, String service, long id) {
    return select(c, " WHERE service = ? AND id < ? AND ((kind = " + literal(LedgerKind.ROLLBACK.id())
        + " AND image_digest IS NOT NULL) OR tags_moved <> '[]'::jsonb OR " + reached(LedgerStatus.PROMOTED)
        + ") ORDER BY id DESC"
        + " LIMIT 1", s -> {
          s.setString(1, service);
          s.setLong(2, id);
        }).stream().findFirst();
  }

  /**
   * Rows of {@code service} newer than {@code id} that applied migrations to production, or began
   * to (a release that failed or died while migrating records only what it planned), oldest first.
   */
  public List<LedgerEntry> appliedSince(Connection c, String service, long id) {
    return select(c, " WHERE service = ? AND id > ? AND (migrations_applied <> '[]'::jsonb OR (migrations_planned"
        + " <> '[]'::jsonb AND " + TOUCHED_PRODUCTION + ")) ORDER BY id", s -> {
      s.setString(1, service);
      s.setLong(2, id);
    });
  }

  private void update(Connection c, long id, String assignment, String what, String... values) {
    try (PreparedStatement s = c.prepareStatement("UPDATE " + quoted + " SET " + assignment + " WHERE id = ?")) {
      for (int i = 0; i < values.length; i++) {
        s.setString(i + 1, values[i]);
      }
      s.setLong(values.length + 1, id);
      s.executeUpdate();
    } catch (SQLException e) {
      throw failure(what, e);
    }
  }

  /**
   * Marks rows of {@code service} that are not finished but whose process is gone (nobody holds
   * the row's own lock: its session ended) as failed: a release killed while waiting, migrating or
 * rolling out. A row at
   * {@code migrated} is left alone: a split job's migrate ends there, waiting for its promote.
   */
  public int abandonDead(Connection c, String service) {
    String failed = literal(LedgerStatus.FAILED.id());
    String sql = "UPDATE " + quoted + " SET status = " + failed + ", error = 'abandoned: its process died',"
        + " finished_at = clock_timestamp(), status_history = status_history || jsonb_build_array("
        + "jsonb_build_object('status', " + failed + ", 'at', clock_timestamp()))"
        + " WHERE service = ? AND finished_at IS NULL AND " + UNFINISHED
        + " AND NOT " + processAlive();
    try (PreparedStatement s = c.prepareStatement(sql)) {
      s.setString(1, service);
      return s.executeUpdate();
    } catch (SQLException e) {
      throw failure("clean up abandoned releases", e);
    }
  }

  /**
   * The queued rows of {@code service} whose release is alive, oldest first, whole: a release
   * that died while it waited neither heads the queue nor supersedes anybody, even before it is
   * marked abandoned.
   */
  public List<LedgerEntry> queuedEntries(Connection c, String service) {
    return select(c, " WHERE service = ? AND status = " + literal(LedgerStatus.QUEUED.id()) + " AND (NOT row_locked OR "
        + alive() + ") ORDER BY id",
        s -> s.setString(1, service));
  }

  /** True when the ledger's table exists; reads only. */
  public boolean present(Connection c) {
    return LedgerTable.exists(c, "SELECT 1 WHERE to_regclass(?) IS NOT NULL", quoted);
  }

  /**
   * The unfinished rows of {@code service} whose release is alive, oldest first: the one that
   * holds the release lock (running, migrating, promoted or rolling out) and those queued behind
   * it. Reads only, so a dead row is skipped here rather than marked abandoned.
   */
  public List<LedgerEntry> alive(Connection c, String service) {
    return select(c, " WHERE service = ? AND finished_at IS NULL AND " + UNFINISHED
        + " AND " + processAlive() + " ORDER BY id", s -> s.setString(1, service));
  }

  /** SQL: the row's process still runs (rows of versions before the row lock: its session still exists). */
  private String processAlive() {
    return "(CASE WHEN row_locked THEN " + alive() + " ELSE backend_pid IN"
        + " (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL) END)";
  }

  /** SQL: the row's release holds the row's own lock, in this database. */
  private String alive() {
    return "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted"
        + " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        + " AND l.classid = ((" + rowLock + ")::int)::oid AND l.objid = ((" + quoted + ".id & 2147483647)::int)::oid)";
  }

  /**
   * The newest row of {@code service} other than {@code id} that touched production or moved a
   * tag: the release a newer one must not fall behind.
   */
  public Optional<LedgerEntry> latestReleased(Connection c, String service, long id) {
    return select(c, " WHERE service = ? AND id <> ? AND (" + TOUCHED_PRODUCTION
        + " OR " + reached(LedgerStatus.PROMOTED) + ") AND " + notRollback() + " ORDER BY id DESC LIMIT 1", s -> {
          s.setString(1, service);
          s.setLong(2, id);
        }).stream().findFirst();
  }

  /** The queued rows of {@code service}, oldest first. */
  public List<Long> queued(Connection c, String service) {
    List<Long> ids = new ArrayList<>();
    try (PreparedStatement s = c.prepareStatement(
        "SELECT id FROM " + quoted + " WHERE service = ? AND status = " + literal(LedgerStatus.QUEUED.id())
            + " ORDER BY id")) {
      s.setString(1, service);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          ids.add(rs.getLong(1));
        }
      }
      return ids;
    } catch (SQLException e) {
      throw failure("read the release queue", e);
    }
  }

  /** SQL: a row of a release, not of deploy:rollback (a ledger read before its kind column counts as releases). */
  private String notRollback() {
    return "coalesce(to_jsonb(" + quoted + ".*) ->> 'kind', " + literal(LedgerKind.RELEASE.id()) + ") <> "
        + literal(LedgerKind.ROLLBACK.id());
  }

  /** SQL: the row's history holds {@code status}. */
  private static String reached(LedgerStatus status) {
    return "status_history @> '[{\"status\": \"" + status.id() + "\"}]'";
  }

  /** A string literal of SQL; only for the enums' own ids, which hold no quote. */
  private static String literal(String id) {
    return "'" + id + "'";
  }

  /** SQL: the row's status says it is not finished (a row at {@code migrated} waits for a split job's promote). */
  private static final String UNFINISHED = "status IN (" + java.util.Arrays.stream(LedgerStatus.values())
      .filter(LedgerStatus::inFlight).map(status -> literal(status.id())).collect(java.util.stream.Collectors.joining(", "))
      + ")";

  /** History entries that say a release touched production: it began or finished migrating. */
  private static final String TOUCHED_PRODUCTION = "(" + reached(LedgerStatus.MIGRATING) + " OR "
      + reached(LedgerStatus.MIGRATED) + ")";

  /**
   * The newest row of {@code service} for {@code sha} whose migrate succeeded, whatever happened
   * to it after (a promote that failed later does not undo the migration).
   */
  public Optional<LedgerEntry> latestMigrated(Connection c, String service, String sha) {
    List<LedgerEntry> found = select(c, " WHERE service = ? AND sha = ? AND " + reached(LedgerStatus.MIGRATED)
        + " ORDER BY id DESC LIMIT 1", s -> {
          s.setString(1, service);
          s.setString(2, sha);
        });
    return found.stream().findFirst();
  }

  /**
   * Where {@code tag} pointed before the newest release of {@code service} that moved it to
   * {@code digest}: unrecorded when no release did.
   */
  public TagBefore previousDigest(Connection c, String service, String tag, String digest) {
    // previous_digests is written before the move, so a run that died between the move and its
    // record still counts; a row whose tag already named this image (a re-run's own) says nothing,
    // and a rollback's row names what it took away
    String sql = "SELECT previous_digests ->> ? FROM " + quoted + " WHERE service = ? AND image_digest = ?"
        + " AND (previous_digests -> ?) IS NOT NULL AND (previous_digests ->> ?) IS DISTINCT FROM image_digest"
        + " AND " + notRollback() + " ORDER BY id DESC LIMIT 1";
    try (PreparedStatement s = c.prepareStatement(sql)) {
      s.setString(1, tag);
      s.setString(2, service);
      s.setString(3, digest);
      s.setString(4, tag);
      s.setString(5, tag);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? TagBefore.recorded(rs.getString(1)) : TagBefore.unrecorded();
      }
    } catch (SQLException e) {
      throw failure("read where " + tag + " pointed before", e);
    }
  }

  /**
   * A row of {@code service} newer than {@code id}, of another commit, that touched production:
   * it began migrating, whether or not it finished or failed afterwards.
   */
  public Optional<LedgerEntry> newerMigrated(Connection c, String service, long id) {
    List<LedgerEntry> found = select(c, " WHERE service = ? AND id > ? AND " + TOUCHED_PRODUCTION
        + " AND sha <> (SELECT sha FROM " + quoted + " WHERE id = ?) ORDER BY id DESC LIMIT 1", s -> {
          s.setString(1, service);
          s.setLong(2, id);
          s.setLong(3, id);
        });
    return found.stream().findFirst();
  }

  /**
   * The newest row of {@code service} that did not end superseded (a superseded release changed
   * nothing); empty when there is none, or no ledger yet. Reads only.
   */
  public Optional<LedgerEntry> latestNotSuperseded(Connection c, String service) {
    if (!present(c)) {
      return Optional.empty();
    }
    return select(c, " WHERE service = ? AND status <> " + literal(LedgerStatus.SUPERSEDED.id())
        + " ORDER BY id DESC LIMIT 1", s -> s.setString(1, service)).stream().findFirst();
  }

  /** Every row of {@code service}, oldest first. */
  public List<LedgerEntry> history(Connection c, String service) {
    return select(c, " WHERE service = ? ORDER BY id", s -> s.setString(1, service));
  }

  /**
   * The newest {@code limit} rows of {@code service}, newest first; none when the ledger does not
   * exist yet. Reads only: the ledger is not created.
   */
  public List<LedgerEntry> recent(Connection c, String service, int limit) {
    if (!present(c)) {
      return List.of();
    }
    return select(c, " WHERE service = ? ORDER BY id DESC LIMIT ?", s -> {
      s.setString(1, service);
      s.setInt(2, limit);
    });
  }

  private interface Binder {
    void bind(PreparedStatement s) throws SQLException;
  }

  private List<LedgerEntry> select(Connection c, String where, Binder binder) {
    // columns a later version added are read through to_jsonb: a ledger made before them reads as null
    String sql = "SELECT id, service, sha, branch, branch_guard_overridden, ci_run_url, image_digest, status,"
        + " status_history::text, migrations_applied::text, previous_digests::text, started_at, finished_at,"
        + " error, backend_pid, migrations_planned::text, tags_moved::text, run_number, run_scope, ancestry::text,"
        + " to_jsonb(" + quoted + ".*) ->> 'rollout_outcome', coalesce(to_jsonb(" + quoted + ".*) ->> 'kind',"
        + " " + literal(LedgerKind.RELEASE.id()) + "), to_jsonb(" + quoted + ".*) ->> 'migration_set' FROM " + quoted + where;
    List<LedgerEntry> entries = new ArrayList<>();
    try (PreparedStatement s = c.prepareStatement(sql)) {
      binder.bind(s);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          entries.add(LedgerEntry.fromColumns(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4),
              rs.getBoolean(5), rs.getString(6), rs.getString(7), rs.getString(8), rs.getString(9), rs.getString(10),
              rs.getString(11), rs.getTimestamp(12).toInstant(),
              rs.getTimestamp(13) != null ? rs.getTimestamp(13).toInstant() : null, rs.getString(14),
              (Integer) rs.getObject(15), rs.getString(16), rs.getString(17), (Long) rs.getObject(18),
              rs.getString(19), rs.getString(20), rs.getString(21), rs.getString(22), rs.getString(23)));
        }
      }
      return entries;
    } catch (SQLException e) {
      throw failure("read the release ledger", e);
    } catch (IllegalArgumentException e) { // a status, kind or rollout outcome a newer version wrote
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot read the ledger " + table + ": " + e.getMessage()
          + ": a newer closedloop wrote it; upgrade to that version", e);
    }
  }

  private static String json(Object value) {
    try {
      return JSON.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not JSON: " + value, e);
    }
  }

  private DeployException failure(String what, SQLException e) {
    return new DeployException(DeployException.Kind.DATABASE,
        "Cannot " + what + " in the ledger " + table + ": " + e.getMessage(), e);
  }
}
