package dev.closedloop.deploy.database;

import java.time.Duration;

/** A migration a run applied, and how long it took. */
public record AppliedMigration(MigrationSet.Migration migration, Duration duration) {}
