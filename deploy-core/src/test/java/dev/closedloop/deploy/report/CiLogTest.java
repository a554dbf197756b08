package dev.closedloop.deploy.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.closedloop.deploy.ReleaseEvent;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.internal.report.StepSummary;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CiLogTest {

  /** The lines a listener prints for {@code events}: each event's own line between its before and after lines. */
  private static List<String> log(CiLog ci, ReleaseEvent... events) {
    List<String> lines = new ArrayList<>();
    for (ReleaseEvent event : events) {
      lines.addAll(ci.before(event));
      lines.add(event.getClass().getSimpleName() + (event instanceof ReleaseEvent.StepStarted s ? " " + s.step()
          : event instanceof ReleaseEvent.StepFinished f ? " " + f.step() : event instanceof ReleaseEvent.StepFailed f
          ? " " + f.step() : ""));
      lines.addAll(ci.after(event));
    }
    return lines;
  }

  private static final ReleaseEvent[] SIDE_BY_SIDE_THEN_MIGRATE = {
      new ReleaseEvent.StepStarted(Step.BUILD),
      new ReleaseEvent.StepStarted(Step.TEST_MIGRATE),
      new ReleaseEvent.Progress(Step.TEST_MIGRATE, "applied V1"),
      new ReleaseEvent.StepFinished(Step.BUILD, Duration.ofSeconds(3), "pushed"),
      new ReleaseEvent.StepFinished(Step.TEST_MIGRATE, Duration.ofSeconds(4), "1 migration"),
      new ReleaseEvent.StepStarted(Step.MIGRATE),
      new ReleaseEvent.StepFailed(Step.MIGRATE, Duration.ofSeconds(1), "broken")};

  @Test
  void underGitHubActions_groupsNeverOverlap_evenWithStepsSideBySide() {
    CiLog ci = new CiLog(CiLog.Kind.GITHUB_ACTIONS, () -> 0);

    assertThat(log(ci, SIDE_BY_SIDE_THEN_MIGRATE)).containsExactly(
        "::group::closedloop build", "StepStarted build",
        "StepStarted test-migrate",
        "Progress",
        "StepFinished build", "::endgroup::", "::group::closedloop test-migrate (continued)",
        "StepFinished test-migrate", "::endgroup::",
        "::group::closedloop migrate", "StepStarted migrate",
        "StepFailed migrate", "::endgroup::");
  }

  @Test
  void underGitLabCi_eachStepIsASection() {
    CiLog ci = new CiLog(CiLog.Kind.GITLAB_CI, () -> 1700000000L);

    List<String> lines = log(ci, new ReleaseEvent.StepStarted(Step.TEST_MIGRATE),
        new ReleaseEvent.StepFinished(Step.TEST_MIGRATE, Duration.ofSeconds(1), "done"));

    assertThat(lines).containsExactly(
        "\u001b[0Ksection_start:1700000000:closedloop_test_migrate[collapsed=false]\r\u001b[0Kclosedloop test-migrate",
        "StepStarted test-migrate", "StepFinished test-migrate",
        "\u001b[0Ksection_end:1700000000:closedloop_test_migrate\r\u001b[0K");
    assertThat(ci.warning("careful")).as("annotations are GitHub's").isEmpty();
  }

  @Test
  void annotations_areOneCommandLine_andNothingPrintsOutsideCi() {
    CiLog github = CiLog.of(Map.of("GITHUB_ACTIONS", "true"));
    assertThat(github.error("100% broken\nsecond line")).containsExactly(
        "::error title=closedloop::100%25 broken%0Asecond line");
    assertThat(github.warning("guard off")).containsExactly("::warning title=closedloop::guard off");

    CiLog local = CiLog.of(Map.of());
    assertThat(local.kind()).isEqualTo(CiLog.Kind.NONE);
    assertThat(log(local, SIDE_BY_SIDE_THEN_MIGRATE)).noneMatch(line -> line.startsWith("::") || line.contains("section"));
    assertThat(local.error("x")).isEmpty();
  }

  @Test
  void summaryText_showsWhatWasWritten_neverMarkup() {
    assertThat(StepSummary.text("<script>alert(1)</script> & `x`\nnext")).isEqualTo(
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; 'x' next");
  }
}
