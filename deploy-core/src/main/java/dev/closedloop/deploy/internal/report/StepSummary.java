package dev.closedloop.deploy.internal.report;

import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.StepResult;
import dev.closedloop.deploy.database.AppliedMigration;
import dev.closedloop.deploy.database.MigrationOutcome;
import dev.closedloop.deploy.internal.Durations;
import dev.closedloop.deploy.secret.Redactor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The Markdown a goal appends to GitHub Actions' job summary ({@code $GITHUB_STEP_SUMMARY}): how
 * it ended, each step with its time, the migrations, the tag moves, the rollout, the error, and a
 * link to the run. Every text passes the redactor. Nothing happens outside GitHub Actions.
 */
public final class StepSummary {

  private StepSummary() {}

  /**
   * Appends the summary when {@code env} is GitHub Actions' and names a summary file.
   *
   * @param goal what ran; null when the settings were refused before any goal ran
   * @param errorKind the failure's kind, null when the run did not fail
   */
  public static void append(Map<String, String> env, String goal, String sha, String runUrl, ReleaseResult result,
      String errorKind, String errorMessage, Redactor redactor) throws IOException {
    String file = env.get("GITHUB_STEP_SUMMARY");
    if (!"true".equals(env.get("GITHUB_ACTIONS")) || file == null || file.isBlank()) {
      return;
    }
    Files.writeString(Path.of(file), markdown(goal, sha, runUrl, result, errorKind, errorMessage, redactor),
        StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  static String markdown(String goal, String sha, String runUrl, ReleaseResult result, String errorKind,
      String errorMessage, Redactor redactor) {
    StringBuilder md = new StringBuilder();
    String outcome = errorKind != null ? "failed"
        : result.outcome() == ReleaseResult.Outcome.SUPERSEDED ? "superseded by a newer release" : "succeeded";
    md.append("### closedloop ").append(goal == null ? "settings" : goal).append(": ").append(outcome).append("\n\n");
    md.append("Commit `").append(sha == null ? "?" : sha).append('`');
    result.ledgerId().ifPresent(id -> md.append(" · ledger #").append(id));
    if (runUrl != null) {
      md.append(" · [this run](").append(runUrl.replace(")", "%29")).append(')');
    }
    md.append("\n\n");
    if (!result.steps().isEmpty()) {
      md.append("| step | outcome | time | |\n|---|---|---|---|\n");
      for (StepResult step : result.steps()) {
        md.append("| ").append(step.step()).append(" | ").append(step.status().name().toLowerCase(Locale.ROOT))
            .append(" | ").append(Durations.format(step.duration())).append(" | ")
            .append(cell(redactor.redact(step.summary()))).append(" |\n");
      }
      md.append('\n');
    }
    result.image().ifPresent(image -> md.append("**Image:** `").append(image.image()).append("` (`")
        .append(image.digest()).append("`").append(image.reused() ? ", reused" : "").append(")\n\n"));
    migrations(md, "Proven on a throwaway database", result.testMigration().orElse(null));
    migrations(md, "Applied on production", result.migration().orElse(null));
    result.lint().filter(findings -> !findings.isEmpty()).ifPresent(findings -> {
      md.append("| migration lint | line | rule | level | found |\n|---|---|---|---|---|\n");
      findings.forEach(finding -> md.append("| ").append(cell(finding.migration())).append(" | ")
          .append(finding.line()).append(" | `").append(finding.rule().id()).append("` | ").append(finding.level())
          .append(" | ").append(cell(redactor.redact(finding.statement()))).append(": ")
          .append(cell(finding.rule().explanation())).append(" |\n"));
      md.append('\n');
    });
    result.promotion().ifPresent(moves -> {
      md.append("| tag | before | now |\n|---|---|---|\n");
      moves.forEach(move -> md.append("| ").append(move.tag()).append(" | ")
          .append(move.previousDigest() == null ? "(none)" : "`" + move.previousDigest() + "`").append(" | `")
          .append(move.digest()).append("`").append(move.moved() ? "" : " (already)").append(" |\n"));
      md.append('\n');
    });
    result.rollout().ifPresent(rollout -> md.append("**Rollout:** ").append(text(rollout.target())).append(": ")
        .append(rollout.outcome().id().replace('_', ' ')).append(", ").append(text(redactor.redact(rollout.status())))
        .append("\n\n"));
    if (!result.hooks().isEmpty()) {
      md.append("| hook | command | time | |\n|---|---|---|---|\n");
      result.hooks().forEach(hook -> md.append("| ").append(hook.point()).append(" | `")
          .append(cell(redactor.redact(hook.hook())).replace("`", "'")).append("` | ")
          .append(Durations.format(hook.duration())).append(" | ")
          .append(hook.error() == null ? "succeeded" : "failed: " + cell(redactor.redact(hook.error()))).append(" |\n"));
      md.append('\n');
    }
    if (errorKind != null) {
      md.append("**Error** (").append(errorKind.toLowerCase(Locale.ROOT)).append("): ")
          .append(text(redactor.redact(errorMessage))).append("\n\n");
    }
    return md.toString();
  }

  private static void migrations(StringBuilder md, String where, MigrationOutcome outcome) {
    if (outcome == null) {
      return;
    }
    List<AppliedMigration> applied = outcome.applied();
    md.append("**").append(where).append(":** ").append(applied.isEmpty() ? "no migration"
        : applied.size() == 1 ? "1 migration" : applied.size() + " migrations");
    md.append(" (the set's fingerprint `").append(outcome.set().fingerprint()).append("`)");
    if (!applied.isEmpty()) {
      md.append(": ").append(String.join(", ", applied.stream().map(m -> "`" + text(m.migration().label()) + "` ("
          + m.duration().toMillis() + " ms)").toList()));
    }
    md.append("\n\n");
  }

  /** Text that Markdown shows as written: no HTML, no table breaks, one line. */
  public static String text(String value) {
    if (value == null) {
      return "";
    }
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")
        .replaceAll("\\s+", " ").trim();
  }

  private static String cell(String value) {
    return text(value).replace("|", "\\|");
  }
}
