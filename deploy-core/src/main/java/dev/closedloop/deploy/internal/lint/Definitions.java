package dev.closedloop.deploy.internal.lint;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The objects a script defines with {@code CREATE [OR REPLACE]}: views, materialized views,
 * functions, procedures and triggers, named as the drift check's catalog names them
 * ({@code view order_totals}, {@code function touch_updated_at(}, {@code trigger t on orders};
 * the {@code public} schema left off). Read with the lint's lexer, so strings and comments never count.
 */
public final class Definitions {

  private Definitions() { }

  /** The definitions in {@code sql}; empty when it cannot be lexed. */
  public static Set<String> of(String sql) {
    Set<String> defined = new LinkedHashSet<>();
    List<SqlScript.Statement> statements;
    try {
      statements = SqlScript.statements(sql, 1);
    } catch (IllegalArgumentException e) {
      return defined;
    }
    for (SqlScript.Statement statement : statements) {
      List<SqlScript.Token> t = statement.tokens();
      int i = 0;
      if (t.isEmpty() || !t.get(i++).is("create")) {
        continue;
      }
      if (i + 1 < t.size() && t.get(i).is("or") && t.get(i + 1).is("replace")) {
        i += 2;
      }
      while (i < t.size() && (t.get(i).is("temp") || t.get(i).is("temporary") || t.get(i).is("recursive")
          || t.get(i).is("constraint"))) {
        i++;
      }
      String kind;
      if (i < t.size() && t.get(i).is("materialized")) {
        kind = "materialized view";
        i += 2;
      } else if (i < t.size() && (t.get(i).is("view") || t.get(i).is("trigger"))) {
        kind = t.get(i++).text();
      } else if (i < t.size() && (t.get(i).is("function") || t.get(i).is("procedure"))) {
        kind = "function";
        i++;
      } else {
        continue;
      }
      if (i + 2 < t.size() && t.get(i).is("if") && t.get(i + 1).is("not") && t.get(i + 2).is("exists")) {
        i += 3;
      }
      int[] at = {i};
      String bare = name(t, at);
      if (bare.isEmpty()) {
        continue;
      }
      if (kind.equals("trigger")) {
        while (at[0] < t.size() && !t.get(at[0]).is("on")) {
          at[0]++;
        }
        at[0]++;
        defined.add("trigger " + bare + " on " + name(t, at));
      } else {
        defined.add(kind + " " + bare + (kind.equals("function") ? "(" : ""));
      }
    }
    return defined;
  }

  /** The possibly qualified name at {@code at[0]}, moving past it; {@code public.} left off, as the catalog names it. */
  private static String name(List<SqlScript.Token> t, int[] at) {
    StringBuilder name = new StringBuilder();
    while (at[0] < t.size() && t.get(at[0]).isName()) {
      name.append(t.get(at[0]++).text());
      if (at[0] < t.size() && t.get(at[0]).isSymbol(".")) {
        name.append('.');
        at[0]++;
      } else {
        break;
      }
    }
    return name.toString().startsWith("public.") ? name.substring("public.".length()) : name.toString();
  }
}
