package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.AppliedMigration;
import dev.closedloop.deploy.database.Migrations;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The drift check on a real production changed by hand: test-migrate brings its throwaway
 * database to production's version, compares the two catalogs, says each difference in one line,
 * and (at level fail) stops the release before production is touched. Production is only read.
 */
class DriftIT {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path work;

  private RolloutFixture driftedProduction() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    Files.writeString(fixture.migrations().resolve("V2__add_body.sql"), "ALTER TABLE notes ADD COLUMN body text;\n"
        + "CREATE TYPE mood AS ENUM ('calm', 'busy');\n");
    fixture.release("1", settings -> { });
    // the 2 a.m. fixes nobody wrote a migration for
    ReleaseIT.execute(fixture.production, "CREATE INDEX notes_tmp_idx ON notes (id)");
    ReleaseIT.execute(fixture.production, "ALTER TABLE notes ALTER COLUMN body TYPE varchar(200)");
    ReleaseIT.execute(fixture.production, "ALTER TABLE notes ADD COLUMN hotfix int NOT NULL DEFAULT 0");
    ReleaseIT.execute(fixture.production, "ALTER TYPE mood ADD VALUE 'asleep'");
    ReleaseIT.execute(fixture.production, "CREATE EXTENSION IF NOT EXISTS pgcrypto");
    Files.writeString(fixture.migrations().resolve("V3__add_title.sql"), "ALTER TABLE notes ADD COLUMN title text;\n");
    return fixture;
  }

  private static final List<String> DIFFERENCES = List.of(
      "column notes.body: production character varying(200), migrations text",
      "production has column notes.hotfix, which no migration creates",
      "enum mood: production (calm, busy, asleep), migrations (calm, busy)",
      "production has extension pgcrypto, which no migration creates",
      "production has index notes_tmp_idx, which no migration creates");

  @Test
  void everyHandMadeChange_isOneWarning_andTheReleaseGoesOn() throws Exception {
    RolloutFixture fixture = driftedProduction();

    ReleaseResult result = fixture.release("2", settings -> { });

    assertThat(fixture.warnings()).filteredOn(line -> line.startsWith("drift: "))
        .containsExactlyInAnyOrderElementsOf(DIFFERENCES.stream().map(line -> "drift: " + line).toList());
    assertThat(fixture.progress()).contains("drift check: the throwaway database at V2, production's version, is compared with production",
        "drift check: production's schema differs from the one its migrations (up to V2) build, in 5 objects");
    assertThat(result.testMigration().orElseThrow().applied()).as("the whole set proven, in two runs")
        .extracting(AppliedMigration::migration).extracting(m -> m.label())
        .containsExactly("V1 create notes", "V2 add body", "V3 add title");
    assertThat(result.migration().orElseThrow().applied()).extracting(a -> a.migration().label())
        .containsExactly("V3 add title");
  }

  @Test
  void aChangedRepeatableNeedingAPendingMigration_isProvenAfterIt_andWhatItDefinesIsNotCompared() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    Files.writeString(fixture.migrations().resolve("R__note_view.sql"), "CREATE OR REPLACE VIEW note_view AS"
        + " SELECT id FROM notes;\n");
    fixture.release("1", settings -> { });
    ReleaseIT.execute(fixture.production, "CREATE INDEX notes_tmp_idx ON notes (id)");
    Files.writeString(fixture.migrations().resolve("V2__add_body.sql"), "ALTER TABLE notes ADD COLUMN body text;\n");
    Files.writeString(fixture.migrations().resolve("R__note_view.sql"), "CREATE OR REPLACE VIEW note_view AS"
        + " SELECT id, body FROM notes;\n");

    ReleaseResult result = fixture.release("2", settings -> settings.driftCheck("fail")
        .driftIgnore(List.of("index *_tmp_idx")));

    assertThat(fixture.progress()).contains("drift check: not compared, as repeatable migrations define them:"
        + " view note_view", "drift check: production's schema is the one its migrations (up to V1) build");
    assertThat(result.testMigration().orElseThrow().applied()).extracting(a -> a.migration().label())
        .containsExactly("V1 create notes", "V2 add body", "R note view");
    assertThat(result.migration().orElseThrow().applied()).extracting(a -> a.migration().label())
        .containsExactly("V2 add body", "R note view");
  }

  @Test
  void atLevelFail_theReleaseStopsBeforeProductionIsTouched() throws Exception {
    RolloutFixture fixture = driftedProduction();
    Map<String, Object> before = PlanIT.state(fixture);

    DeployException refused = catchThrowableOfType(() -> fixture.release("2", settings -> settings.driftCheck("fail")),
        DeployException.class);

    assertThat(refused.kind()).isEqualTo(DeployException.Kind.GUARD);
    assertThat(refused.getMessage()).startsWith("Production has drifted from its migrations (5 objects, first: ")
        .contains("so the release stops before production is touched");
    Map<String, Object> after = PlanIT.state(fixture);
    for (String part : List.of("registry", "catalog", "functions", "history", "ledger")) {
      assertThat(after.get(part)).as(part + " unchanged").isEqualTo(before.get(part));
    }
    assertThat(refused.partialResult().orElseThrow().steps()).anyMatch(step -> step.step() == Step.TEST_MIGRATE
        && step.status() == dev.closedloop.deploy.StepResult.Status.FAILED);
  }

  @Test
  void thePlanListsTheDifferences_andAProductionAsItsMigrationsSayHasNone() throws Exception {
    RolloutFixture fixture = driftedProduction();

    JsonNode drift = JSON.readTree(fixture.plan(settings -> settings.driftCheck("fail")).json()).get("drift");

    assertThat(drift.get("checked").asBoolean()).isTrue();
    assertThat(drift.get("version").asText()).isEqualTo("2");
    assertThat(drift.get("differences")).extracting(d -> d.get("line").asText())
        .containsExactlyInAnyOrderElementsOf(DIFFERENCES);
    assertThat(fixture.plan(settings -> settings.driftCheck("fail")).blockers())
        .anyMatch(blocker -> blocker.startsWith("Production has drifted from its migrations (5 objects"));
    assertThat(fixture.plan(settings -> settings.driftCheck("fail")).text())
        .contains("  ! production has index notes_tmp_idx, which no migration creates");

    RolloutFixture clean = new RolloutFixture(Files.createDirectories(work.resolve("clean")));
    Files.delete(clean.migrations().resolve("V1__create_notes.sql"));
    Migrations sample = Migrations.flyway("classpath:db/migration");
    for (String file : List.of("V1__create_customers.sql", "V2__create_order_status.sql", "V3__create_products.sql",
        "V4__create_orders.sql", "V5__index_orders_by_customer.sql", "V6__touch_updated_at.sql",
        "V7__add_customer_display_name.sql", "V8__create_service_health.sql", "R__order_totals.sql")) {
      Files.writeString(clean.migrations().resolve(file), sample.read(file).orElseThrow());
    }
    clean.release("1", settings -> { });
    clean.events.clear();
    clean.release("2", settings -> settings.driftCheck("fail"));
    assertThat(clean.progress()).contains("drift check: production's schema is the one its migrations (up to V8)"
        + " build");
  }

  /**
   * With the local stand-in, production's reading holds its server: the reading is over, and the
   * server stopped, before migrate starts it again on the same data directory.
   */
  @Test
  void onTheLocalStandIn_theCheckedReadingEndsBeforeMigrateStartsItsServerAgain() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    Path data = work.resolve("production-db");
    java.util.function.Consumer<dev.closedloop.deploy.ReleaseBuilder> standIn = settings -> settings
        .databaseUrl("embedded:" + data, null, null);
    fixture.release("1", standIn); // creates the stand-in: nothing to compare yet
    Files.writeString(fixture.migrations().resolve("V2__add_body.sql"), "ALTER TABLE notes ADD COLUMN body text;\n");

    ReleaseResult second = fixture.release("2", standIn);

    assertThat(fixture.progress()).contains("drift check: production's schema is the one its migrations (up to V1)"
        + " build");
    assertThat(second.migration().orElseThrow().applied()).extracting(a -> a.migration().label())
        .containsExactly("V2 add body");
  }
}
