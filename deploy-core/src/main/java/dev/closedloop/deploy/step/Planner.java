package dev.closedloop.deploy.step;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Events;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.MigrationSet;
import dev.closedloop.deploy.database.Migrator;
import dev.closedloop.deploy.database.ProductionDatabase;
import dev.closedloop.deploy.guard.BranchGuard;
import dev.closedloop.deploy.guard.CommitOrder;
import dev.closedloop.deploy.guard.ReleaseLedger;
import dev.closedloop.deploy.image.BuildRequest;
import dev.closedloop.deploy.image.ImageBuilder;
import dev.closedloop.deploy.lint.Finding;
import dev.closedloop.deploy.lint.Schema;
import dev.closedloop.deploy.report.Plan;
import dev.closedloop.deploy.report.ReleaseReport;
import dev.closedloop.deploy.secret.Redactor;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Finds out what {@code release} would do, changing nothing anywhere: the registry is asked for
 * digests, production is read over read-only connections (no ledger table is created, no lock
 * taken, no row written), the rollout target is looked at. What cannot be reached is named and
 * the plan goes on without it.
 */
public final class Planner {

  private static final ObjectMapper JSON = new ObjectMapper();
  /** As many commits of history as a release records, so the plan orders commits as it would. */
  private static final int ANCESTRY_DEPTH = 200;

  private final ReleaseConfig config;
  private final Events events;
  private final Redactor redactor;
  private final ObjectNode plan = JSON.createObjectNode();
  private final List<String> blockers = new ArrayList<>();
  private final List<String> unknowns = new ArrayList<>();
  private final ArrayNode guards;
  private final ProductionGate gate;
  /** Production's schema, read for the migration lint when migrations are pending there. */
  private Schema schema;

  private Planner(ReleaseConfig config, Events events) {
    this.config = config;
    this.events = events;
    this.redactor = config.redactor();
    this.gate = new ProductionGate(config);
    plan.put("schemaVersion", Plan.SCHEMA_VERSION);
    plan.put("sha", config.sha());
    plan.put("service", config.guards().lockName());
    ObjectNode ci = plan.putObject("ci");
    ci.put("system", config.ci().system().orElse(null));
    ci.put("runUrl", config.ci().runUrl().map(redactor::redact).orElse(null));
    guards = plan.putArray("guards");
  }

  /**
   * The plan of {@code config}'s release.
   *
   * @param steps what each step would do, one line each, as {@code Release.describe()} gives them
   */
  public static Plan plan(ReleaseConfig config, Events events, List<String> steps) {
    return new Planner(config, events).make(steps);
  }

  private Plan make(List<String> steps) {
    branchGuard();
    try (RunContext context = new RunContext(config, events)) {
      Optional<String> digest = image(context);
      Migrator migrator = config.migrations().migrator(events, Step.TEST_MIGRATE);
      Migrator.Inspection inspection = production(migrator);
      migrations(migrator, inspection);
      drift(migrator, inspection);
      tagMoves(context, digest.orElse(null));
      rollout(context);
    }
    ArrayNode described = plan.putArray("steps");
    for (String line : steps) {
      int colon = line.indexOf(": ");
      described.addObject().put("step", line.substring(0, colon)).put("would", redactor.redact(line.substring(colon + 2)));
    }
    ArrayNode hooks = plan.putArray("hooks");
    for (var point : dev.closedloop.deploy.hook.HookPoint.values()) {
      config.hooks().at(point).forEach(hook -> hooks.addObject().put("hook", point.id())
          .put("command", redactor.redact(hook.describe())));
    }
    config.unresolved().forEach(setting -> unknowns.add("not resolved here: " + setting));
    ArrayNode blocking = plan.putArray("blockers");
    blockers.forEach(blocking::add);
    ArrayNode unknown = plan.putArray("unknown");
    unknowns.forEach(unknown::add);
    return new Plan(plan);
  }

  private void guard(String name, String verdict, String detail) {
    guards.addObject().put("guard", name).put("verdict", verdict).put("detail", redactor.redact(detail));
    if (verdict.equals("refuse")) {
      blockers.add(redactor.redact(detail));
    }
  }

