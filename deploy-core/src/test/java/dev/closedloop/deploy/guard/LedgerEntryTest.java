package dev.closedloop.deploy.guard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import dev.closedloop.deploy.internal.guard.CommitOrder;
import dev.closedloop.deploy.internal.guard.ReleaseLedger;
import dev.closedloop.deploy.internal.guard.TagBefore;
import dev.closedloop.deploy.rollout.Rollout;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A ledger row's JSON columns, as jsonb prints them, read into typed values. */
class LedgerEntryTest {

  private static final String OLD = "sha256:" + "a".repeat(64);
  private static final String NEW = "sha256:" + "b".repeat(64);
  private static final Instant STARTED = Instant.parse("2026-05-01T12:00:00Z");

  /** The columns as ReleaseLedger's SELECT returns them, JSON as text. */
  private static LedgerEntry row(String status, String history, String applied, String previous, String planned,
      String moved, String kind) {
    return LedgerEntry.fromColumns(7, "shop", "abc123", "main", false, null, NEW, status, history, applied, previous,
        STARTED, null, null, 4242, planned, moved, 12L, "ci/shop", "[\"abc122\", \"abc121\"]", "rolled_back", kind);
  }

  private static final String PROMOTED_HISTORY = "[{\"at\": \"2026-05-01T12:00:00.123456+00:00\", \"status\": \"queued\"},"
      + " {\"at\": \"2026-05-01T12:00:01.5+00:00\", \"status\": \"running\"},"
      + " {\"at\": \"2026-05-01T12:00:02+00:00\", \"status\": \"migrating\"},"
      + " {\"at\": \"2026-05-01T12:00:03+02:00\", \"status\": \"migrated\"},"
      + " {\"at\": \"2026-05-01T12:00:04+00:00\", \"status\": \"promoted\"}]";

  @Test
  void theStatusHistory_readsAsStatusesWithTheirTimes() {
    LedgerEntry entry = row("promoted", PROMOTED_HISTORY, "[]", "{}", "[]", "[]", "release");

    assertThat(entry.status()).isEqualTo(LedgerStatus.PROMOTED);
    assertThat(entry.statusHistory()).containsExactly(
        new LedgerEntry.StatusChange(LedgerStatus.QUEUED, Instant.parse("2026-05-01T12:00:00.123456Z")),
        new LedgerEntry.StatusChange(LedgerStatus.RUNNING, Instant.parse("2026-05-01T12:00:01.5Z")),
        new LedgerEntry.StatusChange(LedgerStatus.MIGRATING, Instant.parse("2026-05-01T12:00:02Z")),
        new LedgerEntry.StatusChange(LedgerStatus.MIGRATED, Instant.parse("2026-05-01T10:00:03Z")),
        new LedgerEntry.StatusChange(LedgerStatus.PROMOTED, Instant.parse("2026-05-01T12:00:04Z")));
    assertThat(entry.reached(LedgerStatus.MIGRATED)).isTrue();
    assertThat(entry.reached(LedgerStatus.SUCCEEDED)).isFalse();
  }

  @Test
  void aPromotedRow_moved_evenWithoutARecordedTagMove() {
    assertThat(row("promoted", PROMOTED_HISTORY, "[]", "{}", "[]", "[]", "release").moved()).isTrue();
  }

  @Test
  void aRowThatRecordedATagMove_moved_evenIfItDiedBeforePromoted() {
    String history = "[{\"at\": \"2026-05-01T12:00:00+00:00\", \"status\": \"queued\"},"
        + " {\"at\": \"2026-05-01T12:00:01+00:00\", \"status\": \"running\"}, {\"at\": \"2026-05-01T12:00:02+00:00\","
        + " \"status\": \"failed\"}]";
    LedgerEntry entry = row("failed", history, "[]", "{\"latest\": \"" + OLD + "\"}", "[]", "[\"latest\"]", "release");

    assertThat(entry.moved()).isTrue();
    assertThat(entry.tagsMoved()).containsExactly("latest");
  }

  @Test
  void aRowThatOnlyRecordedWhatAMoveWouldReplace_didNotMove() {
    String history = "[{\"at\": \"2026-05-01T12:00:00+00:00\", \"status\": \"failed\"}]";
    LedgerEntry entry = row("failed", history, "[]", "{\"latest\": \"" + OLD + "\"}", "[]", "[]", "release");

    assertThat(entry.moved()).isFalse();
    assertThat(entry.previousDigest("latest")).isEqualTo(OLD);
  }

