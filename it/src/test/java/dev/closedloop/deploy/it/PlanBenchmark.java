package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.report.Plan;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * BENCHMARKS.md, row "plan": {@code Release.plan()} with production and the registry reachable,
 * against the floor any plan pays, one production connection with a query and the registry asked
 * for each tag. Not an *IT: it runs only when asked for (see BENCHMARKS.md).
 */
class PlanBenchmark {

  private static final int RUNS = 5;

  @TempDir Path work;

  @Test
  void plan_againstOneConnectionAndTheRegistryCalls() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    fixture.release("1", settings -> { });
    Files.writeString(work.resolve("migrations/V2__add_body.sql"), "ALTER TABLE notes ADD COLUMN body text;\n");
    String sha = TestServices.randomSha();

    List<Long> plan = new ArrayList<>();
    for (int i = -1; i < RUNS; i++) { // i = -1: warm-up, loads the classes once
      long start = System.nanoTime();
      Plan made = Release.configure()
          .image(TestServices.registry() + "/" + fixture.repository)
          .sha(sha)
          .buildContext(fixture.context)
          .dockerHost(TestServices.dockerHost())
          .migrations(Migrations.flyway("filesystem:" + work.resolve("migrations")))
          .databaseUrl("postgres://postgres@127.0.0.1:" + fixture.production.port() + "/"
              + fixture.production.database(), null, null)
          .branch("main")
          .forPlan(true)
          .load()
          .plan();
      if (i >= 0) {
        plan.add(System.nanoTime() - start);
      }
      assertThat(made.blockers()).isEmpty();
      assertThat(made.unknowns()).isEmpty();
    }

    List<Long> floor = new ArrayList<>();
    DatabaseTarget production = fixture.production;
    for (int i = -1; i < RUNS; i++) {
      long start = System.nanoTime();
      try (Connection c = production.connect(); Statement s = c.createStatement();
           ResultSet rs = s.executeQuery("SELECT count(*) FROM flyway_schema_history")) {
        rs.next();
      }
      TestServices.registryDigest(fixture.repository, sha);
      TestServices.registryDigest(fixture.repository, "latest");
      if (i >= 0) {
        floor.add(System.nanoTime() - start);
      }
    }

    double planMs = median(plan) / 1e6;
    double floorMs = median(floor) / 1e6;
    String report = String.format("""
        plan of a release with one migration pending, production and registry reachable, median of %d
          closedloop Release.plan():                          %8.1f ms   runs %s
          floor: one connection + query, two registry HEADs:  %8.1f ms   runs %s
          ratio plan / floor: %.1fx
        """, RUNS, planMs, ms(plan), floorMs, ms(floor), planMs / floorMs);
    System.out.println(report);
    Path out = TestServices.root().resolve("it/target/benchmarks/plan.txt");
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
}
