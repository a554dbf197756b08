package dev.closedloop.deploy.maven;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseResult;
import javax.inject.Inject;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;
import org.apache.maven.plugins.annotations.ResolutionScope;
import org.apache.maven.settings.crypto.SettingsDecrypter;

/**
 * For a split CI job: moves the promote tags to {@code <image>:<sha>}'s digest, once the ledger
 * shows this commit's migrate succeeded and no newer release migrated since. With
 * {@code -Ddeploy.from=<environment>}: releases what that environment runs to
 * {@code deploy.environment}, the same digest, its migrations proved again and applied first.
 */
@Mojo(name = "promote", threadSafe = true, requiresDependencyResolution = ResolutionScope.RUNTIME)
public class PromoteMojo extends AbstractDeployMojo {

  /**
   * The environment whose latest successful release to promote to {@code deploy.environment}:
   * its image digest as its ledger records it, never rebuilt, and its migration set.
   */
  @Goals("promote")
  @Parameter(property = "deploy.from")
  String from;

  @Inject
  public PromoteMojo(SettingsDecrypter decrypter) {
    super(decrypter);
  }

  @Override
  String goal() {
    return "deploy:promote";
  }

  @Override
  java.util.Set<String> environmentsUsed() {
    java.util.Set<String> used = new java.util.HashSet<>(super.environmentsUsed());
    if (from != null && !from.isBlank()) {
      used.add(from.trim());
    }
    return used;
  }

  @Override
  ReleaseResult run(Release release) {
    return from == null || from.isBlank() ? release.promote() : release.promoteFrom(from);
  }
}
