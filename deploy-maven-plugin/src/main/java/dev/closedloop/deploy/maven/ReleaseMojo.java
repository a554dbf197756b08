package dev.closedloop.deploy.maven;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseResult;
import javax.inject.Inject;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.ResolutionScope;
import org.apache.maven.settings.crypto.SettingsDecrypter;

/**
 * The whole release in one process: build, test-migrate, then on an allowed branch and one at a
 * time, migrate production and promote the tested image. Nothing is promoted if anything before failed.
 */
@Mojo(name = "release", threadSafe = true, requiresDependencyResolution = ResolutionScope.RUNTIME)
public class ReleaseMojo extends AbstractDeployMojo {

  @Inject
  public ReleaseMojo(SettingsDecrypter decrypter) {
    super(decrypter);
  }

  @Override
  String goal() {
    return "deploy:release";
  }

  @Override
  ReleaseResult run(Release release) {
    return release.release();
  }

  @Override
  boolean buildsImage() {
    return true;
  }
}
