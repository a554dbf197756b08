package dev.closedloop.deploy.lint;

import dev.closedloop.deploy.CheckLevel;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * How seriously each rule is taken: {@code deploy.lint} for all of them (default {@code warn}),
 * {@code deploy.lintRules} ({@code <rule-id>=<off|warn|fail>}) for one. A rule off by default
 * ({@link Rule#onByDefault()}: {@code prefer-robust-stmts}) stays off at any {@code deploy.lint}
 * until {@code deploy.lintRules} names it.
 */
public record LintSettings(CheckLevel level, Map<Rule, CheckLevel> levels) {

  /** Every rule warns, but those off by default. */
  public static final LintSettings DEFAULT = new LintSettings(CheckLevel.WARN, Map.of());

  public LintSettings {
    levels = Map.copyOf(levels);
  }

  /** The level {@code deploy.lintRules} names for {@code rule}; else {@code level}, or off for one off by default. */
  public CheckLevel level(Rule rule) {
    return levels.getOrDefault(rule, rule.onByDefault() ? level : CheckLevel.OFF);
  }

  /** True when no rule is looked for (a rule off by default counts only when named). */
  public boolean off() {
    return Arrays.stream(Rule.values()).allMatch(rule -> level(rule) == CheckLevel.OFF);
  }

  /**
   * Reads the settings, adding what is wrong with them to {@code problems}.
   *
   * @param level {@code off}, {@code warn} or {@code fail}; null or blank for warn
   * @param rules {@code <rule-id>=<level>} entries; null for none
   */
  public static LintSettings parse(String level, List<String> rules, List<String> problems) {
    CheckLevel all = CheckLevel.WARN;
    if (level != null && !level.isBlank()) {
      all = CheckLevel.of(level).orElse(null);
      if (all == null) {
        problems.add("lint (deploy.lint) must be off, warn or fail; got '" + level.trim() + "'");
        all = CheckLevel.WARN;
      }
    }
    Map<Rule, CheckLevel> levels = new EnumMap<>(Rule.class);
    for (String entry : rules == null ? List.<String>of() : rules) {
      if (entry == null || entry.isBlank()) {
        continue;
      }
      int eq = entry.indexOf('=');
      String id = eq < 0 ? entry.trim() : entry.substring(0, eq).trim();
      Rule rule = Rule.byId(id).orElse(null);
      CheckLevel ruleLevel = eq < 0 ? null : CheckLevel.of(entry.substring(eq + 1)).orElse(null);
      if (rule == null) {
        problems.add("lintRules (deploy.lintRules) names no rule '" + id + "'; the rules are " + ids());
      } else if (ruleLevel == null) {
        problems.add("lintRules (deploy.lintRules) entries are <rule-id>=<off|warn|fail>; got '" + entry.trim() + "'");
      } else {
        levels.put(rule, ruleLevel);
      }
    }
    return new LintSettings(all, levels);
  }

  private static String ids() {
    return Arrays.stream(Rule.values()).map(Rule::id).collect(Collectors.joining(", "));
  }
}
