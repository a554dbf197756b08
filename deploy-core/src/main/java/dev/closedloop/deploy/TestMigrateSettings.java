package dev.closedloop.deploy;

import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.lint.LintSettings;
import java.util.List;

/**
 * What test-migrate proves and how: the migrations, the throwaway database they run on, the drift
 * check against production (with the objects it leaves out), the backward-compatibility proof
 * (null for none) and the migration lint.
 */
public record TestMigrateSettings(
    Migrations migrations,
    EphemeralDatabase testDatabase,
    CheckLevel driftCheck,
    List<String> driftIgnore,
    Compatibility compatibility,
    LintSettings lint) {

  public TestMigrateSettings {
    driftIgnore = List.copyOf(driftIgnore);
  }

  /** Names the test database by its description: an external server's URL may hold a password. */
  @Override
  public String toString() {
    return "TestMigrateSettings[migrations=" + migrations + ", testDatabase="
        + (testDatabase != null ? testDatabase.describe() : null) + ", driftCheck=" + driftCheck + ", driftIgnore="
        + driftIgnore + ", compatibility=" + (compatibility != null ? compatibility.describe() : null) + ", lint="
        + lint + "]";
  }
}