  @Test
  void previousDigests_tellATagThatDidNotExist_fromOneNotRecorded() {
    LedgerEntry entry = row("succeeded", PROMOTED_HISTORY, "[]", "{\"stable\": null, \"latest\": \"" + OLD + "\"}",
        "[]", "[\"latest\", \"stable\"]", "release");

    assertThat(entry.previousDigests()).containsExactly(entry("stable", null), entry("latest", OLD));
    assertThat(entry.previousDigest("latest")).isEqualTo(OLD);
    assertThat(entry.previousDigest("stable")).isNull();
    assertThat(entry.previousDigest("canary")).isNull();
    assertThat(TagBefore.of(entry, "latest")).isEqualTo(TagBefore.recorded(OLD));
    assertThat(TagBefore.of(entry, "stable")).isEqualTo(new TagBefore(true, null));
    assertThat(TagBefore.of(entry, "stable").existed()).isFalse();
    assertThat(TagBefore.of(entry, "canary")).isEqualTo(TagBefore.unrecorded());
    assertThat(TagBefore.of(entry, "canary").recorded()).isFalse();
  }

  @Test
  void appliedAndPlannedMigrations_readAsLabelsInOrder() {
    LedgerEntry entry = row("succeeded", PROMOTED_HISTORY, "[\"V1 create customers\", \"R order totals\"]", "{}",
        "[\"V1 create customers\", \"V2 create orders\"]", "[]", "release");

    assertThat(entry.appliedMigrations()).containsExactly("V1 create customers", "R order totals");
    assertThat(entry.migrationsApplied()).isEqualTo(entry.appliedMigrations());
    assertThat(entry.plannedMigrations()).containsExactly("V1 create customers", "V2 create orders");
  }

  @Test
  void theCommitAndOtherColumns_areKeptAsRead() {
    LedgerEntry entry = row("succeeded", PROMOTED_HISTORY, "[]", "{}", "[]", "[]", "release");

    assertThat(CommitOrder.Commit.of(entry)).isEqualTo(new CommitOrder.Commit("abc123", 12L, "ci/shop", List.of("abc122", "abc121")));
    assertThat(entry.rolloutOutcome()).isEqualTo(Rollout.Outcome.ROLLED_BACK);
    assertThat(entry.backendPid()).isEqualTo(4242);
    assertThat(entry.startedAt()).isEqualTo(STARTED);
  }

  @Test
  void theKind_tellsARollbackFromARelease_andALedgerWithoutTheColumnHoldsReleases() {
    assertThat(row("succeeded", PROMOTED_HISTORY, "[]", "{}", "[]", "[]", "rollback").rollback()).isTrue();
    assertThat(row("succeeded", PROMOTED_HISTORY, "[]", "{}", "[]", "[]", "release").rollback()).isFalse();
    assertThat(row("succeeded", PROMOTED_HISTORY, "[]", "{}", "[]", "[]", null).kind()).isEqualTo(LedgerKind.RELEASE);
  }

  @Test
  void columnsALedgerDidNotHaveYet_readAsEmpty() {
    LedgerEntry entry = row("queued", "[{\"at\": \"2026-05-01T12:00:00+00:00\", \"status\": \"queued\"}]", null, null,
        null, null, "release");

    assertThat(entry.appliedMigrations()).isEmpty();
    assertThat(entry.plannedMigrations()).isEmpty();
    assertThat(entry.previousDigests()).isEmpty();
    assertThat(entry.tagsMoved()).isEmpty();
    assertThat(entry.moved()).isFalse();
  }

  @Test
  void aMalformedJsonColumn_readsAsEmpty_andTheOtherColumnsStillRead() {
    LedgerEntry entry = row("promoted", PROMOTED_HISTORY, "[\"V1 create customers\"", "{latest:", "not json", "[\"latest\",",
        "release");

    assertThat(entry.appliedMigrations()).isEmpty();
    assertThat(entry.previousDigests()).isEmpty();
    assertThat(TagBefore.of(entry, "latest")).isEqualTo(TagBefore.unrecorded());
    assertThat(entry.plannedMigrations()).isEmpty();
    assertThat(entry.tagsMoved()).isEmpty();
    assertThat(entry.moved()).as("promoted, whatever tags_moved holds").isTrue();
    assertThat(row("failed", "[{\"status\": ", "[]", "{}", "[]", "[]", "release").statusHistory()).isEmpty();
  }

  @Test
  void aRolloutOutcome_readsAsTheRolloutsOutcome_noneAsNull_anUnknownOneRefused() {
    assertThat(Rollout.Outcome.of(null)).isNull();
    for (Rollout.Outcome outcome : Rollout.Outcome.values()) {
      assertThat(Rollout.Outcome.of(outcome.id())).isSameAs(outcome);
    }
    assertThatThrownBy(() -> Rollout.Outcome.of("paused")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Unknown rollout outcome 'paused' (known: succeeded, rolled_back, failed, timed_out,"
            + " superseded)");
  }

  @Test
  void aStatusThisVersionDoesNotKnow_isRefused() {
    assertThatThrownBy(() -> row("paused", "[]", "[]", "{}", "[]", "[]", "release"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("Unknown ledger status 'paused'");
  }

  @Test
  void anUnrecordedTag_hasNoDigest() {
    assertThatThrownBy(() -> new TagBefore(false, OLD)).isInstanceOf(IllegalArgumentException.class);
    assertThat(TagBefore.recorded(NEW).existed()).isTrue();
    assertThat(TagBefore.recorded(NEW).digest()).isEqualTo(NEW);
  }
}