  private void branchGuard() {
    ProductionGate.BranchVerdict verdict = gate.branch();
    if (verdict.refused()) {
      guard("branch", "refuse", verdict.refusal().getMessage());
      return;
    }
    BranchGuard.Decision decision = verdict.decision();
    guard("branch", decision.overridden() ? "warn" : "pass", decision.overridden() ? decision.warning()
        : "branch '" + decision.branch() + "' (" + decision.source() + ") is one of "
            + String.join(", ", gate.allowedBranches()));
  }

  /** The image section; the digest {@code <image>:<sha>} has now, when the registry said. */
  private Optional<String> image(RunContext context) {
    BuildRequest request = config.buildRequest();
    ObjectNode image = plan.putObject("image");
    image.put("reference", request.shaRef().toString());
    ArrayNode tags = image.putArray("tags");
    tags.add(request.shaRef().toString());
    request.extraTags().forEach(tag -> tags.add(request.repository().withTag(tag).toString()));
    image.put("dockerfile", request.dockerfile().toString());
    image.put("context", request.context().toString());
    image.put("forceBuild", request.force());
    try {
      ImageBuilder.validate(request);
    } catch (DeployException e) {
      blockers.add(redactor.redact(e.getMessage()));
    }
    Optional<String> digest;
    try {
      digest = context.registry().digestOf(request.shaRef());
      image.put("registryProblem", (String) null);
    } catch (RuntimeException e) {
      String why = "registry not reachable: " + redactor.redact(String.valueOf(e.getMessage()));
      unknowns.add(why);
      image.put("action", "unknown");
      image.putNull("digest");
      image.put("registryProblem", why);
      return Optional.empty();
    }
    image.put("action", digest.isPresent() && !request.force() ? "reuse" : "build");
    image.put("digest", digest.orElse(null));
    return digest.filter(found -> !request.force());
  }

  /**
   * Production read-only: the TLS and pooler checks, commit order against the ledger, the lock's
   * holder and queue, and the migrations pending there. Returns the migrations as production sees
   * them, or as found without it.
   */
  private Migrator.Inspection production(Migrator migrator) {
    ObjectNode production = plan.putObject("production");
    ObjectNode lock = plan.putObject("lock");
    lock.put("name", config.guards().lockName());
    lock.put("known", false);
    lock.putNull("holder");
    lock.putArray("queue");
    ProductionDatabase database = config.productionDatabase();
    if (database == null) {
      String why = config.unresolved().isEmpty() ? "databaseUrl (deploy.databaseUrl, or the DATABASE_URL variable)"
          + " is not set" : "a setting it needs is not resolved here (see below)";
      production.putNull("database");
      unreachable(production, why);
      guard("commit order", "unknown", "production not reachable");
      return null;
    }
    production.put("database", redactor.redact(database.describe()));
    if (!database.exists()) { // a local stand-in not created yet: the plan does not create it
      production.put("reachable", false);
      production.put("problem", "it does not exist yet: the first release creates it");
      guard("commit order", "pass", "no release yet");
      lock.put("known", true);
      return null;
    }
    try (ProductionDatabase.Session session = database.open(events)) {
      DatabaseTarget target = session.target();
      // the checks a release makes before it connects, and it does not connect when they refuse
      ProductionGate.ConnectionVerdict before = gate.beforeConnecting(target);
      boolean refused = before.tlsRefused();
      before.tlsProblem().ifPresentOrElse(problem -> guard("database TLS", refused ? "refuse" : "warn",
          "databaseUrl: " + problem + (refused ? " (deploy.requireTls is set)" : "")),
          () -> guard("database TLS", "pass", target.isLoopback() ? "this machine" : "TLS required by the URL"));
      // the server-side pooler check connects: not over a connection the TLS check refused
      var pooler = refused ? before.poolerProblem() : before.poolerProblem().or(target::sharedBackendProblem);
      pooler.ifPresent(problem -> guard("pooler", "refuse", "databaseUrl (deploy.databaseUrl): " + problem));
      if (refused || pooler.isPresent()) {
        production.put("reachable", false);
        production.put("problem", "not read: release would refuse it (see the guards)");
        guard("commit order", "unknown", "production not read");
        return null;
      }
      DatabaseTarget reading = target.readOnly();
      try (Connection c = reading.connect()) {
        ledger(c, lock);
      }
      production.put("reachable", true);
      production.putNull("problem");
      try {
        Migrator.Inspection inspection = migrator.inspect(reading);
        if (!MigrationLint.skipped(config) && inspection.pending() != null && !inspection.pending().isEmpty()) {
          schema = MigrationLint.schema(reading);
        }
        return inspection;
      } catch (DeployException e) {
        if (e.kind() == DeployException.Kind.DATABASE) { // lost on the way: not known, not wrong
          unknowns.add("migrations pending on production not read: " + redactor.redact(String.valueOf(e.getMessage())));
        } else { // production answered; the migrations are what is wrong
          blockers.add(redactor.redact(String.valueOf(e.getMessage())));
        }
        return null;
      }
    } catch (SQLException | RuntimeException e) {
      unreachable(production, redactor.redact(String.valueOf(e.getMessage())));
      if (!hasGuard("commit order")) {
        guard("commit order", "unknown", "production not reachable");
      }
      return null;
    }
  }

