package dev.closedloop.deploy.database;

/**
 * Applies a service's migrations to one database. A run proves a set on a throwaway database,
 * then applies exactly that set to production: {@link #migrate} refuses a set whose fingerprint
 * is not the one proven. Made by {@link Migrations#migrator}.
 */
public interface Migrator {

  /**
   * Checks that the migrations can be read, before any database is started.
   *
   * @throws dev.closedloop.deploy.DeployException of kind CONFIGURATION naming the location
   */
  void validate();

  /**
   * Validates the migrations against {@code target} and applies the pending ones.
   *
   * @param expectedFingerprint the fingerprint of the set proven earlier in this run; null on
   *     the throwaway database, where the set is being proven
   * @return the whole set found, the migrations applied now, and the time it took
   * @throws dev.closedloop.deploy.DeployException of kind MIGRATION naming the failing file,
   *     statement and the database's message, or the set that differs from the proven one
   */
  default MigrationOutcome migrate(DatabaseTarget target, String expectedFingerprint) {
    return migrate(target, expectedFingerprint, pending -> { });
  }

  /**
   * Like {@link #migrate(DatabaseTarget, String)}, telling {@code beforeApplying} the migrations
   * about to be applied (their labels, in order) after every check and before the first is
   * applied; not at all when none is pending. The ledger records them there, before the act.
   */
  MigrationOutcome migrate(DatabaseTarget target, String expectedFingerprint,
      java.util.function.Consumer<java.util.List<String>> beforeApplying);

  /**
   * Applies, on a throwaway database, the versioned migrations up to and including
   * {@code version}, and none after it: the schema those migrations build, which the drift check
   * compares with production's. Repeatable migrations are not applied: the migrations after
   * {@code version} may be what their new text needs.
   *
   * @throws UnsupportedOperationException when only a tool in the image knows the migrations
   * @throws dev.closedloop.deploy.DeployException as {@link #migrate(DatabaseTarget, String)} does
   */
  default MigrationOutcome migrateUpTo(DatabaseTarget target, String version) {
    throw new UnsupportedOperationException("migrations run from the image cannot stop at a version");
  }

  /** Reads a database over a connection migrations are being applied on; must leave it as it found it. */
  interface AtVersion {
    void read(java.sql.Connection connection) throws java.sql.SQLException;
  }

  /**
   * Applies the whole set on a throwaway database, as {@link #migrate(DatabaseTarget, String)}
   * with no fingerprint does, and hands {@code atVersion} a connection to it once the versioned
   * migrations up to {@code version} are applied and nothing after them (no repeatable either):
   * the schema production's migrations build, which the drift check reads. By default in two runs
   * ({@link #migrateUpTo}, then the rest); a migrator may do it in one.
   *
   * @return the whole set and every migration applied, in order
   */
  default MigrationOutcome migrateThrough(DatabaseTarget target, String version, AtVersion atVersion) {
    return migrateThrough(target, version, java.util.Set.of(), atVersion);
  }

  /**
   * {@link #migrateUpTo(DatabaseTarget, String)}, leaving out the versions in {@code skipped}: those
   * up to {@code version} that production has not applied (goose's missing migrations, which
   * {@code -allow-missing} applies later), so the schema read is the one production has.
   */
  default MigrationOutcome migrateUpTo(DatabaseTarget target, String version, java.util.Set<String> skipped) {
    if (!skipped.isEmpty()) {
      throw new UnsupportedOperationException(describe() + " cannot leave out versions below " + version);
    }
    return migrateUpTo(target, version);
  }

  /** {@link #migrateThrough(DatabaseTarget, String, AtVersion)} with the versions in {@code skipped} applied after the read. */
  default MigrationOutcome migrateThrough(DatabaseTarget target, String version, java.util.Set<String> skipped,
      AtVersion atVersion) {
    MigrationOutcome upTo = migrateUpTo(target, version, skipped);
    try (java.sql.Connection c = target.connect()) {
      atVersion.read(c);
    } catch (java.sql.SQLException e) {
      throw new dev.closedloop.deploy.DeployException(dev.closedloop.deploy.DeployException.Kind.DATABASE,
          "Cannot read the throwaway database at version " + version + ": " + e.getMessage(), e);
    }
    MigrationOutcome rest = migrate(target, null);
    java.util.List<AppliedMigration> applied = new java.util.ArrayList<>();
    for (AppliedMigration first : upTo.applied()) { // named as the whole set names them
      applied.add(new AppliedMigration(rest.set().migrations().stream().filter(m -> java.util.Objects.equals(
          m.version(), first.migration().version()) && m.description().equals(first.migration().description()))
          .findFirst().orElse(first.migration()), first.duration()));
    }
    applied.addAll(rest.applied());
    return new MigrationOutcome(rest.set(), applied, upTo.duration().plus(rest.duration()));
  }

  /**
   * The set as found now and, when {@code target} is given, which of it {@code target} has not
   * applied yet. Reads only: nothing is created, locked or applied, not even the version table.
   *
   * @param target a database to compare with; null when none can be reached (a migrator that
   *     needs a database to read its set then returns an inspection without one)
   */
  Inspection inspect(DatabaseTarget target);

  /**
   * What {@link #inspect} found.
   *
   * @param set the migrations, null when only the tool knows them (run from the image)
   * @param pending the labels of those not applied on the target, in order; null when not compared
   */
  record Inspection(MigrationSet set, java.util.List<String> pending) { }

  /** What is migrated, for logs and plans, e.g. "Flyway migrations in classpath:db/migration". */
  String describe();

  /** A failing statement as an error quotes it: one line, at most 200 characters. */
  static String quote(String statement) {
    String line = statement == null ? "" : statement.replaceAll("\\s+", " ").trim();
    return line.length() > 200 ? line.substring(0, 200) + "…" : line;
  }
}
