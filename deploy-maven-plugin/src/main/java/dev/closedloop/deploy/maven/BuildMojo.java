package dev.closedloop.deploy.maven;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseResult;
import javax.inject.Inject;
import org.apache.maven.plugins.annotations.LifecyclePhase;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.ResolutionScope;
import org.apache.maven.settings.crypto.SettingsDecrypter;

/**
 * Builds the image from the Dockerfile, tags it {@code <image>:<sha>} and pushes it; an image
 * already in the registry under that tag is reused. Never tags {@code latest}.
 */
@Mojo(name = "build", defaultPhase = LifecyclePhase.PACKAGE, threadSafe = true, requiresDependencyResolution = ResolutionScope.RUNTIME)
public class BuildMojo extends AbstractDeployMojo {

  @Inject
  public BuildMojo(SettingsDecrypter decrypter) {
    super(decrypter);
  }

  @Override
  String goal() {
    return "deploy:build";
  }

  @Override
  ReleaseResult run(Release release) {
    return release.build();
  }

  @Override
  boolean reachesProduction() {
    return false;
  }

  @Override
  boolean buildsImage() {
    return true;
  }
}
