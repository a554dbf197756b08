package dev.closedloop.deploy.internal.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.StepResult;
import dev.closedloop.deploy.database.AppliedMigration;
import dev.closedloop.deploy.database.MigrationOutcome;
import dev.closedloop.deploy.report.LintFinding;
import dev.closedloop.deploy.secret.Redactor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;

/**
 * {@code release.json}: what a run did, written after every goal, also a failed or superseded
 * one. Every text passes the redactor. The schema (version 1) is in the README.
 */
public final class ReleaseReport {

  public static final int SCHEMA_VERSION = 1;
  private static final ObjectMapper JSON = new ObjectMapper();

  private ReleaseReport() {}

  /**
   * The report as JSON.
   *
   * @param goal what ran, e.g. {@code release}; null when the settings were refused before any goal ran
   * @param errorKind the failure's kind ({@code MIGRATION}, or {@code unexpected}), null when the run did not fail
   */
  public static String json(String goal, String sha, ReleaseResult result, String errorKind, String errorMessage,
      Redactor redactor) {
    ObjectNode report = JSON.createObjectNode();
    report.put("schemaVersion", SCHEMA_VERSION);
    report.put("goal", goal);
    report.put("sha", sha);
    report.put("finishedAt", Instant.now().toString());
    report.put("outcome", errorKind != null ? "failed"
        : result.outcome() == ReleaseResult.Outcome.SUPERSEDED ? "superseded" : "succeeded");
    if (errorKind != null) {
      ObjectNode error = report.putObject("error");
      error.put("kind", errorKind.toLowerCase(java.util.Locale.ROOT));
      error.put("message", redactor.redact(errorMessage));
    } else {
      report.putNull("error");
    }
    ArrayNode steps = report.putArray("steps");
    for (StepResult step : result.steps()) {
      steps.addObject().put("step", step.step().id()).put("status", step.status().name().toLowerCase(java.util.Locale.ROOT))
          .put("durationMillis", step.duration().toMillis()).put("summary", redactor.redact(step.summary()));
    }
    result.image().ifPresentOrElse(image -> report.putObject("image").put("reference", image.image().toString())
        .put("digest", image.digest()).put("reused", image.reused()), () -> report.putNull("image"));
    migrations(report, "testMigration", result.testMigration().orElse(null));
    migrations(report, "migration", result.migration().orElse(null));
    result.guards().ifPresentOrElse(guards -> report.putObject("guards").put("branch", guards.branch())
        .put("branchGuardOverridden", guards.branchGuardOverridden()).put("lockName", guards.lockName())
        .put("lockWaitMillis", guards.lockWait() == null ? null : guards.lockWait().toMillis()),
        () -> report.putNull("guards"));
    result.ledgerId().ifPresentOrElse(id -> report.put("ledgerId", id), () -> report.putNull("ledgerId"));
    if (result.promotion().isPresent()) {
      ArrayNode tags = report.putArray("tagMoves");
      result.promotion().get().forEach(move -> tags.addObject().put("tag", move.tag())
          .put("previousDigest", move.previousDigest()).put("digest", move.digest()).put("moved", move.moved()));
    } else {
      report.putNull("tagMoves");
    }
    result.rollout().ifPresentOrElse(rollout -> report.putObject("rollout").put("target", rollout.target())
        .put("deployment", rollout.deployment()).put("outcome", rollout.outcome().id())
        .put("status", redactor.redact(rollout.status())), () -> report.putNull("rollout"));
    ArrayNode hooks = report.putArray("hooks");
    result.hooks().forEach(hook -> hooks.addObject().put("hook", hook.point().id()).put("command", hook.hook())
        .put("step", hook.step()).put("durationMillis", hook.duration().toMillis())
        .put("error", hook.error() == null ? null : redactor.redact(hook.error())));
    result.lint().ifPresentOrElse(findings -> lint(report.putArray("lint"), findings, redactor),
        () -> report.putNull("lint"));
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(report);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The migration lint's findings as JSON, the same as the plan's ({@link LintFinding}). */
  public static void lint(ArrayNode array, java.util.List<dev.closedloop.deploy.lint.Finding> findings,
      dev.closedloop.deploy.secret.Redactor redactor) {
    findings.forEach(finding -> array.add(JSON.<com.fasterxml.jackson.databind.JsonNode>valueToTree(
        LintFinding.of(finding, redactor))));
  }

  private static void migrations(ObjectNode report, String field, MigrationOutcome outcome) {
    if (outcome == null) {
      report.putNull(field);
      return;
    }
    ObjectNode node = report.putObject(field);
    node.put("fingerprint", outcome.set().fingerprint());
    node.put("total", outcome.set().migrations().size());
    node.put("durationMillis", outcome.duration().toMillis());
    ArrayNode applied = node.putArray("applied");
    for (AppliedMigration migration : outcome.applied()) {
      applied.addObject().put("migration", migration.migration().label())
          .put("durationMillis", migration.duration().toMillis());
    }
  }

  /** Writes the report to {@code file} whole or not at all (a temporary file moved into place). */
  public static void write(Path file, String json) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    // not createTempFile: its owner-only mode would stay on the report, unreadable to a CI's upload step
    Path temporary = file.toAbsolutePath().resolveSibling("." + file.getFileName() + "." + java.util.UUID.randomUUID());
    try {
      Files.writeString(temporary, json + "\n", StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE_NEW);
      Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(temporary);
    }
  }
}
