package dev.closedloop.deploy.report;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code release} would do, found without changing anything: the output of
 * {@code deploy:plan}. Jackson writes it as the JSON document of schema version 1 (in the
 * README); {@link #text} renders the same facts for a terminal. Every text in it passed the
 * redactor when it was made.
 *
 * @param sha null when not known here
 * @param service the lock name releases of this service queue on; null when not known here
 * @param lint null when the migration set is not known (the field is left out of the JSON)
 * @param compatibility null without a compatibility check
 * @param rollout null without {@code deploy.rollout}
 * @param blockers what would stop the release, each in one line; empty when nothing found would
 * @param unknowns what the plan could not find out (a registry or production out of reach), each in one line
 */
@JsonPropertyOrder({"schemaVersion", "sha", "service", "ci", "guards", "image", "production", "lock", "migrations",
    "lint", "drift", "tagMoves", "compatibility", "rollout", "steps", "hooks", "blockers", "unknown"})
public record Plan(String sha, String service, Ci ci, List<PlanGuard> guards, PlanImage image,
    PlanProduction production, PlanLock lock, PlanMigrations migrations,
    @JsonInclude(JsonInclude.Include.NON_NULL) PlanLint lint, PlanDrift drift, List<PlanTagMove> tagMoves,
    PlanCompatibility compatibility, PlanRollout rollout, List<StepLine> steps, List<HookLine> hooks,
    List<String> blockers, @JsonProperty("unknown") List<String> unknowns) {

  public static final int SCHEMA_VERSION = 1;
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * The CI system the plan ran in.
   *
   * @param system e.g. {@code GitHub Actions}; null outside CI
   * @param runUrl redacted; null outside CI
   */
  public record Ci(String system, String runUrl) { }

  /** One step of {@code release} and what it would do. */
  public record StepLine(String step, String would) { }

  /** One hook that would run, by its point. */
  public record HookLine(String hook, String command) { }

  public Plan {
    guards = List.copyOf(guards);
    tagMoves = List.copyOf(tagMoves);
    steps = List.copyOf(steps);
    hooks = List.copyOf(hooks);
    blockers = List.copyOf(blockers);
    unknowns = List.copyOf(unknowns);
  }

  @JsonProperty("schemaVersion")
  int schemaVersion() {
    return SCHEMA_VERSION;
  }

  /** The plan in {@code format}, as lines to print. */
  public List<String> render(Format format) {
    return format == Format.JSON ? List.of(json()) : text();
  }

  public String json() {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(this);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The plan for a terminal, in the spirit of {@code terraform plan}: + adds, ~ changes, = stays. */
  public List<String> text() {
    List<String> lines = new ArrayList<>();
    lines.add("Plan for " + orUnknown(service) + " at commit " + orUnknown(sha) + " (nothing was changed)");
    lines.add("  CI: " + (ci.system() == null ? "none (a local run)" : ci.system())
        + (ci.runUrl() == null ? "" : ", " + ci.runUrl()));
    lines.add("Guards:");
    guards.forEach(guard -> lines.add(guard.line()));
    lines.add("Image:");
    lines.add(image.line());
    migrations.lines(lines);
    drift.lines(lines);
    if (lint != null) {
      lint.lines(lines);
    }
    lines.add(production.line());
    lines.add(lock.line());
    lines.add("Promote:");
    tagMoves.forEach(move -> lines.add(move.line()));
    if (compatibility != null) {
      lines.add(compatibility.line());
    }
    lines.add(PlanRollout.line(rollout));
    lines.add("Steps release would run:");
    steps.forEach(step -> lines.add("  " + step.step() + ": " + step.would()));
    hooks.forEach(hook -> lines.add("  hook " + hook.hook() + ": " + hook.command()));
    if (blockers.isEmpty()) {
      lines.add("Nothing found stops deploy:release" + (unknowns.isEmpty() ? "." : "; not checked:"));
    } else {
      lines.add("deploy:release would stop:");
      blockers.forEach(blocker -> lines.add("  - " + blocker));
      if (!unknowns.isEmpty()) {
        lines.add("Not checked:");
      }
    }
    unknowns.forEach(unknown -> lines.add("  - " + unknown));
    return lines;
  }

  private static String orUnknown(String value) {
    return value == null ? "?" : value;
  }
}
