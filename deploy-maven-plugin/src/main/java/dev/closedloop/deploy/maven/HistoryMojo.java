package dev.closedloop.deploy.maven;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.report.Format;
import javax.inject.Inject;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;
import org.apache.maven.plugins.annotations.ResolutionScope;
import org.apache.maven.settings.crypto.SettingsDecrypter;

/**
 * Prints the latest releases of this service from the ledger in production: when, commit,
 * branch, image, status, migrations applied, duration, rollout, and any branch guard override.
 * Reads only.
 */
@Mojo(name = "history", threadSafe = true, requiresDependencyResolution = ResolutionScope.RUNTIME)
public class HistoryMojo extends AbstractDeployMojo {

  /** How many releases to show, newest first. */
  @Goals("history")
  @Parameter(property = "deploy.historyLimit", defaultValue = "20")
  int historyLimit;

  /** {@code text} for a terminal, {@code json} (printed alone on standard output) for tools. */
  @Goals("history")
  @Parameter(property = "deploy.historyFormat", defaultValue = "text")
  String historyFormat;

  @Inject
  public HistoryMojo(SettingsDecrypter decrypter) {
    super(decrypter);
  }

  @Override
  String goal() {
    return "deploy:history";
  }

  @Override
  boolean writesReport() {
    return false;
  }

  @Override
  ReleaseResult run(Release release) {
    Format format = Format.parse(historyFormat, "historyFormat (deploy.historyFormat)");
    print(release.history(historyLimit).render(format), format);
    return null;
  }
}
