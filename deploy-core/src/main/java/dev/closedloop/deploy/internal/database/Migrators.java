package dev.closedloop.deploy.internal.database;

import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.database.Migrator;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.flyway.FlywayMigrator;
import dev.closedloop.deploy.internal.goose.GooseMigrator;
import dev.closedloop.deploy.internal.image.ImageRunner;
import java.util.function.Supplier;

/** The migrator for each tool {@link Migrations.Tool} names. */
public final class Migrators {

  private Migrators() {}

  /**
   * The migrator that applies {@code migrations}, reporting its progress as {@code step}.
   *
   * @param image the built image to run from, asked for only when a command is run from it
   */
  public static Migrator of(Migrations migrations, Events events, Step step, Supplier<ImageRunner> image) {
    return switch (migrations.tool()) {
      case GOOSE -> new GooseMigrator(migrations, events, step);
      case IMAGE -> new ImageMigrator(migrations, events, step, image);
      case FLYWAY -> new FlywayMigrator(migrations, events, step);
    };
  }
}
