package dev.closedloop.deploy.internal.drift;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Where production's schema differs from the one its applied migrations build: what someone
 * changed by hand. Found by comparing production's {@link Catalog} with that of a throwaway
 * database migrated to the same version.
 */
public final class Drift {

  /**
   * One object that differs.
   *
   * @param object its kind and name, e.g. {@code index orders_tmp_idx}
   * @param production what production has; null when it lacks the object
   * @param migrations what the migrations build; null when none creates it
   */
  public record Difference(String object, String production, String migrations) {

    /** One line: "production has index orders_tmp_idx, which no migration creates". */
    @Override
    public String toString() {
      if (migrations == null) {
        return "production has " + object + ", which no migration creates";
      }
      if (production == null) {
        return "production lacks " + object + ", which the migrations create";
      }
      if (unshown()) {
        return object + ": production's definition is not the one the migrations create";
      }
      return object + ": production " + production + ", migrations " + migrations;
    }

    /**
     * {@code definition} as a report may show it: a view's or function's body, or a trigger's
     * definition, is never shown ({@link Catalog#UNSHOWN}), only that it is there.
     */
    public String shown(String definition) {
      return definition == null || !unshown() ? definition : "(definition not shown)";
    }

    private boolean unshown() {
      return Catalog.UNSHOWN.contains(object.substring(0, object.indexOf(' ')));
    }
  }

  private Drift() { }

  /**
   * What differs between production and the migrated throwaway database, in the catalog's order.
   *
   * @param skipped objects not compared, by key; a key ending in {@code (} is every overload of a function
   * @param ignored globs over keys ({@code *} any text) for what production has by design
   *     ({@code deploy.driftIgnore}: {@code extension pg_stat_statements}, {@code * auth.*})
   */
  public static List<Difference> compare(Catalog production, Catalog migrations, Set<String> skipped,
      List<String> ignored) {
    Set<String> keys = new TreeSet<>(production.objects().keySet());
    keys.addAll(migrations.objects().keySet());
    List<java.util.regex.Pattern> patterns = ignored.stream().map(glob -> java.util.regex.Pattern.compile(
        java.util.Arrays.stream(glob.trim().split("\\*", -1)).map(java.util.regex.Pattern::quote)
            .collect(java.util.stream.Collectors.joining(".*")))).toList();
    List<Difference> differences = new ArrayList<>();
    for (String key : keys) {
      if (skipped.contains(key) || skipped.stream().anyMatch(s -> s.endsWith("(") && key.startsWith(s))
          || patterns.stream().anyMatch(p -> p.matcher(key).matches())) {
        continue;
      }
      String there = production.objects().get(key);
      String built = migrations.objects().get(key);
      if (there == null || built == null || !there.equals(built)) {
        differences.add(new Difference(key, there, built));
      }
    }
    return differences;
  }
}
