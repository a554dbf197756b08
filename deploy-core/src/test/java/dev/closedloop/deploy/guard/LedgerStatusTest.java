package dev.closedloop.deploy.guard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class LedgerStatusTest {

  @ParameterizedTest
  @EnumSource(LedgerStatus.class)
  void everyStatus_readsBackFromItsColumnValue(LedgerStatus status) {
    assertThat(LedgerStatus.of(status.id())).isSameAs(status);
    assertThat(status.toString()).isEqualTo(status.id());
  }

  @Test
  void theColumnValues_areTheOnesExistingLedgersHold() {
    assertThat(LedgerStatus.values()).extracting(LedgerStatus::id).containsExactly("queued", "running", "migrating",
        "migrated", "promoted", "rolling_out", "succeeded", "failed", "superseded");
  }

  @Test
  void onlySucceededFailedAndSuperseded_endARow() {
    assertThat(LedgerStatus.values()).filteredOn(LedgerStatus::terminal)
        .containsExactly(LedgerStatus.SUCCEEDED, LedgerStatus.FAILED, LedgerStatus.SUPERSEDED);
  }

  @Test
  void theStatusesOfAReleaseAtWorkOrWaiting_leaveOutMigrated_whereASplitJobWaitsForItsPromote() {
    assertThat(LedgerStatus.values()).filteredOn(LedgerStatus::inFlight).containsExactly(LedgerStatus.QUEUED,
        LedgerStatus.RUNNING, LedgerStatus.MIGRATING, LedgerStatus.PROMOTED, LedgerStatus.ROLLING_OUT);
  }

  @Test
  void anUnknownStatus_isRefused_namingItAndTheKnownOnes() {
    assertThatThrownBy(() -> LedgerStatus.of("paused")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Unknown ledger status 'paused' (known: queued, running, migrating, migrated, promoted,"
            + " rolling_out, succeeded, failed, superseded)");
    assertThatThrownBy(() -> LedgerStatus.of("SUCCEEDED")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LedgerStatus.of(null)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("Unknown ledger status 'null'");
  }

  @ParameterizedTest
  @EnumSource(LedgerKind.class)
  void everyKind_readsBackFromItsColumnValue(LedgerKind kind) {
    assertThat(LedgerKind.of(kind.id())).isSameAs(kind);
  }

  @Test
  void aRowWithoutKind_isARelease_andAnUnknownKindIsRefused() {
    assertThat(LedgerKind.values()).extracting(LedgerKind::id).containsExactly("release", "rollback");
    assertThat(LedgerKind.of(null)).isEqualTo(LedgerKind.RELEASE);
    assertThatThrownBy(() -> LedgerKind.of("hotfix")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Unknown ledger row kind 'hotfix' (known: release, rollback)");
  }
}
