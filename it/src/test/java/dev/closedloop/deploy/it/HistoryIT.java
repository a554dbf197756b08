package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.report.Format;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** deploy:history reads the ledger in production, newest first, and changes nothing there. */
class HistoryIT {


  @TempDir Path work;



  @Test
  void history_listsTheReleasesNewestFirst_inTextAndJson_readingOnly() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    String url = "postgres://postgres@127.0.0.1:" + fixture.production.port() + "/" + fixture.production.database();
    Release reader = Release.configure().image(TestServices.registry() + "/" + fixture.repository)
        .databaseUrl(url, null, null).buildContext(work).load();
    assertThat(reader.history(5).text()).containsExactly("No releases of " + fixture.repository
        + " in closedloop.release_ledger yet");
    assertThat(ReleaseIT.strings(fixture.production, "SELECT count(*)::text FROM pg_namespace WHERE nspname ="
        + " 'closedloop'")).as("reading created no ledger").containsExactly("0");

    ReleaseResult first = fixture.release("1", settings -> { });
    ReleaseResult second = fixture.release("2", settings -> settings.branch("spike/fast-path").branchGuard("off"));
    String before = ReleaseIT.strings(fixture.production, "SELECT count(*) || ':' || max(id) FROM"
        + " closedloop.release_ledger").get(0);

    List<String> text = reader.history(5).text();

    assertThat(text.get(0)).isEqualTo("The last 2 releases of " + fixture.repository + " (closedloop.release_ledger),"
        + " newest first:");
    assertThat(text.get(1)).startsWith("  #" + second.ledgerId().orElseThrow()).contains(" succeeded ",
        " on spike/fast-path  " + second.image().orElseThrow().digest().substring(0, 19), "  no migrations");
    assertThat(text.get(2)).isEqualTo("         the branch guard was overridden (deploy.branchGuard=off)");
    assertThat(text.get(3)).startsWith("  #" + first.ledgerId().orElseThrow()).contains(" on main ", "1 migration");
    assertThat(reader.history(1).entries()).extracting(e -> e.id()).containsExactly(second.ledgerId().orElseThrow());

    // through Maven, as JSON alone on standard output
    Path project = TestServices.copyProject("consumer", work);
    TestServices.Run run = TestServices.run(project, TestServices.mvnw("-q", "-Ddeploy.image=" + TestServices.registry()
        + "/" + fixture.repository, "-Ddeploy.databaseUrl=" + url, "-Ddeploy.historyFormat=json",
        "deploy:history").toArray(String[]::new));
    assertThat(run.exitCode()).as(run.output()).isZero();
    JsonNode releases = new ObjectMapper().enable(com.fasterxml.jackson.databind.DeserializationFeature
        .FAIL_ON_TRAILING_TOKENS).readTree(run.output().substring(run.output().indexOf('[')));
    assertThat(releases).hasSize(2);
    assertThat(releases.get(0).get("id").asLong()).isEqualTo(second.ledgerId().orElseThrow());
    assertThat(releases.get(0).get("branch").asText()).isEqualTo("spike/fast-path");
    assertThat(releases.get(0).get("branchGuardOverridden").asBoolean()).isTrue();
    assertThat(releases.get(1).get("sha").asText()).isEqualTo(first.image().orElseThrow().image().tagValue()
        .orElseThrow());
    assertThat(releases.get(1).get("migrationsApplied").get(0).asText()).isEqualTo("V1 create notes");
    assertThat(releases.get(1).get("status").asText()).isEqualTo("succeeded");
    assertThat(releases.get(1).get("durationMillis").asLong()).isPositive();
    assertThat(ReleaseIT.strings(fixture.production, "SELECT count(*) || ':' || max(id) FROM"
        + " closedloop.release_ledger")).as("history wrote no row").containsExactly(before);

    TestServices.Run wrong = TestServices.run(project, TestServices.mvnw("-Ddeploy.image=" + TestServices.registry()
        + "/" + fixture.repository, "-Ddeploy.databaseUrl=" + url, "-Ddeploy.historyFormat=yaml",
        "deploy:history").toArray(String[]::new));
    assertThat(wrong.exitCode()).isEqualTo(1);
    assertThat(wrong.output()).contains("historyFormat (deploy.historyFormat) must be text or json; got 'yaml'");
    assertThat(Format.parse(null, "historyFormat (deploy.historyFormat)")).isEqualTo(Format.TEXT);
  }
}
