package dev.closedloop.deploy.maven;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseResult;
import javax.inject.Inject;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.ResolutionScope;
import org.apache.maven.settings.crypto.SettingsDecrypter;

/**
 * For a split CI job: moves the promote tags to {@code <image>:<sha>}'s digest, once the ledger
 * shows this commit's migrate succeeded and no newer release migrated since.
 */
@Mojo(name = "promote", threadSafe = true, requiresDependencyResolution = ResolutionScope.RUNTIME)
public class PromoteMojo extends AbstractDeployMojo {

  @Inject
  public PromoteMojo(SettingsDecrypter decrypter) {
    super(decrypter);
  }

  @Override
  String goal() {
    return "deploy:promote";
  }

  @Override
  ReleaseResult run(Release release) {
    return release.promote();
  }
}
