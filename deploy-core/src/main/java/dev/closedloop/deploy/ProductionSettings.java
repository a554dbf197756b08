package dev.closedloop.deploy;

import dev.closedloop.deploy.database.ProductionDatabase;

/**
 * Production: its database (null when none is set), whether its connection must use TLS, and the
 * guards that keep releases to it on one branch and one at a time, with the ledger they keep.
 */
public record ProductionSettings(ProductionDatabase database, boolean requireTls, Guards guards) {

  /** Names the database by its description, which masks its password. */
  @Override
  public String toString() {
    return "ProductionSettings[database=" + (database != null ? database.describe() : null) + ", requireTls="
        + requireTls + ", guards=" + guards + "]";
  }
}
