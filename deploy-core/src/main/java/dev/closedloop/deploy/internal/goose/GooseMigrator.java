package dev.closedloop.deploy.internal.goose;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Events;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.AppliedMigration;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.MigrationOutcome;
import dev.closedloop.deploy.database.MigrationSet;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.database.Migrator;
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

  private static final int MAX_STATEMENT_LENGTH = 200;

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
  public MigrationOutcome migrate(DatabaseTarget target, String expectedFingerprint,
      Consumer<List<String>> beforeApplying) {
    List<Found> files = files();
    MigrationSet set = MigrationSet.of(files.stream().map(file -> file.migration).toList());
    try (Connection c = target.connect()) {
      try (Statement s = c.createStatement()) {
        s.execute(Migrations.ABORT_WHEN_CLIENT_DIES);
      }
      boolean adopted = ensureTable(c);
      TreeSet<Long> applied = applied(c);
      TreeSet<Long> known = new TreeSet<>(files.stream().map(file -> file.goose.version()).toList());
      List<Long> unknown = applied.stream().filter(version -> !known.contains(version)).toList();
      if (!unknown.isEmpty()) {
        throw new DeployException(DeployException.Kind.MIGRATION, table + " has version" + (unknown.size() == 1 ? " "
            : "s ") + unknown + " applied, which no file in " + migrations + " has: the files are not the ones this"
            + " database was migrated with (restore the files, or fix " + table + "). Nothing was applied");
      }
      List<Found> pending = new ArrayList<>();
      for (Found file : files) {
        if (!applied.contains(file.goose.version())) {
          pending.add(file);
        }
      }
      if (!applied.isEmpty() && !pending.isEmpty() && pending.get(0).goose.version() < applied.last()) {
        throw new DeployException(DeployException.Kind.MIGRATION, "goose migration " + pending.get(0).goose.fileName()
            + " is older than version " + applied.last() + ", already applied: goose refuses such missing"
            + " migrations (out of order), and so does closedloop. Renumber it after " + applied.last()
            + ". Nothing was applied");
      }
      if (expectedFingerprint != null && !expectedFingerprint.equals(set.fingerprint())) {
        throw new DeployException(DeployException.Kind.MIGRATION, "The migrations in " + migrations + " ("
            + set.fingerprint() + ") are not the set test-migrate proved in this run (" + expectedFingerprint
            + "): they changed in between. Nothing was applied; run the release again");
      }
      if (adopted && !applied.isEmpty()) {
        events.progress(step, table + " has " + applied.size() + " version" + (applied.size() == 1 ? "" : "s")
            + " applied (up to " + applied.last() + "): taken as applied, as goose would; " + (pending.isEmpty()
            ? "nothing to apply" : pending.size() + " to apply from " + pending.get(0).goose.version()));
      }
      if (!pending.isEmpty()) {
        beforeApplying.accept(pending.stream().map(file -> file.migration.label()).toList());
      }
      long start = System.nanoTime();
      List<AppliedMigration> done = new ArrayList<>();
      for (Found file : pending) {
        long began = System.nanoTime();
        apply(c, file);
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
        if (name.endsWith(".go")) {
          throw new DeployException(DeployException.Kind.CONFIGURATION, "goose migration " + name + " is written in"
              + " Go: closedloop reads SQL files only. Run such migrations from the image (deploy.migrator=image)");
        }
        if (GooseFile.fileName(name) == null) {
          continue; // goose, too, ignores what is not <version>_<name>.sql
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

  /**
   * Creates goose's table when missing, as goose does (with its version 0 row).
   *
   * @return true when it existed: the database was migrated before, by goose or by a release
   */
  private boolean ensureTable(Connection c) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
      s.setString(1, table);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        if (rs.getBoolean(1)) {
          return true;
        }
      }
    }
    boolean autoCommit = c.getAutoCommit();
    c.setAutoCommit(false);
    try (Statement s = c.createStatement()) {
      s.execute("CREATE TABLE " + table + " (id integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,"
          + " version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp NOT NULL DEFAULT now())");
      s.execute("INSERT INTO " + table + " (version_id, is_applied) VALUES (0, true)");
      c.commit();
    } catch (SQLException e) {
      c.rollback();
      throw e;
    } finally {
      c.setAutoCommit(autoCommit);
    }
    return false;
  }

  /** The versions whose newest row says applied, as goose reads its table; 0 is goose's own. */
  private TreeSet<Long> applied(Connection c) throws SQLException {
    TreeSet<Long> versions = new TreeSet<>();
    java.util.Set<Long> seen = new java.util.HashSet<>();
    try (Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT version_id, is_applied FROM " + table + " ORDER BY id DESC")) {
      while (rs.next()) {
        long version = rs.getLong(1);
        if (seen.add(version) && rs.getBoolean(2) && version != 0) {
          versions.add(version);
        }
      }
    }
    return versions;
  }

  private void apply(Connection c, Found file) {
    var goose = file.goose;
    boolean transactional = goose.transactional();
    String current = null;
    boolean quotable = true;
    int line = 0;
    try {
      c.setAutoCommit(!transactional);
      try (Statement s = c.createStatement()) {
        for (var statement : goose.statements()) {
          current = statement.sql();
          quotable = !statement.fromEnvironment();
          line = statement.line();
          s.execute(statement.sql());
        }
      }
      current = null;
      try (PreparedStatement s = c.prepareStatement("INSERT INTO " + table + " (version_id, is_applied)"
          + " VALUES (?, true)")) {
        s.setLong(1, goose.version());
        s.executeUpdate();
      }
      if (transactional) {
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
      String statement = current == null || !quotable ? "" : oneLine(current);
      if (statement.length() > MAX_STATEMENT_LENGTH) {
        statement = statement.substring(0, MAX_STATEMENT_LENGTH) + "…";
      }
      throw new DeployException(DeployException.Kind.MIGRATION, "Migration " + goose.fileName()
          + (current != null ? " failed at line " + line : " could not be recorded in " + table) + ": "
          + oneLine(e.getMessage()) + (statement.isEmpty() ? "" : " — in statement: " + statement)
          + (transactional ? "" : ". It ran without a transaction (NO TRANSACTION): the statements before this one"
              + " stay applied"), e);
    } finally {
      try {
        c.setAutoCommit(true);
      } catch (SQLException ignored) {
        // the connection is gone; the next statement says so
      }
    }
  }

  private static String oneLine(String text) {
    return text == null ? "" : text.replaceAll("\\s+", " ").trim();
  }
}
