package dev.closedloop.deploy.it.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.internal.Events;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * BENCHMARKS.md, row "test-migrate": the whole step on embedded PostgreSQL (server start,
 * validate, migrate, stop) against the floor, the same SQL applied by {@code psql -f} to a
 * server that already runs. Not an *IT: it runs only when asked for (see BENCHMARKS.md).
 */
class TestMigrateBenchmark {

  private static final int RUNS = 5;
  private static final List<String> FILES = List.of(
      "V1__create_customers.sql", "V2__create_order_status.sql", "V3__create_products.sql",
      "V4__create_orders.sql", "V5__index_orders_by_customer.sql", "V6__touch_updated_at.sql",
      "V7__add_customer_display_name.sql", "V8__create_service_health.sql", "R__order_totals.sql");

  @Test
  void testMigrate_againstPsqlOnARunningServer() throws Exception {
    Migrations shop = Migrations.flyway("classpath:db/migration");
    Path sql = Files.createTempFile("shop-schema-", ".sql");
    StringBuilder all = new StringBuilder();
    for (String file : FILES) {
      try (InputStream in = getClass().getClassLoader().getResourceAsStream("db/migration/" + file)) {
        all.append(new String(in.readAllBytes(), StandardCharsets.UTF_8)).append('\n');
      }
    }
    Files.writeString(sql, all);

    // Warm-up: unpacks the PostgreSQL binaries and loads the classes once.
    Release.configure().migrations(shop).buildContext(Path.of(".")).load().testMigrate();

    List<Long> step = new ArrayList<>();
    List<Long> migrateOnly = new ArrayList<>();
    for (int i = 0; i < RUNS; i++) {
      long start = System.nanoTime();
      ReleaseResult result = Release.configure().migrations(shop).buildContext(Path.of(".")).load().testMigrate();
      step.add(System.nanoTime() - start);
      migrateOnly.add(result.testMigration().orElseThrow().duration().toNanos());
      assertThat(result.testMigration().orElseThrow().applied()).hasSize(9);
    }

    List<Long> floor = new ArrayList<>();
    try (EphemeralDatabase.Instance server = EphemeralDatabase.embedded().start(Events.none())) {
      HostPort where = HostPort.of(server.target().jdbcUrl());
      for (int i = -1; i < RUNS; i++) { // i = -1: warm-up
        String db = "floor_" + (i + 1);
        try (Connection c = server.target().connect(); Statement s = c.createStatement()) {
          s.execute("CREATE DATABASE " + db);
        }
        long start = System.nanoTime();
        Process psql = new ProcessBuilder("psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", "-h", where.host(),
            "-p", where.port(), "-U", "postgres", "-d", db, "-f", sql.toString())
            .redirectErrorStream(true).start();
        String output = new String(psql.getInputStream().readAllBytes());
        assertThat(psql.waitFor()).as(output).isZero();
        if (i >= 0) {
          floor.add(System.nanoTime() - start);
        }
      }
    }

    double stepMs = median(step) / 1e6;
    double migrateMs = median(migrateOnly) / 1e6;
    double floorMs = median(floor) / 1e6;
    String report = String.format("""
        test-migrate of the migrations module (9 files), median of %d, warm binaries
          closedloop test-migrate (start + migrate + stop): %8.1f ms   runs %s
            of which Flyway validate + migrate:           %8.1f ms   runs %s
          floor: psql -f on a running server:             %8.1f ms   runs %s
          ratio step / floor:    %.1fx
          ratio migrate / floor: %.1fx
        """, RUNS, stepMs, ms(step), migrateMs, ms(migrateOnly), floorMs, ms(floor),
        stepMs / floorMs, migrateMs / floorMs);
    System.out.println(report);
    Path out = Path.of("it/target/benchmarks/test-migrate.txt");
    Files.createDirectories(out.getParent());
    Files.writeString(out, report);
  }

  private static double median(List<Long> values) {
    List<Long> sorted = values.stream().sorted(Comparator.naturalOrder()).toList();
    return sorted.get(sorted.size() / 2);
  }

  private static List<Long> ms(List<Long> nanos) {
    return nanos.stream().map(n -> n / 1_000_000).toList();
  }

  private record HostPort(String host, String port) {
    static HostPort of(String jdbcUrl) throws URISyntaxException {
      Matcher m = Pattern.compile("jdbc:postgresql://([^:/]+):(\\d+)/.*").matcher(jdbcUrl);
      if (!m.matches()) {
        throw new URISyntaxException(jdbcUrl, "not host:port");
      }
      return new HostPort(m.group(1), m.group(2));
    }
  }
}
