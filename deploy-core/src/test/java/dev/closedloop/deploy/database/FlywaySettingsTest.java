package dev.closedloop.deploy.database;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FlywaySettingsTest {

  @Test
  void theFlywayPluginsProperties_andDeployPlaceholders_areKept_deployWinningForTheSameName() {
    FlywaySettings settings = FlywaySettings.parse(List.of("owner=shop"), Map.of("flyway.placeholders.owner", "app",
        "flyway.placeholders.prefix", "t_", "flyway.schemas", "app, audit", "flyway.table", "schema_history",
        "flyway.baselineOnMigrate", "true", "flyway.baselineVersion", "3"));

    assertThat(settings.placeholders()).containsEntry("owner", "shop").containsEntry("prefix", "t_");
    assertThat(settings.schemas()).containsExactly("app", "audit");
    assertThat(settings.historyTable()).isEqualTo("app.schema_history");
    assertThat(settings.baselineOnMigrate()).isTrue();
    assertThat(settings.baselineVersion()).isEqualTo("3");
  }

  @Test
  void nothingSet_isFlywaysDefaults() {
    FlywaySettings settings = FlywaySettings.parse(List.of(), Map.of());
    assertThat(settings).isEqualTo(FlywaySettings.defaults());
    assertThat(settings.historyTable()).isEqualTo("*.flyway_schema_history");
    assertThat(FlywaySettings.parse(List.of(), Map.of("flyway.baselineOnMigrate", "true")).baselineVersion())
        .isEqualTo("1");
  }

  @Test
  void outOfOrder_andBadNames_areRefused_eachNamed() {
    assertThatThrownBy(() -> FlywaySettings.parse(List.of("novalue"), Map.of("flyway.outOfOrder", "true",
        "flyway.table", "history; drop", "flyway.baselineVersion", "v1")))
        .hasMessage("placeholders (deploy.placeholders) takes NAME=value entries; got 'novalue'; flyway.table:"
            + " 'history; drop' is not a table name; flyway.baselineVersion: 'v1' is not a version such as 1 or 2.1;"
            + " flyway.outOfOrder is refused: closedloop applies migrations in the order test-migrate proved on a"
            + " throwaway database, and out of order an older migration would run after newer ones on production"
            + " only. Renumber it after the newest applied version");
  }

  @Test
  void flywaySettings_areForFlyway() {
    assertThatThrownBy(() -> Migrations.goose("filesystem:db").withFlyway(FlywaySettings.parse(List.of("a=b"),
        Map.of()))).hasMessage("placeholders (deploy.placeholders) and the flyway.* settings are for"
            + " deploy.migrator=flyway; goose does not read them");
    assertThat(Migrations.goose("filesystem:db").withFlyway(FlywaySettings.defaults()).isGoose()).isTrue();
  }

  @Test
  void whatClosedloopDoesNotApply_isNamed_forAWarning() {
    assertThat(FlywaySettings.unread(java.util.Map.of("flyway.placeholders.owner", "shop", "flyway.schemas", "app",
        "flyway.table", "history", "flyway.defaultSchema", "app", "flyway.url", "jdbc:postgresql://db/shop",
        "flyway.createSchemas", "false", "flyway.outOfOrder", "false")))
        .containsExactly("flyway.createSchemas", "flyway.defaultSchema", "flyway.url");
    assertThat(FlywaySettings.unread(java.util.Map.of())).isEmpty();
  }
}
