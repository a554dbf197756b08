package dev.closedloop.deploy.internal.lint;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A migration's SQL read as PostgreSQL's lexer reads it: words folded to lower case, quoted
 * names kept as written, strings ({@code '…'}, {@code E'…'}, {@code $tag$…$tag$}) and comments
 * ({@code --}, nested {@code /* *\/}) never mistaken for code, and statements split at the
 * semicolons that end them, not those inside a string, a dollar-quoted body, parentheses
 * ({@code CREATE RULE … DO (a; b)}) or a {@code BEGIN ATOMIC … END} function body; the data
 * lines of {@code COPY … FROM stdin}, up to {@code \.}, are no statements.
 */
public final class SqlScript {

  /** What a token is; words are keywords and unquoted names alike, as in PostgreSQL's grammar. */
  enum Type { WORD, QUOTED_NAME, STRING, NUMBER, SYMBOL }

  /** One token: {@code text} is a word in lower case, a quoted name or a string's content, a symbol as written. */
  record Token(Type type, String text, int line) {

    boolean is(String word) {
      return type == Type.WORD && text.equals(word);
    }

    boolean isSymbol(String symbol) {
      return type == Type.SYMBOL && text.equals(symbol);
    }

    boolean isName() {
      return type == Type.WORD || type == Type.QUOTED_NAME;
    }
  }

  /**
   * One statement, its tokens without the closing semicolon, the line it starts on, and the
   * rule ids its {@code -- closedloop:allow <rule-id>} comments silence.
   */
  record Statement(List<Token> tokens, int line, Set<String> allowed, String text) {

    Statement {
      tokens = List.copyOf(tokens);
      allowed = Set.copyOf(allowed);
    }
  }

  private static final Pattern ALLOW = Pattern.compile("closedloop:allow\\s+([a-z0-9-]+(?:\\s*,\\s*[a-z0-9-]+)*)",
      Pattern.CASE_INSENSITIVE);
  private static final Pattern DOLLAR_TAG = Pattern.compile("\\$([A-Za-z_\\x80-\\uffff][A-Za-z0-9_\\x80-\\uffff]*)?\\$");

  /** SQL the lexer cannot read (an unclosed string, name, comment or COPY data), at {@code line} of the file. */
  static final class Unreadable extends IllegalArgumentException {
    final int line;

    Unreadable(String message, int line) {
      super(message);
      this.line = line;
    }
  }

  private SqlScript() { }

  /**
   * The statements of {@code sql}, in order. A comment belongs to the statement it precedes or
   * lies in, or, when it starts on the line where a statement ends, to that statement.
   *
   * @param firstLine the line of the file {@code sql} starts on (a goose Up section starts below its annotation)
   * @throws IllegalArgumentException naming the line of an unterminated string, name or comment
   */
  static List<Statement> statements(String sql, int firstLine) {
    List<Statement> statements = new ArrayList<>();
    List<Token> tokens = new ArrayList<>();
    Set<String> allowed = new LinkedHashSet<>();
    int line = firstLine;
    int statementStart = -1;
    int atomicDepth = 0; // inside BEGIN ATOMIC … END, where semicolons do not end the statement
    int parenDepth = 0; // inside parentheses, as psql counts them: CREATE RULE … DO (a; b)
    int lastEndLine = -1;
    int i = 0;
    int n = sql.length();
    while (i < n) {
      char c = sql.charAt(i);
      if (c == '\n') {
        line++;
        i++;
      } else if (Character.isWhitespace(c)) {
        i++;
      } else if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
        int end = sql.indexOf('\n', i);
        end = end < 0 ? n : end;
        String comment = sql.substring(i + 2, end);
        if (line == lastEndLine && tokens.isEmpty() && !statements.isEmpty()) {
          Statement last = statements.remove(statements.size() - 1);
          Set<String> more = new LinkedHashSet<>(last.allowed());
          more.addAll(allowed(comment));
          statements.add(new Statement(last.tokens(), last.line(), more, last.text()));
        } else {
          allowed.addAll(allowed(comment));
        }
        i = end;
      } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
        int depth = 0;
        int j = i;
        int startLine = line;
        while (j < n) {
          if (sql.startsWith("/*", j)) {
            depth++;
            j += 2;
          } else if (sql.startsWith("*/", j)) {
            depth--;
            j += 2;
            if (depth == 0) {
              break;
            }
          } else {
            if (sql.charAt(j) == '\n') {
              line++;
            }
            j++;
          }
        }
        if (depth != 0) {
          throw new Unreadable("a /* comment opened on line " + startLine + " is not closed", startLine);
        }
        allowed.addAll(allowed(sql.substring(i, j)));
        i = j;
      } else if (c == ';' && atomicDepth == 0 && parenDepth == 0) {
        boolean copyData = fromStdin(tokens);
        if (!tokens.isEmpty()) {
          statements.add(new Statement(tokens, tokens.get(0).line(), allowed, sql.substring(statementStart, i).strip()));
        }
        tokens = new ArrayList<>();
        allowed = new LinkedHashSet<>();
        statementStart = -1;
        lastEndLine = line;
        i++;
        if (copyData) { // its data follows, from the next line up to a line that is \. alone
          int copyLine = line;
          int next = sql.indexOf('\n', i);
          int at = next < 0 ? n : next + 1;
          if (next >= 0) {
            line++;
          }
          while (true) {
            if (at >= n) {
              throw new Unreadable("the data of COPY … FROM stdin on line " + copyLine + " has no \\. line ending it",
                  copyLine);
            }
            int end = sql.indexOf('\n', at);
            String dataLine = sql.substring(at, end < 0 ? n : end);
            at = end < 0 ? n : end + 1;
            if (end >= 0) {
              line++;
            }
            if (dataLine.strip().equals("\\.")) {
              break;
            }
          }
          i = at;
          lastEndLine = -1;
        }
      } else {
        if (statementStart < 0) {
          statementStart = i;
        }
        int startLine = line;
        Token token;
        if (c == '\'' || ((c == 'e' || c == 'E') && i + 1 < n && sql.charAt(i + 1) == '\'')) {
          boolean escapes = c != '\'';
          int j = escapes ? i + 2 : i + 1;
          StringBuilder text = new StringBuilder();
          while (true) {
            if (j >= n) {
              throw new Unreadable("a string opened on line " + startLine + " is not closed", startLine);
            }
            char d = sql.charAt(j);
            if (d == '\n') {
              line++;
            }
            if (escapes && d == '\\' && j + 1 < n) {
              text.append(sql.charAt(j + 1));
              j += 2;
            } else if (d == '\'' && j + 1 < n && sql.charAt(j + 1) == '\'') {
              text.append('\'');
              j += 2;
            } else if (d == '\'') {
              j++;
              break;
            } else {
              text.append(d);
              j++;
            }
          }
          token = new Token(Type.STRING, text.toString(), startLine);
          i = j;
        } else if (c == '"') {
          int j = i + 1;
          StringBuilder text = new StringBuilder();
          while (true) {
            if (j >= n) {
              throw new Unreadable("a quoted name opened on line " + startLine + " is not closed", startLine);
            }
            char d = sql.charAt(j);
            if (d == '"' && j + 1 < n && sql.charAt(j + 1) == '"') {
              text.append('"');
              j += 2;
            } else if (d == '"') {
              j++;
              break;
            } else {
              if (d == '\n') {
                line++;
              }
              text.append(d);
              j++;
            }
          }
          token = new Token(Type.QUOTED_NAME, text.toString(), startLine);
          i = j;
        } else if (c == '$' && dollarTag(sql, i) != null) {
          String tag = dollarTag(sql, i);
          int close = sql.indexOf(tag, i + tag.length());
          if (close < 0) {
            throw new Unreadable("a " + tag + " string opened on line " + startLine + " is not closed", startLine);
          }
          String body = sql.substring(i + tag.length(), close);
          line += (int) body.chars().filter(ch -> ch == '\n').count();
          token = new Token(Type.STRING, body, startLine);
          i = close + tag.length();
        } else if (Character.isLetter(c) || c == '_' || c > 127) {
          int j = i + 1;
          while (j < n && (Character.isLetterOrDigit(sql.charAt(j)) || sql.charAt(j) == '_' || sql.charAt(j) == '$'
              || sql.charAt(j) > 127)) {
            j++;
          }
          token = new Token(Type.WORD, sql.substring(i, j).toLowerCase(Locale.ROOT), startLine);
          i = j;
        } else if (Character.isDigit(c) || (c == '.' && i + 1 < n && Character.isDigit(sql.charAt(i + 1)))) {
          int j = i + 1;
          while (j < n && (Character.isLetterOrDigit(sql.charAt(j)) || sql.charAt(j) == '.' || sql.charAt(j) == '_')) {
            j++;
          }
          token = new Token(Type.NUMBER, sql.substring(i, j), startLine);
          i = j;
        } else if (c == ':' && i + 1 < n && sql.charAt(i + 1) == ':') {
          token = new Token(Type.SYMBOL, "::", startLine);
          i += 2;
        } else {
          token = new Token(Type.SYMBOL, String.valueOf(c), startLine);
          i++;
        }
        atomicDepth += atomicChange(tokens, token, atomicDepth);
        if (token.isSymbol("(")) {
          parenDepth++;
        } else if (token.isSymbol(")") && parenDepth > 0) {
          parenDepth--;
        }
        tokens.add(token);
      }
    }
    if (!tokens.isEmpty()) {
      statements.add(new Statement(tokens, tokens.get(0).line(), allowed, sql.substring(statementStart).strip()));
    }
    return statements;
  }

  /** {@code COPY … FROM stdin}: data lines follow the statement. */
  private static boolean fromStdin(List<Token> tokens) {
    if (tokens.isEmpty() || !tokens.get(0).is("copy")) {
      return false;
    }
    for (int k = 1; k + 1 < tokens.size(); k++) {
      if (tokens.get(k).is("from") && tokens.get(k + 1).is("stdin")) {
        return true;
      }
    }
    return false;
  }

  /** How a token changes the nesting of a SQL-standard function body ({@code BEGIN ATOMIC … END}). */
  private static int atomicChange(List<Token> before, Token token, int depth) {
    if (token.is("atomic") && !before.isEmpty() && before.get(before.size() - 1).is("begin")) {
      return 1;
    }
    if (depth > 0 && token.is("case")) {
      return 1;
    }
    if (depth > 0 && token.is("end")) {
      return -1;
    }
    return 0;
  }

  private static String dollarTag(String sql, int at) {
    Matcher m = DOLLAR_TAG.matcher(sql);
    m.region(at, sql.length());
    if (!m.lookingAt()) {
      return null;
    }
    // $1 is a parameter, and a tag cannot follow a word character directly (a$b$ is one name)
    if (at > 0 && (Character.isLetterOrDigit(sql.charAt(at - 1)) || sql.charAt(at - 1) == '_')) {
      return null;
    }
    return m.group();
  }

  private static Set<String> allowed(String comment) {
    Set<String> ids = new LinkedHashSet<>();
    Matcher m = ALLOW.matcher(comment);
    while (m.find()) {
      for (String id : m.group(1).split("\\s*,\\s*")) {
        ids.add(id.toLowerCase(Locale.ROOT));
      }
    }
    return ids;
  }
}
