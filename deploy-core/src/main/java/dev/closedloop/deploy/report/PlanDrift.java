package dev.closedloop.deploy.report;

import java.util.List;

/**
 * The drift check as test-migrate would make it: production against its migrations.
 *
 * @param checked false when it was not made ({@code reason} says why)
 * @param version the version both were compared at; null when not checked
 * @param differences null when not checked
 * @param reason why it was not made, or what it skipped; null when checked in full
 */
public record PlanDrift(boolean checked, String version, List<Difference> differences, String reason) {

  /**
   * One difference; a view's, function's or trigger's body is shown as {@code (definition not shown)}.
   *
   * @param line the difference in one line, as the text plan prints it
   */
  public record Difference(String object, String production, String migrations, String line) { }

  public PlanDrift {
    differences = differences == null ? null : List.copyOf(differences);
  }

  /** Not made, for {@code reason}. */
  public static PlanDrift notMade(String reason) {
    return new PlanDrift(false, null, null, reason);
  }

  void lines(List<String> lines) {
    if (!checked) {
      lines.add("Drift check: not made: " + reason);
      return;
    }
    lines.add("Drift check (production against its migrations up to V" + version + "): "
        + (differences.isEmpty() ? "no difference" : differences.size() + (differences.size() == 1
        ? " difference" : " differences")) + (reason == null ? "" : "; " + reason));
    differences.forEach(difference -> lines.add("  ! " + difference.line()));
  }
}
