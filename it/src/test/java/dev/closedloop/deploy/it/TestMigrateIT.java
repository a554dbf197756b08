package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseEvent;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.MigrationOutcome;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.internal.Events;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** test-migrate of the migrations module on embedded PostgreSQL. */
class TestMigrateIT {

  private static final Migrations SHOP = Migrations.flyway("classpath:db/migration");

  @TempDir Path dir;

  private final List<ReleaseEvent> events = new ArrayList<>();

  @Test
  void migrations_createEveryTableTypeFunctionIndexAndView() throws SQLException {
    try (EphemeralDatabase.Instance database = EphemeralDatabase.embedded().start(Events.none())) {
      MigrationOutcome outcome = SHOP.migrator(new Events(List.of(events::add)), Step.TEST_MIGRATE)
          .migrate(database.target(), null);

      assertThat(outcome.applied()).extracting(a -> a.migration().label()).containsExactly(
          "V1 create customers", "V2 create order status", "V3 create products", "V4 create orders",
          "V5 index orders by customer", "V6 touch updated at", "V7 add customer display name",
          "V8 create service health", "R order totals");
      assertThat(outcome.set().fingerprint()).startsWith("sha256:");
      assertThat(outcome.set().latestVersion()).isEqualTo("8");
      assertThat(outcome.applied()).allMatch(a -> !a.duration().isNegative());
      assertThat(events).filteredOn(e -> e instanceof ReleaseEvent.Progress).hasSize(9);

      try (Connection c = database.target().connect()) {
        assertThat(strings(c, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            + " ORDER BY table_name")).containsExactly("customers", "flyway_schema_history", "order_items",
                "order_totals", "orders", "products", "service_health");
        assertThat(strings(c, "SELECT table_name FROM information_schema.views WHERE table_schema = 'public'"))
            .containsExactly("order_totals");
        assertThat(strings(c, "SELECT unnest(enum_range(NULL::order_status))::text"))
            .containsExactly("pending", "paid", "shipped", "delivered", "cancelled");
        assertThat(strings(c, "SELECT indexname FROM pg_indexes WHERE tablename = 'orders'"))
            .contains("orders_customer_placed_idx");
        assertThat(strings(c, "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname"))
            .containsExactly("customers_touch", "orders_touch", "products_touch");
        assertThat(strings(c, "SELECT count(*)::text FROM products")).containsExactly("3");
        assertThat(strings(c, "SELECT schema_note FROM service_health")).containsExactly("shop schema ready");
      }
    }
  }

  @Test
  void testMigrate_appliesEverything_andRemovesTheThrowawayDatabase() {
    RecordingDatabase database = new RecordingDatabase(EphemeralDatabase.embedded());

    ReleaseResult result = Release.configure().migrations(SHOP).testDatabase(database)
        .buildContext(dir).listener(events::add).load().testMigrate();

    MigrationOutcome outcome = result.testMigration().orElseThrow();
    assertThat(outcome.applied()).hasSize(9);
    assertThat(result.succeeded()).isTrue();
    assertThat(events.get(events.size() - 1)).isInstanceOfSatisfying(ReleaseEvent.StepFinished.class,
        e -> assertThat(e.summary()).startsWith("9 migrations applied on embedded PostgreSQL in "));
    assertGone(database.target);
  }

  @Test
  void testMigrate_whenAMigrationFails_namesTheFileStatementAndPostgresMessage_andCleansUp() throws IOException {
    Files.writeString(dir.resolve("V1__create_accounts.sql"), "CREATE TABLE accounts (id bigint PRIMARY KEY);\n");
    Files.writeString(dir.resolve("V2__break_things.sql"),
        "ALTER TABLE accounts ADD COLUMN email text;\nALTER TABLE acounts ADD COLUMN name text;\n");
    RecordingDatabase database = new RecordingDatabase(EphemeralDatabase.embedded());

    assertThatThrownBy(() -> Release.configure().migrations(Migrations.flyway("filesystem:" + dir))
            .testDatabase(database).buildContext(dir).load().testMigrate())
        .isInstanceOfSatisfying(DeployException.class, e -> {
          assertThat(e.kind()).isEqualTo(DeployException.Kind.MIGRATION);
          assertThat(e.getMessage())
              .startsWith("Migration V2__break_things.sql failed at line 2: ")
              .contains("relation \"acounts\" does not exist")
              .contains("in statement: ALTER TABLE acounts ADD COLUMN name text")
              .doesNotContain("\n");
          assertThat(e.partialResult().orElseThrow().succeeded()).isFalse();
        });
    assertGone(database.target);
  }

