package dev.closedloop.deploy.guard;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.closedloop.deploy.DeployException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
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

  private static final Set<String> JSON_COLUMNS = Set.of("migrations_applied", "migrations_planned");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  /** A row of the ledger, as read back. */
  public record Entry(long id, String service, String sha, String branch, boolean branchGuardOverridden,
      String ciRunUrl, String imageDigest, String status, String statusHistory, String migrationsApplied,
      String previousDigests, Instant startedAt, Instant finishedAt, String error, Integer backendPid,
      String migrationsPlanned, String tagsMoved, Long runNumber, String runScope, List<String> ancestry,
      String rolloutOutcome, String kind) {

    /** True for a row of deploy:rollback, not a release. */
    public boolean rollback() {
      return "rollback".equals(kind);
    }

    /** True when the row recorded a tag's move, or that it was promoted: its image went live. */
    public boolean moved() {
      return (tagsMoved != null && !tagsMoved.replaceAll("\\s", "").equals("[]"))
          || (statusHistory != null && statusHistory.replaceAll("\\s", "").contains("\"status\":\"promoted\""));
    }

    /** The commit as its release recorded it, for telling which release is newer. */
    public CommitOrder.Commit commit() {
      return new CommitOrder.Commit(sha, runNumber, runScope, ancestry);
    }

    /** The labels of the migrations it applied, in order. */
    public List<String> appliedMigrations() {
      return strings(migrationsApplied);
    }

    /** The labels of the migrations it was about to apply, recorded before the first one ran. */
    public List<String> plannedMigrations() {
      return strings(migrationsPlanned);
    }

    /** Where promote tag {@code tag} pointed before it moved it; null when it did not exist or is not recorded. */
    public String previousDigest(String tag) {
      try {
        var node = previousDigests == null ? null : JSON.readTree(previousDigests).get(tag);
        return node == null || node.isNull() ? null : node.asText();
      } catch (JsonProcessingException e) {
        return null;
      }
    }
  }

  /**
   * What a new attempt records when it joins the queue.
   *
   * @param kind {@code release}, or {@code rollback} for deploy:rollback's rows, which no release
   *     is ordered against
   */
  public record Attempt(String service, String sha, String branch, boolean branchGuardOverridden,
      String ciRunUrl, String imageDigest, CommitOrder.Commit commit, String kind) {

    public Attempt(String service, String sha, String branch, boolean branchGuardOverridden, String ciRunUrl,
        String imageDigest, CommitOrder.Commit commit) {
      this(service, sha, branch, branchGuardOverridden, ciRunUrl, imageDigest, commit, "release");
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

  public String table() {
    return table;
  }

  /**
   * Creates the schema and table when missing, and the columns later versions added; safe to run
   * from many releases at once. An existing schema is not created again, so a role without the
   * CREATE privilege on the database can keep its ledger in a schema made for it.
   */
  public void ensure(Connection c) {
    if (!schemaExists(c)) {
      execute(c, "CREATE SCHEMA IF NOT EXISTS \"" + schema + '"');
    }
    if (!exists(c, "SELECT 1 WHERE to_regclass(?) IS NOT NULL", quoted)) { // CREATE would need the schema's CREATE right
      execute(c, "CREATE TABLE IF NOT EXISTS " + quoted + " ("
          + " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
          + " service text NOT NULL,"
          + " sha text NOT NULL,"
          + " branch text,"
          + " branch_guard_overridden boolean NOT NULL DEFAULT false,"
          + " ci_run_url text,"
          + " image_digest text,"
          + " status text NOT NULL,"
          + " status_history jsonb NOT NULL,"
          + " migrations_applied jsonb NOT NULL DEFAULT '[]',"
          + " previous_digests jsonb NOT NULL DEFAULT '{}',"
          + " started_at timestamptz NOT NULL DEFAULT clock_timestamp(),"
          + " finished_at timestamptz,"
          + " error text,"
          + " backend_pid integer)");
    }
    // Index and columns are looked for first: CREATE INDEX and ALTER TABLE take locks that stall
    // every reader of the ledger even when there is nothing to add.
    String index = table.replace('.', '_') + "_service_idx";
    index = index.substring(0, Math.min(index.length(), 63)); // as PostgreSQL keeps a long name
    if (!exists(c, "SELECT 1 FROM pg_indexes WHERE schemaname = ? AND indexname = ?", schema, index)) {
      ddl(c, "CREATE INDEX IF NOT EXISTS \"" + index + "\" ON " + quoted + " (service, id)");
    }
    for (String[] column : ADDED_COLUMNS) {
      if (!exists(c, "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(?) AND attname = ? AND NOT attisdropped",
          quoted, column[0])) {
        ddl(c, "ALTER TABLE " + quoted + " ADD COLUMN IF NOT EXISTS " + column[0] + " " + column[1]);
      }
    }
  }

  /**
   * A change of the ledger's shape, done once per ledger: it waits at most a few seconds for
   * readers of the ledger to finish, instead of stalling every release behind one open transaction.
   */
  private static void ddl(Connection c, String sql) {
    execute(c, "SET lock_timeout = 10000");
    try {
      execute(c, sql);
    } finally {
      execute(c, "RESET lock_timeout");
    }
  }

  /** Columns later versions added, created on ledgers made before them. */
  private static final String[][] ADDED_COLUMNS = {
      {"migrations_planned", "jsonb NOT NULL DEFAULT '[]'"},
      {"tags_moved", "jsonb NOT NULL DEFAULT '[]'"},
      {"run_number", "bigint"},
      {"run_scope", "text"},
      {"ancestry", "jsonb NOT NULL DEFAULT '[]'"},
      {"row_locked", "boolean NOT NULL DEFAULT false"},
      {"rollout_deployment", "text"},
      {"rollout_outcome", "text"},
      {"tags_reverted", "jsonb NOT NULL DEFAULT '[]'"},
      {"hooks", "jsonb NOT NULL DEFAULT '[]'"},
      {"kind", "text NOT NULL DEFAULT 'release'"}};

  private static boolean exists(Connection c, String sql, String... values) {
    try (PreparedStatement s = c.prepareStatement(sql)) {
      for (int i = 0; i < values.length; i++) {
        s.setString(i + 1, values[i]);
      }
      try (ResultSet rs = s.executeQuery()) {
        return rs.next();
      }
    } catch (SQLException e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot prepare the release ledger: " + e.getMessage(), e);
    }
  }

  private boolean schemaExists(Connection c) {
    return exists(c, "SELECT 1 FROM pg_namespace WHERE nspname = ?", schema);
  }

  private static void execute(Connection c, String sql) {
    try (Statement s = c.createStatement()) {
      s.execute(sql);
    } catch (SQLException e) {
      if ("23505".equals(e.getSQLState()) || "42P07".equals(e.getSQLState())) {
        return; // created by a concurrent release between its check and ours
      }
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot prepare the release ledger: " + e.getMessage(), e);
    }
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
        + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, true, 'queued',"
        + " jsonb_build_array(jsonb_build_object('status', 'queued', 'at', clock_timestamp())), pg_backend_pid())"
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
      s.setString(10, attempt.kind());
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    } catch (SQLException e) {
      throw failure("record the release", e);
    }
  }

  /** Moves row {@code id} to {@code status}, appending it to the history; terminal statuses set finished_at. */
  public void advance(Connection c, long id, String status, String error) {
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
  public boolean advanceFrom(Connection c, long id, String from, String to) {
    return transition(c, id, from, to, null);
  }

  /** One status transition of row {@code id}, from any status when {@code from} is null. */
  private boolean transition(Connection c, long id, String from, String to, String error) {
    boolean terminal = to.equals("succeeded") || to.equals("failed") || to.equals("superseded");
    String sql = "UPDATE " + quoted + " SET status = ?, status_history = status_history || jsonb_build_array("
        + "jsonb_build_object('status', ?::text, 'at', clock_timestamp())), error = coalesce(?, error)"
        + (terminal ? ", finished_at = clock_timestamp()" : "") + " WHERE id = ?" + (from != null ? " AND status = ?" : "");
    try (PreparedStatement s = c.prepareStatement(sql)) {
      s.setString(1, to);
      s.setString(2, to);
      s.setString(3, error);
      s.setLong(4, id);
      if (from != null) {
        s.setString(5, from);
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

  /** Records what a rollback restores: the commit and digest of the release it goes back to. */
  public void recordRollbackTarget(Connection c, long id, String sha, String digest) {
    update(c, id, "sha = ?, image_digest = ?", "record the rollback's target", sha, digest);
  }

  /**
   * What a rollback may go back to: rows of {@code service} whose tags moved (status history
   * says promoted, or the run recorded a move, or what a move would replace, before it died),
   * newest first, each with an image digest.
   */
  public List<Entry> promoted(Connection c, String service) {
    // a run that died after moving a tag, before it wrote "promoted", recorded the move (or what it replaced) first
    return select(c, " WHERE service = ? AND image_digest IS NOT NULL AND (status_history @> '[{\"status\":"
        + " \"promoted\"}]' OR tags_moved <> '[]'::jsonb OR previous_digests <> '{}'::jsonb) ORDER BY id DESC",
        s -> s.setString(1, service));
  }

  /**
   * The newest row of {@code service} before {@code id} that moved a tag (or recorded the move),
   * or, for a rollback, chose its target; empty when there is none. Rows that moved nothing (a
   * release superseded or failed early) do not count, however many there are.
   */
  public java.util.Optional<Entry> lastMover(Connection c, String service, long id) {
    return select(c, " WHERE service = ? AND id < ? AND ((kind = 'rollback' AND image_digest IS NOT NULL)"
        + " OR tags_moved <> '[]'::jsonb OR status_history @> '[{\"status\": \"promoted\"}]') ORDER BY id DESC"
        + " LIMIT 1", s -> {
          s.setString(1, service);
          s.setLong(2, id);
        }).stream().findFirst();
  }

  /**
   * Rows of {@code service} newer than {@code id} that applied migrations to production, or began
   * to (a release that failed or died while migrating records only what it planned), oldest first.
   */
  public List<Entry> appliedSince(Connection c, String service, long id) {
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
    String sql = "UPDATE " + quoted + " SET status = 'failed', error = 'abandoned: its process died',"
        + " finished_at = clock_timestamp(), status_history = status_history || jsonb_build_array("
        + "jsonb_build_object('status', 'failed', 'at', clock_timestamp()))"
        + " WHERE service = ? AND finished_at IS NULL"
        + " AND status IN ('queued', 'running', 'migrating', 'promoted', 'rolling_out')"
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
  public List<Entry> queuedEntries(Connection c, String service) {
    return select(c, " WHERE service = ? AND status = 'queued' AND (NOT row_locked OR " + alive() + ") ORDER BY id",
        s -> s.setString(1, service));
  }

  /** True when the ledger's table exists; reads only. */
  public boolean present(Connection c) {
    return exists(c, "SELECT 1 WHERE to_regclass(?) IS NOT NULL", quoted);
  }

  /**
   * The unfinished rows of {@code service} whose release is alive, oldest first: the one that
   * holds the release lock (running, migrating, promoted or rolling out) and those queued behind
   * it. Reads only, so a dead row is skipped here rather than marked abandoned.
   */
  public List<Entry> alive(Connection c, String service) {
    return select(c, " WHERE service = ? AND finished_at IS NULL"
        + " AND status IN ('queued', 'running', 'migrating', 'promoted', 'rolling_out')"
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
  public Optional<Entry> latestReleased(Connection c, String service, long id) {
    return select(c, " WHERE service = ? AND id <> ? AND (" + TOUCHED_PRODUCTION
        + " OR status_history @> '[{\"status\": \"promoted\"}]') AND " + notRollback() + " ORDER BY id DESC LIMIT 1", s -> {
          s.setString(1, service);
          s.setLong(2, id);
        }).stream().findFirst();
  }

  /** The queued rows of {@code service}, oldest first. */
  public List<Long> queued(Connection c, String service) {
    List<Long> ids = new ArrayList<>();
    try (PreparedStatement s = c.prepareStatement(
        "SELECT id FROM " + quoted + " WHERE service = ? AND status = 'queued' ORDER BY id")) {
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
    return "coalesce(to_jsonb(" + quoted + ".*) ->> 'kind', 'release') <> 'rollback'";
  }

  /** History entries that say a release touched production: it began or finished migrating. */
  private static final String TOUCHED_PRODUCTION = "(status_history @> '[{\"status\": \"migrating\"}]'"
      + " OR status_history @> '[{\"status\": \"migrated\"}]')";

  /**
   * The newest row of {@code service} for {@code sha} whose migrate succeeded, whatever happened
   * to it after (a promote that failed later does not undo the migration).
   */
  public Optional<Entry> latestMigrated(Connection c, String service, String sha) {
    List<Entry> found = select(c, " WHERE service = ? AND sha = ? AND status_history @> '[{\"status\": \"migrated\"}]'"
        + " ORDER BY id DESC LIMIT 1", s -> {
          s.setString(1, service);
          s.setString(2, sha);
        });
    return found.stream().findFirst();
  }

  /**
   * Where {@code tag} pointed before the newest release of {@code service} that moved it to
   * {@code digest}: empty when no release did; the inner value empty when the tag did not exist.
   */
  public Optional<Optional<String>> previousDigest(Connection c, String service, String tag, String digest) {
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
        return rs.next() ? Optional.of(Optional.ofNullable(rs.getString(1))) : Optional.empty();
      }
    } catch (SQLException e) {
      throw failure("read where " + tag + " pointed before", e);
    }
  }

  /**
   * A row of {@code service} newer than {@code id}, of another commit, that touched production:
   * it began migrating, whether or not it finished or failed afterwards.
   */
  public Optional<Entry> newerMigrated(Connection c, String service, long id) {
    List<Entry> found = select(c, " WHERE service = ? AND id > ? AND " + TOUCHED_PRODUCTION
        + " AND sha <> (SELECT sha FROM " + quoted + " WHERE id = ?) ORDER BY id DESC LIMIT 1", s -> {
          s.setString(1, service);
          s.setLong(2, id);
          s.setLong(3, id);
        });
    return found.stream().findFirst();
  }

  /** Every row of {@code service}, oldest first. */
  public List<Entry> history(Connection c, String service) {
    return select(c, " WHERE service = ? ORDER BY id", s -> s.setString(1, service));
  }

  /**
   * The newest {@code limit} rows of {@code service}, newest first; none when the ledger does not
   * exist yet. Reads only: the ledger is not created.
   */
  public List<Entry> recent(Connection c, String service, int limit) {
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

  private List<Entry> select(Connection c, String where, Binder binder) {
    // columns a later version added are read through to_jsonb: a ledger made before them reads as null
    String sql = "SELECT id, service, sha, branch, branch_guard_overridden, ci_run_url, image_digest, status,"
        + " status_history::text, migrations_applied::text, previous_digests::text, started_at, finished_at,"
        + " error, backend_pid, migrations_planned::text, tags_moved::text, run_number, run_scope, ancestry::text,"
        + " to_jsonb(" + quoted + ".*) ->> 'rollout_outcome', coalesce(to_jsonb(" + quoted + ".*) ->> 'kind',"
        + " 'release') FROM " + quoted + where;
    List<Entry> entries = new ArrayList<>();
    try (PreparedStatement s = c.prepareStatement(sql)) {
      binder.bind(s);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          entries.add(new Entry(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getBoolean(5),
              rs.getString(6), rs.getString(7), rs.getString(8), rs.getString(9), rs.getString(10),
              rs.getString(11), rs.getTimestamp(12).toInstant(),
              rs.getTimestamp(13) != null ? rs.getTimestamp(13).toInstant() : null, rs.getString(14),
              (Integer) rs.getObject(15), rs.getString(16), rs.getString(17), (Long) rs.getObject(18),
              rs.getString(19), strings(rs.getString(20)), rs.getString(21), rs.getString(22)));
        }
      }
      return entries;
    } catch (SQLException e) {
      throw failure("read the release ledger", e);
    }
  }

  private static String json(Object value) {
    try {
      return JSON.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not JSON: " + value, e);
    }
  }

  private static List<String> strings(String json) {
    try {
      return json == null ? List.of() : List.of(JSON.readValue(json, String[].class));
    } catch (JsonProcessingException e) {
      return List.of();
    }
  }

  private DeployException failure(String what, SQLException e) {
    return new DeployException(DeployException.Kind.DATABASE,
        "Cannot " + what + " in the ledger " + table + ": " + e.getMessage(), e);
  }
}
