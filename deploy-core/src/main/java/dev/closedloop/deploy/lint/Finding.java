package dev.closedloop.deploy.lint;

import dev.closedloop.deploy.CheckLevel;
/**
 * One statement a rule found.
 *
 * @param migration the migration's label, e.g. "V9 index orders by date"
 * @param line the line of the file the statement starts on
 * @param statement what was found, in words: "CREATE INDEX on orders, which production has"
 */
public record Finding(Rule rule, CheckLevel level, String migration, int line, String statement) {

  /** One line: where, which rule, what, why, and what to do instead. */
  @Override
  public String toString() {
    return migration + " (line " + line + "): " + rule.id() + ": " + statement + ": " + rule.explanation()
        + ". Instead: " + rule.alternative();
  }
}