  /** The verdict of guard {@code name}, or "" when it has none yet. */
  private String verdict(String name) {
    for (var guard : guards) {
      if (guard.get("guard").asText().equals(name)) {
        return guard.get("verdict").asText();
      }
    }
    return "";
  }

  private boolean hasGuard(String name) {
    for (var guard : guards) {
      if (guard.get("guard").asText().equals(name)) {
        return true;
      }
    }
    return false;
  }

  private void unreachable(ObjectNode production, String why) {
    production.put("reachable", false);
    production.put("problem", why);
    unknowns.add("production not reachable: " + why);
  }

  /** Commit order and the lock, from the ledger; a ledger not there yet is a first release. */
  private void ledger(Connection c, ObjectNode lock) {
    ReleaseLedger ledger = config.ledger();
    String service = config.guards().lockName();
    if (!ledger.present(c)) {
      guard("commit order", "pass", "no release yet: " + ledger.table() + " does not exist (the first release"
          + " creates it)");
      lock.put("known", true);
      return;
    }
    CommitOrder.Commit mine = new CommitOrder.Commit(config.sha(), config.ci().runNumber().orElse(null),
        config.ci().runScope().orElse(null), config.ci().ancestry(config.sha(), ANCESTRY_DEPTH));
    ledger.latestReleased(c, service, -1).ifPresentOrElse(released -> {
      CommitOrder.Comparison comparison = new CommitOrder(config.ci()).compare(mine, released.commit());
      String against = " release #" + released.id() + " of " + released.sha() + " (" + comparison.basis() + ")";
      switch (comparison.verdict()) {
        case NEWER -> guard("commit order", "pass", "newer than" + against);
        case SAME -> guard("commit order", "pass", "the commit of" + against + ": a re-run resumes it");
        case OLDER -> guard("commit order", "warn", "older than" + against + ": release would be superseded and"
            + " change nothing" + (config.guards().failWhenSuperseded() ? ", and fail (deploy.failWhenSuperseded)"
            : ""));
        default -> guard("commit order", "warn", "cannot tell against" + against + ": release would go by"
            + " arrival order");
      }
    }, () -> guard("commit order", "pass", "no release of " + service + " in " + ledger.table() + " yet"));
    lock.put("known", true);
    ArrayNode queue = (ArrayNode) lock.get("queue");
    for (ReleaseLedger.Entry entry : ledger.alive(c, service)) {
      ObjectNode row = JSON.createObjectNode().put("id", entry.id()).put("sha", entry.sha())
          .put("status", entry.status()).put("startedAt", entry.startedAt().toString());
      if (entry.status().equals("queued")) {
        queue.add(row);
      } else {
        lock.set("holder", row);
      }
    }
  }

