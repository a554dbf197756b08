package dev.closedloop.deploy.it.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseBuilder;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.internal.Events;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * BENCHMARKS.md, row "drift check": test-migrate of the 9-file sample with production reachable
 * (V1 to V7 and R applied, V8 pending), with the drift check and without it, in interleaved pairs:
 * the added cost is the median of the pairs' differences, which a slow moment of the machine
 * shifts less than it shifts either median.
 * Not an *IT: it runs only when asked for (see BENCHMARKS.md).
 */
class DriftBenchmark {

  private static final int WARM_UPS = 8;
  private static final int RUNS = 15;
  private static final List<String> FILES = List.of(
      "V1__create_customers.sql", "V2__create_order_status.sql", "V3__create_products.sql",
      "V4__create_orders.sql", "V5__index_orders_by_customer.sql", "V6__touch_updated_at.sql",
      "V7__add_customer_display_name.sql", "R__order_totals.sql");

  @Test
  void testMigrate_withAndWithoutTheDriftCheck() throws Exception {
    Migrations shop = Migrations.flyway("classpath:db/migration");
    Path applied = Files.createTempDirectory("drift-bench-");
    for (String file : FILES) {
      Files.writeString(applied.resolve(file), shop.read(file).orElseThrow());
    }
    try (EphemeralDatabase.Instance server = EphemeralDatabase.embedded().start(Events.none())) {
      try (Connection c = server.target().connect(); Statement s = c.createStatement()) {
        s.execute("CREATE DATABASE production");
      }
      DatabaseTarget production = DatabaseTarget.of("jdbc:postgresql://127.0.0.1:" + server.target().port()
          + "/production", "postgres", null);
      Migrations.flyway("filesystem:" + applied).migrator(Events.none(), Step.MIGRATE).migrate(production, null);
      String url = "postgres://postgres@127.0.0.1:" + server.target().port() + "/production";

      for (int i = 0; i < WARM_UPS; i++) { // binaries, classes, and the JIT's compiled code of both paths
        run(shop, url, "off");
        run(shop, url, "warn");
      }
      List<Long> without = new ArrayList<>();
      List<Long> with = new ArrayList<>();
      List<Long> added = new ArrayList<>();
      for (int i = 0; i < RUNS; i++) {
        without.add(run(shop, url, "off"));
        with.add(run(shop, url, "warn"));
        added.add(with.get(i) - without.get(i));
      }
      double withoutMs = median(without) / 1e6;
      double withMs = median(with) / 1e6;
      double addedMs = median(added) / 1e6;
      String report = String.format("""
          test-migrate of the 9-file sample, production reachable at V7 (V8 pending), %d warm-up pairs, median of %d
          interleaved pairs
            without the drift check (deploy.driftCheck=off): %8.1f ms   runs %s
            with the drift check (warn):                    %8.1f ms   runs %s
            added, median of the pairs' differences: %.1f ms, %.0f %% of the step without it (medians' difference:
            %.1f ms)
          """, WARM_UPS, RUNS, withoutMs, ms(without), withMs, ms(with), addedMs, 100 * addedMs / withoutMs,
          withMs - withoutMs);
      System.out.println(report);
      Path out = Path.of("it/target/benchmarks/drift.txt");
      Files.createDirectories(out.getParent());
      Files.writeString(out, report);
    }
  }

  private static long run(Migrations shop, String production, String drift) {
    ReleaseBuilder builder = Release.configure().migrations(shop).buildContext(Path.of("."))
        .databaseUrl(production, null, null).driftCheck(drift);
    long start = System.nanoTime();
    ReleaseResult result = builder.load().testMigrate();
    long took = System.nanoTime() - start;
    assertThat(result.testMigration().orElseThrow().applied()).hasSize(9);
    return took;
  }

  private static double median(List<Long> values) {
    List<Long> sorted = values.stream().sorted(Comparator.naturalOrder()).toList();
    return sorted.get(sorted.size() / 2);
  }

  private static List<Long> ms(List<Long> nanos) {
    return nanos.stream().map(n -> n / 1_000_000).toList();
  }
}
