package dev.closedloop.deploy.maven;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.apache.maven.project.MavenProject;

/**
 * Tells when a goal that builds the image runs without {@code package} in the same build, on a
 * {@code target/} older than the sources: the image would hold what an earlier build left there.
 */
final class StaleBuild {

  private StaleBuild() {}

  /** A warning when the project's packaged file is missing or older than its sources; empty when all is well. */
  static Optional<String> warning(MavenProject project, String goal) {
    if ("pom".equals(project.getPackaging()) || (project.getArtifact() != null
        && project.getArtifact().getFile() != null)) {
      return Optional.empty(); // nothing packaged, or package ran in this build
    }
    Path packaged = Path.of(project.getBuild().getDirectory(), project.getBuild().getFinalName() + "."
        + ("maven-plugin".equals(project.getPackaging()) ? "jar" : project.getPackaging()));
    Optional<FileTime> sources = newest(Stream.concat(project.getCompileSourceRoots().stream(),
        project.getResources().stream().map(resource -> resource.getDirectory())).map(Path::of).toList());
    if (sources.isEmpty()) {
      return Optional.empty();
    }
    try {
      if (!Files.exists(packaged)) {
        return Optional.of(goal + " builds the image from the project as it is, and package did not run in this build:"
            + " " + project.getBasedir().toPath().relativize(packaged) + " is missing. Run mvn package " + goal);
      }
      if (Files.getLastModifiedTime(packaged).compareTo(sources.get()) < 0) {
        return Optional.of(goal + " builds the image from the project as it is, and package did not run in this build:"
            + " " + project.getBasedir().toPath().relativize(packaged) + " is older than the sources. Run mvn package "
            + goal);
      }
    } catch (IOException e) {
      return Optional.empty();
    }
    return Optional.empty();
  }

  private static Optional<FileTime> newest(List<Path> roots) {
    FileTime newest = null;
    for (Path root : roots) {
      if (!Files.isDirectory(root)) {
        continue;
      }
      try (Stream<Path> files = Files.walk(root)) {
        for (Path file : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
          FileTime modified = Files.getLastModifiedTime(file);
          if (newest == null || modified.compareTo(newest) > 0) {
            newest = modified;
          }
        }
      } catch (IOException e) {
        // an unreadable tree is no evidence either way
      }
    }
    return Optional.ofNullable(newest);
  }
}
