package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.closedloop.deploy.ReleaseBuilder;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.report.Plan;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy:plan says what a release would do and changes nothing: the registry's tags and digests,
 * production's whole catalog, its ledger and migration history, the databases on the server and
 * the containers on the engine are compared before and after.
 */
class PlanIT {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> FIELDS = new TreeSet<>(List.of("schemaVersion", "sha", "service", "ci", "guards",
      "image", "migrations", "production", "lock", "tagMoves", "rollout", "steps", "hooks", "blockers", "unknown", "lint", "drift", "compatibility"));

  @TempDir Path work;

  @Test
  void plan_saysWhatReleaseWouldDo_andChangesNothingAnywhere() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    ReleaseResult first = fixture.release("1", settings -> { });
    Files.writeString(work.resolve("migrations/V2__add_body.sql"), "ALTER TABLE notes ADD COLUMN body text;\n");
    String sha = TestServices.randomSha();
    Map<String, Object> before = state(fixture);

    Plan plan = plan(fixture, sha, settings -> settings.hooks(List.of("post-release=./notify.sh")));

    assertThat(state(fixture)).as("registry, production, server and engine after the plan").isEqualTo(before);
    JsonNode json = JSON.readTree(plan.json());
    assertThat(fields(json)).isEqualTo(FIELDS);
    assertThat(json.get("schemaVersion").asInt()).isEqualTo(1);
    assertThat(json.get("sha").asText()).isEqualTo(sha);
    assertThat(guard(json, "branch").get("verdict").asText()).isEqualTo("pass");
    assertThat(guard(json, "commit order").get("detail").asText()).contains("release #" + first.ledgerId().orElseThrow());
    assertThat(json.get("image").get("action").asText()).isEqualTo("build");
    assertThat(json.get("migrations").get("pending").asInt()).isEqualTo(1);
    assertThat(json.get("migrations").get("list")).extracting(m -> m.get("migration").asText() + ":"
        + m.get("pending").asBoolean()).containsExactly("V1 create notes:false", "V2 add body:true");
    assertThat(json.get("production").get("reachable").asBoolean()).isTrue();
    assertThat(json.get("lock").get("known").asBoolean()).isTrue();
    assertThat(json.get("lock").get("holder").isNull()).isTrue();
    assertThat(json.get("lock").get("queue")).isEmpty();
    JsonNode latest = json.get("tagMoves").get(0);
    assertThat(latest.get("tag").asText()).isEqualTo("latest");
    assertThat(latest.get("currentDigest").asText()).isEqualTo(first.image().orElseThrow().digest());
    assertThat(latest.get("newDigest").isNull()).as("not built yet").isTrue();
    assertThat(json.get("steps")).extracting(step -> step.get("step").asText())
        .containsExactly("build", "test-migrate", "migrate", "promote");
    assertThat(json.get("hooks")).singleElement().satisfies(hook -> assertThat(hook.get("hook").asText() + " "
        + hook.get("command").asText()).isEqualTo("post-release ./notify.sh"));
    assertThat(json.get("blockers")).isEmpty();
    assertThat(json.get("unknown")).isEmpty();
    assertThat(plan.text()).contains("  + V2 add body  (pending)", "    V1 create notes  (applied)",
        "  1 migration pending on production", "Nothing found stops deploy:release.");

    // the commit already released: its image is reused and latest already names it
    JsonNode rerun = JSON.readTree(plan(fixture, first.image().orElseThrow().image().tagValue().orElseThrow(),
        settings -> { }).json());
    assertThat(rerun.get("image").get("action").asText()).isEqualTo("reuse");
    assertThat(rerun.get("tagMoves").get(0).get("newDigest").asText())
        .isEqualTo(rerun.get("tagMoves").get(0).get("currentDigest").asText());
    assertThat(guard(rerun, "commit order").get("detail").asText()).contains("a re-run resumes it");
    assertThat(state(fixture)).isEqualTo(before);

