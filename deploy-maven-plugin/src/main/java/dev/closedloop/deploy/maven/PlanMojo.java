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
 * The local dry run: prints everything deploy:release would do (guards, image, migrations pending
 * on production, tag moves, rollout target, the lock's holder and queue) and changes nothing.
 * Works without credentials: what it cannot reach it names, and goes on.
 */
@Mojo(name = "plan", threadSafe = true, requiresDependencyResolution = ResolutionScope.RUNTIME)
public class PlanMojo extends AbstractDeployMojo {

  /** {@code text} for a terminal, {@code json} (printed alone on standard output) for tools. */
  @Goals("plan")
  @Parameter(property = "deploy.planFormat", defaultValue = "text")
  String planFormat;

  @Inject
  public PlanMojo(SettingsDecrypter decrypter) {
    super(decrypter);
  }

  @Override
  String goal() {
    return "deploy:plan";
  }

  @Override
  boolean writesReport() {
    return false;
  }

  @Override
  boolean plansOnly() {
    return true;
  }

  @Override
  ReleaseResult run(Release release) {
    Format format = Format.parse(planFormat, "planFormat (deploy.planFormat)");
    print(release.plan().render(format), format);
    return null;
  }
}
