package dev.closedloop.deploy.database;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseListener;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.database.Migrators;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Where a service's migrations are and what they are written for: Flyway locations
 * ({@code classpath:db/migration}, {@code filesystem:src/main/resources/db/migration}) read
 * through {@code classLoader}, or directories of goose files ({@code filesystem:migrations})
 * whose applied versions live in goose's table.
 *
 * @param tool what the migrations are written for ({@code deploy.migrator})
 * @param versionTable goose's version table ({@code deploy.gooseTable}); unused by Flyway
 * @param command for {@code image}: the migration tool's command line ({@code deploy.migrationCommand})
 * @param commandEnv for {@code image}: {@code NAME=value} entries with {@code {dsn}}, {@code {url}}… placeholders
 * @param checkCommand for {@code image}: run before and after the command, or null
 * @param allowMissing for {@code goose}: apply a file older than the newest applied version, as goose's
 *     {@code -allow-missing} does ({@code deploy.gooseAllowMissing}); otherwise it is refused, as goose refuses it
 * @param flyway for {@code flyway}: the team's Flyway settings (placeholders, schemas, table, baseline)
 */
public record Migrations(List<String> locations, ClassLoader classLoader, Tool tool, String versionTable,
    String command, List<String> commandEnv, String checkCommand, boolean allowMissing, FlywaySettings flyway) {

  /** What the migrations are written for, as {@code deploy.migrator} names it. */
  public enum Tool {
    FLYWAY("flyway"),
    GOOSE("goose"),
    /** The team's own tool, run from the built image. */
    IMAGE("image");

    private final String id;

    Tool(String id) {
      this.id = id;
    }

    /** The name {@code deploy.migrator} takes. */
    public String id() {
      return id;
    }

    /**
     * The tool {@code deploy.migrator} names, in any case; flyway when it is blank.
     *
     * @throws DeployException of kind CONFIGURATION for another name
     */
    public static Tool of(String migrator) {
      String id = migrator == null || migrator.isBlank() ? FLYWAY.id : migrator.trim().toLowerCase(java.util.Locale.ROOT);
      for (Tool tool : values()) {
        if (tool.id.equals(id)) {
          return tool;
        }
      }
      throw new DeployException(DeployException.Kind.CONFIGURATION, "migrator (deploy.migrator) must be flyway,"
          + " goose or image; got '" + migrator + "'");
    }
  }

  /** goose's default version table. */
  public static final String GOOSE_TABLE = "goose_db_version";

  /**
   * A release killed mid-migration must not leave its statement running (holding locks) until
   * it ends on its own: since PostgreSQL 14 the server can check for a vanished client while a
   * statement runs, and abort it. Older servers skip this. Run on every migration connection.
   */
  public static final String ABORT_WHEN_CLIENT_DIES = "DO $$ BEGIN"
      + " IF current_setting('server_version_num')::int >= 140000 THEN"
      + " EXECUTE 'SET client_connection_check_interval = 1000'; END IF; END $$";

  public Migrations {
    locations = List.copyOf(locations);
    if (classLoader == null) {
      classLoader = Migrations.class.getClassLoader();
    }
    tool = tool == null ? Tool.FLYWAY : tool;
    versionTable = versionTable == null || versionTable.isBlank() ? GOOSE_TABLE : versionTable.trim();
    if (!versionTable.matches("([a-z_][a-z0-9_]{0,62}\\.)?[a-z_][a-z0-9_]{0,62}")) { // it goes into SQL as a name
      throw new DeployException(DeployException.Kind.CONFIGURATION, "gooseTable (deploy.gooseTable, GOOSE_TABLE)"
          + " must be a lowercase table name, optionally schema-qualified; got '" + versionTable + "'");
    }
    commandEnv = commandEnv == null ? List.of() : List.copyOf(commandEnv);
    String refusal = dev.closedloop.deploy.internal.database.ImageMigrator.refusal(commandEnv,
        "migrationEnv (deploy.migrationEnv)");
    if (refusal != null) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, refusal);
    }
    checkCommand = checkCommand == null || checkCommand.isBlank() ? null : checkCommand.trim();
    flyway = flyway == null ? FlywaySettings.defaults() : flyway;
  }

  public Migrations(List<String> locations, ClassLoader classLoader) {
    this(locations, classLoader, Tool.FLYWAY, null, null, null, null, false, null);
  }

  /** Flyway migrations at these locations, read through this library's class loader. */
  public static Migrations flyway(String... locations) {
    return new Migrations(List.of(locations), null);
  }

  /** goose SQL files in these directories ({@code filesystem:DIR}), applied versions kept in {@code goose_db_version}. */
  public static Migrations goose(String... locations) {
    return new Migrations(List.of(locations), null, Tool.GOOSE, null, null, null, null, false, null);
  }

  /**
   * The team's own migration tool, run from the built image by digest.
   *
   * @param command e.g. {@code goose -dir /migrations up}; split into words as a shell would, run without one
   * @param env {@code NAME=value}, with {@code {dsn}}, {@code {url}}, {@code {jdbc}}, {@code {host}},
   *     {@code {port}}, {@code {user}}, {@code {password}}, {@code {database}} filled in per database
   * @param checkCommand run before and after, e.g. {@code goose -dir /migrations status}; null for none
   */
  public static Migrations image(String command, List<String> env, String checkCommand) {
    return new Migrations(List.of(), null, Tool.IMAGE, null, command, env, checkCommand, false, null);
  }

  /**
   * The migrations {@code deploy.migrator} names: {@code flyway} or {@code goose}.
   *
   * @param versionTable goose's table ({@code deploy.gooseTable}); null for goose's {@code GOOSE_TABLE} variable,
   *     else {@code goose_db_version}
   * @throws DeployException of kind CONFIGURATION for another name
   */
  public static Migrations of(String migrator, List<String> locations, String versionTable, String command,
      List<String> commandEnv, String checkCommand) {
    Tool tool = Tool.of(migrator);
    if (tool == Tool.IMAGE) {
      return image(command, commandEnv, checkCommand);
    }
    if (versionTable == null || versionTable.isBlank()) {
      versionTable = System.getenv("GOOSE_TABLE");
    }
    return new Migrations(locations, null, tool, versionTable, null, null, null, false, null);
  }

  public boolean isGoose() {
    return tool == Tool.GOOSE;
  }

  /** True when the migrations run from the built image: test-migrate then waits for the build. */
  public boolean runFromImage() {
    return tool == Tool.IMAGE;
  }

  /**
   * The same migrations, applying goose files older than the newest applied version too
   * ({@code deploy.gooseAllowMissing}, goose's {@code -allow-missing}).
   *
   * @throws DeployException of kind CONFIGURATION when they are not goose migrations
   */
  public Migrations allowingMissing(boolean allow) {
    if (allow && !isGoose()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "gooseAllowMissing (deploy.gooseAllowMissing) is"
          + " for deploy.migrator=goose: Flyway's and an image's tools have settings of their own");
    }
    return new Migrations(locations, classLoader, tool, versionTable, command, commandEnv, checkCommand, allow, flyway);
  }

  /**
   * The same migrations, with the team's Flyway settings.
   *
   * @throws DeployException of kind CONFIGURATION when settings other than the defaults are given to goose or an
   *     image's tool
   */
  public Migrations withFlyway(FlywaySettings settings) {
    if (settings != null && !settings.equals(FlywaySettings.defaults()) && tool != Tool.FLYWAY) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "placeholders (deploy.placeholders) and the"
          + " flyway.* settings are for deploy.migrator=flyway; " + tool.id() + " does not read them");
    }
    return new Migrations(locations, classLoader, tool, versionTable, command, commandEnv, checkCommand, allowMissing,
        settings);
  }

  /** The same locations, with classpath locations read through {@code loader}. */
  public Migrations withClassLoader(ClassLoader loader) {
    return new Migrations(locations, loader, tool, versionTable, command, commandEnv, checkCommand, allowMissing, flyway);
  }

  /** The same tool and settings, reading other locations (a git commit's copy of the files, for the lint). */
  public Migrations at(List<String> otherLocations) {
    return new Migrations(otherLocations, classLoader, tool, versionTable, command, commandEnv, checkCommand,
        allowMissing, flyway);
  }

  /** The same locations, with relative {@code filesystem:} paths resolved against {@code base}. */
  public Migrations relativeTo(java.nio.file.Path base) {
    List<String> resolved = new java.util.ArrayList<>();
    for (String location : locations) {
      if (isGoose() && !location.startsWith("filesystem:")) {
        throw new DeployException(DeployException.Kind.CONFIGURATION, "goose migrations are read from directories:"
            + " set deploy.migrations to filesystem:<dir> (e.g. filesystem:migrations); got '" + location + "'");
      }
      if (location.startsWith("filesystem:")) {
        Path dir = Path.of(location.substring("filesystem:".length()));
        resolved.add("filesystem:" + base.resolve(dir).normalize());
      } else {
        resolved.add(location);
      }
    }
    return new Migrations(resolved, classLoader, tool, versionTable, command, commandEnv, checkCommand, allowMissing, flyway);
  }

  /**
   * The migrator that applies these migrations, reporting its progress to {@code events} as
   * {@code step}. Migrations run from the image need a release's built image: outside a release
   * theirs fails when it would run the command.
   */
  public Migrator migrator(ReleaseListener events, Step step) {
    return Migrators.of(this, Events.of(events), step, () -> {
      throw new IllegalStateException("no image to run migrations from");
    });
  }

  /**
   * Checks that every location exists, so a typo fails before any database is started.
   *
   * @throws DeployException of kind CONFIGURATION naming the location
   */
  public void validate() {
    if (runFromImage()) {
      return; // the image holds them
    }
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

  /**
   * The text of migration {@code script} (a path relative to its location, as the migrator names
   * it), from the first location that has it; empty when none does or it cannot be read.
   */
  public java.util.Optional<String> read(String script) {
    if (script == null || runFromImage()) {
      return java.util.Optional.empty();
    }
    for (String location : locations) {
      try {
        if (location.startsWith("filesystem:")) {
          Path file = Path.of(location.substring("filesystem:".length())).resolve(script);
          if (Files.isRegularFile(file)) {
            return java.util.Optional.of(Files.readString(file));
          }
        } else {
          String path = location.substring(location.indexOf(':') + 1).replaceFirst("^/", "").replaceFirst("/$", "");
          try (java.io.InputStream in = classLoader.getResourceAsStream(path + "/" + script)) {
            if (in != null) {
              return java.util.Optional.of(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
            }
          }
        }
      } catch (IOException | RuntimeException e) {
        // another location may have it; a file that cannot be read is as good as absent here
      }
    }
    return java.util.Optional.empty();
  }

  @Override
  public String toString() {
    return runFromImage() ? "'" + command + "' from the image" : String.join(", ", locations);
  }
}
