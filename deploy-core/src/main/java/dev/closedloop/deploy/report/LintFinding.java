package dev.closedloop.deploy.report;

import dev.closedloop.deploy.CheckLevel;
import dev.closedloop.deploy.lint.Finding;
import dev.closedloop.deploy.secret.Redactor;

/**
 * One finding of the migration lint as release.json and the plan write it.
 *
 * @param level {@code warn} or {@code fail}
 * @param statement what was found, redacted
 */
public record LintFinding(String rule, String level, String migration, int line, String statement,
    String explanation, String alternative) {

  public static LintFinding of(Finding finding, Redactor redactor) {
    return new LintFinding(finding.rule().id(), finding.level().toString(), finding.migration(), finding.line(),
        redactor.redact(finding.statement()), finding.rule().explanation(), finding.rule().alternative());
  }

  String text() {
    return "  " + (level.equals(CheckLevel.FAIL.toString()) ? "! " : "~ ") + migration + " (line " + line + "): "
        + rule + " [" + level + "]: " + statement + ": " + explanation + ". Instead: " + alternative;
  }
}
