package dev.closedloop.deploy.report;

import com.fasterxml.jackson.annotation.JsonValue;
import dev.closedloop.deploy.lint.Finding;
import dev.closedloop.deploy.secret.Redactor;
import java.util.List;

/**
 * The migration lint of the migrations pending on production, written as its list of findings.
 *
 * @param findings null when the lint did not run (it is off, or production was not read): {@code null} in the JSON
 */
public record PlanLint(@JsonValue List<LintFinding> findings) {

  public static final PlanLint NOT_RUN = new PlanLint(null);

  public PlanLint {
    findings = findings == null ? null : List.copyOf(findings);
  }

  public static PlanLint of(List<Finding> findings, Redactor redactor) {
    return new PlanLint(findings.stream().map(finding -> LintFinding.of(finding, redactor)).toList());
  }

  void lines(List<String> lines) {
    if (findings == null) {
      return;
    }
    lines.add("Migration lint (pending migrations, against production's schema): " + (findings.isEmpty()
        ? "nothing found" : findings.size() + (findings.size() == 1 ? " finding" : " findings")));
    findings.forEach(finding -> lines.add(finding.text()));
  }
}