  private void migrations(Migrator migrator, Migrator.Inspection fromProduction) {
    ObjectNode migrations = plan.putObject("migrations");
    migrations.put("source", migrator.describe());
    Migrator.Inspection inspection = fromProduction;
    try {
      migrator.validate();
      if (inspection == null) {
        inspection = migrator.inspect(null);
      }
      if (inspection.set() == null && !config.migrations().runFromImage()) {
        inspection = withoutProduction(migrator); // Flyway reads its files only with a database at hand
      }
    } catch (DeployException e) {
      blockers.add(redactor.redact(e.getMessage()));
      inspection = new Migrator.Inspection(null, null);
    }
    MigrationSet set = inspection.set();
    migrations.put("fingerprint", set == null ? null : set.fingerprint());
    if (set == null) {
      migrations.putNull("list");
      migrations.putNull("pending");
      return;
    }
    Set<String> pending = inspection.pending() == null ? null : new HashSet<>(inspection.pending());
    ArrayNode list = migrations.putArray("list");
    for (MigrationSet.Migration migration : set.migrations()) {
      ObjectNode entry = list.addObject().put("migration", migration.label()).put("version", migration.version())
          .put("description", migration.description());
      if (pending == null) {
        entry.putNull("pending");
      } else {
        entry.put("pending", pending.contains(migration.label()));
      }
    }
    if (pending == null) {
      migrations.putNull("pending");
    } else {
      migrations.put("pending", inspection.pending().size());
    }
    lint(set, inspection.pending());
  }

  /** The migration lint on the pending migrations, against production's schema; null when not run. */
  private void lint(MigrationSet set, List<String> pending) {
    if (MigrationLint.skipped(config)) {
      plan.putNull("lint");
      return;
    }
    if (pending == null || (schema == null && !pending.isEmpty())) {
      plan.putNull("lint");
      unknowns.add("migration lint: which migrations are pending on production is not known");
      return;
    }
    try {
      List<Finding> findings = MigrationLint.findings(config, set, pending, schema);
      ReleaseReport.lint(plan.putArray("lint"), findings, redactor);
      DeployException refused = MigrationLint.refusal(findings);
      if (refused != null) {
        blockers.add(redactor.redact(refused.getMessage()));
      }
    } catch (DeployException e) {
      plan.putNull("lint");
      blockers.add(redactor.redact(e.getMessage()));
    }
  }

  /**
   * The drift check as test-migrate will make it: a throwaway database brought to production's
   * version, both catalogs compared; the throwaway database is removed again.
   */
  private void drift(Migrator migrator, Migrator.Inspection fromProduction) {
    ObjectNode drift = plan.putObject("drift");
    drift.put("checked", false);
    drift.putNull("version");
    drift.putNull("differences");
    DriftCheck check = new DriftCheck(config, events, Step.TEST_MIGRATE);
    String why = check.notPossible();
    if (why == null && fromProduction == null) {
      why = "production not read";
    }
    if (why == null && DriftCheck.appliedVersion(fromProduction) == null) {
      why = "production has no migration applied yet";
    }
    if (why != null) {
      drift.put("reason", why);
      return;
    }
    DriftCheck.Result result;
    try {
      ProductionView production = ProductionView.read(config, events, Step.TEST_MIGRATE, migrator, check);
      if (production == null) {
        drift.put("reason", verdict("branch").equals("refuse") ? "the branch guard refuses this branch"
            : "production could not be read");
        return;
      }
      EphemeralDatabase throwaway = config.testDatabase().matching(production.major());
      try (EphemeralDatabase.Instance instance = throwaway.start(events)) {
        production.throwawayStarted();
        ProductionView.Applied applied = production.applied(check);
        if (applied == null) {
          drift.put("reason", "production's catalog could not be read");
          return;
        }
        result = check.run(applied, migrator, instance.target());
      } finally {
        production.done();
      }
    } catch (DeployException e) {
      drift.put("reason", "not checked: " + redactor.redact(String.valueOf(e.getMessage())));
      unknowns.add("drift check: " + redactor.redact(String.valueOf(e.getMessage())));
      return;
    }
    if (result == null) {
      drift.put("reason", "production could not be read");
      return;
    }
    if (result.differences() == null) {
      drift.put("reason", "production's catalog could not be read");
      return;
    }
    drift.put("checked", true);
    drift.put("reason", result.skipped());
    drift.put("version", result.version());
    ArrayNode differences = drift.putArray("differences");
    for (dev.closedloop.deploy.drift.Drift.Difference difference : result.differences()) {
      differences.addObject().put("object", difference.object())
          .put("production", redactor.redact(difference.shown(difference.production())))
          .put("migrations", redactor.redact(difference.shown(difference.migrations())))
          .put("line", redactor.redact(difference.toString()));
    }
    if (!result.differences().isEmpty() && config.driftCheck() == dev.closedloop.deploy.CheckLevel.FAIL) {
      blockers.add(redactor.redact(check.refusal(result).getMessage()));
    }
  }

