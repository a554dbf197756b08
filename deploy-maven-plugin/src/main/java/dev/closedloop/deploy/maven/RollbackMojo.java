package dev.closedloop.deploy.maven;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseResult;
import javax.inject.Inject;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;
import org.apache.maven.plugins.annotations.ResolutionScope;
import org.apache.maven.settings.crypto.SettingsDecrypter;

/**
 * Moves the promote tags back to the image the live release replaced (or deploy.to's), under
 * the branch guard and the release lock, recorded in the ledger as a rollback, then watches the
 * rollout when one is configured. Database migrations are not reverted.
 */
@Mojo(name = "rollback", threadSafe = true, requiresDependencyResolution = ResolutionScope.RUNTIME)
public class RollbackMojo extends AbstractDeployMojo {

  /** The release to go back to: its commit SHA or its image digest; default what the live release replaced. */
  @Goals("rollback")
  @Parameter(property = "deploy.to")
  String to;

  @Inject
  public RollbackMojo(SettingsDecrypter decrypter) {
    super(decrypter);
  }

  @Override
  String goal() {
    return "deploy:rollback";
  }

  @Override
  ReleaseResult run(Release release) {
    return release.rollback(to);
  }
}
