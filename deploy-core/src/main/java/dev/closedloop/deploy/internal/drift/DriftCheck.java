package dev.closedloop.deploy.internal.drift;

import dev.closedloop.deploy.CheckLevel;
import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.MigrationOutcome;
import dev.closedloop.deploy.database.MigrationSet;
import dev.closedloop.deploy.database.Migrator;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.guard.ReleaseLedger;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The drift check: brings a throwaway database to the version production has applied, reads its
 * catalog and compares it with production's (read only).
 */
public final class DriftCheck {

  /**
   * What the check needs of production: the migrations it has applied, and its catalog of the
   * same moment.
   */
  public interface Production {

    Migrator.Inspection inspection();

    /**
     * Production's catalog.
     *
     * @return null when it could not be read (then warned)
     */
    Catalog catalog();
  }

  /**
   * What the check found.
   *
   * @param version the version production has applied, which the throwaway database was brought to
   * @param upTo what was applied to the throwaway database: up to that version (plan), or all of it (test-migrate)
   * @param differences null when production's catalog could not be read after all (then warned)
   * @param skipped why some kinds were not compared, or null
   */
  public record Result(String version, MigrationOutcome upTo, List<Drift.Difference> differences, String skipped) { }

  private final ReleaseConfig config;
  private final Events events;
  private final Step step;

  public DriftCheck(ReleaseConfig config, Events events, Step step) {
    this.config = config;
    this.events = events;
    this.step = step;
  }

  /** Why the check cannot run in this configuration at all, or null when it can. */
  public String notPossible() {
    if (config.testMigrate().driftCheck() == CheckLevel.OFF) {
      return "off (deploy.driftCheck)";
    }
    if (config.testMigrate().migrations().runFromImage()) {
      return "the migrations run from the image, which knows their versions";
    }
    if (config.production().database() == null) {
      return "no production database is set (deploy.databaseUrl)";
    }
    if (!config.production().database().exists()) {
      return "production does not exist yet";
    }
    return null;
  }

