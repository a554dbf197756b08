package dev.closedloop.deploy.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.closedloop.deploy.CheckLevel;
import dev.closedloop.deploy.DeployException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * What {@code deploy:lint} found: the migrations new against a base commit (or pending on
 * production, when it could be read), and the lint's findings on them by file and line, for a
 * terminal, GitHub's annotations and GitLab's code quality report. Every text in it is redacted.
 *
 * @param against what the schema came from: production, or a base commit migrated on a throwaway database
 * @param linted the labels of the migrations read, in order
 * @param notes what the reader should know first, such as why production was not used
 * @param skipped why nothing was read; null when the lint ran
 */
public record LintReport(String against, List<String> linted, List<Located> findings, List<String> notes,
    String skipped) {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** One finding and the file it is in, from the repository's top. */
  public record Located(String path, LintFinding finding) { }

  public LintReport {
    linted = List.copyOf(linted);
    findings = List.copyOf(findings);
    notes = List.copyOf(notes);
  }

  /** A lint that read nothing, and why. */
  public static LintReport skipped(String why, List<String> notes) {
    return new LintReport(null, List.of(), List.of(), notes, why);
  }

  /** The findings at level fail. */
  public List<Located> failing() {
    return findings.stream().filter(f -> f.finding().level().equals(CheckLevel.FAIL.toString())).toList();
  }

  /** The refusal for findings at level fail, naming the first; empty when there are none. */
  public Optional<DeployException> refusal() {
    List<Located> failing = failing();
    if (failing.isEmpty()) {
      return Optional.empty();
    }
    Located first = failing.get(0);
    return Optional.of(new DeployException(DeployException.Kind.GUARD, "The migration lint found "
        + (failing.size() == 1 ? "1 statement" : failing.size() + " statements") + " at level fail, first in "
        + first.path() + " line " + first.finding().line() + ": " + first.finding().rule() + ": "
        + first.finding().statement() + ". Make the migration safe, or allow that one statement with a comment '--"
        + " closedloop:allow " + first.finding().rule() + "', or set deploy.lintRules=" + first.finding().rule()
        + "=warn"));
  }

  /** For a terminal. */
  public List<String> text() {
    List<String> lines = new ArrayList<>(notes);
    if (skipped != null) {
      lines.add("Migration lint: nothing read: " + skipped);
      return lines;
    }
    if (linted.isEmpty()) {
      lines.add("Migration lint against " + against + ": no migration is new, nothing to read");
      return lines;
    }
    lines.add("Migration lint of " + (linted.size() == 1 ? "1 migration" : linted.size() + " migrations")
        + " against " + against + ": " + String.join(", ", linted));
    if (findings.isEmpty()) {
      lines.add("  no findings");
    }
    for (Located located : findings) {
      LintFinding f = located.finding();
      lines.add("  " + (f.level().equals(CheckLevel.FAIL.toString()) ? "! " : "~ ") + located.path() + ":" + f.line()
          + " " + f.rule() + " [" + f.level() + "]: " + f.statement() + ": " + f.explanation() + ". Instead: "
          + f.alternative());
    }
    return lines;
  }

  /**
   * GitHub Actions' workflow commands, one per finding: an error at level fail, else a warning,
   * on the file and line; printed at the start of a line, the runner shows them on the pull request.
   */
  public List<String> githubAnnotations() {
    List<String> commands = new ArrayList<>();
    for (Located located : findings) {
      LintFinding f = located.finding();
      String command = f.level().equals(CheckLevel.FAIL.toString()) ? "error" : "warning";
      commands.add("::" + command + " file=" + property(located.path()) + ",line=" + f.line() + ",title="
          + property("closedloop lint: " + f.rule()) + "::" + data(f.statement() + ": " + f.explanation()
          + ". Instead: " + f.alternative()));
    }
    return commands;
  }

  /**
   * GitLab's code quality report (a JSON array, {@code artifacts:reports:codequality}): major at
   * level fail, minor at warn; each fingerprint stays the same while the file, rule and statement do.
   */
  public String gitLabCodeQuality() {
    ArrayNode issues = JSON.createArrayNode();
    for (Located located : findings) {
      LintFinding f = located.finding();
      ObjectNode issue = issues.addObject();
      issue.put("description", f.rule() + ": " + f.statement() + ": " + f.explanation() + ". Instead: "
          + f.alternative());
      issue.put("check_name", f.rule());
      issue.put("fingerprint", fingerprint(located.path() + "\n" + f.rule() + "\n" + f.statement()));
      issue.put("severity", f.level().equals(CheckLevel.FAIL.toString()) ? "major" : "minor");
      ObjectNode location = issue.putObject("location");
      location.put("path", located.path());
      location.putObject("lines").put("begin", f.line());
    }
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(issues);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Writes {@link #gitLabCodeQuality} to {@code file}, whole or not at all: a reader never sees half.
   *
   * @throws DeployException of kind CONFIGURATION when it cannot be written
   */
  public void writeGitLabCodeQuality(Path file) {
    try {
      Path dir = file.toAbsolutePath().getParent();
      Files.createDirectories(dir);
      Path partial = Files.createTempFile(dir, file.getFileName().toString(), ".partial");
      try {
        Files.writeString(partial, gitLabCodeQuality() + "\n", StandardCharsets.UTF_8);
        Files.move(partial, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
            java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      } finally {
        Files.deleteIfExists(partial);
      }
    } catch (IOException e) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "Cannot write the lint report "
          + file + " (deploy.lintReport): " + e.getMessage(), e);
    }
  }

  /** Removes an earlier run's report at {@code file}, so that it never stands for this run's; a failure is no error. */
  public static void clear(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      // writing the new one replaces it, or says why it cannot
    }
  }

  private static String fingerprint(String text) {
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(hash).substring(0, 32);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A workflow command's data, escaped as the runner unescapes it. */
  private static String data(String text) {
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A");
  }

  /** A workflow command's property value: data's escapes, and its separators. */
  private static String property(String text) {
    return data(text).replace(":", "%3A").replace(",", "%2C");
  }
}
