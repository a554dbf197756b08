package dev.closedloop.deploy.it;

import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.internal.Events;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * BENCHMARKS.md, row "test database start": a throwaway database from a PostgreSQL image
 * (started, waited for, one query, removed) against the embedded one (the same), interleaved.
 * Not an *IT: it runs only when asked for (see BENCHMARKS.md).
 */
class TestDatabaseBenchmark {

  private static final int RUNS = 5;

  @TempDir Path work;

  @Test
  void imageStart_againstEmbeddedStart() throws Exception {
    EphemeralDatabase image = EphemeralDatabase.docker(ImageRef.parse(PostgresImage.image(work)),
        TestServices.dockerHost());
    EphemeralDatabase embedded = EphemeralDatabase.embedded();
    time(image); // warm-up: classes, the engine's image cache, the embedded template
    time(embedded);
    List<Long> fromImage = new ArrayList<>();
    List<Long> fromBinaries = new ArrayList<>();
    for (int i = 0; i < RUNS; i++) {
      fromImage.add(time(image));
      fromBinaries.add(time(embedded));
    }
    double imageMs = median(fromImage) / 1e6;
    double embeddedMs = median(fromBinaries) / 1e6;
    String report = String.format("""
        throwaway database start to first query to removal, median of %d, interleaved
          %s container:  %8.1f ms   runs %s
          embedded PostgreSQL:  %8.1f ms   runs %s
          ratio image / embedded: %.1fx
        """, RUNS, PostgresImage.image(work), imageMs, ms(fromImage), embeddedMs, ms(fromBinaries),
        imageMs / embeddedMs);
    System.out.println(report);
    Path out = Path.of("it/target/benchmarks/test-database.txt");
    Files.createDirectories(out.getParent());
    Files.writeString(out, report);
  }

  private static long time(EphemeralDatabase database) throws Exception {
    long start = System.nanoTime();
    try (EphemeralDatabase.Instance instance = database.start(Events.none());
         Connection c = instance.target().connect()) {
      c.createStatement().execute("SELECT 1");
    }
    return System.nanoTime() - start;
  }

  private static double median(List<Long> values) {
    List<Long> sorted = values.stream().sorted(Comparator.naturalOrder()).toList();
    return sorted.get(sorted.size() / 2);
  }

  private static List<Long> ms(List<Long> nanos) {
    return nanos.stream().map(n -> n / 1_000_000).toList();
  }
}
