package dev.closedloop.deploy.internal.goose;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.DeployException;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GooseFileTest {

  private static GooseFile parse(String content) {
    return GooseFile.parse("20261125093000_notes.sql", content, Map.of("SCHEMA", "shop", "EMPTY", ""));
  }

  private static void assertRefused(String content, String message) {
    assertThatThrownBy(() -> parse(content)).isInstanceOfSatisfying(DeployException.class, e -> {
      assertThat(e.kind()).isEqualTo(DeployException.Kind.MIGRATION);
      assertThat(e.getMessage()).isEqualTo("goose migration 20261125093000_notes.sql " + message);
    });
  }

  @Test
  void upStatements_splitAtTheirSemicolons_downNeverKept() {
    GooseFile file = parse("""
        -- a header comment goose ignores
        -- +goose Up
        -- a comment before the statement is dropped
        CREATE TABLE notes (
          id int PRIMARY KEY, -- a comment inside it is kept
          body text
        );
        INSERT INTO notes VALUES (1, 'a; b'); -- trailing comment

        -- +goose Down
        DROP TABLE notes;
        """);

    assertThat(file.version()).isEqualTo(20261125093000L);
    assertThat(file.name()).isEqualTo("notes");
    assertThat(file.transactional()).isTrue();
    assertThat(file.statements()).extracting(GooseFile.Statement::sql).containsExactly(
        "CREATE TABLE notes (\n  id int PRIMARY KEY, -- a comment inside it is kept\n  body text\n);",
        "INSERT INTO notes VALUES (1, 'a; b'); -- trailing comment");
    assertThat(file.statements()).extracting(GooseFile.Statement::line).containsExactly(4, 8);
  }

  @Test
  void statementBlocks_keepSemicolonsAndDollarQuotes_annotationsInAnyCase() {
    GooseFile file = parse("""
        -- +goose UP
        -- +goose statementbegin
        CREATE FUNCTION touch() RETURNS trigger AS $$
        BEGIN
          NEW.updated_at := now();
          RETURN NEW;
        END;
        $$ LANGUAGE plpgsql;
        -- +goose StatementEnd
        SELECT 1;
        -- +goose no Transaction
        -- +goose down
        -- +goose StatementBegin
        DROP FUNCTION touch();
        -- +goose StatementEnd
        """);

    assertThat(file.statements()).hasSize(2);
    assertThat(file.statements().get(0).sql()).startsWith("CREATE FUNCTION touch()").endsWith("$$ LANGUAGE plpgsql;")
        .contains("NEW.updated_at := now();\n  RETURN NEW;");
    assertThat(file.statements().get(1).sql()).isEqualTo("SELECT 1;");
    assertThat(file.transactional()).isFalse();
  }

  @Test
  void envsub_replacesVariablesOnlyWhileOn() {
    GooseFile file = parse("""
        -- +goose Up
        -- +goose ENVSUB ON
        CREATE SCHEMA ${SCHEMA};
        COMMENT ON SCHEMA $SCHEMA IS '${MISSING:-none}${EMPTY:-blank}${EMPTY-kept} $$5';
        -- +goose ENVSUB OFF
        SELECT '${SCHEMA}';
        """);

    assertThat(file.statements()).extracting(GooseFile.Statement::sql).containsExactly("CREATE SCHEMA shop;",
        "COMMENT ON SCHEMA shop IS 'noneblank $5';", "SELECT '${SCHEMA}';");
    // what came from the environment may be a secret: such a statement is never quoted in an error
    assertThat(file.statements()).extracting(GooseFile.Statement::fromEnvironment).containsExactly(true, true, false);
  }

  @Test
  void anEmptyUpSection_isAMigrationWithNothingToRun() {
    assertThat(parse("-- +goose Up\n-- +goose Down\nDROP TABLE x;\n").statements()).isEmpty();
  }

  @Test
  void whatGooseRefuses_isRefusedWithTheLine() {
    assertRefused("CREATE TABLE x (id int);\n", "line 1: SQL before '-- +goose Up': every goose file starts with its"
        + " Up section");
    assertRefused("-- just a comment\n", "line 1: no '-- +goose Up' annotation: every goose file starts with its Up"
        + " section");
    assertRefused("-- +goose Up\nSELECT 1;\n-- +goose Up\nSELECT 2;\n", "line 3: a second '-- +goose Up' annotation:"
        + " a file has one Up section");
    assertRefused("-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n", "line 3: '-- +goose StatementBegin'"
        + " without its StatementEnd");
    assertRefused("-- +goose Up\nSELECT 1\n", "line 2: a statement is not finished (missing semicolon?)");
    assertRefused("-- +goose Up\nSELECT 1\n-- +goose Down\n", "line 2: a statement is not finished (missing"
        + " semicolon?)");
    assertRefused("-- +goose Up\n  -- +goose StatementBegin\n", "line 2: a goose annotation must start the line,"
        + " without leading whitespace");
    assertRefused("-- +goose Up\n-- +goose Sideways\n", "line 2: unknown annotation 'Sideways' (goose knows Up,"
        + " Down, StatementBegin, StatementEnd, NO TRANSACTION, ENVSUB ON, ENVSUB OFF)");
    assertRefused("-- +goose Up\n-- +goose StatementEnd\n", "line 2: '-- +goose StatementEnd' without a"
        + " StatementBegin before it");
    assertRefused("-- +goose Up\n-- +goose StatementBegin\n-- +goose StatementEnd\nSELECT 1;\n", "line 3: an empty"
        + " StatementBegin/StatementEnd block");
    assertRefused("-- +goose Up\n-- +goose ENVSUB ON\nSELECT '${TOKEN:?is required}';\n", "line 3: '${TOKEN:?is"
        + " required}' is an ENVSUB form closedloop does not replace (it replaces ${VAR}, ${VAR:-default},"
        + " ${VAR-default} and $VAR): rewrite it, or turn ENVSUB off");
    assertThatThrownBy(() -> GooseFile.parse("00000_init.sql", "-- +goose Up\nSELECT 1;\n", Map.of()))
        .hasMessage("goose migration 00000_init.sql: its version is 0: goose versions start at 1 (0 is goose's own"
            + " row)");
  }

  @Test
  void layout_namesTheLinesOfUpAndDown_andTheTransaction() {
    GooseFile.Layout layout = GooseFile.layout("3 notes", """
        -- a header comment

        -- +goose Up
        -- +goose NO TRANSACTION
        -- +goose StatementBegin
        SELECT 1; -- +goose Down (not an annotation: it does not start the line)
        -- +goose StatementEnd
        CREATE INDEX CONCURRENTLY notes_body ON notes (body);

        -- +goose Down
        DROP INDEX notes_body;
        """);

    assertThat(layout).isEqualTo(new GooseFile.Layout(3, 10, false));
    assertThat(GooseFile.layout("4 x", "-- +goose Up\nSELECT 1;\n")).isEqualTo(new GooseFile.Layout(1, 0, true));
    assertThatThrownBy(() -> GooseFile.layout("5 x", "SELECT 1;\n")).hasMessage("goose migration 5 x line 1: SQL"
        + " before '-- +goose Up': every goose file starts with its Up section");
  }

  @Test
  void theDirectory_isReadAsGooseReadsIt(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    java.nio.file.Files.writeString(dir.resolve("00001_create.sql"), "-- +goose Up\nSELECT 1;\n");
    java.nio.file.Files.writeString(dir.resolve("embed.go"), "package migrations\n"); // goose ignores it too
    java.nio.file.Files.writeString(dir.resolve("README.md"), "notes\n");
    var migrator = dev.closedloop.deploy.database.Migrations.goose("filesystem:" + dir)
        .migrator(dev.closedloop.deploy.internal.Events.none(), dev.closedloop.deploy.Step.TEST_MIGRATE);
    migrator.validate();

    java.nio.file.Files.writeString(dir.resolve("0002-add-index.sql"), "-- +goose Up\nSELECT 2;\n");
    assertThatThrownBy(migrator::validate).hasMessage("goose migration 0002-add-index.sql in " + dir + " has no"
        + " version: name it <version>_<name>.sql (goose refuses it too)");
    java.nio.file.Files.delete(dir.resolve("0002-add-index.sql"));
    java.nio.file.Files.writeString(dir.resolve("00003_backfill.go"), "package migrations\n");
    assertThatThrownBy(migrator::validate).hasMessageStartingWith("goose migration 00003_backfill.go is written in Go");
    java.nio.file.Files.delete(dir.resolve("00003_backfill.go"));
    java.nio.file.Files.writeString(dir.resolve("1_again.sql"), "-- +goose Up\nSELECT 3;\n");
    assertThatThrownBy(migrator::validate).hasMessage("goose migrations 00001_create.sql and 1_again.sql have the"
        + " same version 1: goose refuses that too");
  }
}
