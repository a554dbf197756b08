package dev.closedloop.deploy.maven;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseResult;
import javax.inject.Inject;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.ResolutionScope;
import org.apache.maven.settings.crypto.SettingsDecrypter;

/**
 * For a split CI job: test-migrates (the proof), then, on an allowed branch and holding the
 * release lock, applies the same migrations to production. Needs {@code <image>:<sha>} in the registry.
 */
@Mojo(name = "migrate", threadSafe = true, requiresDependencyResolution = ResolutionScope.RUNTIME)
public class MigrateMojo extends AbstractDeployMojo {

  @Inject
  public MigrateMojo(SettingsDecrypter decrypter) {
    super(decrypter);
  }

  @Override
  String goal() {
    return "deploy:migrate";
  }

  @Override
  ReleaseResult run(Release release) {
    return release.migrate();
  }
}
