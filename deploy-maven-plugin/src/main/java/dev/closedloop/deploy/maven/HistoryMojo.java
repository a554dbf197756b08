package dev.closedloop.deploy.maven;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.report.History;
import java.util.List;
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
  @Parameter(property = "deploy.historyLimit", defaultValue = "20")
  int historyLimit;

  /** {@code text} for a terminal, {@code json} (printed alone on standard output) for tools. */
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
    History.Format format = History.Format.parse(historyFormat);
    List<String> lines = release.history(historyLimit).render(format);
    if (format == History.Format.JSON) {
      lines.forEach(System.out::println); // without Maven's prefixes, for a pipe
      System.out.flush();
    } else {
      lines.forEach(getLog()::info);
    }
    return null;
  }
}
