package dev.closedloop.deploy.report;

import java.util.List;

/**
 * The migrations release would prove and apply.
 *
 * @param source where they are read from
 * @param fingerprint the set's; null when only the image knows the set
 * @param list each migration in order; null when only the image knows the set
 * @param pending how many are pending on production; null when that was not read
 */
public record PlanMigrations(String source, String fingerprint, List<Migration> list, Integer pending) {

  /**
   * One migration of the set.
   *
   * @param pending whether production has yet to apply it; null when production was not read
   */
  public record Migration(String migration, String version, String description, Boolean pending) { }

  void lines(List<String> lines) {
    lines.add("Migrations: " + source + (fingerprint == null ? "" : " (fingerprint " + fingerprint + ")"));
    if (list == null) {
      lines.add("  only the tool in the image knows them; it runs on a throwaway database first, then on production");
      return;
    }
    for (Migration migration : list) {
      Boolean pending = migration.pending();
      lines.add("  " + (pending == null ? "?" : pending ? "+" : " ") + " " + migration.migration()
          + (pending == null ? "" : pending ? "  (pending)" : "  (applied)"));
    }
    lines.add("  " + (pending == null ? "which are pending on production is not known" : pendingCount(pending)));
  }

  static String pendingCount(int pending) {
    return pending == 0 ? "nothing pending on production" : pending + (pending == 1 ? " migration" : " migrations")
        + " pending on production";
  }
}
