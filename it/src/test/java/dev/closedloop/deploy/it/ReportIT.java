package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.closedloop.deploy.ReleaseResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** release.json after a release that succeeded and after one that failed, against its documented schema. */
class ReportIT {

  private static final Set<String> FIELDS = new TreeSet<>(List.of("schemaVersion", "goal", "sha", "finishedAt",
      "outcome", "error", "steps", "image", "testMigration", "migration", "guards", "ledgerId", "tagMoves", "rollout",
      "hooks", "lint"));

  @TempDir Path work;



  private static Set<String> fields(JsonNode report) {
    Set<String> names = new TreeSet<>();
    report.fieldNames().forEachRemaining(names::add);
    return names;
  }

  @Test
  void releaseJson_saysWhatARunDid_alsoWhenItFailed() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    Path file = work.resolve("target/deploy/release.json");

    ReleaseResult done = fixture.release("1", settings -> settings.reportFile(file));

    JsonNode report = new ObjectMapper().readTree(Files.readString(file));
    assertThat(fields(report)).isEqualTo(FIELDS);
    assertThat(report.get("schemaVersion").asInt()).isEqualTo(1);
    assertThat(report.get("goal").asText()).isEqualTo("release");
    assertThat(report.get("outcome").asText()).isEqualTo("succeeded");
    assertThat(report.get("error").isNull()).isTrue();
    assertThat(report.get("steps")).extracting(step -> step.get("step").asText() + ":" + step.get("status").asText())
        .containsExactlyInAnyOrder("build:succeeded", "test-migrate:succeeded", "migrate:succeeded",
            "promote:succeeded");
    assertThat(report.get("image").get("digest").asText()).isEqualTo(done.image().orElseThrow().digest());
    assertThat(report.get("migration").get("applied").get(0).get("migration").asText()).isEqualTo("V1 create notes");
    assertThat(report.get("migration").get("fingerprint").asText())
        .isEqualTo(report.get("testMigration").get("fingerprint").asText());
    assertThat(report.get("guards").get("branch").asText()).isEqualTo("main");
    assertThat(report.get("guards").get("lockWaitMillis").isNumber()).isTrue();
    assertThat(report.get("ledgerId").asLong()).isEqualTo(done.ledgerId().orElseThrow());
    assertThat(report.get("tagMoves").get(0).get("tag").asText()).isEqualTo("latest");
    assertThat(report.get("tagMoves").get(0).get("previousDigest").isNull()).isTrue();
    assertThat(report.get("tagMoves").get(0).get("moved").asBoolean()).isTrue();
    assertThat(report.get("rollout").isNull()).isTrue();

    Files.writeString(work.resolve("migrations/V2__broken.sql"), "CREATE TABLE broken (id int PRIMARY KEY;\n");
    catchThrowable(() -> fixture.release("2", settings -> settings.reportFile(file)));

    JsonNode failed = new ObjectMapper().readTree(Files.readString(file));
    assertThat(fields(failed)).isEqualTo(FIELDS);
    assertThat(failed.get("outcome").asText()).isEqualTo("failed");
    assertThat(failed.get("error").get("kind").asText()).isEqualTo("migration");
    assertThat(failed.get("error").get("message").asText()).contains("V2__broken.sql failed at line 1");
    assertThat(failed.get("steps")).extracting(step -> step.get("step").asText() + ":" + step.get("status").asText())
        .contains("test-migrate:failed");
    assertThat(failed.get("migration").isNull()).isTrue();
    assertThat(failed.get("tagMoves").isNull()).isTrue();
    assertThat(failed.get("guards").isNull()).isTrue();
    try (var files = Files.list(file.getParent())) {
      assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly("release.json");
    }

    // settings refused before any goal ran: the earlier report does not stand, this refusal does
    catchThrowable(() -> fixture.release("not-a-sha", "3", settings -> settings.reportFile(file)));
    JsonNode refused = new ObjectMapper().readTree(Files.readString(file));
    assertThat(fields(refused)).isEqualTo(FIELDS);
    assertThat(refused.get("goal").isNull()).isTrue();
    assertThat(refused.get("outcome").asText()).isEqualTo("failed");
    assertThat(refused.get("error").get("kind").asText()).isEqualTo("configuration");
    assertThat(refused.get("error").get("message").asText()).startsWith("sha (deploy.sha) must be a commit SHA");
    assertThat(refused.get("steps")).isEmpty();
  }
}
