package dev.closedloop.deploy.internal.goose;

import dev.closedloop.deploy.DeployException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One goose SQL migration as goose reads it: the statements of its Up section, whether they run
 * in a transaction, and where each starts in the file. The Down section is read (so a malformed
 * one fails as it does in goose) but never kept: closedloop only goes forward.
 *
 * <p>The rules are goose's: annotations are {@code -- +goose Up}, {@code Down},
 * {@code StatementBegin}, {@code StatementEnd}, {@code NO TRANSACTION}, {@code ENVSUB ON},
 * {@code ENVSUB OFF}, in any letter case, at the very start of a line; outside a
 * StatementBegin/End block a statement ends at a line whose last word before any {@code --}
 * comment ends with {@code ;}; comments and blank lines before a statement are dropped, those
 * inside it kept; with ENVSUB ON, {@code ${VAR}}, {@code ${VAR:-default}} and {@code $VAR} are
 * replaced from the environment and {@code $$} stands for {@code $}.
 */
public record GooseFile(long version, String name, String fileName, List<Statement> statements,
    boolean transactional) {

  /**
   * A statement of the Up section and the line of the file it starts on; {@code fromEnvironment}
   * when ENVSUB put values of the environment into it (which may be secrets: it is never quoted).
   */
  public record Statement(String sql, int line, boolean fromEnvironment) { }

  /**
   * Where a file's sections are: the line of its {@code -- +goose Up} annotation, that of its
   * {@code -- +goose Down} annotation (0 without one), and whether the file runs in a transaction.
   */
  public record Layout(int upLine, int downLine, boolean transactional) { }

  /** What a reading of the file finds. */
  private record Read(List<Statement> up, boolean transactional, int upLine, int downLine) { }

  private static final Pattern NAME = Pattern.compile("(\\d+)_([^/]*)\\.sql");
  /** Every {@code ${…}}: those ENVSUB does not replace are refused, never applied as they stand. */
  private static final Pattern BRACED = Pattern.compile("\\$\\{[^}]*}?");
  private static final Pattern SUPPORTED_BRACED = Pattern.compile("\\$\\{[A-Za-z_][A-Za-z0-9_]*(:?-[^}$]*)?}");
  private static final Pattern VARIABLE =
      Pattern.compile("\\$\\$|\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?}|\\$([A-Za-z_][A-Za-z0-9_]*)");

  private enum State { START, UP, UP_BLOCK, DOWN, DOWN_BLOCK }

  public GooseFile {
    statements = List.copyOf(statements);
  }

  /** The version and name in a goose file name ({@code 00004_add_index.sql}), or null for another file. */
  public static Matcher fileName(String fileName) {
    Matcher m = NAME.matcher(fileName);
    return m.matches() ? m : null;
  }

  /**
   * Reads one file.
   *
   * @param env what ENVSUB sections are expanded from
   * @throws DeployException of kind MIGRATION naming the file and line, for what goose refuses too
   */
  public static GooseFile parse(String fileName, String content, Map<String, String> env) {
    Matcher name = fileName(fileName);
    if (name == null) {
      throw new IllegalArgumentException(fileName);
    }
    long version;
    try {
      version = Long.parseLong(name.group(1));
    } catch (NumberFormatException e) {
      throw refused(fileName, 0, "its version " + name.group(1) + " is too large");
    }
    if (version < 1) {
      throw refused(fileName, 0, "its version is 0: goose versions start at 1 (0 is goose's own row)");
    }
    Read read = read(fileName, content, env);
    return new GooseFile(version, name.group(2), fileName, read.up(), read.transactional());
  }

  /**
   * Where the sections of a file are, read by goose's rules (ENVSUB expands nothing here).
   *
   * @param label names the file in a refusal
   * @throws DeployException of kind MIGRATION naming the file and line, for what goose refuses
   */
  public static Layout layout(String label, String content) {
    Read read = read(label, content, Map.of());
    return new Layout(read.upLine(), read.downLine(), read.transactional());
  }

  private static Read read(String fileName, String content, Map<String, String> env) {
    List<Statement> up = new ArrayList<>();
    boolean transactional = true;
    boolean envsub = false;
    State state = State.START;
    StringBuilder buffer = new StringBuilder();
    int statementLine = 0;
    boolean substituted = false;
    int upLine = 0;
    int downLine = 0;
    String[] lines = content.split("\r?\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i];
      int number = i + 1;
      if (state == State.START && line.isBlank()) {
        continue;
      }
      if (line.strip().startsWith("--") && line.contains("+goose")) {
        String annotation = annotation(fileName, number, line);
        switch (annotation) {
          case "up" -> {
            if (state != State.START) {
              throw refused(fileName, number, "a second '-- +goose Up' annotation: a file has one Up section");
            }
            state = State.UP;
            upLine = number;
          }
          case "down" -> {
            if (state != State.UP) {
              throw refused(fileName, number, "'-- +goose Down' must come after '-- +goose Up' and outside a"
                  + " StatementBegin/StatementEnd block");
            }
            if (!buffer.toString().isBlank()) {
              throw refused(fileName, statementLine, "a statement is not finished (missing semicolon?)");
            }
            buffer.setLength(0);
            substituted = false;
            state = State.DOWN;
            downLine = number;
          }
          case "statementbegin" -> {
            if (state != State.UP && state != State.DOWN) {
              throw refused(fileName, number, "'-- +goose StatementBegin' must follow '-- +goose Up' or '-- +goose"
                  + " Down', outside another block");
            }
            state = state == State.UP ? State.UP_BLOCK : State.DOWN_BLOCK;
          }
          case "statementend" -> {
            if (state != State.UP_BLOCK && state != State.DOWN_BLOCK) {
              throw refused(fileName, number, "'-- +goose StatementEnd' without a StatementBegin before it");
            }
            if (buffer.toString().isBlank()) { // goose would swallow the next line into it
              throw refused(fileName, number, "an empty StatementBegin/StatementEnd block");
            }
            if (state == State.UP_BLOCK) {
              up.add(new Statement(buffer.toString().strip(), statementLine, substituted));
            }
            buffer.setLength(0);
            substituted = false;
            state = state == State.UP_BLOCK ? State.UP : State.DOWN;
          }
          case "no transaction" -> transactional = false;
          case "envsub on" -> envsub = true;
          case "envsub off" -> envsub = false;
          default -> throw new IllegalStateException(annotation);
        }
        continue;
      }
      if (state == State.START) {
        if (line.strip().startsWith("--")) {
          continue; // a header comment
        }
        throw refused(fileName, number, "SQL before '-- +goose Up': every goose file starts with its Up section");
      }
      if (buffer.length() == 0 && (line.strip().startsWith("--") || line.isEmpty())) {
        continue; // comments and blank lines before a statement are not part of it
      }
      if (envsub) {
        String expanded = expand(line, env, fileName, number);
        substituted |= !expanded.equals(line);
        line = expanded;
      }
      if (buffer.length() == 0) {
        statementLine = number;
      }
      buffer.append(line).append('\n');
      if ((state == State.UP || state == State.DOWN) && endsWithSemicolon(line)) {
        if (state == State.UP) {
          up.add(new Statement(buffer.toString().strip(), statementLine, substituted));
        }
        buffer.setLength(0);
        substituted = false;
      }
    }
    if (state == State.START) {
      throw refused(fileName, 1, "no '-- +goose Up' annotation: every goose file starts with its Up section");
    }
    if (state == State.UP_BLOCK || state == State.DOWN_BLOCK) {
      throw refused(fileName, statementLine, "'-- +goose StatementBegin' without its StatementEnd");
    }
    if (!buffer.toString().isBlank()) {
      throw refused(fileName, statementLine, "a statement is not finished (missing semicolon?)");
    }
    return new Read(up, transactional, upLine, downLine);
  }

  /** The annotation of a {@code -- +goose …} line, lower case; refused as goose refuses it. */
  private static String annotation(String fileName, int number, String line) {
    if (line.startsWith(" ") || line.startsWith("\t")) {
      throw refused(fileName, number, "a goose annotation must start the line, without leading whitespace");
    }
    String rest = line.replace("--", "").replaceFirst("\\+goose", "");
    if (rest.contains("+goose")) {
      throw refused(fileName, number, "more than one '+goose' on one line");
    }
    String annotation = rest.strip().toLowerCase(Locale.ROOT);
    return switch (annotation) {
      case "up", "down", "statementbegin", "statementend", "no transaction", "envsub on", "envsub off" -> annotation;
      default -> throw refused(fileName, number, "unknown annotation '" + rest.strip() + "' (goose knows Up, Down,"
          + " StatementBegin, StatementEnd, NO TRANSACTION, ENVSUB ON, ENVSUB OFF)");
    };
  }

  /** True when the last word before any {@code --} comment ends with a semicolon, as goose decides. */
  static boolean endsWithSemicolon(String line) {
    String last = "";
    for (String word : line.strip().split("\\s+")) {
      if (word.startsWith("--")) {
        break;
      }
      last = word;
    }
    return last.endsWith(";");
  }

  private static String expand(String line, Map<String, String> env, String fileName, int number) {
    Matcher braced = BRACED.matcher(line);
    while (braced.find()) {
      if (!SUPPORTED_BRACED.matcher(braced.group()).matches()) {
        throw refused(fileName, number, "'" + braced.group() + "' is an ENVSUB form closedloop does not replace"
            + " (it replaces ${VAR}, ${VAR:-default}, ${VAR-default} and $VAR): rewrite it, or turn ENVSUB off");
      }
    }
    Matcher m = VARIABLE.matcher(line);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String replacement;
      if (m.group().equals("$$")) {
        replacement = "$";
      } else {
        String variable = m.group(1) != null ? m.group(1) : m.group(4);
        String value = env.get(variable);
        String operator = m.group(2);
        if (operator != null && (value == null || (operator.equals(":-") && value.isEmpty()))) {
          value = m.group(3);
        }
        replacement = value == null ? "" : value;
      }
      m.appendReplacement(out, Matcher.quoteReplacement(replacement));
    }
    m.appendTail(out);
    return out.toString();
  }

  private static DeployException refused(String fileName, int line, String why) {
    return new DeployException(DeployException.Kind.MIGRATION, "goose migration " + fileName
        + (line > 0 ? " line " + line : "") + ": " + why);
  }
}