  @Test
  void testMigrate_onAnExternalServer_usesAScratchDatabase_andDropsIt() throws SQLException {
    try (EphemeralDatabase.Instance server = EphemeralDatabase.embedded().start(Events.none())) {
      RecordingDatabase scratch = new RecordingDatabase(EphemeralDatabase.external(server.target()));

      ReleaseResult result = Release.configure().migrations(SHOP).testDatabase(scratch)
          .buildContext(dir).load().testMigrate();

      assertThat(result.testMigration().orElseThrow().applied()).hasSize(9);
      assertThat(scratch.target.jdbcUrl()).contains("/closedloop_test_");
      try (Connection c = server.target().connect()) {
        assertThat(strings(c, "SELECT datname FROM pg_database WHERE datname LIKE 'closedloop_test_%'")).isEmpty();
        assertThat(strings(c, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"))
            .as("the server's own database is untouched").isEmpty();
      }
    }
  }

  @Test
  void testMigrate_whenTheLocationIsEmptyOrMissing_saysSoBeforeStartingAnything() throws IOException {
    Path empty = Files.createDirectory(dir.resolve("empty"));
    RecordingDatabase database = new RecordingDatabase(EphemeralDatabase.embedded());

    assertThatThrownBy(() -> Release.configure().migrations(Migrations.flyway("filesystem:" + empty))
            .testDatabase(database).buildContext(dir).load().testMigrate())
        .hasMessage("No migrations found in filesystem:" + empty + " (deploy.migrations): add"
            + " V<version>__<name>.sql files there, or point deploy.migrations at them");
    assertGone(database.target);

    RecordingDatabase untouched = new RecordingDatabase(EphemeralDatabase.embedded());
    assertThatThrownBy(() -> Release.configure().migrations(Migrations.flyway("classpath:db/nowhere"))
            .testDatabase(untouched).buildContext(dir).load().testMigrate())
        .hasMessageStartingWith("The migrations location classpath:db/nowhere (deploy.migrations) is not on the classpath");
    assertThat(untouched.target).as("no database was started").isNull();
  }

  @Test
  void embedded_reusesOneInitdbTemplate_inAPrivateCache_andRebuildsADamagedOne() throws IOException, SQLException {
    try (EphemeralDatabase.Instance first = EphemeralDatabase.embedded().start(Events.none())) {
      assertThat(first.target().jdbcUrl()).startsWith("jdbc:postgresql://127.0.0.1:");
    }
    String xdg = System.getenv("XDG_CACHE_HOME");
    Path cache = (xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache"))
        .resolve("closedloop");
    assertThat(Files.getPosixFilePermissions(cache)).isEqualTo(PosixFilePermissions.fromString("rwx------"));
    assertThat(Files.getOwner(cache).getName()).isEqualTo(System.getProperty("user.name"));
    List<Path> templates;
    try (var found = Files.list(cache)) {
      templates = found.filter(p -> p.getFileName().toString().startsWith("template-")
          && !p.getFileName().toString().contains(".")).toList();
    }
    assertThat(templates).isNotEmpty(); // one per PostgreSQL build this machine has run
    for (Path template : templates) {
      Files.deleteIfExists(template.resolve("global/pg_control"));
    }

    try (EphemeralDatabase.Instance database = EphemeralDatabase.embedded().start(Events.none());
        Connection c = database.target().connect()) {
      assertThat(strings(c, "SELECT 1")).containsExactly("1");
    }
    assertThat(templates).anyMatch(template -> Files.isRegularFile(template.resolve("global/pg_control")));
  }

  @Test
  void twoProcesses_unpackingAndMakingTheTemplateAtOnce_bothStart_andLeaveOneTemplate() throws Exception {
    Path cache = Files.createDirectories(dir.resolve("cache")); // a cache of their own: nothing made yet
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<Process> processes = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      ProcessBuilder builder = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
          TemplateRace.class.getName()).redirectErrorStream(true);
      builder.environment().put("XDG_CACHE_HOME", cache.toString());
      processes.add(builder.start());
    }
    for (Process process : processes) {
      String output = new String(process.getInputStream().readAllBytes());
      assertThat(process.waitFor()).as(output).isZero();
      assertThat(output).contains("answered 42");
    }
    try (var made = Files.list(cache.resolve("closedloop"))) {
      assertThat(made.map(p -> p.getFileName().toString()).sorted().toList())
          .as("one copy of the binaries and one template, nothing half-made left behind")
          .hasSize(2).allMatch(name -> name.matches("postgres-[0-9a-f]{16}|template-[0-9a-f]{16}-[0-9a-f]+"));
    }
  }

  @Test
  void embedded_sweepsRunDirectoriesAKilledJvmLeftBehind_andNoOtherRunsOnes() throws Exception {
    Path base = Files.isWritable(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
    Path leftover = Files.createTempDirectory(base, "closedloop-postgres-");
    Files.createDirectories(leftover.resolve("data"));
    Files.writeString(leftover.resolve("data/postmaster.pid"), "999999999\n");
    Files.writeString(leftover.resolve("owner.lock"), ""); // its owner died: nobody holds the lock
    Files.setLastModifiedTime(leftover, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 7_200_000L));
    Path recent = Files.createTempDirectory(base, "closedloop-postgres-"); // another process's run, starting now
    Files.writeString(recent.resolve("owner.lock"), "");

    Path owned = Files.createTempDirectory(base, "closedloop-postgres-"); // a live run started long ago
    Files.setLastModifiedTime(owned, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 7_200_000L));
    try (java.nio.channels.FileChannel lock = java.nio.channels.FileChannel.open(owned.resolve("owner.lock"),
            java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
        java.nio.channels.FileLock held = lock.lock();
        EphemeralDatabase.Instance database = EphemeralDatabase.embedded().start(Events.none())) {
      assertThat(leftover).doesNotExist();
      assertThat(recent).exists();
      assertThat(owned).as("its owner holds the lock").exists();
    } finally {
      Files.deleteIfExists(owned.resolve("owner.lock"));
      Files.deleteIfExists(owned);
      Files.deleteIfExists(recent.resolve("owner.lock"));
      Files.deleteIfExists(recent);
    }
  }

  private static void assertGone(DatabaseTarget target) {
    assertThat(target).as("a database was started").isNotNull();
    assertThatThrownBy(target::connect).isInstanceOf(DeployException.class);
  }

  private static List<String> strings(Connection c, String sql) throws SQLException {
    List<String> values = new ArrayList<>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        values.add(rs.getString(1));
      }
    }
    return values;
  }
}
