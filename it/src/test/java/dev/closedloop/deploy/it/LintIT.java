package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.internal.Events;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The migration lint on real releases: it reads the migrations pending on a real production,
 * against the tables production has, warns and goes on, or refuses before anything changes.
 */
class LintIT {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path work;

  @Test
  void findingsAreWarnedAndReported_andTheReleaseGoesOn() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    fixture.release("1", settings -> { });
    ReleaseIT.execute(fixture.production, "INSERT INTO notes SELECT generate_series(1, 50)");
    Files.writeString(fixture.migrations().resolve("V2__index_notes.sql"), "-- the list page sorts by id\n"
        + "CREATE INDEX notes_id_desc ON notes (id DESC);\nALTER TABLE notes ADD COLUMN body text;\n");

    ReleaseResult result = fixture.release("2", settings -> settings.reportFile(work.resolve("release.json")));

    assertThat(result.lint().orElseThrow()).extracting(f -> f.rule().id() + "@" + f.migration() + ":" + f.line()
        + ":" + f.level()).containsExactly("require-concurrent-index-creation@V2 index notes:2:warn",
            "require-timeout-settings@V2 index notes:2:warn");
    assertThat(fixture.warnings()).anyMatch(line -> line.equals("V2 index notes (line 2):"
        + " require-concurrent-index-creation: CREATE INDEX notes_id_desc on public.notes, a table production has:"
        + " CREATE INDEX without CONCURRENTLY blocks writes to the table while the index builds. Instead:"
        + " CREATE INDEX CONCURRENTLY, in a migration that runs outside a transaction"));
    assertThat(fixture.progress()).contains("migration lint: 2 findings in 1 migration pending, against production's"
        + " schema");
    assertThat(columns(fixture, "notes")).containsExactly("id", "body");
    assertThat(fixture.digest("latest")).isEqualTo(result.image().orElseThrow().digest());
    JsonNode report = JSON.readTree(work.resolve("release.json").toFile());
    assertThat(report.get("lint")).hasSize(2);
    assertThat(report.get("lint").get(0).get("rule").asText()).isEqualTo("require-concurrent-index-creation");
    assertThat(report.get("lint").get(0).get("alternative").asText()).startsWith("CREATE INDEX CONCURRENTLY");
  }

  @Test
  void copyDataAndParentheses_areReadAsPostgresqlReadsThem_onARealMigrationThatFlywayApplies() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    fixture.release("1", settings -> { });
    ReleaseIT.execute(fixture.production, "INSERT INTO notes SELECT generate_series(1, 50)");
    // the data holds a quote and a semicolon, which a reader taking it for SQL would choke on
    Files.writeString(fixture.migrations().resolve("V2__seed_and_index.sql"), "SET lock_timeout = '5s'; SET statement_timeout = '5min';\n"
        + "CREATE TABLE seeds (id int, note text);\n"
        + "COPY seeds (id, note) FROM stdin;\n"
        + "1\tit's; seeded\n"
        + "\\.\n"
        + "CREATE RULE seeds_log AS ON INSERT TO seeds DO ALSO (SELECT 1; SELECT 2);\n"
        + "CREATE INDEX notes_id_desc ON notes (id DESC);\n");

    ReleaseResult result = fixture.release("2", settings -> settings.lint("fail").lintRules(
        java.util.List.of("require-concurrent-index-creation=warn")));

    assertThat(result.lint().orElseThrow()).extracting(f -> f.rule().id() + "@" + f.migration() + ":" + f.line())
        .containsExactly("require-concurrent-index-creation@V2 seed and index:7");
    assertThat(ReleaseIT.strings(fixture.production, "SELECT note FROM seeds")).containsExactly("it's; seeded");
  }

  @Test
  void aFindingAtLevelFail_refusesBeforeProductionChanges() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    ReleaseResult first = fixture.release("1", settings -> { });
    ReleaseIT.execute(fixture.production, "INSERT INTO notes SELECT generate_series(1, 50)");
    // proven on the empty throwaway database; on production, with rows, it would fail half-way
    Files.writeString(fixture.migrations().resolve("V2__require_body.sql"), "SET lock_timeout = '5s'; SET statement_timeout = '5min';\n"
        + "ALTER TABLE notes ADD COLUMN body text NOT NULL;\n");

    DeployException refused = catchThrowableOfType(() -> fixture.release("2", settings -> settings
        .lintRules(List.of("adding-required-field=fail")).reportFile(work.resolve("release.json"))),
        DeployException.class);

    assertThat(refused.kind()).isEqualTo(DeployException.Kind.GUARD);
    assertThat(refused.getMessage()).isEqualTo("Refusing to migrate production: the migration lint found 1 statement"
        + " at level fail, first V2 require body (line 2): adding-required-field: ADD COLUMN public.notes.body NOT NULL"
        + " without a default: adding a NOT NULL column without a default fails on a table with rows, and breaks the"
        + " running image's inserts. Instead: add the column nullable or with a non-volatile DEFAULT. Nothing was"
        + " applied. Make the migration safe, or allow that one statement with a comment '-- closedloop:allow"
        + " adding-required-field', or set deploy.lintRules=adding-required-field=warn");
    assertThat(columns(fixture, "notes")).as("production unchanged").containsExactly("id");
    assertThat(history(fixture)).containsExactly("1");
    assertThat(fixture.digest("latest")).as("latest not moved").isEqualTo(first.image().orElseThrow().digest());
    assertThat(fixture.rollouts()).extracting(row -> row.get(0)).containsExactly("succeeded", "failed");
    assertThat(ledgerPlanned(fixture)).as("nothing recorded as planned: nothing was about to run").isEqualTo("[]");
    assertThat(JSON.readTree(work.resolve("release.json").toFile()).get("lint").get(0).get("level").asText())
        .isEqualTo("fail");

    // the team decides: this statement is allowed, with its reason beside it; the default fill makes it safe
    Files.writeString(fixture.migrations().resolve("V2__require_body.sql"), "SET lock_timeout = '5s'; SET statement_timeout = '5min';\n"
        + "-- closedloop:allow adding-required-field: the default below fills every row\n"
        + "ALTER TABLE notes ADD COLUMN body text NOT NULL DEFAULT '';\n");
    ReleaseResult allowed = fixture.release("3", settings -> settings.lint("fail"));
    assertThat(allowed.lint().orElseThrow()).isEmpty();
    assertThat(columns(fixture, "notes")).containsExactly("id", "body");
  }

  @Test
  void theSampleMigrations_haveNoFindingsInAFirstRelease_andTheKnownOnesAfterV4() throws Exception {
    List<String> files = List.of("V1__create_customers.sql", "V2__create_order_status.sql",
        "V3__create_products.sql", "V4__create_orders.sql", "V5__index_orders_by_customer.sql",
        "V6__touch_updated_at.sql", "V7__add_customer_display_name.sql", "V8__create_service_health.sql",
        "R__order_totals.sql");
    Migrations sample = Migrations.flyway("classpath:db/migration");
    RolloutFixture first = new RolloutFixture(Files.createDirectories(work.resolve("first")));
    Files.delete(first.migrations().resolve("V1__create_notes.sql"));
    for (String file : files) {
      Files.writeString(first.migrations().resolve(file), sample.read(file).orElseThrow());
    }
    JsonNode everythingNew = JSON.readTree(first.plan(settings -> { }).json());
    assertThat(everythingNew.get("migrations").get("pending").asInt()).isEqualTo(9);
    assertThat(everythingNew.get("lint")).as("every table is created by the set itself").isEmpty();

    RolloutFixture later = new RolloutFixture(Files.createDirectories(work.resolve("later")));
    Files.delete(later.migrations().resolve("V1__create_notes.sql"));
    for (String file : files.subList(0, 4)) {
      Files.writeString(later.migrations().resolve(file), sample.read(file).orElseThrow());
    }
    Migrations.flyway("filesystem:" + later.migrations()).migrator(Events.none(), Step.MIGRATE)
        .migrate(later.production, null);
    for (String file : files.subList(4, files.size())) {
      Files.writeString(later.migrations().resolve(file), sample.read(file).orElseThrow());
    }
    JsonNode plan = JSON.readTree(later.plan(settings -> { }).json());

    List<String> found = new ArrayList<>();
    plan.get("lint").forEach(f -> found.add(f.get("migration").asText() + ":" + f.get("line").asInt() + ":"
        + f.get("rule").asText()));
    // V7's SET NOT NULL passes: customers is empty; V6's triggers and R's view lock nothing for long
    assertThat(found).containsExactly("V5 index orders by customer:2:require-concurrent-index-creation",
        "V5 index orders by customer:2:require-timeout-settings", "V7 add customer display name:1:require-timeout-settings");
    assertThat(later.plan(settings -> settings.lint("fail")).blockers()).anyMatch(blocker ->
        blocker.startsWith("Refusing to migrate production: the migration lint found 3 statements"));
    assertThat(later.plan(settings -> settings.lint("off")).json()).contains("\"lint\" : null");
  }

  @Test
  void gooseFiles_areReadAsGooseRunsThem_upSectionInATransaction_withTheFilesLines() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    Path goose = Files.createDirectories(work.resolve("goose"));
    Files.writeString(goose.resolve("00001_create_notes.sql"), "-- +goose Up\nCREATE TABLE notes (id int);\n"
        + "-- +goose Down\nDROP TABLE notes;\n");
    java.util.function.Consumer<dev.closedloop.deploy.ReleaseBuilder> asGoose = settings -> settings
        .migrations(Migrations.goose("filesystem:" + goose));
    fixture.release("1", asGoose);
    Files.writeString(goose.resolve("00002_index_notes.sql"), "-- +goose Up\nSET lock_timeout = '5s';\n\n"
        + "CREATE INDEX CONCURRENTLY notes_id ON notes (id);\n-- +goose Down\nDROP TABLE notes;\n");

    JsonNode plan = JSON.readTree(fixture.plan(asGoose).json());

    assertThat(plan.get("lint")).singleElement().satisfies(finding -> {
      assertThat(finding.get("rule").asText()).isEqualTo("ban-concurrent-index-creation-in-transaction");
      assertThat(finding.get("migration").asText()).isEqualTo("V2 index notes");
      assertThat(finding.get("line").asInt()).isEqualTo(4);
    });
    Files.writeString(goose.resolve("00002_index_notes.sql"), "-- +goose NO TRANSACTION\n"
        + Files.readString(goose.resolve("00002_index_notes.sql")));
    assertThat(JSON.readTree(fixture.plan(asGoose).json()).get("lint")).isEmpty();
  }

  private static List<String> columns(RolloutFixture fixture, String table) throws Exception {
    return strings(fixture, "SELECT attname FROM pg_attribute WHERE attrelid = 'public." + table + "'::regclass"
        + " AND attnum > 0 AND NOT attisdropped ORDER BY attnum");
  }

  private static List<String> history(RolloutFixture fixture) throws Exception {
    return strings(fixture, "SELECT version FROM flyway_schema_history WHERE success ORDER BY installed_rank");
  }

  private static String ledgerPlanned(RolloutFixture fixture) throws Exception {
    List<String> planned = strings(fixture, "SELECT migrations_planned::text FROM closedloop.release_ledger"
        + " ORDER BY id DESC LIMIT 1");
    return planned.get(0);
  }

  private static List<String> strings(RolloutFixture fixture, String sql) throws Exception {
    List<String> values = new ArrayList<>();
    try (Connection c = fixture.production.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        values.add(rs.getString(1));
      }
    }
    return values;
  }
}
