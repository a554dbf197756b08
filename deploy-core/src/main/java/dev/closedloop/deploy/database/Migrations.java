package dev.closedloop.deploy.database;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Events;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.internal.flyway.FlywayMigrator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Where a service's migrations are: Flyway locations ({@code classpath:db/migration},
 * {@code filesystem:src/main/resources/db/migration}) read through {@code classLoader}.
 */
public record Migrations(List<String> locations, ClassLoader classLoader) {

  public Migrations {
    locations = List.copyOf(locations);
    if (classLoader == null) {
      classLoader = Migrations.class.getClassLoader();
    }
  }

  /** Flyway migrations at these locations, read through this library's class loader. */
  public static Migrations flyway(String... locations) {
    return new Migrations(List.of(locations), null);
  }

  /** The same locations, with classpath locations read through {@code loader}. */
  public Migrations withClassLoader(ClassLoader loader) {
    return new Migrations(locations, loader);
  }

  /** The same locations, with relative {@code filesystem:} paths resolved against {@code base}. */
  public Migrations relativeTo(java.nio.file.Path base) {
    List<String> resolved = new java.util.ArrayList<>();
    for (String location : locations) {
      if (location.startsWith("filesystem:")) {
        Path dir = Path.of(location.substring("filesystem:".length()));
        resolved.add("filesystem:" + base.resolve(dir).normalize());
      } else {
        resolved.add(location);
      }
    }
    return new Migrations(resolved, classLoader);
  }

  /** The migrator that applies these migrations, reporting its progress as {@code step}. */
  public Migrator migrator(Events events, Step step) {
    return new FlywayMigrator(this, events, step);
  }

  /**
   * Checks that every location exists, so a typo fails before any database is started.
   *
   * @throws DeployException of kind CONFIGURATION naming the location
   */
  public void validate() {
    if (locations.isEmpty()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION,
          "No migration locations are set (deploy.migrations): use e.g. classpath:db/migration");
    }
    for (String location : locations) {
      if (location.startsWith("filesystem:")) {
        Path dir = Path.of(location.substring("filesystem:".length()));
        if (!Files.isDirectory(dir)) {
          throw new DeployException(DeployException.Kind.CONFIGURATION,
              "The migrations location " + location + " (deploy.migrations) is not a directory"
                  + " (resolved to " + dir.toAbsolutePath() + ")");
        }
      } else if (location.startsWith("classpath:") || !location.contains(":")) {
        String path = location.substring(location.indexOf(':') + 1).replaceFirst("^/", "");
        try {
          if (!classLoader.getResources(path).hasMoreElements()) {
            throw new DeployException(DeployException.Kind.CONFIGURATION,
                "The migrations location " + location + " (deploy.migrations) is not on the classpath:"
                    + " add the artifact that holds it as a dependency, or use filesystem:<dir>");
          }
        } catch (IOException e) {
          throw new DeployException(DeployException.Kind.CONFIGURATION,
              "Cannot read the migrations location " + location + ": " + e.getMessage(), e);
        }
      } else {
        throw new DeployException(DeployException.Kind.CONFIGURATION,
            "Unsupported migrations location '" + location + "' (deploy.migrations): use classpath:<path>"
                + " or filesystem:<dir>");
      }
    }
  }

  @Override
  public String toString() {
    return String.join(", ", locations);
  }
}
