package dev.closedloop.deploy.internal.lint;

import dev.closedloop.deploy.internal.lint.SqlScript.Token;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * What a migration takes away that an older image may still read: dropped objects, renamed
 * tables and columns, columns of another type. Read with the lint's lexer, so a DROP in a
 * comment or a string does not count and one spread over lines does.
 */
public final class Destructive {

  /** The kinds whose DROP takes away something an image may read ({@code materialized view} apart). */
  private static final Set<String> DROPPED = Set.of("table", "view", "column", "type", "function", "schema");

  private Destructive() { }

  /**
   * What {@code sql} takes away, in words: "drops column legacy_name", "renames orders to purchases",
   * "renames column a to b", "renames a table to x", "changes the type of column c"; the drops
   * first, then the renames, then the type changes.
   *
   * @return empty when nothing is taken away, or the SQL cannot be read (an unclosed string or comment)
   */
  public static List<String> changes(String sql) {
    List<SqlScript.Statement> statements;
    try {
      statements = SqlScript.statements(sql, 1);
    } catch (IllegalArgumentException e) {
      return List.of(); // not a script the database could run either; nothing said rather than a guess
    }
    List<String> drops = new ArrayList<>();
    List<String> renames = new ArrayList<>();
    List<String> renamedTables = new ArrayList<>();
    List<String> types = new ArrayList<>();
    for (SqlScript.Statement statement : statements) {
      List<Token> t = statement.tokens();
      for (int i = 0; i < t.size(); i++) {
        if (t.get(i).is("drop")) {
          drop(t, i + 1, drops);
        } else if (t.get(i).is("rename")) {
          rename(t, i + 1, renames, renamedTables);
        } else if (t.get(i).is("alter") && is(t, i + 1, "column")) {
          String column = identifier(t, i + 2);
          int at = i + 3;
          if (is(t, at, "set") && is(t, at + 1, "data")) {
            at += 2;
          }
          if (column != null && is(t, at, "type")) {
            types.add("changes the type of column " + column);
          }
        }
      }
    }
    List<String> found = new ArrayList<>(drops);
    found.addAll(renames);
    found.addAll(renamedTables);
    found.addAll(types);
    return found;
  }

  /** DROP kind [IF EXISTS] name[, name…]: one line per name (a column's DROP names one). */
  private static void drop(List<Token> t, int at, List<String> found) {
    String kind;
    if (is(t, at, "materialized") && is(t, at + 1, "view")) {
      kind = "materialized view";
      at += 2;
    } else if (at < t.size() && t.get(at).type() == SqlScript.Type.WORD && DROPPED.contains(t.get(at).text())) {
      kind = t.get(at).text();
      at++;
    } else {
      return;
    }
    if (is(t, at, "if") && is(t, at + 1, "exists")) {
      at += 2;
    }
    while (true) {
      String name = name(t, at);
      if (name == null) {
        return;
      }
      found.add("drops " + kind + " " + name);
      at = nameEnd(t, at);
      if (kind.equals("column")) {
        return; // ", DROP COLUMN b" is an action of its own
      }
      at = skipParentheses(t, at); // a function's argument types
      if (at >= t.size() || !t.get(at).isSymbol(",")) {
        return;
      }
      at++;
    }
  }

  /** RENAME [COLUMN] a TO b, or RENAME TO x (a table, a view, a sequence…). */
  private static void rename(List<Token> t, int at, List<String> renames, List<String> renamedTables) {
    if (is(t, at, "to")) {
      String name = identifier(t, at + 1);
      if (name != null) {
        renamedTables.add("renames a table to " + name);
      }
      return;
    }
    boolean column = is(t, at, "column");
    if (column) {
      at++;
    }
    String from = identifier(t, at);
    String to = is(t, at + 1, "to") ? identifier(t, at + 2) : null;
    if (from != null && to != null) {
      renames.add("renames " + (column ? "column " : "") + from + " to " + to);
    }
  }

  private static boolean is(List<Token> t, int at, String word) {
    return at < t.size() && t.get(at).is(word);
  }

  /** One name as written: a word as PostgreSQL folds it, a quoted name in its quotes; null when none is here. */
  private static String identifier(List<Token> t, int at) {
    if (at >= t.size() || !t.get(at).isName()) {
      return null;
    }
    Token token = t.get(at);
    return token.type() == SqlScript.Type.QUOTED_NAME ? "\"" + token.text() + "\"" : token.text();
  }

  /** A possibly qualified name as written ({@code public.orders}); null when none is here. */
  private static String name(List<Token> t, int at) {
    String name = identifier(t, at);
    if (name == null) {
      return null;
    }
    StringBuilder qualified = new StringBuilder(name);
    for (int i = at + 1; i < nameEnd(t, at); i += 2) {
      qualified.append('.').append(identifier(t, i + 1));
    }
    return qualified.toString();
  }

  /** Where the name at {@code at} ends: after its last part. */
  private static int nameEnd(List<Token> t, int at) {
    int end = at + 1;
    while (end + 1 < t.size() && t.get(end).isSymbol(".") && t.get(end + 1).isName()) {
      end += 2;
    }
    return end;
  }

  private static int skipParentheses(List<Token> t, int at) {
    if (at >= t.size() || !t.get(at).isSymbol("(")) {
      return at;
    }
    int depth = 0;
    for (; at < t.size(); at++) {
      if (t.get(at).isSymbol("(")) {
        depth++;
      } else if (t.get(at).isSymbol(")") && --depth == 0) {
        return at + 1;
      }
    }
    return at;
  }
}
