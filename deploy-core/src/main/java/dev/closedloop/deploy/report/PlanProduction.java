package dev.closedloop.deploy.report;

/**
 * Whether the plan could read production.
 *
 * @param database where it is, redacted; null when no databaseUrl is known here
 * @param problem why it was not read; null when it was
 */
public record PlanProduction(String database, boolean reachable, String problem) {

  /** Read, and not changed. */
  public static PlanProduction read(String database) {
    return new PlanProduction(database, true, null);
  }

  /** Not read, for {@code problem}. */
  public static PlanProduction notRead(String database, String problem) {
    return new PlanProduction(database, false, problem);
  }

  String line() {
    return "Production: " + database
        + (reachable ? " (read, not changed)" : " — production not reachable: " + problem);
  }
}