  /**
   * Brings {@code throwaway} to the version production has applied and compares the catalogs;
   * the plan's way, which applies nothing after that version.
   *
   * @param production what production has applied, and its catalog
   * @return null, with a progress line, when production has no migration applied
   * @throws DeployException when a migration fails on the throwaway database, as test-migrate would
   */
  public Result run(Production production, Migrator migrator, DatabaseTarget throwaway) {
    String version = version(production);
    if (version == null) {
      return null;
    }
    MigrationOutcome upTo = migrator.migrateUpTo(throwaway, version, notApplied(production.inspection(), version));
    Catalog migrated;
    try (Connection c = throwaway.connect()) {
      migrated = Catalog.read(c, ignored(), false);
    } catch (SQLException e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot read the throwaway database's catalog: "
          + e.getMessage(), e);
    }
    return compare(production, version, upTo, migrated, production.catalog());
  }

  /**
   * Test-migrate's way: applies the whole set on {@code throwaway}, reading its catalog on the way
   * at the version production has applied, and compares.
   *
   * @return the comparison, whose {@code upTo} is every migration applied; null, with a progress
   *     line and nothing applied, when production has no migration applied
   */
  public Result prove(Production production, Migrator migrator, DatabaseTarget throwaway) {
    String version = version(production);
    if (version == null) {
      return null;
    }
    Catalog[] migrated = new Catalog[1];
    Set<String> skipped = notApplied(production.inspection(), version);
    Migrator.AtVersion read = c -> migrated[0] = Catalog.read(c, ignored(), false);
    MigrationOutcome all = skipped.isEmpty() ? migrator.migrateThrough(throwaway, version, read)
        : migrator.migrateThrough(throwaway, version, skipped, read);
    return compare(production, version, all, migrated[0], production.catalog());
  }

  /** The version production has applied; null, with a progress line, when it has none. */
  private String version(Production production) {
    String version = appliedVersion(production.inspection());
    if (version == null) {
      events.progress(step, "drift check: production has no migration applied yet, nothing to compare");
    } else {
      events.progress(step, "drift check: the throwaway database at V" + version + ", production's version, is"
          + " compared with production");
    }
    return version;
  }

  private Result compare(Production production, String version, MigrationOutcome applied,
      Catalog migrated, Catalog productionCatalog) {
    if (productionCatalog == null) {
      return new Result(version, applied, null, null);
    }
    // repeatable migrations are not applied up to a version: what they define is not compared
    Set<String> repeatables = new java.util.LinkedHashSet<>();
    for (MigrationSet.Migration migration : production.inspection().set().migrations()) {
      if (migration.version() == null) {
        config.testMigrate().migrations().read(migration.script()).ifPresent(sql -> repeatables.addAll(
            dev.closedloop.deploy.internal.lint.Definitions.of(sql)));
      }
    }
    String skipped = repeatables.isEmpty() ? null : "not compared, as repeatable migrations define them: "
        + String.join(", ", repeatables.stream().map(key -> key.endsWith("(") ? key + "…)" : key).toList());
    List<Drift.Difference> differences = Drift.compare(productionCatalog, migrated, repeatables,
        config.testMigrate().driftIgnore());
    return new Result(version, applied, differences, skipped);
  }

  /** Reports the result: a line when production matches, a warning per difference, and the refusal at level fail. */
  public void report(Result result) {
    if (result.differences() == null) {
      return; // warned when production's catalog could not be read
    }
    if (result.skipped() != null) {
      events.progress(step, "drift check: " + result.skipped());
    }
    if (result.differences().isEmpty()) {
      events.progress(step, "drift check: production's schema is the one its migrations (up to V" + result.version()
          + ") build");
      return;
    }
    events.progress(step, "drift check: production's schema differs from the one its migrations (up to V"
        + result.version() + ") build, in " + count(result.differences().size()));
    for (Drift.Difference difference : result.differences()) {
      events.warn("drift: " + events.redactor().redact(difference.toString()));
    }
    if (config.testMigrate().driftCheck() == CheckLevel.FAIL) {
      throw refusal(result);
    }
  }

  /** The refusal for drift at level fail. */
  public DeployException refusal(Result result) {
    return new DeployException(DeployException.Kind.GUARD, "Production has drifted from its migrations ("
        + count(result.differences().size()) + ", first: " + events.redactor().redact(result.differences().get(0)
        .toString()) + "), so the release stops before production is touched. Make production what the"
        + " migrations say, or write a migration that makes the change official; deploy:plan lists every difference."
        + " deploy.driftCheck=warn lets releases go on");
  }

  private static String count(int n) {
    return n == 1 ? "1 object" : n + " objects";
  }

  /** The newest version production has applied, or null when it has none. */
  /**
   * The versions up to {@code version} that production has not applied: goose's missing
   * migrations (deploy.gooseAllowMissing), which production gets after its newer ones. Left out of
   * the schema compared, they are no drift.
   */
  private static Set<String> notApplied(Migrator.Inspection inspection, String version) {
    Set<String> pending = new HashSet<>(inspection.pending());
    Set<String> skipped = new java.util.LinkedHashSet<>();
    for (MigrationSet.Migration migration : inspection.set().migrations()) {
      if (migration.version() != null && pending.contains(migration.label())) {
        skipped.add(migration.version());
      }
      if (version.equals(migration.version())) {
        return skipped;
      }
    }
    return skipped;
  }

  public static String appliedVersion(Migrator.Inspection inspection) {
    if (inspection.set() == null || inspection.pending() == null) {
      return null;
    }
    Set<String> pending = new HashSet<>(inspection.pending());
    String version = null;
    for (MigrationSet.Migration migration : inspection.set().migrations()) {
      if (migration.version() != null && !pending.contains(migration.label())) {
        version = migration.version();
      }
    }
    return version;
  }

  /** What the comparison leaves out: closedloop's ledger, and the migration tool's own history. */
  public Set<String> ignored() {
    Set<String> ignored = new HashSet<>();
    String ledger = ReleaseLedger.of(config.production()).table();
    ignored.add(ledger);
    if (!ledger.startsWith("public.")) {
      ignored.add(ledger.substring(0, ledger.indexOf('.')) + ".*"); // the ledger's own schema
    }
    ignored.add(historyTable());
    return ignored;
  }

  /** True when the history table is Flyway's (ordered by installed_rank), not goose's. */
  public boolean flywayHistory() {
    return !config.testMigrate().migrations().isGoose();
  }

  /** The migration tool's history table, qualified; {@code *.} for Flyway's, in whichever schema the role uses. */
  public String historyTable() {
    if (!config.testMigrate().migrations().isGoose()) {
      return config.testMigrate().migrations().flyway().historyTable();
    }
    String history = config.testMigrate().migrations().versionTable();
    return history.contains(".") ? history : "public." + history;
  }

  /**
   * The refusal when the check was asked to be fatal ({@code fail}) and could not be made: a
   * release must not pass a check it never made.
   */
  public Unchecked unchecked(String why) {
    return new Unchecked(why);
  }

  /** The drift check's refusal when it was asked to be fatal and could not be made. */
  public static final class Unchecked extends DeployException {

    Unchecked(String why) {
      super(DeployException.Kind.GUARD, "The drift check could not be made (deploy.driftCheck=fail): " + why
          + ". Nothing was touched; make production readable from here, or set deploy.driftCheck=warn");
    }
  }
}
