package dev.closedloop.deploy.report;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.closedloop.deploy.DeployException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LintReportTest {

  @TempDir Path work;

  private static LintReport.Located finding(String path, String level, String statement) {
    return new LintReport.Located(path, new LintFinding("ban-drop-column", level, "V4 drop", 7, statement,
        "dropping a column breaks the running image", "stop using it first"));
  }

  @Test
  void githubAnnotations_areOnTheFileAndLine_withTheRunnersEscapes() {
    LintReport report = new LintReport("abc (main)", List.of("V4 drop"), List.of(
        finding("db/a,b:c.sql", "warn", "DROP COLUMN x, 100% of it\nand more"),
        finding("db/V4.sql", "fail", "DROP COLUMN y")), List.of(), null);

    assertThat(report.githubAnnotations()).containsExactly(
        "::warning file=db/a%2Cb%3Ac.sql,line=7,title=closedloop lint%3A ban-drop-column::DROP COLUMN x, 100%25 of"
            + " it%0Aand more: dropping a column breaks the running image. Instead: stop using it first",
        "::error file=db/V4.sql,line=7,title=closedloop lint%3A ban-drop-column::DROP COLUMN y: dropping a column"
            + " breaks the running image. Instead: stop using it first");
  }

  @Test
  void gitLabsReport_isCodeQualityJson_writtenWhole_withStableFingerprints() throws Exception {
    LintReport report = new LintReport("abc (main)", List.of("V4 drop"), List.of(
        finding("db/V4.sql", "fail", "DROP COLUMN y"), finding("db/V4.sql", "warn", "DROP COLUMN z")), List.of(),
        null);
    Path file = work.resolve("out/gl.json");

    report.writeGitLabCodeQuality(file);

    JsonNode issues = new ObjectMapper().readTree(file.toFile());
    assertThat(issues).hasSize(2);
    assertThat(issues.get(0).get("severity").asText()).isEqualTo("major");
    assertThat(issues.get(1).get("severity").asText()).isEqualTo("minor");
    assertThat(issues.get(0).get("location").get("path").asText()).isEqualTo("db/V4.sql");
    assertThat(issues.get(0).get("location").get("lines").get("begin").asInt()).isEqualTo(7);
    assertThat(issues.get(0).get("fingerprint").asText()).isNotEqualTo(issues.get(1).get("fingerprint").asText())
        .isEqualTo(new ObjectMapper().readTree(report.gitLabCodeQuality()).get(0).get("fingerprint").asText());
    try (var left = Files.list(file.getParent())) {
      assertThat(left).as("no partial file left").containsExactly(file);
    }
  }

  @Test
  void findingsAtFail_areARefusalNamingTheFirst_andWarningsAreNone() {
    LintReport warnings = new LintReport("abc", List.of("V4 drop"), List.of(finding("db/V4.sql", "warn", "x")),
        List.of(), null);
    LintReport failing = new LintReport("abc", List.of("V4 drop"), List.of(finding("db/V3.sql", "warn", "x"),
        finding("db/V4.sql", "fail", "DROP COLUMN y"), finding("db/V5.sql", "fail", "z")), List.of(), null);

    assertThat(warnings.refusal()).isEmpty();
    assertThat(failing.refusal()).get().satisfies(e -> {
      assertThat(e.kind()).isEqualTo(DeployException.Kind.GUARD);
      assertThat(e.getMessage()).startsWith("The migration lint found 2 statements at level fail, first in db/V4.sql"
          + " line 7: ban-drop-column: DROP COLUMN y.");
    });
  }

  @Test
  void text_saysWhatWasReadAgainstWhat_orWhyNothingWas() {
    assertThat(new LintReport("abc (main)", List.of(), List.of(), List.of("note"), null).text())
        .containsExactly("note", "Migration lint against abc (main): no migration is new, nothing to read");
    assertThat(LintReport.skipped("the migrations run from the image", List.of()).text())
        .containsExactly("Migration lint: nothing read: the migrations run from the image");
  }
}