    // and the release then does what the plan said
    ReleaseResult released = fixture.release(sha, "2", settings -> { });
    assertThat(released.testMigration().orElseThrow().set().fingerprint())
        .isEqualTo(json.get("migrations").get("fingerprint").asText());
    assertThat(released.migration().orElseThrow().applied()).extracting(m -> m.migration().label())
        .containsExactly("V2 add body");
    assertThat(released.promotion().orElseThrow().get(0).previousDigest()).isEqualTo(latest.get("currentDigest")
        .asText());
  }

  @Test
  void plan_whileAReleaseHoldsTheLock_namesItsHolder_andFromAnotherBranchSaysTheGuardRefuses() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    fixture.release("1", settings -> { });
    // a release in progress, as the ledger and the row's own lock show it: another session holds both
    try (Connection holder = fixture.production.connect(); Statement s = holder.createStatement()) {
      long id;
      try (ResultSet rs = s.executeQuery("INSERT INTO closedloop.release_ledger (service, sha, branch, status,"
          + " status_history, backend_pid, row_locked) VALUES ('" + fixture.repository + "', 'abcdef1', 'main',"
          + " 'migrating', '[]', pg_backend_pid(), false) RETURNING id")) {
        rs.next();
        id = rs.getLong(1);
      }
      Map<String, Object> before = state(fixture);

      JsonNode json = JSON.readTree(plan(fixture, TestServices.randomSha(), settings -> settings.branch("feature/x"))
          .json());

      assertThat(json.get("lock").get("holder").get("id").asLong()).isEqualTo(id);
      assertThat(json.get("lock").get("holder").get("status").asText()).isEqualTo("migrating");
      assertThat(guard(json, "branch").get("verdict").asText()).isEqualTo("refuse");
      assertThat(json.get("blockers").get(0).asText()).contains("Refusing to release from branch 'feature/x'");
      assertThat(state(fixture)).isEqualTo(before);
    }
  }

  @Test
  void plan_ofAFirstRelease_findsNoLedger_andCreatesNone() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    fixture.dockerfile();
    Map<String, Object> before = state(fixture);

    JsonNode json = JSON.readTree(plan(fixture, TestServices.randomSha(), settings -> { }).json());

    assertThat(state(fixture)).isEqualTo(before);
    assertThat(before.get("schemas").toString()).doesNotContain("closedloop");
    assertThat(guard(json, "commit order").get("detail").asText()).startsWith("no release yet:"
        + " closedloop.release_ledger does not exist");
    assertThat(json.get("migrations").get("pending").asInt()).isEqualTo(1);
    assertThat(json.get("lock").get("known").asBoolean()).isTrue();
    assertThat(json.get("tagMoves").get(0).get("currentDigest").isNull()).isTrue();
    assertThat(json.get("blockers")).isEmpty();
  }

  @Test
  void plan_withProductionOutOfReach_orItsSecretUnresolvable_namesWhy_andGoesOn() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    Map<String, Object> before = state(fixture);

    JsonNode closed = JSON.readTree(plan(fixture, TestServices.randomSha(),
        settings -> settings.databaseUrl("postgres://postgres@127.0.0.1:1/none", null, null)).json());
    assertThat(closed.get("production").get("reachable").asBoolean()).isFalse();
    assertThat(closed.get("production").get("problem").asText()).contains("Cannot connect");
    assertThat(closed.get("unknown").get(0).asText()).startsWith("production not reachable: ");
    assertThat(closed.get("migrations").get("list")).extracting(m -> m.get("migration").asText())
        .containsExactly("V1 create notes");
    assertThat(closed.get("migrations").get("pending").isNull()).isTrue();
    assertThat(closed.get("image").get("action").asText()).isEqualTo("build");

    JsonNode unresolved = JSON.readTree(plan(fixture, TestServices.randomSha(),
        settings -> settings.databaseUrl("env:CLOSEDLOOP_PLAN_NOT_SET", null, null)).json());
    assertThat(unresolved.get("production").get("reachable").asBoolean()).isFalse();
    assertThat(unresolved.get("unknown")).anyMatch(line -> line.asText().startsWith("not resolved here: ")
        && line.asText().contains("CLOSEDLOOP_PLAN_NOT_SET"));
    assertThat(unresolved.get("lock").get("known").asBoolean()).isFalse();
    assertThat(state(fixture)).isEqualTo(before);
  }

  private static Plan plan(RolloutFixture fixture, String sha, java.util.function.Consumer<ReleaseBuilder> more)
      throws Exception {
    ReleaseBuilder builder = dev.closedloop.deploy.Release.configure()
        .image(TestServices.registry() + "/" + fixture.repository)
        .sha(sha)
        .buildContext(fixture.context)
        .dockerHost(TestServices.dockerHost())
        .migrations(dev.closedloop.deploy.database.Migrations.flyway("filesystem:"
            + fixture.context.resolveSibling("migrations")))
        .databaseUrl("postgres://postgres@127.0.0.1:" + fixture.production.port() + "/"
            + fixture.production.database(), null, null)
        .branch("main")
        .forPlan(true);
    more.accept(builder);
    return builder.load().plan();
  }

  private static JsonNode guard(JsonNode plan, String name) {
    for (JsonNode guard : plan.get("guards")) {
      if (guard.get("guard").asText().equals(name)) {
        return guard;
      }
    }
    throw new AssertionError("no guard " + name + " in " + plan.get("guards"));
  }

  private static Set<String> fields(JsonNode node) {
    Set<String> names = new TreeSet<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }

  /**
   * Everything a plan could change: the repository's tags and their digests, production's catalog
   * (every relation, column, index, schema and function), every row of its ledger and migration
   * history, the databases on its server and the engine's containers.
   */
  static Map<String, Object> state(RolloutFixture fixture) throws Exception {
    Map<String, Object> state = new TreeMap<>();
    Map<String, String> tags = new TreeMap<>();
    for (String tag : registryTags(fixture.repository)) {
      tags.put(tag, fixture.digest(tag));
    }
    state.put("registry", tags);
    DatabaseTarget production = fixture.production;
    state.put("catalog", rows(production, "SELECT n.nspname, c.relname, c.relkind, a.attname, a.atttypid::regtype::text"
        + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_attribute a"
        + " ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2, 4"));
    state.put("schemas", rows(production, "SELECT nspname FROM pg_namespace ORDER BY 1"));
    state.put("functions", rows(production, "SELECT oid::regprocedure::text FROM pg_proc ORDER BY 1"));
    state.put("ledger", rows(production, "SELECT to_jsonb(l)::text FROM closedloop.release_ledger l ORDER BY id",
        "closedloop.release_ledger"));
    state.put("history", rows(production, "SELECT to_jsonb(h)::text FROM public.flyway_schema_history h"
        + " ORDER BY installed_rank", "public.flyway_schema_history"));
    state.put("databases", rows(production, "SELECT datname FROM pg_database ORDER BY 1"));
    state.put("containers", TestServices.docker("ps", "-a", "--format", "{{.Names}} {{.Image}} {{.Status}}")
        .output().lines().map(line -> line.replaceAll(" (Up|Exited).*", "")).sorted().toList());
    return state;
  }

  private static List<String> rows(DatabaseTarget target, String sql, String... requiredTable) throws Exception {
    List<String> rows = new ArrayList<>();
    try (Connection c = target.connect(); Statement s = c.createStatement()) {
      if (requiredTable.length > 0) {
        try (ResultSet rs = s.executeQuery("SELECT to_regclass('" + requiredTable[0] + "') IS NOT NULL")) {
          rs.next();
          if (!rs.getBoolean(1)) {
            return List.of("(no " + requiredTable[0] + ")");
          }
        }
      }
      try (ResultSet rs = s.executeQuery(sql)) {
        ResultSetMetaData meta = rs.getMetaData();
        while (rs.next()) {
          StringBuilder row = new StringBuilder();
          for (int i = 1; i <= meta.getColumnCount(); i++) {
            row.append(rs.getString(i)).append('|');
          }
          rows.add(row.toString());
        }
      }
    }
    return rows;
  }

  private static List<String> registryTags(String repository) throws Exception {
    HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://" + TestServices.registry() + "/v2/" + repository + "/tags/list")).build(),
        HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() == 404) {
      return List.of();
    }
    List<String> tags = new ArrayList<>();
    JSON.readTree(response.body()).path("tags").forEach(tag -> tags.add(tag.asText()));
    return tags;
  }
}
