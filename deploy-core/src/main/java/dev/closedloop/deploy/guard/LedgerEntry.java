package dev.closedloop.deploy.guard;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.closedloop.deploy.rollout.Rollout;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A row of the release ledger, as read back: its JSON columns read once, into typed values.
 *
 * @param statusHistory every status the row went through, oldest first
 * @param migrationsApplied the labels of the migrations it applied, in order
 * @param previousDigests where each promote tag pointed before its move, in the order recorded; a
 *     null value for a tag that did not exist
 * @param migrationsPlanned the labels of the migrations it was about to apply, recorded before the first ran
 * @param tagsMoved the promote tags whose move was read back, in order
 * @param rolloutOutcome how its rollout ended, or null (no rollout, or not ended)
 * @param migrationSet the fingerprint of the migration set its migrate proved and applied; null before it
 *     migrated, and in rows older closedloop versions wrote
 */
public record LedgerEntry(long id, String service, String sha, String branch, boolean branchGuardOverridden,
    String ciRunUrl, String imageDigest, LedgerStatus status, List<StatusChange> statusHistory,
    List<String> migrationsApplied, Map<String, String> previousDigests, Instant startedAt, Instant finishedAt,
    String error, Integer backendPid, List<String> migrationsPlanned, List<String> tagsMoved, Long runNumber,
    String runScope, List<String> ancestry, Rollout.Outcome rolloutOutcome, LedgerKind kind, String migrationSet) {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** One entry of {@code status_history}: the status and when the row reached it. */
  public record StatusChange(LedgerStatus status, Instant at) { }

  public LedgerEntry {
    statusHistory = List.copyOf(statusHistory);
    migrationsApplied = List.copyOf(migrationsApplied);
    // a null value says the tag did not exist, which Map.copyOf cannot hold
    previousDigests = Collections.unmodifiableMap(new LinkedHashMap<>(previousDigests));
    migrationsPlanned = List.copyOf(migrationsPlanned);
    tagsMoved = List.copyOf(tagsMoved);
    ancestry = List.copyOf(ancestry);
  }

  /**
   * A row from its column values as JDBC returns them, JSON columns as text; a JSON column that
   * is null (or not JSON) reads as empty.
   *
   * @throws IllegalArgumentException for a status, kind or rollout outcome this version does not know
   */
  public static LedgerEntry fromColumns(long id, String service, String sha, String branch,
      boolean branchGuardOverridden, String ciRunUrl, String imageDigest, String status, String statusHistory,
      String migrationsApplied, String previousDigests, Instant startedAt, Instant finishedAt, String error,
      Integer backendPid, String migrationsPlanned, String tagsMoved, Long runNumber, String runScope,
      String ancestry, String rolloutOutcome, String kind) {
    return fromColumns(id, service, sha, branch, branchGuardOverridden, ciRunUrl, imageDigest, status, statusHistory,
        migrationsApplied, previousDigests, startedAt, finishedAt, error, backendPid, migrationsPlanned, tagsMoved,
        runNumber, runScope, ancestry, rolloutOutcome, kind, null);
  }

  /** As the other, with the migration set's fingerprint. */
  public static LedgerEntry fromColumns(long id, String service, String sha, String branch,
      boolean branchGuardOverridden, String ciRunUrl, String imageDigest, String status, String statusHistory,
      String migrationsApplied, String previousDigests, Instant startedAt, Instant finishedAt, String error,
      Integer backendPid, String migrationsPlanned, String tagsMoved, Long runNumber, String runScope,
      String ancestry, String rolloutOutcome, String kind, String migrationSet) {
    return new LedgerEntry(id, service, sha, branch, branchGuardOverridden, ciRunUrl, imageDigest,
        LedgerStatus.of(status), statusChanges(statusHistory), strings(migrationsApplied), digests(previousDigests),
        startedAt, finishedAt, error, backendPid, strings(migrationsPlanned), strings(tagsMoved), runNumber, runScope,
        strings(ancestry), Rollout.Outcome.of(rolloutOutcome), LedgerKind.of(kind), migrationSet);
  }

  /** True for a row of deploy:rollback, not a release. */
  public boolean rollback() {
    return kind == LedgerKind.ROLLBACK;
  }

  /** True when the row recorded a tag's move, or that it was promoted: its image went live. */
  public boolean moved() {
    return !tagsMoved.isEmpty() || reached(LedgerStatus.PROMOTED);
  }

  /** True when the row went through {@code status} at some point. */
  public boolean reached(LedgerStatus status) {
    return statusHistory.stream().anyMatch(change -> change.status() == status);
  }

  /** The labels of the migrations it applied, in order. */
  public List<String> appliedMigrations() {
    return migrationsApplied;
  }

  /** The labels of the migrations it was about to apply, recorded before the first one ran. */
  public List<String> plannedMigrations() {
    return migrationsPlanned;
  }

  /** Where promote tag {@code tag} pointed before it moved it; null when it did not exist or is not recorded. */
  public String previousDigest(String tag) {
    return previousDigests.get(tag);
  }

  private static JsonNode tree(String json) {
    try {
      return json == null ? null : JSON.readTree(json);
    } catch (JsonProcessingException e) {
      return null;
    }
  }

  static List<String> strings(String json) {
    JsonNode array = tree(json);
    List<String> values = new ArrayList<>();
    if (array != null && array.isArray()) {
      array.forEach(value -> {
        if (!value.isNull()) {
          values.add(value.asText());
        }
      });
    }
    return Collections.unmodifiableList(values);
  }

  private static Map<String, String> digests(String json) {
    JsonNode object = tree(json);
    Map<String, String> digests = new LinkedHashMap<>();
    if (object != null && object.isObject()) {
      object.fields().forEachRemaining(field -> digests.put(field.getKey(),
          field.getValue().isNull() ? null : field.getValue().asText()));
    }
    return digests;
  }

  private static List<StatusChange> statusChanges(String json) {
    JsonNode array = tree(json);
    List<StatusChange> changes = new ArrayList<>();
    if (array != null && array.isArray()) {
      for (JsonNode change : array) {
        JsonNode at = change.get("at");
        changes.add(new StatusChange(LedgerStatus.of(change.path("status").asText(null)),
            at == null || at.isNull() ? null : instant(at.asText())));
      }
    }
    return changes;
  }

  /** A timestamp as jsonb writes one, e.g. {@code 2026-05-01T12:00:00.123456+00:00}. */
  private static Instant instant(String text) {
    try {
      return OffsetDateTime.parse(text.replace(' ', 'T')).toInstant();
    } catch (DateTimeParseException e) {
      return OffsetDateTime.parse(text.replace(' ', 'T') + ":00").toInstant(); // an offset of whole hours written as +05
    }
  }
}
