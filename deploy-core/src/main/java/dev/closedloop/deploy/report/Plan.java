package dev.closedloop.deploy.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code release} would do, found without changing anything: the output of
 * {@code deploy:plan}. Held as its JSON document (schema version 1, in the README); {@link #text}
 * renders the same facts for a terminal. Every text in it passed the redactor when it was made.
 */
public final class Plan {

  public static final int SCHEMA_VERSION = 1;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ObjectNode document;

  public Plan(ObjectNode document) {
    this.document = document.deepCopy();
  }

  /** The plan in {@code format}, as lines to print. */
  public List<String> render(Format format) {
    return format == Format.JSON ? List.of(json()) : text();
  }

  public String json() {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(document);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** What would stop the release, each in one line; empty when nothing found would. */
  public List<String> blockers() {
    return strings(document.get("blockers"));
  }

  /** What the plan could not find out (a registry or production out of reach), each in one line. */
  public List<String> unknowns() {
    return strings(document.get("unknown"));
  }

  /** The plan for a terminal, in the spirit of {@code terraform plan}: + adds, ~ changes, = stays. */
  public List<String> text() {
    List<String> lines = new ArrayList<>();
    lines.add("Plan for " + text(document.get("service")) + " at commit " + text(document.get("sha"))
        + " (nothing was changed)");
    JsonNode ci = document.get("ci");
    lines.add("  CI: " + (ci.get("system").isNull() ? "none (a local run)" : ci.get("system").asText())
        + (ci.get("runUrl").isNull() ? "" : ", " + ci.get("runUrl").asText()));
    lines.add("Guards:");
    for (JsonNode guard : document.get("guards")) {
      lines.add(String.format("  %-13s %-7s %s", guard.get("guard").asText(), guard.get("verdict").asText(),
          guard.get("detail").asText()));
    }
    JsonNode image = document.get("image");
    lines.add("Image:");
    String action = image.get("action").asText();
    lines.add("  " + switch (action) {
      case "build" -> "+ build " + image.get("dockerfile").asText() + " in " + image.get("context").asText()
          + " and push it as " + String.join(", ", strings(image.get("tags")));
      case "reuse" -> "= reuse " + image.get("reference").asText() + " (" + image.get("digest").asText()
          + "), already in the registry";
      default -> "? build or reuse " + image.get("reference").asText() + ": the registry was not asked";
    });
    JsonNode migrations = document.get("migrations");
    lines.add("Migrations: " + migrations.get("source").asText() + (migrations.get("fingerprint").isNull() ? ""
        : " (fingerprint " + migrations.get("fingerprint").asText() + ")"));
    if (migrations.get("list").isNull()) {
      lines.add("  only the tool in the image knows them; it runs on a throwaway database first, then on production");
    } else {
      for (JsonNode migration : migrations.get("list")) {
        JsonNode pending = migration.get("pending");
        lines.add("  " + (pending.isNull() ? "?" : pending.asBoolean() ? "+" : " ") + " "
            + migration.get("migration").asText() + (pending.isNull() ? "" : pending.asBoolean() ? "  (pending)"
            : "  (applied)"));
      }
      lines.add("  " + (migrations.get("pending").isNull() ? "which are pending on production is not known"
          : pendingCount(migrations.get("pending").asInt())));
    }
    JsonNode drift = document.get("drift");
    if (drift != null && !drift.isNull()) {
      if (!drift.get("checked").asBoolean()) {
        lines.add("Drift check: not made: " + drift.get("reason").asText());
      } else {
        JsonNode differences = drift.get("differences");
        lines.add("Drift check (production against its migrations up to V" + drift.get("version").asText() + "): "
            + (differences.isEmpty() ? "no difference" : differences.size() + (differences.size() == 1
            ? " difference" : " differences")) + (drift.get("reason").isNull() ? "" : "; " + drift.get("reason")
            .asText()));
        differences.forEach(difference -> lines.add("  ! " + difference.get("line").asText()));
      }
    }
    JsonNode lint = document.get("lint");
    if (lint != null && !lint.isNull()) {
      lines.add("Migration lint (pending migrations, against production's schema): " + (lint.isEmpty()
          ? "nothing found" : lint.size() + (lint.size() == 1 ? " finding" : " findings")));
      for (JsonNode finding : lint) {
        lines.add("  " + (finding.get("level").asText().equals("fail") ? "! " : "~ ") + finding.get("migration").asText()
            + " (line " + finding.get("line").asText() + "): " + finding.get("rule").asText() + " ["
            + finding.get("level").asText() + "]: " + finding.get("statement").asText() + ": "
            + finding.get("explanation").asText() + ". Instead: " + finding.get("alternative").asText());
      }
    }
    JsonNode production = document.get("production");
    lines.add("Production: " + production.get("database").asText() + (production.get("reachable").asBoolean()
        ? " (read, not changed)" : " — production not reachable: " + production.get("problem").asText()));
    JsonNode lock = document.get("lock");
    if (!lock.get("known").asBoolean()) {
      lines.add("  release lock of " + lock.get("name").asText() + ": not known");
    } else {
      JsonNode holder = lock.get("holder");
      lines.add("  release lock of " + lock.get("name").asText() + ": " + (holder.isNull() ? "free"
          : "held by #" + holder.get("id").asText() + " (" + holder.get("sha").asText() + ", "
              + holder.get("status").asText() + ")") + "; " + (lock.get("queue").isEmpty() ? "nobody waiting"
          : lock.get("queue").size() + " waiting: " + String.join(", ", lock.get("queue").findValuesAsText("id")
              .stream().map(id -> "#" + id).toList())));
    }
    lines.add("Promote:");
    for (JsonNode move : document.get("tagMoves")) {
      String current = move.get("currentDigest").isNull() ? (move.get("known").asBoolean() ? "(none)" : "(unknown)")
          : move.get("currentDigest").asText();
      String next = move.get("newDigest").isNull() ? "(the digest of the build)" : move.get("newDigest").asText();
      lines.add("  " + (current.equals(next) ? "= " : current.equals("(none)") ? "+ " : "~ ")
          + move.get("reference").asText() + "  " + current + " -> " + next);
    }
    JsonNode compatibility = document.get("compatibility");
    if (compatibility != null && !compatibility.isNull()) {
      lines.add("Compatibility check: " + (compatibility.get("image").isNull()
          ? (compatibility.get("known").asBoolean() ? "no image runs in production yet, nothing to check"
              : "the image production runs is not known")
          : dev.closedloop.deploy.Compatibility.describe(orNull(compatibility.get("command")),
              orNull(compatibility.get("healthUrl"))) + " from " + compatibility.get("image").asText()
              + ", what production runs now, against the migrated throwaway database"));
    }
    JsonNode rollout = document.get("rollout");
    lines.add("Rollout: " + (rollout.isNull() ? "none (deploy.rollout)" : rollout.get("target").asText() + ": "
        + (rollout.get("ok").asBoolean() ? "" : "problem: ") + rollout.get("detail").asText()));
    lines.add("Steps release would run:");
    for (JsonNode step : document.get("steps")) {
      lines.add("  " + step.get("step").asText() + ": " + step.get("would").asText());
    }
    for (JsonNode hook : document.get("hooks")) {
      lines.add("  hook " + hook.get("hook").asText() + ": " + hook.get("command").asText());
    }
    List<String> blockers = blockers();
    List<String> unknowns = unknowns();
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

  static String pendingCount(int pending) {
    return pending == 0 ? "nothing pending on production" : pending + (pending == 1 ? " migration" : " migrations")
        + " pending on production";
  }

  private static String orNull(JsonNode node) {
    return node == null || node.isNull() ? null : node.asText();
  }

  private static String text(JsonNode node) {
    return node == null || node.isNull() ? "?" : node.asText();
  }

  private static List<String> strings(JsonNode array) {
    List<String> values = new ArrayList<>();
    if (array != null) {
      array.forEach(value -> values.add(value.asText()));
    }
    return values;
  }
}
