package dev.closedloop.deploy.internal.lint;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.MigrationSet;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.database.Migrator;
import dev.closedloop.deploy.database.ProductionDatabase;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.database.Trees;
import dev.closedloop.deploy.internal.step.ProductionGate;
import dev.closedloop.deploy.lint.Finding;
import dev.closedloop.deploy.report.LintFinding;
import dev.closedloop.deploy.report.LintReport;
import dev.closedloop.deploy.secret.Redactor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code deploy:lint}: the migration lint with no production needed. The migrations new against a
 * base commit are read against the schema a throwaway database has once the base's migrations ran
 * on it; when production can be read (its settings resolve, its connection passes the release's
 * checks), the migrations pending there are read against its catalog instead, as a release would.
 * Changes nothing anywhere: production is read over a read-only connection.
 */
public final class PullRequestLint {

  private final ReleaseConfig config;
  private final Events events;
  private final List<String> notes = new ArrayList<>();

  private PullRequestLint(ReleaseConfig config, Events events) {
    this.config = config;
    this.events = events;
  }

  /**
   * @param base a git ref ({@code deploy.lintBase}); null for the merge base with the default branch
   * @throws DeployException of kind CONFIGURATION when the migrations' files or the base cannot be found,
   *     MIGRATION when the base's migrations fail on the throwaway database
   */
  public static LintReport run(ReleaseConfig config, Events events, String base) {
    return new PullRequestLint(config, events).run(base);
  }

  private Redactor redactor() {
    return events.redactor();
  }

  private LintReport run(String requestedBase) {
    Migrations configured = config.testMigrate().migrations();
    if (configured.runFromImage()) {
      return LintReport.skipped("the migrations run from the image (deploy.migrator=image), so their files are not"
          + " here to read", notes);
    }
    if (config.testMigrate().lint().off()) {
      return LintReport.skipped("every rule is off (deploy.lint, deploy.lintRules)", notes);
    }
    Optional<MigrationSources> sources = MigrationSources.locate(config.ci().workDir(), configured);
    Migrations head = sources.map(found -> found.workTree(configured)).orElse(configured);
    head.validate();
    boolean againstBase = requestedBase != null && !requestedBase.isBlank();
    if (!againstBase) {
      Optional<LintReport> fromProduction = againstProduction(head, sources.orElse(null));
      if (fromProduction.isPresent()) {
        return fromProduction.get();
      }
    }
    MigrationSources repository = sources.orElseThrow(() -> new DeployException(DeployException.Kind.CONFIGURATION,
        "deploy:lint finds the new migrations with git, and " + config.ci().workDir().toAbsolutePath()
            + " is in no git repository" + (againstBase ? "" : " (nor was production read)")));
    return againstBase(head, repository, repository.base(requestedBase, config.ci().variables()));
  }

  /** Production's pending migrations and catalog; empty, with a note why, when production cannot be read. */
  private Optional<LintReport> againstProduction(Migrations head, MigrationSources sources) {
    if (config.production().environment() == null && !config.production().environments().isEmpty()) {
      notes.add("Production is not read: environments are defined (" + String.join(", ",
          config.production().environments()) + ") and deploy.environment names none, so the schema comes from"
          + " the base");
      return Optional.empty();
    }
    ProductionDatabase database = config.production().database();
    if (database == null) {
      notes.add("Production is not set here" + (config.unresolved().isEmpty() ? "" : " (not resolved: "
          + redactor().redact(String.join(", ", config.unresolved())) + ")") + ": the schema comes from the base");
      return Optional.empty();
    }
    String described = redactor().redact(database.describe());
    if (!database.exists()) {
      notes.add("Production " + described + " does not exist yet: the schema comes from the base");
      return Optional.empty();
    }
    try (ProductionDatabase.Session session = database.open(events)) {
      DatabaseTarget target = session.target();
      ProductionGate.ConnectionVerdict verdict = new ProductionGate(config).beforeConnecting(target);
      if (verdict.refused()) {
        notes.add("Production " + described + " is not read: a release would refuse its connection ("
            + redactor().redact(verdict.tlsRefused() ? verdict.tlsProblem().orElse("") : verdict.poolerProblem()
                .orElse("")) + "): the schema comes from the base");
        return Optional.empty();
      }
      DatabaseTarget reading = target.readOnly();
      events.progress(Step.LINT, "reading the migrations pending on production " + described);
      Migrator.Inspection inspection = head.migrator(events, Step.LINT).inspect(reading);
      List<String> pending = inspection.pending() == null ? List.of() : inspection.pending();
      Schema schema = pending.isEmpty() ? Schema.empty() : MigrationLint.schema(reading);
      return Optional.of(report("production " + described, "production", head, sources, inspection.set(), pending,
          schema));
    } catch (RuntimeException e) {
      notes.add("Production " + described + " cannot be read (" + redactor().redact(String.valueOf(e.getMessage()))
          + "): the schema comes from the base");
      return Optional.empty();
    }
  }

  /** The migrations new against {@code base}, read against the schema its migrations build. */
  private LintReport againstBase(Migrations head, MigrationSources sources, MigrationSources.Base base) {
    String against = base.shortSha() + " (" + base.source() + ")";
    Path copy;
    try {
      copy = Files.createTempDirectory("closedloop-lint-base");
    } catch (IOException e) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "Cannot make a directory for the base's"
          + " migrations: " + e.getMessage(), e);
    }
    try {
      Migrations atBase = sources.atCommit(head, base, copy);
      EphemeralDatabase throwaway = config.testMigrate().testDatabase();
      try (EphemeralDatabase.Instance instance = throwaway.start(events)) {
        DatabaseTarget target = instance.target();
        if (hasFiles(copy)) {
          events.progress(Step.LINT, "migrating " + throwaway.describe() + " to " + against);
          try {
            atBase.migrator(events, Step.LINT).migrate(target, null);
          } catch (DeployException e) {
            throw new DeployException(DeployException.Kind.MIGRATION, "The migrations of the base " + against
                + " fail on " + throwaway.describe() + ", so there is no schema to lint against: " + e.getMessage()
                + ". Name another base with -Ddeploy.lintBase=<ref>", e);
          }
        }
        Migrator.Inspection inspection = head.migrator(events, Step.LINT).inspect(target);
        List<String> pending = inspection.pending() == null ? List.of() : inspection.pending();
        Schema schema;
        try (Connection connection = target.connect()) {
          schema = Schema.read(connection);
        }
        return report(against, "the base", head, sources, inspection.set(), pending, schema);
      }
    } catch (DeployException e) {
      throw e;
    } catch (Exception e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot lint against " + against + " on a throwaway"
          + " database: " + e.getMessage(), e);
    } finally {
      Trees.delete(copy);
    }
  }

  private static boolean hasFiles(Path dir) throws IOException {
    try (var files = Files.walk(dir)) {
      return files.anyMatch(Files::isRegularFile);
    }
  }

  private LintReport report(String against, String holder, Migrations head, MigrationSources sources,
      MigrationSet set, List<String> pending, Schema schema) {
    List<Finding> findings = MigrationLint.findings(head, config.testMigrate().lint(), set, pending, schema, holder);
    List<LintReport.Located> located = new ArrayList<>();
    for (Finding finding : findings) {
      String script = set.migrations().stream().filter(m -> m.label().equals(finding.migration()))
          .map(MigrationSet.Migration::script).findFirst().orElse(finding.migration());
      located.add(new LintReport.Located(sources == null ? script : sources.pathOf(script),
          LintFinding.of(finding, redactor())));
    }
    return new LintReport(redactor().redact(against), pending, located, notes, null);
  }
}
