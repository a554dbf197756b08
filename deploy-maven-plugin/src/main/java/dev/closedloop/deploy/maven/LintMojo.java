package dev.closedloop.deploy.maven;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.report.GitHubActions;
import dev.closedloop.deploy.report.LintReport;
import java.io.File;
import javax.inject.Inject;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;
import org.apache.maven.plugins.annotations.ResolutionScope;
import org.apache.maven.settings.crypto.SettingsDecrypter;

/**
 * The migration lint for a pull request: the migrations new against a git base, read against the
 * schema the base's migrations build on a throwaway database; against production's catalog when
 * production can be read. Needs no production and no image; changes nothing. Under GitHub Actions
 * each finding is an annotation on its file and line; GitLab's code quality report is written
 * too. Fails when a finding is at level fail.
 */
@Mojo(name = "lint", threadSafe = true, requiresDependencyResolution = ResolutionScope.NONE)
public class LintMojo extends AbstractDeployMojo {

  /** The git ref to lint against; by default the merge base with the default branch (the pull request's target). */
  @Goals("lint")
  @Parameter(property = "deploy.lintBase")
  String lintBase;

  /** GitLab's code quality report of the findings ({@code artifacts:reports:codequality}). */
  @Goals("lint")
  @Parameter(property = "deploy.lintReport", defaultValue = "${project.build.directory}/deploy/gl-code-quality-report.json")
  File lintReport;

  @Inject
  public LintMojo(SettingsDecrypter decrypter) {
    super(decrypter);
  }

  @Override
  String goal() {
    return "deploy:lint";
  }

  @Override
  boolean writesReport() {
    return false;
  }

  @Override
  boolean plansOnly() {
    return true;
  }

  /** A lint that fails to run leaves no earlier run's findings behind for GitLab to show. */
  @Override
  void beforeConfiguring() {
    if (lintReport != null) {
      LintReport.clear(lintReport.toPath());
    }
  }

  @Override
  ReleaseResult run(Release release) {
    LintReport report = release.lint(lintBase);
    report.text().forEach(getLog()::info);
    GitHubActions.annotate(release, report, command -> {
      System.err.println(command);
      System.err.flush();
    });
    if (lintReport != null) {
      report.writeGitLabCodeQuality(lintReport.toPath());
      getLog().info("GitLab code quality report: " + lintReport);
    }
    report.refusal().ifPresent(refusal -> {
      throw refusal;
    });
    return null;
  }
}
