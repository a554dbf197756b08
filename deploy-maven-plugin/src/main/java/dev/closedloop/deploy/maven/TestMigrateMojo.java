package dev.closedloop.deploy.maven;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseResult;
import javax.inject.Inject;
import org.apache.maven.plugins.annotations.LifecyclePhase;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.ResolutionScope;
import org.apache.maven.settings.crypto.SettingsDecrypter;

/**
 * Applies every migration to a throwaway PostgreSQL database (embedded by default), proving they
 * work before production sees them. The database is removed afterwards, also on failure.
 */
@Mojo(name = "test-migrate", defaultPhase = LifecyclePhase.INTEGRATION_TEST, threadSafe = true, requiresDependencyResolution = ResolutionScope.RUNTIME)
public class TestMigrateMojo extends AbstractDeployMojo {

  @Inject
  public TestMigrateMojo(SettingsDecrypter decrypter) {
    super(decrypter);
  }

  @Override
  String goal() {
    return "deploy:test-migrate";
  }

  @Override
  ReleaseResult run(Release release) {
    return release.testMigrate();
  }

  @Override
  boolean reachesProduction() {
    return false;
  }
}
