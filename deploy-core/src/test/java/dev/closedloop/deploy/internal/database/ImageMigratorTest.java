package dev.closedloop.deploy.internal.database;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.internal.image.ImageRunner;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ImageMigratorTest {

  @Test
  void placeholders_spellTheConnectionAsEachToolReadsIt() {
    DatabaseTarget target = DatabaseTarget.parse("postgres://app:p@ss w'rd@db.example.com:6432/shop?sslmode=require",
        null, null, "databaseUrl");

    Map<String, String> values = ImageMigrator.placeholders(target);

    assertThat(values).containsEntry("host", "db.example.com").containsEntry("port", "6432")
        .containsEntry("user", "app").containsEntry("password", "p@ss w'rd").containsEntry("database", "shop");
    assertThat(values.get("url")).isEqualTo("postgres://app:p%40ss%20w%27rd@db.example.com:6432/shop?sslmode=require");
    assertThat(values.get("dsn")).isEqualTo("host=db.example.com port=6432 user=app password='p@ss w\\'rd'"
        + " dbname=shop sslmode=require");
    assertThat(values.get("jdbc")).isEqualTo("jdbc:postgresql://db.example.com:6432/shop?sslmode=require");
  }

  @Test
  void placeholders_carryTheTlsClosedloopChecked_andRefuseSeveralHosts() {
    Map<String, String> verified = ImageMigrator.placeholders(DatabaseTarget.parse(
        "jdbc:postgresql://db.example.com/shop?ssl=true&sslrootcert=/etc/ca.pem", "app", null, "databaseUrl"));
    assertThat(verified.get("url")).isEqualTo("postgres://app@db.example.com:5432/shop?sslmode=verify-full"
        + "&sslrootcert=%2Fetc%2Fca.pem");
    assertThat(verified.get("dsn")).endsWith(" sslmode=verify-full sslrootcert=/etc/ca.pem");

    assertThatThrownBy(() -> ImageMigrator.placeholders(DatabaseTarget.parse(
        "postgres://app@a.example.com:5432,b.example.com:5432/shop", null, null, "databaseUrl")))
        .hasMessage("deploy.migrator=image hands one host to the tool; the production URL names several: point it"
            + " at the primary");
  }

  @Test
  void commands_areSplitIntoWordsAsAShellWould_withoutOne() {
    assertThat(ImageRunner.argv("goose -dir /migrations up")).containsExactly("goose", "-dir", "/migrations", "up");
    assertThat(ImageRunner.argv("sh -c 'alembic upgrade head && echo \"done; ok\"'"))
        .containsExactly("sh", "-c", "alembic upgrade head && echo \"done; ok\"");
    assertThat(ImageRunner.argv("  prisma   migrate\\ deploy \"a \\\"b\\\"\" ")).containsExactly("prisma",
        "migrate deploy", "a \"b\"");
    assertThatThrownBy(() -> ImageRunner.argv("goose 'up")).isInstanceOf(DeployException.class)
        .hasMessage("The command 'goose 'up' has an unclosed quote");
  }

  @Test
  void theMigrator_isChosenByName_andImageNeedsItsCommand() {
    assertThat(Migrations.of(null, java.util.List.of("classpath:db/migration"), null, null, null, null).tool().id())
        .isEqualTo("flyway");
    assertThat(Migrations.of("GOOSE", java.util.List.of("filesystem:m"), "public.versions", null, null, null)
        .versionTable()).isEqualTo("public.versions");
    assertThatThrownBy(() -> Migrations.of("liquibase", java.util.List.of(), null, null, null, null))
        .hasMessage("migrator (deploy.migrator) must be flyway, goose or image; got 'liquibase'");
    assertThatThrownBy(() -> Migrations.of("goose", java.util.List.of(), "Goose Versions", null, null, null))
        .hasMessage("gooseTable (deploy.gooseTable, GOOSE_TABLE) must be a lowercase table name, optionally"
            + " schema-qualified; got 'Goose Versions'");
    assertThatThrownBy(() -> Migrations.of("image", java.util.List.of(), null, " ", null, null)
        .migrator(dev.closedloop.deploy.internal.Events.none(), dev.closedloop.deploy.Step.TEST_MIGRATE).validate())
        .hasMessage("deploy.migrator=image needs migrationCommand (deploy.migrationCommand), e.g. goose -dir"
            + " /migrations up");
  }
}
