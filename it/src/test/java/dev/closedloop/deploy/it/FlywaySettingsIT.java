package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.database.FlywaySettings;
import dev.closedloop.deploy.database.Migrations;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A team's Flyway settings kept through a whole release: placeholders, its schema and history
 * table, and a production database adopted by baselining, with real Flyway on the throwaway
 * database and on production.
 */
class FlywaySettingsIT {

  @TempDir Path work;

  @Test
  void placeholdersSchemasTableAndBaseline_applyOnTheThrowawayDatabaseAndOnProductionAlike() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    Path migrations = fixture.migrations();
    Files.writeString(migrations.resolve("V1__create_notes.sql"), "CREATE TABLE ${prefix}notes (id int PRIMARY KEY);\n");
    Files.writeString(migrations.resolve("V2__add_owner.sql"), "ALTER TABLE ${prefix}notes ADD COLUMN owner text"
        + " DEFAULT '${owner}';\n");
    // production was built by hand up to V1, in schema app, with no history table: Flyway baselines it
    ReleaseIT.execute(fixture.production, "CREATE SCHEMA app; CREATE TABLE app.shop_notes (id int PRIMARY KEY);"
        + " INSERT INTO app.shop_notes VALUES (1)");
    FlywaySettings flyway = FlywaySettings.parse(List.of("owner=shop-team"), Map.of("flyway.placeholders.prefix",
        "shop_", "flyway.schemas", "app", "flyway.table", "schema_history", "flyway.baselineOnMigrate", "true",
        "flyway.baselineVersion", "1"));

    ReleaseResult result = fixture.release("1", settings -> settings.migrations(
        Migrations.flyway("filesystem:" + migrations).withFlyway(flyway)));

    assertThat(result.migration().orElseThrow().applied()).extracting(applied -> applied.migration().version())
        .containsExactly("2");
    assertThat(ReleaseIT.strings(fixture.production, "SELECT version || ':' || type FROM app.schema_history ORDER BY"
        + " installed_rank")).containsExactly("1:BASELINE", "2:SQL");
    assertThat(ReleaseIT.strings(fixture.production, "SELECT owner FROM app.shop_notes")).containsExactly("shop-team");
    assertThat(ReleaseIT.strings(fixture.production, "SELECT count(*)::text FROM pg_tables WHERE tablename ="
        + " 'flyway_schema_history'")).containsExactly("0");
  }
}
