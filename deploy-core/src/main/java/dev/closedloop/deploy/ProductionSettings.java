package dev.closedloop.deploy;

import dev.closedloop.deploy.database.ProductionDatabase;
import java.util.List;

/**
 * Production: its database (null when none is set), whether its connection must use TLS, and the
 * guards that keep releases to it on one branch and one at a time, with the ledger they keep.
 *
 * @param environment the environment these settings are ({@code deploy.environment}); null for the top-level ones
 * @param environments every environment defined, in order; empty when none is
 */
public record ProductionSettings(ProductionDatabase database, boolean requireTls, Guards guards, String environment,
    List<String> environments) {

  public ProductionSettings {
    environments = environments == null ? List.of() : List.copyOf(environments);
  }

  public ProductionSettings(ProductionDatabase database, boolean requireTls, Guards guards) {
    this(database, requireTls, guards, null, List.of());
  }

  /** Names the database by its description, which masks its password. */
  @Override
  public String toString() {
    return "ProductionSettings[database=" + (database != null ? database.describe() : null) + ", requireTls="
        + requireTls + ", guards=" + guards + (environment != null ? ", environment=" + environment : "") + "]";
  }
}
