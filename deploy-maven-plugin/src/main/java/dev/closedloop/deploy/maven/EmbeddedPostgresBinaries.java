package dev.closedloop.deploy.maven;

import dev.closedloop.deploy.database.EphemeralDatabase;
import java.io.IOException;
import java.io.InputStream;
import java.net.MalformedURLException;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import org.apache.maven.plugin.logging.Log;
import org.codehaus.plexus.classworlds.realm.ClassRealm;
import org.eclipse.aether.RepositorySystem;
import org.eclipse.aether.RepositorySystemSession;
import org.eclipse.aether.artifact.DefaultArtifact;
import org.eclipse.aether.repository.RemoteRepository;
import org.eclipse.aether.resolution.ArtifactRequest;
import org.eclipse.aether.resolution.ArtifactResolutionException;
import org.eclipse.aether.resolution.ArtifactResult;

/**
 * The embedded PostgreSQL's binaries for this machine only (about 15 MB, where all platforms are
 * about 83), resolved through Maven's own resolver, so settings.xml mirrors, proxies and offline
 * mode apply, and added to the plugin's class realm. Binaries a build already put on the plugin's
 * classpath (a {@code <dependency>} of the plugin) win.
 */
final class EmbeddedPostgresBinaries {

  private EmbeddedPostgresBinaries() {}

  /** The version this plugin was built and tested with. */
  static String defaultVersion() {
    Properties properties = new Properties();
    try (InputStream in = EmbeddedPostgresBinaries.class.getResourceAsStream("embedded-postgres.properties")) {
      properties.load(in);
    } catch (IOException | NullPointerException e) {
      throw new IllegalStateException("the plugin's embedded-postgres.properties is missing", e);
    }
    return properties.getProperty("version");
  }

  /**
   * Adds this machine's binaries artifact at {@code version} to {@code realm} when they are not
   * on its classpath yet; when they cannot be resolved, says why and leaves the goal to fail only
   * if it does start the embedded PostgreSQL.
   */
  static void addIfMissing(RepositorySystem system, RepositorySystemSession session,
      List<RemoteRepository> repositories, ClassRealm realm, String version, Log log) {
    Optional<String> missing = EphemeralDatabase.missingEmbeddedBinaries();
    if (missing.isEmpty()) {
      return;
    }
    String coordinates = missing.get() + ":" + version;
    try {
      ArtifactResult result = system.resolveArtifact(session,
          new ArtifactRequest(new DefaultArtifact(coordinates), repositories, "closedloop"));
      realm.addURL(result.getArtifact().getFile().toURI().toURL());
      log.debug("embedded PostgreSQL binaries: " + result.getArtifact().getFile());
    } catch (ArtifactResolutionException e) {
      log.warn("Cannot resolve the embedded PostgreSQL binaries " + coordinates
          + (session.isOffline() ? " while Maven is offline: run once online to cache them" : "")
          + " (" + e.getMessage() + "); a goal that starts the embedded PostgreSQL fails. Or point"
          + " deploy.testDatabaseUrl at a PostgreSQL server to test on");
    } catch (MalformedURLException e) {
      throw new IllegalStateException(e);
    }
  }
}