  /** The set as a fresh throwaway database shows it, which is removed again; nothing compared. */
  private Migrator.Inspection withoutProduction(Migrator migrator) {
    EphemeralDatabase throwaway = config.testDatabase();
    try (EphemeralDatabase.Instance instance = throwaway.start(events)) {
      return new Migrator.Inspection(migrator.inspect(instance.target()).set(), null);
    } catch (DeployException e) {
      throw e;
    } catch (Exception e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot read the migrations on "
          + throwaway.describe() + ": " + e.getMessage(), e);
    }
  }

  private void tagMoves(RunContext context, String newDigest) {
    ArrayNode moves = plan.putArray("tagMoves");
    for (String tag : config.promoteTags()) {
      ObjectNode move = moves.addObject().put("tag", tag).put("reference", config.image().withTag(tag).toString());
      try {
        move.put("currentDigest", context.registry().digestOf(config.image().withTag(tag)).orElse(null));
        move.put("known", true);
      } catch (RuntimeException e) {
        move.putNull("currentDigest");
        move.put("known", false); // the image section already named why
      }
      move.put("newDigest", newDigest);
    }
    compatibility(moves);
  }

  /** The backward-compatibility proof: the command, and the image it would run from (what the first tag names now). */
  private void compatibility(ArrayNode moves) {
    dev.closedloop.deploy.Compatibility check = config.compatibility();
    if (check == null) {
      plan.putNull("compatibility");
      return;
    }
    ObjectNode compatibility = plan.putObject("compatibility");
    compatibility.put("command", check.command() == null ? null : redactor.redact(check.command()));
    compatibility.put("healthUrl", check.healthUrl() == null ? null : redactor.redact(check.healthUrl().toString()));
    compatibility.put("timeout", dev.closedloop.deploy.Durations.format(check.timeout()));
    com.fasterxml.jackson.databind.JsonNode first = moves.isEmpty() ? null : moves.get(0);
    boolean known = first != null && first.get("known").asBoolean();
    String digest = first == null || first.get("currentDigest").isNull() ? null : first.get("currentDigest").asText();
    compatibility.put("image", digest == null ? null : config.image().withDigest(digest).toString());
    compatibility.put("known", known);
    if (!known) {
      unknowns.add("compatibility check: which image production runs is not known (the registry was not read)");
    }
  }

  private void rollout(RunContext context) {
    if (!config.rollout().enabled()) {
      plan.putNull("rollout");
      return;
    }
    ObjectNode rollout = plan.putObject("rollout");
    rollout.put("kind", config.rollout().kind().id());
    rollout.put("target", config.rollout().service());
    try {
      rollout.put("detail", redactor.redact(context.rollout().check()));
      rollout.put("ok", true);
    } catch (RuntimeException e) {
      String why = redactor.redact(String.valueOf(e.getMessage()));
      rollout.put("detail", why);
      rollout.put("ok", false); // a missing service or missing credentials: the plan cannot tell which
      unknowns.add("rollout target: " + why);
    }
  }
}
