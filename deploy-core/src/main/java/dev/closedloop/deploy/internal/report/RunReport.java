package dev.closedloop.deploy.internal.report;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.guard.CiEnvironment;
import dev.closedloop.deploy.secret.Redactor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * What a run leaves behind for people and CI: release.json, when the settings name a file for it,
 * and then under GitHub Actions the job summary too. Written for a run that ended and for settings
 * refused before anything ran.
 */
public final class RunReport {

  private RunReport() {}

  /** Deletes an earlier goal's report: it must not stand for this run. */
  public static void clearStale(Path reportFile) {
    if (reportFile == null) {
      return;
    }
    try {
      Files.deleteIfExists(reportFile);
    } catch (IOException e) {
      // written anew at the end of the run, or on refusal
    }
  }

  /**
   * Settings refused by loading: release.json and the job summary say why, with {@code result}
   * (nothing ran). A report that cannot be written is passed over: the refusal itself is reported
   * by the exception.
   */
  public static void refused(Path reportFile, CiEnvironment ci, String sha, ReleaseResult result,
      DeployException refused, Redactor redactor) {
    if (reportFile == null) {
      return;
    }
    try {
      ReleaseReport.write(reportFile, ReleaseReport.json(null, sha, result, refused.kind().name(),
          refused.getMessage(), redactor));
    } catch (IOException | RuntimeException e) {
      // the refusal is what to report; the missing file says nothing false
    }
    try {
      StepSummary.append(ci.variables(), null, sha, ci.runUrl().orElse(null), result,
          refused.kind().name(), refused.getMessage(), redactor);
    } catch (IOException | RuntimeException e) {
      // as above: the refusal itself is reported by the exception
    }
  }

  /**
   * A run of {@code goal} that ended, with its error when it failed, masked by the run's
   * {@code redactor}; a report that cannot be written is passed to {@code warn}.
   */
  public static void write(ReleaseConfig config, String goal, ReleaseResult result, String errorKind,
      String errorMessage, Redactor redactor, Consumer<String> warn) {
    if (config.reportFile() == null) {
      return;
    }
    try {
      StepSummary.append(config.ci().variables(), goal, config.buildRequest().sha(), config.ci().runUrl().orElse(null), result,
          errorKind, errorMessage, redactor);
    } catch (IOException | RuntimeException e) {
      warn.accept("could not append to the job summary (GITHUB_STEP_SUMMARY): " + e.getMessage());
    }
    try {
      ReleaseReport.write(config.reportFile(), ReleaseReport.json(goal, config.buildRequest().sha(), result, errorKind,
          errorMessage, redactor));
    } catch (IOException | RuntimeException e) {
      warn.accept("could not write " + config.reportFile() + ": " + e.getMessage());
    }
  }
}
