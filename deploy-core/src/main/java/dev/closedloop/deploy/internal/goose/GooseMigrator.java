package dev.closedloop.deploy.internal.goose;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.AppliedMigration;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.MigrationOutcome;
import dev.closedloop.deploy.database.MigrationSet;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.database.Migrator;
import dev.closedloop.deploy.internal.Events;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.zip.CRC32;

/**
 * Applies goose SQL files as goose does, keeping goose's own version table: a database goose
 * managed is taken over as it is (its applied versions are not applied again), and goose can
 * still read it afterwards ({@code goose status}) or take it back. Each file runs in one
 * transaction with its version row, unless it says {@code NO TRANSACTION}.
 */
public final class GooseMigrator implements Migrator {

  private final Migrations migrations;
  private final Events events;
  private final Step step;
  private final String table;

  public GooseMigrator(Migrations migrations, Events events, Step step) {
    this.migrations = migrations;
    this.events = events;
    this.step = step;
    this.table = migrations.versionTable();
  }

  @Override
  public void validate() {
    migrations.validate();
    files();
  }

  @Override
  public String describe() {
    return "goose migrations in " + migrations + " (versions in " + table + ")";
  }

  @Override
  public Inspection inspect(DatabaseTarget target) {
    List<Found> files = files();
    MigrationSet set = MigrationSet.of(files.stream().map(file -> file.migration).toList());
    if (target == null) {
      return new Inspection(set, null);
    }
    try (Connection c = target.connect()) {
      String[] name = qualified(c);
      TreeSet<Long> applied = exists(c, name) ? applied(c, '"' + name[0] + "\".\"" + name[1] + '"') : new TreeSet<>();
      return new Inspection(set, files.stream().filter(file -> !applied.contains(file.goose.version()))
          .map(file -> file.migration.label()).toList());
    } catch (SQLException e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot read " + table + " on " + target + ": "
          + oneLine(e.getMessage()), e);
    }
  }

  @Override
  public MigrationOutcome migrate(DatabaseTarget target, String expectedFingerprint,
      Consumer<List<String>> beforeApplying) {
    return migrate(target, expectedFingerprint, beforeApplying, Long.MAX_VALUE);
  }

  @Override
  public MigrationOutcome migrateUpTo(DatabaseTarget target, String version) {
    return migrate(target, null, pending -> { }, Long.parseLong(version), java.util.Set.of());
  }

  @Override
  public MigrationOutcome migrateUpTo(DatabaseTarget target, String version, java.util.Set<String> skipped) {
    java.util.Set<Long> left = new java.util.HashSet<>();
    skipped.forEach(skip -> left.add(Long.parseLong(skip)));
    return migrate(target, null, pending -> { }, Long.parseLong(version), left);
  }

  private MigrationOutcome migrate(DatabaseTarget target, String expectedFingerprint,
      Consumer<List<String>> beforeApplying, long upTo) {
    return migrate(target, expectedFingerprint, beforeApplying, upTo, java.util.Set.of());
  }

  private MigrationOutcome migrate(DatabaseTarget target, String expectedFingerprint,
      Consumer<List<String>> beforeApplying, long upTo, java.util.Set<Long> skipped) {
    List<Found> files = files();
    MigrationSet set = MigrationSet.of(files.stream().map(file -> file.migration).toList());
    try (Connection c = target.connect()) {
      try (Statement s = c.createStatement()) {
        s.execute(Migrations.ABORT_WHEN_CLIENT_DIES);
      }
      String[] name = qualified(c);
      String versions = '"' + name[0] + "\".\"" + name[1] + '"'; // one table, whatever a file does to search_path
      boolean exists = exists(c, name);
      TreeSet<Long> applied = exists ? applied(c, versions) : new TreeSet<>();
      TreeSet<Long> known = new TreeSet<>(files.stream().map(file -> file.goose.version()).toList());
      List<Long> unknown = applied.stream().filter(version -> !known.contains(version)).toList();
      if (!unknown.isEmpty()) {
        throw new DeployException(DeployException.Kind.MIGRATION, table + " has version" + (unknown.size() == 1 ? " "
            : "s ") + unknown + " applied, which no file in " + migrations + " has: the files are not the ones this"
            + " database was migrated with (restore the files, or fix " + table + "). Nothing was applied");
      }
      List<Found> pending = new ArrayList<>();
      for (Found file : files) {
        if (!applied.contains(file.goose.version()) && file.goose.version() <= upTo
            && !skipped.contains(file.goose.version())) {
          pending.add(file);
        }
      }
      List<Found> missing = applied.isEmpty() ? List.of() : pending.stream()
          .filter(file -> file.goose.version() < applied.last()).toList();
      if (!missing.isEmpty() && !migrations.allowMissing()) {
        throw new DeployException(DeployException.Kind.MIGRATION, "goose migration " + missing.get(0).goose.fileName()
            + " is older than version " + applied.last() + ", already applied: goose refuses such missing"
            + " migrations (out of order), and so does closedloop. Renumber it after " + applied.last()
            + ", or apply it where it stands with deploy.gooseAllowMissing=true (goose's -allow-missing)."
            + " Nothing was applied");
      }
      if (!missing.isEmpty()) { // goose -allow-missing applies them first, in version order
        events.progress(step, missing.size() + " missing migration" + (missing.size() == 1 ? "" : "s") + " older than"
            + " version " + applied.last() + " (deploy.gooseAllowMissing): " + missing.stream()
            .map(file -> file.goose.fileName()).toList());
      }
      set.requireProven(expectedFingerprint, migrations);
      if (!exists && expectedFingerprint != null) {
        refuseWhenPopulated(c, name);
      }
      if (exists && !applied.isEmpty()) {
        events.progress(step, table + " has " + applied.size() + " version" + (applied.size() == 1 ? "" : "s")
            + " applied (up to " + applied.last() + "): taken as applied, as goose would; " + (pending.isEmpty()
            ? "nothing to apply" : pending.size() + " to apply from " + pending.get(0).goose.version()));
      }
      if (!pending.isEmpty()) {
        beforeApplying.accept(pending.stream().map(file -> file.migration.label()).toList());
      }
      if (!exists) {
        create(c, versions);
      }
      long start = System.nanoTime();
      List<AppliedMigration> done = new ArrayList<>();
      for (Found file : pending) {
        long began = System.nanoTime();
        apply(c, file, versions);
        Duration took = Duration.ofNanos(System.nanoTime() - began);
        done.add(new AppliedMigration(file.migration, took));
        events.progress(step, "applied " + file.migration.label() + (file.goose.transactional() ? ""
            : " (no transaction)") + " (" + took.toMillis() + " ms)");
      }
      return new MigrationOutcome(set, done, Duration.ofNanos(System.nanoTime() - start));
    } catch (SQLException e) {
      throw new DeployException(DeployException.Kind.MIGRATION, "Migrating with goose files in " + migrations
          + " failed: " + oneLine(e.getMessage()), e);
    }
  }

  /** A file as goose reads it, and as the migration set records it. */
  private record Found(GooseFile goose, MigrationSet.Migration migration) { }

  /** Every goose file of every location, by version; a duplicate version is refused as goose refuses it. */
  private List<Found> files() {
    Map<Long, Found> byVersion = new TreeMap<>();
    for (String location : migrations.locations()) {
      Path dir = Path.of(location.substring("filesystem:".length()));
      List<Path> found;
      try (Stream<Path> listing = Files.list(dir)) {
        found = listing.filter(Files::isRegularFile).sorted().toList();
      } catch (IOException e) {
        throw new DeployException(DeployException.Kind.CONFIGURATION, "Cannot read the goose migrations in " + dir
            + " (deploy.migrations): " + e.getMessage(), e);
      }
      for (Path path : found) {
        String name = path.getFileName().toString();
        if (name.matches("\\d+_.*\\.go") && !name.endsWith("_test.go")) {
          throw new DeployException(DeployException.Kind.CONFIGURATION, "goose migration " + name + " is written in"
              + " Go: closedloop reads SQL files only. Run such migrations from the image (deploy.migrator=image)");
        }
        if (!name.endsWith(".sql")) {
          continue; // goose, too, reads only .sql files beside its Go ones
        }
        if (GooseFile.fileName(name) == null) {
          throw new DeployException(DeployException.Kind.CONFIGURATION, "goose migration " + name + " in " + dir
              + " has no version: name it <version>_<name>.sql (goose refuses it too)");
        }
        byte[] bytes;
        try {
          bytes = Files.readAllBytes(path);
        } catch (IOException e) {
          throw new DeployException(DeployException.Kind.CONFIGURATION, "Cannot read " + path + ": " + e.getMessage(), e);
        }
        var goose = GooseFile.parse(name, new String(bytes,
            StandardCharsets.UTF_8), System.getenv());
        Found previous = byVersion.get(goose.version());
        if (previous != null) {
          throw new DeployException(DeployException.Kind.MIGRATION, "goose migrations " + previous.goose.fileName()
              + " and " + name + " have the same version " + goose.version() + ": goose refuses that too");
        }
        CRC32 crc = new CRC32();
        crc.update(bytes);
        byVersion.put(goose.version(), new Found(goose, new MigrationSet.Migration(String.valueOf(goose.version()),
            goose.name().replace('_', ' '), name, (int) crc.getValue())));
      }
    }
    if (byVersion.isEmpty()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "No goose migrations found in " + migrations
          + " (deploy.migrations): add <version>_<name>.sql files there, or point deploy.migrations at them");
    }
    return List.copyOf(byVersion.values());
  }

  /** The table's schema and name: as {@code deploy.gooseTable} names it, else in the current schema, as goose looks. */
  private String[] qualified(Connection c) throws SQLException {
    int dot = table.indexOf('.');
    if (dot > 0) {
      return new String[] {table.substring(0, dot), table.substring(dot + 1)};
    }
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT current_schema()")) {
      rs.next();
      if (rs.getString(1) == null) {
        throw new DeployException(DeployException.Kind.MIGRATION, "The database has no current schema (search_path)"
            + " to keep " + table + " in: name its schema in deploy.gooseTable, e.g. public." + table);
      }
      return new String[] {rs.getString(1), table};
    }
  }

  private static boolean exists(Connection c, String[] name) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("SELECT 1 FROM pg_tables WHERE schemaname = ? AND tablename = ?")) {
      s.setString(1, name[0]);
      s.setString(2, name[1]);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next();
      }
    }
  }

  /**
   * A production database with tables but without goose's table is not a new one: goose's table
   * has another name or schema. Starting from version 1 there would run every file again.
   */
  private void refuseWhenPopulated(Connection c, String[] name) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("SELECT count(*) FROM pg_class k JOIN pg_namespace n"
        + " ON n.oid = k.relnamespace WHERE n.nspname = ? AND k.relkind IN ('r', 'p', 'v', 'm')")) {
      s.setString(1, name[0]);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        if (rs.getLong(1) > 0) {
          throw new DeployException(DeployException.Kind.MIGRATION, "Production has " + rs.getLong(1) + " tables in"
              + " schema " + name[0] + " but no " + name[0] + "." + name[1] + ": if goose migrated it, its table has"
              + " another name or schema (set deploy.gooseTable or GOOSE_TABLE to it); closedloop will not run every"
              + " file again from version 1. Nothing was applied");
        }
      }
    }
  }

  /** goose's table, as goose creates it, with its version 0 row. */
  private static void create(Connection c, String versions) throws SQLException {
    c.setAutoCommit(false);
    try (Statement s = c.createStatement()) {
      s.execute("CREATE TABLE " + versions + " (id integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,"
          + " version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp NOT NULL DEFAULT now())");
      s.execute("INSERT INTO " + versions + " (version_id, is_applied) VALUES (0, true)");
      c.commit();
    } catch (SQLException e) {
      c.rollback();
      throw e;
    } finally {
      c.setAutoCommit(true);
    }
  }

  /** The versions in goose's table, as goose's up reads it (every row counts); 0 is goose's own. */
  private static TreeSet<Long> applied(Connection c, String versions) throws SQLException {
    TreeSet<Long> applied = new TreeSet<>();
    try (Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT DISTINCT version_id FROM " + versions + " WHERE version_id <> 0")) {
      while (rs.next()) {
        applied.add(rs.getLong(1));
      }
    }
    return applied;
  }

  private void apply(Connection c, Found file, String versions) {
    var goose = file.goose;
    boolean transactional = goose.transactional();
    String current = null;
    boolean quotable = true;
    int line = 0;
    int done = 0;
    String phase = "statement";
    try {
      c.setAutoCommit(!transactional);
      try (Statement s = c.createStatement()) {
        for (var statement : goose.statements()) {
          current = statement.sql();
          quotable = !statement.fromEnvironment();
          line = statement.line();
          s.execute(statement.sql());
          done++;
        }
      }
      phase = "record";
      try (PreparedStatement s = c.prepareStatement("INSERT INTO " + versions + " (version_id, is_applied)"
          + " VALUES (?, true)")) {
        s.setLong(1, goose.version());
        s.executeUpdate();
      }
      if (transactional) {
        phase = "commit";
        c.commit();
      }
    } catch (SQLException e) {
      try {
        if (transactional) {
          c.rollback();
        }
      } catch (SQLException ignored) {
        // the failure to report is the statement's
      }
      throw new DeployException(DeployException.Kind.MIGRATION, failure(goose, phase, line, quotable ? current : null,
          done, e), e);
    } finally {
      try {
        c.setAutoCommit(true);
      } catch (SQLException ignored) {
        // the connection is gone; the next statement says so
      }
    }
  }

  /** What failed, and what that leaves: nothing (a transaction), or the statements that ran (NO TRANSACTION). */
  private String failure(GooseFile goose, String phase, int line, String statement, int done, SQLException e) {
    String why = oneLine(e.getMessage());
    if (phase.equals("commit")) {
      return "Migration " + goose.fileName() + " could not be committed: " + why + ". If the connection was lost"
          + " meanwhile, whether it was applied is unknown: look for version " + goose.version() + " in " + table
          + " before running it again";
    }
    String left = goose.transactional() ? "" : ". It ran without a transaction (NO TRANSACTION): " + (done == 0
        ? "nothing of it was applied" : "its first " + done + " statement" + (done == 1 ? "" : "s") + " stayed"
        + " applied") + (phase.equals("record") ? "" : ", and its version was not recorded");
    if (phase.equals("record")) {
      return "Migration " + goose.fileName() + " ran, but its version could not be recorded in " + table + ": "
          + why + (goose.transactional() ? ". Its transaction was rolled back" : left);
    }
    String quoted = Migrator.quote(statement);
    return "Migration " + goose.fileName() + " failed at line " + line + ": " + why
        + (quoted.isEmpty() ? "" : " — in statement: " + quoted) + left;
  }

  private static String oneLine(String text) {
    return text == null ? "" : text.replaceAll("\\s+", " ").trim();
  }
}
