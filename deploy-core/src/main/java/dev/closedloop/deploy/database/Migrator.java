package dev.closedloop.deploy.database;

/** Applies a service's migrations to one database. */
public interface Migrator {

  /**
   * Validates the migrations against {@code target} and applies the pending ones.
   *
   * @throws dev.closedloop.deploy.DeployException of kind MIGRATION naming the failing file,
   *     statement and the database's message
   */
  MigrationOutcome migrate(DatabaseTarget target);
}
