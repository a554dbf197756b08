package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.internal.Events;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deploy:lint} through the real Maven on a project in a real git history: a pull request's
 * branch adds migrations to what main has. No production is configured unless a test says so.
 */
class PullRequestLintIT {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TIMEOUTS = "SET lock_timeout = '5s';\nSET statement_timeout = '5min';\n";
  private static final String V2 = "src/main/resources/db/migration/V2__index_orders.sql";

  @TempDir Path work;
  private Path project;
  private Path migrations;
  private String base;

  /** main creates orders; the branch indexes it (which locks a table the base has) and creates invoices. */
  @BeforeEach
  void aPullRequest() throws IOException {
    project = TestServices.copyProject("lint", work);
    Files.writeString(project.resolve(".gitignore"), "busybox\ntarget/\n");
    migrations = Files.createDirectories(project.resolve("src/main/resources/db/migration"));
    Files.writeString(migrations.resolve("V1__create_orders.sql"),
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer bigint);\n");
    git("init", "-q", "-b", "main");
    commit("orders");
    base = git("rev-parse", "HEAD");
    git("checkout", "-q", "-b", "index-orders");
    Files.writeString(project.resolve(V2), TIMEOUTS + "CREATE INDEX orders_customer ON orders (customer);\n");
    Files.writeString(migrations.resolve("V3__create_invoices.sql"), TIMEOUTS
        + "CREATE TABLE invoices (id bigint, orders_id bigint);\nCREATE INDEX invoices_orders ON invoices (orders_id);\n");
    commit("index orders, create invoices");
  }

  @Test
  void withoutProduction_theNewMigrationsAreReadAgainstTheBase_asGitHubAnnotationsAndGitLabsReport() throws Exception {
    TestServices.Run run = mvn(Map.of("GITHUB_ACTIONS", "true", "GITHUB_BASE_REF", "main"), "deploy:lint");

    assertThat(run.exitCode()).as(run.output()).isZero();
    assertThat(run.output()).contains("Production is not set here: the schema comes from the base",
        "Migration lint of 2 migrations against " + base.substring(0, 12) + " (the merge base with main): V2 index"
            + " orders, V3 create invoices");
    // the base's orders table is what makes the index a finding; invoices, new in the branch, is not one
    List<String> annotations = run.output().lines().filter(line -> line.startsWith("::")).toList();
    assertThat(annotations).singleElement().satisfies(line -> assertThat(line).startsWith("::warning file=" + V2
        + ",line=3,title=closedloop lint%3A require-concurrent-index-creation::CREATE INDEX orders_customer on"
        + " public.orders, a table the base has"));
    JsonNode quality = JSON.readTree(project.resolve("target/deploy/gl-code-quality-report.json").toFile());
    assertThat(quality).hasSize(1);
    assertThat(quality.get(0).get("check_name").asText()).isEqualTo("require-concurrent-index-creation");
    assertThat(quality.get(0).get("severity").asText()).isEqualTo("minor");
    assertThat(quality.get(0).get("location").get("path").asText()).isEqualTo(V2);
    assertThat(quality.get(0).get("location").get("lines").get("begin").asInt()).isEqualTo(3);
    assertThat(quality.get(0).get("fingerprint").asText()).hasSize(32);
    assertThat(run.output()).contains("BUILD SUCCESS");
  }

