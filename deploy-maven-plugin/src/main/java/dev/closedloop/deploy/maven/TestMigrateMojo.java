package dev.closedloop.deploy.maven;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.Migrations;
import java.io.File;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;
import javax.inject.Inject;
import org.apache.maven.artifact.DependencyResolutionRequiredException;
import org.apache.maven.plugins.annotations.LifecyclePhase;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;
import org.apache.maven.plugins.annotations.ResolutionScope;
import org.apache.maven.settings.crypto.SettingsDecrypter;

/**
 * Applies every migration to a throwaway PostgreSQL database (embedded by default), proving they
 * work before production sees them. The database is removed afterwards, also on failure.
 */
@Mojo(name = "test-migrate", defaultPhase = LifecyclePhase.INTEGRATION_TEST, threadSafe = true,
    requiresDependencyResolution = ResolutionScope.RUNTIME)
public class TestMigrateMojo extends AbstractDeployMojo {

  /**
   * Flyway locations of the migrations, comma-separated with -D: {@code classpath:} (the
   * project's runtime classpath, its dependencies included) or {@code filesystem:} (relative to
   * the project directory).
   */
  @Parameter(property = "deploy.migrations", defaultValue = "classpath:db/migration")
  List<String> migrations;

  /**
   * A PostgreSQL server to test on instead of the embedded one: each run creates a fresh
   * database there and drops it afterwards. The user needs CREATEDB. A JDBC URL, a libpq URI
   * ({@code postgres://user:password@host:5432/db}) or a key=value string.
   */
  @Parameter(property = "deploy.testDatabaseUrl")
  String testDatabaseUrl;

  /** The user for {@code testDatabaseUrl}. */
  @Parameter(property = "deploy.testDatabaseUser")
  String testDatabaseUser;

  /** The password for {@code testDatabaseUrl}. */
  @Parameter(property = "deploy.testDatabasePassword")
  String testDatabasePassword;

  @Inject
  public TestMigrateMojo(SettingsDecrypter decrypter) {
    super(decrypter);
  }

  @Override
  String goal() {
    return "deploy:test-migrate";
  }

  @Override
  void configure(ReleaseConfig.Builder config) {
    config.migrations(Migrations.flyway(migrations.toArray(String[]::new))
        .relativeTo(project.getBasedir().toPath())
        .withClassLoader(projectClassLoader()));
    if (testDatabaseUrl != null && !testDatabaseUrl.isBlank()) {
      config.testDatabase(EphemeralDatabase.external(DatabaseTarget.parse(testDatabaseUrl, testDatabaseUser,
          testDatabasePassword, "testDatabaseUrl (deploy.testDatabaseUrl)")));
    }
  }

  @Override
  ReleaseResult run(Release release) {
    return release.testMigrate();
  }

  /** The project's runtime classpath, where {@code classpath:} migrations are looked up. */
  private ClassLoader projectClassLoader() {
    List<URL> urls = new ArrayList<>();
    try {
      for (String element : project.getRuntimeClasspathElements()) {
        urls.add(new File(element).toURI().toURL());
      }
    } catch (DependencyResolutionRequiredException | MalformedURLException e) {
      throw new DeployException(DeployException.Kind.CONFIGURATION,
          "Cannot read the project's runtime classpath: " + e.getMessage(), e);
    }
    return new URLClassLoader(urls.toArray(URL[]::new), getClass().getClassLoader());
  }
}
