package dev.closedloop.deploy.internal.step;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.database.AppliedMigration;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.MigrationOutcome;
import dev.closedloop.deploy.database.MigrationSet;
import dev.closedloop.deploy.database.Migrator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Migrate's contract over an in-memory production and migration tool: the fact before the act, the proven set only. */
class MigrateStepTest {

  @TempDir Path dir;

  private static final MigrationSet.Migration V1 = new MigrationSet.Migration("1", "init", "V1__init.sql", 11);
  private static final MigrationSet.Migration V2 = new MigrationSet.Migration("2", "notes", "V2__notes.sql", 22);
  private static final MigrationSet SET = MigrationSet.of(List.of(V1, V2));

  /** A tool whose production has V1 applied: V2 is pending; what it was asked is kept. */
  private static final class Tool implements Migrator {
    final List<String> asked = new ArrayList<>();
    final List<String> journal;
    RuntimeException failure;

    Tool(List<String> journal) {
      this.journal = journal;
    }

    @Override
    public void validate() { }

    @Override
    public MigrationOutcome migrate(DatabaseTarget target, String expectedFingerprint,
        Consumer<List<String>> beforeApplying) {
      asked.add("migrate expecting " + expectedFingerprint);
      beforeApplying.accept(List.of(V2.label()));
      journal.add("applying " + V2.label());
      if (failure != null) {
        throw failure;
      }
      return new MigrationOutcome(SET, List.of(new AppliedMigration(V2, Duration.ofMillis(5))), Duration.ofMillis(9));
    }

    @Override
    public Inspection inspect(DatabaseTarget target) {
      return new Inspection(SET, List.of(V2.label()));
    }

    @Override
    public String describe() {
      return "two migrations for the test";
    }
  }

  @Test
  void migrate_recordsWhatItPlansBeforeTheFirstMigrationRuns_thenWhatItApplied() {
    StepFixture fixture = new StepFixture(dir);
    Tool tool = new Tool(fixture.production.journal);
    try (RunContext context = fixture.context(tool)) {
      context.state().put(TestMigrateStep.PROVEN, new MigrationOutcome(SET, List.of(), Duration.ZERO));

      MigrateStep.Migration migration = new MigrateStep().run(context);

      assertThat(tool.asked).containsExactly("migrate expecting " + SET.fingerprint());
      assertThat(fixture.production.journal).containsExactly("verify lock", "migration set " + SET.fingerprint(),
          "verify lock", "migrations_planned [" + V2.label() + "]", "status migrating", "applying " + V2.label(),
          "migrations_applied [" + V2.label() + "]");
      assertThat(migration.outcome().applied()).extracting(a -> a.migration().label()).containsExactly(V2.label());
      assertThat(migration.failure()).isNull();
      assertThat(fixture.entered).isEqualTo(1);
    }
  }

  @Test
  void migrate_withoutASetProvenInThisRun_refuses_beforeEnteringProduction() {
    StepFixture fixture = new StepFixture(dir);
    Tool tool = new Tool(fixture.production.journal);
    try (RunContext context = fixture.context(tool)) {
      assertThatThrownBy(() -> new MigrateStep().run(context)).isInstanceOfSatisfying(DeployException.class, e -> {
        assertThat(e.kind()).isEqualTo(DeployException.Kind.GUARD);
        assertThat(e.getMessage()).isEqualTo("Refusing to migrate production: test-migrate has not proved the"
            + " migrations in this run");
      });
      assertThat(fixture.entered).isZero();
      assertThat(tool.asked).isEmpty();
      assertThat(fixture.production.journal).isEmpty();
    }
  }

  @Test
  void migrate_whenSupersededWhileWaitingForTheLock_appliesNothing() {
    StepFixture fixture = new StepFixture(dir);
    fixture.production.superseded = true;
    Tool tool = new Tool(fixture.production.journal);
    try (RunContext context = fixture.context(tool)) {
      context.state().put(TestMigrateStep.PROVEN, new MigrationOutcome(SET, List.of(), Duration.ZERO));

      assertThat(new MigrateStep().run(context)).isNull();
      assertThat(tool.asked).isEmpty();
      assertThat(fixture.production.journal).isEmpty();
    }
  }

  @Test
  void migrate_whenTheLockIsLost_changesNothing() {
    StepFixture fixture = new StepFixture(dir);
    fixture.production.lockLost = true;
    Tool tool = new Tool(fixture.production.journal);
    try (RunContext context = fixture.context(tool)) {
      context.state().put(TestMigrateStep.PROVEN, new MigrationOutcome(SET, List.of(), Duration.ZERO));

      assertThatThrownBy(() -> new MigrateStep().run(context)).isInstanceOfSatisfying(DeployException.class,
          e -> assertThat(e.kind()).isEqualTo(DeployException.Kind.GUARD));
      assertThat(tool.asked).isEmpty();
      assertThat(fixture.production.journal).containsExactly("verify lock");
    }
  }

  @Test
  void migrate_whenAMigrationFails_throwsItsFailure_afterTheFactWasRecorded_andRecordsNothingApplied() {
    StepFixture fixture = new StepFixture(dir);
    Tool tool = new Tool(fixture.production.journal);
    tool.failure = new DeployException(DeployException.Kind.MIGRATION, "V2 notes failed: syntax error");
    try (RunContext context = fixture.context(tool)) {
      context.state().put(TestMigrateStep.PROVEN, new MigrationOutcome(SET, List.of(), Duration.ZERO));

      assertThatThrownBy(() -> new MigrateStep().run(context)).isSameAs(tool.failure);
      assertThat(fixture.production.journal).containsExactly("verify lock", "migration set " + SET.fingerprint(),
          "verify lock", "migrations_planned [" + V2.label() + "]", "status migrating", "applying " + V2.label());
    }
  }
}
