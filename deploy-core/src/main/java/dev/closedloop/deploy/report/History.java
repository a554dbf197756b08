package dev.closedloop.deploy.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.closedloop.deploy.guard.LedgerEntry;
import dev.closedloop.deploy.internal.Durations;
import dev.closedloop.deploy.secret.Redactor;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/**
 * The latest releases of one service, as the ledger in production recorded them: when, which
 * commit from which branch, the image, how it ended, what it applied, how long it took, and who
 * got past the branch guard.
 *
 * @param service the lock name the releases queued on
 * @param ledger where they were read, e.g. {@code closedloop.release_ledger}
 * @param entries newest first
 */
public record History(String service, String ledger, List<LedgerEntry> entries, Redactor redactor) {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final DateTimeFormatter WHEN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss'Z'")
      .withZone(ZoneOffset.UTC);

  public History {
    entries = List.copyOf(entries);
    redactor = redactor == null ? Redactor.none() : redactor;
  }

  /** The history in {@code format}, as lines to print. */
  public List<String> render(Format format) {
    return format == Format.JSON ? List.of(json()) : text();
  }

  /** One line a release, newest first, columns aligned; a second line for an error or a guard override. */
  public List<String> text() {
    List<String> lines = new ArrayList<>();
    if (entries.isEmpty()) {
      lines.add("No releases of " + service + " in " + ledger + " yet");
      return lines;
    }
    lines.add("The last " + (entries.size() == 1 ? "release" : entries.size() + " releases") + " of " + service
        + " (" + ledger + "), newest first:");
    for (LedgerEntry entry : entries) {
      List<String> applied = entry.appliedMigrations();
      lines.add(String.format("  #%-5d %s  %-11s %8s  %s on %s  %s  %s%s", entry.id(), WHEN.format(entry.startedAt()),
          entry.status().id(), duration(entry), shortSha(entry.sha()), entry.branch() == null ? "?" : entry.branch(),
          entry.imageDigest() == null ? "(no image)" : shortDigest(entry.imageDigest()),
          applied.isEmpty() ? "no migrations" : applied.size() + (applied.size() == 1 ? " migration" : " migrations"),
          entry.rolloutOutcome() == null ? "" : ", rollout " + entry.rolloutOutcome().id().replace('_', ' ')));
      if (entry.rollback()) {
        lines.add("         a rollback (deploy:rollback) to the image of " + shortSha(entry.sha()));
      }
      if (entry.branchGuardOverridden()) {
        lines.add("         the branch guard was overridden (deploy.branchGuard=off)");
      }
      if (entry.error() != null && !entry.error().isBlank()) {
        lines.add("         " + redactor.redact(entry.error()));
      }
    }
    return lines;
  }

  /** A JSON array, newest first; the schema is in the README. */
  public String json() {
    ArrayNode releases = JSON.createArrayNode();
    for (LedgerEntry entry : entries) {
      ObjectNode release = releases.addObject();
      release.put("id", entry.id());
      release.put("service", entry.service());
      release.put("sha", entry.sha());
      release.put("branch", entry.branch());
      release.put("branchGuardOverridden", entry.branchGuardOverridden());
      release.put("ciRunUrl", entry.ciRunUrl() == null ? null : redactor.redact(entry.ciRunUrl()));
      release.put("imageDigest", entry.imageDigest());
      release.put("kind", entry.kind().id());
      release.put("status", entry.status().id());
      release.put("startedAt", entry.startedAt().toString());
      release.put("finishedAt", entry.finishedAt() == null ? null : entry.finishedAt().toString());
      if (entry.finishedAt() == null) {
        release.putNull("durationMillis");
      } else {
        release.put("durationMillis", Duration.between(entry.startedAt(), entry.finishedAt()).toMillis());
      }
      ArrayNode applied = release.putArray("migrationsApplied");
      entry.appliedMigrations().forEach(applied::add);
      release.put("rolloutOutcome", entry.rolloutOutcome() == null ? null : entry.rolloutOutcome().id());
      release.put("error", entry.error() == null ? null : redactor.redact(entry.error()));
    }
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(releases);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String duration(LedgerEntry entry) {
    return entry.finishedAt() == null ? "running" : Durations.format(Duration.between(entry.startedAt(),
        entry.finishedAt()));
  }

  private static String shortSha(String sha) {
    return sha.length() > 12 ? sha.substring(0, 12) : sha;
  }

  private static String shortDigest(String digest) {
    return digest.length() > "sha256:".length() + 12 ? digest.substring(0, "sha256:".length() + 12) : digest;
  }
}