  @Test
  void atLevelFail_itFailsInOneLine_afterWritingTheReport_andUncommittedFilesAreRead() throws Exception {
    // a file not committed yet is the developer's next migration: read too
    Files.writeString(migrations.resolve("V4__drop_customer.sql"), TIMEOUTS + "ALTER TABLE orders DROP COLUMN customer;\n");

    TestServices.Run run = mvn(Map.of(), "deploy:lint", "-Ddeploy.lint=fail", "-Ddeploy.lintBase=main");

    assertThat(run.exitCode()).as(run.output()).isEqualTo(1);
    List<String> errors = run.output().lines().filter(l -> l.startsWith("[ERROR] Failed to execute goal")).toList();
    assertThat(errors).singleElement().satisfies(line -> assertThat(line).contains("The migration lint found 2"
        + " statements at level fail, first in " + V2 + " line 3: require-concurrent-index-creation"));
    assertThat(run.output()).contains("against " + base.substring(0, 12) + " (main)")
        .doesNotContain("Production is not set here").doesNotContain("\tat ");
    JsonNode quality = JSON.readTree(project.resolve("target/deploy/gl-code-quality-report.json").toFile());
    List<String> rules = new ArrayList<>();
    quality.forEach(issue -> rules.add(issue.get("check_name").asText() + "/" + issue.get("severity").asText()));
    assertThat(rules).containsExactly("require-concurrent-index-creation/major", "ban-drop-column/major");
  }

  @Test
  void withProductionReachable_itReadsWhatIsPendingThere_againstProductionsCatalog() throws Exception {
    try (EphemeralDatabase.Instance production = EphemeralDatabase.embedded().start(Events.none())) {
      // production is ahead of the base: it has V2 already, so only V3 is pending there
      Path applied = Files.createDirectories(work.resolve("applied"));
      Files.copy(migrations.resolve("V1__create_orders.sql"), applied.resolve("V1__create_orders.sql"));
      Files.copy(project.resolve(V2), applied.resolve("V2__index_orders.sql"));
      Migrations.flyway("filesystem:" + applied).migrator(Events.none(), dev.closedloop.deploy.Step.MIGRATE)
          .migrate(production.target(), null);
      String url = "postgres://postgres@127.0.0.1:" + production.target().port() + "/" + production.target().database();

      TestServices.Run run = mvn(Map.of(), "deploy:lint", "-Ddeploy.databaseUrl=" + url);
      TestServices.Run againstBase = mvn(Map.of(), "deploy:lint", "-Ddeploy.databaseUrl=" + url,
          "-Ddeploy.lintBase=" + base);

      assertThat(run.exitCode()).as(run.output()).isZero();
      assertThat(run.output()).contains("Migration lint of 1 migration against production jdbc:postgresql://127.0.0.1:"
          + production.target().port()).contains(": V3 create"
          + " invoices", "  no findings").doesNotContain("from the base");
      assertThat(againstBase.exitCode()).as(againstBase.output()).isZero();
      assertThat(againstBase.output()).contains("Migration lint of 2 migrations against " + base.substring(0, 12)
          + " (" + base + ")", "require-concurrent-index-creation");
    }
  }

  @Test
  void aBaseThatIsNoCommit_failsInOneLine_namingIt() {
    TestServices.Run run = mvn(Map.of(), "deploy:lint", "-Ddeploy.lintBase=no-such-branch");

    assertThat(run.exitCode()).as(run.output()).isEqualTo(1);
    assertThat(run.output().lines().filter(l -> l.startsWith("[ERROR] Failed to execute goal")).toList())
        .singleElement().satisfies(line -> assertThat(line).contains("lintBase (deploy.lintBase) names no commit in"
            + " this repository: 'no-such-branch'"));
  }

  private TestServices.Run mvn(Map<String, String> env, String... args) {
    Map<String, String> all = new java.util.HashMap<>(Map.of("DATABASE_URL", "", "GITHUB_ACTIONS", "",
        "GITHUB_BASE_REF", "", "GITLAB_CI", "", "CI_MERGE_REQUEST_DIFF_BASE_SHA", ""));
    all.putAll(env);
    return TestServices.run(project, all, TestServices.mvnw(args).toArray(String[]::new));
  }

  private void commit(String message) {
    git("add", "-A");
    git("-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "-q", "-m", message);
  }

  private String git(String... args) {
    List<String> command = new ArrayList<>(List.of("git"));
    command.addAll(List.of(args));
    TestServices.Run run = TestServices.run(project, command.toArray(String[]::new));
    assertThat(run.exitCode()).as(run.output()).isZero();
    return run.output().strip();
  }
}
