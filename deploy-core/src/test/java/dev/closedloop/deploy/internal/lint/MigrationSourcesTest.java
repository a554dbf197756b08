package dev.closedloop.deploy.internal.lint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.database.Migrations;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The migrations' files in a real git repository: where they are, and what a base commit has. */
class MigrationSourcesTest {

  @TempDir Path repo;
  private Path service;

  @BeforeEach
  void aRepositoryWithTwoModules() throws Exception {
    service = repo.resolve("service");
    write("service/src/main/resources/db/migration/V1__one.sql", "CREATE TABLE one (id int);\n");
    write("service/src/main/resources/db/migration/nested/V2__two.sql", "CREATE TABLE two (id int);\n");
    write("service/pom.xml", "<project/>\n");
    git("init", "-q", "-b", "main");
    commit("one");
  }

  @Test
  void aClasspathLocation_isTheDirectoryEndingWithIt_underTheProjectFirst() throws Exception {
    write("other/src/main/resources/db/migration/V1__elsewhere.sql", "SELECT 1;\n");
    commit("another module");

    MigrationSources sources = MigrationSources.locate(service, Migrations.flyway("classpath:db/migration")).orElseThrow();

    assertThat(sources.directories()).containsExactly(repo.toRealPath().resolve("service/src/main/resources/db/migration"));
    assertThat(sources.pathOf("nested/V2__two.sql")).isEqualTo("service/src/main/resources/db/migration/nested/V2__two.sql");
  }

  @Test
  void aClasspathLocationOutsideTheProject_isFoundInTheRepository_unlessSeveralMatch() throws Exception {
    Path app = Files.createDirectories(repo.resolve("app"));
    assertThat(MigrationSources.locate(app, Migrations.flyway("classpath:db/migration")).orElseThrow().directories())
        .containsExactly(repo.toRealPath().resolve("service/src/main/resources/db/migration"));

    write("other/src/main/resources/db/migration/V1__elsewhere.sql", "SELECT 1;\n");
    assertThatThrownBy(() -> MigrationSources.locate(app, Migrations.flyway("classpath:db/migration")))
        .isInstanceOf(DeployException.class).hasMessageContaining("cannot tell which directory holds the migrations"
            + " of classpath:db/migration: [other/src/main/resources/db/migration,"
            + " service/src/main/resources/db/migration]");
    assertThatThrownBy(() -> MigrationSources.locate(app, Migrations.flyway("classpath:db/nowhere")))
        .isInstanceOf(DeployException.class).hasMessageContaining("no directory in the repository at")
        .hasMessageContaining("ends with db/nowhere");
  }

  @Test
  void aFilesystemLocation_mustBeInTheRepository_andNoRepositoryIsEmpty(@TempDir Path elsewhere) {
    assertThatThrownBy(() -> MigrationSources.locate(service, Migrations.goose("filesystem:" + elsewhere)))
        .isInstanceOf(DeployException.class).hasMessageContaining("is outside the repository");
    assertThat(MigrationSources.locate(elsewhere, Migrations.goose("filesystem:" + elsewhere))).isEmpty();
  }

  @Test
  void theBase_isWhereTheBranchLeftMain_notMainsTip() throws Exception {
    String forkPoint = git("rev-parse", "HEAD");
    git("checkout", "-q", "-b", "feature");
    write("service/src/main/resources/db/migration/V3__three.sql", "CREATE TABLE three (id int);\n");
    commit("three");
    git("checkout", "-q", "main");
    write("service/README", "main moved on\n");
    commit("main moves");
    String mainTip = git("rev-parse", "HEAD");
    git("checkout", "-q", "feature");
    MigrationSources sources = MigrationSources.locate(service, Migrations.flyway("classpath:db/migration")).orElseThrow();

    assertThat(sources.base(null, Map.of())).isEqualTo(new MigrationSources.Base(forkPoint, "the merge base with main"));
    assertThat(sources.base(null, Map.of("GITHUB_BASE_REF", "main")).sha()).isEqualTo(forkPoint);
    assertThat(sources.base("main", Map.of())).isEqualTo(new MigrationSources.Base(mainTip, "main"));
    assertThat(sources.base(null, Map.of("CI_MERGE_REQUEST_DIFF_BASE_SHA", forkPoint)).source())
        .isEqualTo("the merge request's base");
    assertThatThrownBy(() -> sources.base("--all", Map.of())).isInstanceOf(DeployException.class)
        .hasMessageContaining("names no commit in this repository: '--all'");
  }

  @Test
  void aBaseCommitsFiles_areWrittenAsItHasThem_withoutTheBranchsNewOnes(@TempDir Path copy) throws Exception {
    git("checkout", "-q", "-b", "feature");
    write("service/src/main/resources/db/migration/V3__three.sql", "CREATE TABLE three (id int);\n");
    write("service/src/main/resources/db/migration/V1__one.sql", "CREATE TABLE one (id int, changed int);\n");
    MigrationSources sources = MigrationSources.locate(service, Migrations.flyway("classpath:db/migration")).orElseThrow();

    Migrations atBase = sources.atCommit(Migrations.flyway("classpath:db/migration"), sources.base("main", Map.of()),
        copy);

    Path dir = copy.resolve("0");
    assertThat(atBase.locations()).containsExactly("filesystem:" + dir);
    assertThat(Files.readString(dir.resolve("V1__one.sql"))).isEqualTo("CREATE TABLE one (id int);\n");
    assertThat(dir.resolve("nested/V2__two.sql")).exists();
    assertThat(dir.resolve("V3__three.sql")).doesNotExist();
    assertThat(sources.workTree(Migrations.flyway("classpath:db/migration")).locations())
        .containsExactly("filesystem:" + repo.toRealPath().resolve("service/src/main/resources/db/migration"));
  }

  private void write(String path, String text) throws IOException {
    Path file = repo.resolve(path);
    Files.createDirectories(file.getParent());
    Files.writeString(file, text);
  }

  private void commit(String message) throws Exception {
    git("add", "-A");
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", message);
  }

  private String git(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("git", "-C", repo.toString()));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(process.getInputStream().readAllBytes()).strip();
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).as(out).isZero();
    return out;
  }
}
