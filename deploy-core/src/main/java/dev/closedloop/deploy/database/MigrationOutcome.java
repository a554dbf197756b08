package dev.closedloop.deploy.database;

import java.time.Duration;
import java.util.List;

/**
 * What a migrate run did: the full set of migrations it validated, the ones it applied now, and
 * the time the migration took in total.
 */
public record MigrationOutcome(MigrationSet set, List<AppliedMigration> applied, Duration duration) {

  public MigrationOutcome {
    applied = List.copyOf(applied);
  }
}
