package dev.closedloop.deploy.it.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.StepResult;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.database.ProductionDatabase;
import dev.closedloop.deploy.guard.LedgerStatus;
import dev.closedloop.deploy.guard.LockMode;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.guard.ReleaseLedger;
import dev.closedloop.deploy.internal.guard.ReleaseLock;
import dev.closedloop.deploy.internal.image.OciRegistry;
import dev.closedloop.deploy.internal.image.Promoter;
import dev.closedloop.deploy.internal.step.BuildStep;
import dev.closedloop.deploy.internal.step.MigrateStep;
import dev.closedloop.deploy.internal.step.PromoteStep;
import dev.closedloop.deploy.internal.step.RunContext;
import dev.closedloop.deploy.internal.step.StepRunner;
import dev.closedloop.deploy.internal.step.TestMigrateStep;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * BENCHMARKS.md rows "promote", "lock hand-off", "lock load", "re-run" and "side by side". Not *IT classes: they run only
 * when asked for (see BENCHMARKS.md). Each writes its table to it/target/benchmarks/.
 */
class ReleaseBenchmark {

  private static final int RUNS = 5;
  private static final String MANIFEST_TYPES = "application/vnd.docker.distribution.manifest.v2+json,"
      + " application/vnd.oci.image.manifest.v1+json";

  @TempDir Path work;

  @Test
  void promote_againstPullTagPush_skopeo_andTwoBareHttpCalls() throws Exception {
    String registry = env("CLOSEDLOOP_REGISTRY");
    String repository = "bench/promote-" + UUID.randomUUID().toString().substring(0, 8);
    String sha = "ab".repeat(20);
    String digest = buildLargeImage(registry + "/" + repository, sha, 100);

    try (ByteCountingProxy proxy = new ByteCountingProxy(registry)) {
      String via = proxy.address();
      ImageRef repo = ImageRef.parse(via + "/" + repository);
      List<long[]> closedloop = new ArrayList<>();
      List<long[]> bare = new ArrayList<>();
      List<long[]> skopeo = new ArrayList<>();
      List<long[]> shell = new ArrayList<>();
      for (int i = 0; i < RUNS; i++) {
        closedloop.add(measure(proxy, () -> new Promoter(OciRegistry.anonymous(), Events.none())
            .promote(repo, digest, List.of("cl-" + UUID.randomUUID().toString().substring(0, 6)))));
        bare.add(measure(proxy, () -> {
          HttpClient http = HttpClient.newHttpClient(); // a fresh connection, like closedloop's per run
          HttpResponse<byte[]> manifest = http.send(HttpRequest.newBuilder(
              URI.create("http://" + via + "/v2/" + repository + "/manifests/" + digest))
              .header("Accept", MANIFEST_TYPES).build(), HttpResponse.BodyHandlers.ofByteArray());
          HttpResponse<Void> put = http.send(HttpRequest.newBuilder(URI.create("http://" + via + "/v2/" + repository
              + "/manifests/bare-" + UUID.randomUUID().toString().substring(0, 6)))
              .header("Content-Type", manifest.headers().firstValue("Content-Type").orElseThrow())
              .PUT(HttpRequest.BodyPublishers.ofByteArray(manifest.body())).build(), HttpResponse.BodyHandlers.discarding());
          assertThat(put.statusCode()).isEqualTo(201);
        }));
        skopeo.add(measure(proxy, () -> command("skopeo", "copy", "--quiet", "--src-tls-verify=false",
            "--dest-tls-verify=false", "docker://" + via + "/" + repository + "@" + digest,
            "docker://" + via + "/" + repository + ":sk-" + UUID.randomUUID().toString().substring(0, 6))));
        // the shell way, into an empty image store: nothing of the image is local before the pull
        docker("rmi", "-f", imageId(registry + "/" + repository + ":" + sha));
        docker("image", "prune", "-f");
        String tag = "sh-" + UUID.randomUUID().toString().substring(0, 6);
        shell.add(measure(proxy, () -> {
          docker("pull", "-q", via + "/" + repository + ":" + sha);
          docker("tag", via + "/" + repository + ":" + sha, via + "/" + repository + ":" + tag);
          docker("push", "-q", via + "/" + repository + ":" + tag);
        }));
        docker("pull", "-q", registry + "/" + repository + ":" + sha); // for the next round's rmi
      }
      String report = String.format("""
          promote one tag of a %d MB image on the local registry, median of %d (wall ms, bytes sent, bytes received)
            closedloop promote (HEAD, GET, PUT, HEAD):  %8.1f ms  %10d B sent  %12d B received
            two bare HTTP calls (GET, PUT):              %8.1f ms  %10d B sent  %12d B received
            skopeo copy:                                 %8.1f ms  %10d B sent  %12d B received
            docker pull + tag + push (empty store):      %8.1f ms  %10d B sent  %12d B received
            pull/tag/push / closedloop: %.1fx   skopeo / closedloop: %.1fx   closedloop / bare HTTP: %.2fx
          """, 100, RUNS,
          medianMs(closedloop), median(closedloop, 1), median(closedloop, 2),
          medianMs(bare), median(bare, 1), median(bare, 2),
          medianMs(skopeo), median(skopeo, 1), median(skopeo, 2),
          medianMs(shell), median(shell, 1), median(shell, 2),
          medianMs(shell) / medianMs(closedloop), medianMs(skopeo) / medianMs(closedloop),
          medianMs(closedloop) / medianMs(bare));
      write("promote.txt", report);
    }
  }

  @Test
  void lockHandOff_againstABareBlockingAdvisoryLock() throws Exception {
    try (EphemeralDatabase.Instance production = EphemeralDatabase.embedded().start(Events.none())) {
      DatabaseTarget target = production.target();
      ReleaseLedger ledger = new ReleaseLedger("closedloop", "release_ledger");
      try (Connection c = target.connect()) {
        ledger.ensure(c);
      }
      List<long[]> ours = new ArrayList<>();
      List<long[]> bare = new ArrayList<>();
      for (int i = -1; i < 10; i++) { // i = -1: warm-up
        long[] handOff = {handOff(target, ledger, "handoff-" + i)};
        long[] bareHandOff = {bareHandOff(target, 4242 + i)};
        if (i >= 0) {
          ours.add(handOff);
          bare.add(bareHandOff);
        }
      }
      String report = String.format("""
          lock hand-off: from the running release's unlock to the waiting one holding the lock, median of 10
            closedloop release lock (ledger queue, blocking wait): %6.1f ms  runs %s
            bare blocking pg_advisory_lock (server wake-up):       %6.1f ms  runs %s
            ratio: %.1fx
          """, median(ours, 0) / 1e6, millis(ours), median(bare, 0) / 1e6, millis(bare),
          (double) median(ours, 0) / median(bare, 0));
      write("lock-handoff.txt", report);
    }
  }

  @Test
  void waiters_loadOnProduction_withNoneOneAndTenWaiting() throws Exception {
    try (EphemeralDatabase.Instance production = EphemeralDatabase.embedded().start(Events.none())) {
      DatabaseTarget target = production.target();
      ReleaseLedger ledger = new ReleaseLedger("closedloop", "release_ledger");
      try (Connection c = target.connect()) {
        ledger.ensure(c);
      }
      StringBuilder report = new StringBuilder("load on production while releases wait for the lock (queue mode),"
          + " transactions per second on the server over 10 s of waiting\n");
      double one = 0;
      for (int waiters : new int[] {0, 1, 10}) {
        double tps = waitingLoad(target, ledger, "load-" + waiters, waiters, Duration.ofSeconds(10));
        if (waiters == 1) {
          one = tps;
        }
        report.append(String.format("  %2d waiting: %6.1f transactions/s%s%n", waiters, tps,
            waiters == 10 ? String.format("  (%.1fx the load of one waiter)", tps / one) : ""));
      }
      write("lock-load.txt", report.toString());
    }
  }

  /** Transactions per second on the server while {@code waiters} releases wait behind a holder. */
  private static double waitingLoad(DatabaseTarget target, ReleaseLedger ledger, String service, int waiters,
      Duration window) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, waiters));
    try (Connection holder = target.connect(); Connection probe = target.connect()) {
      long held = ledger.enqueue(holder, new ReleaseLedger.Attempt(service, "holder", "main", false, null, null));
      ReleaseLock lock = new ReleaseLock(holder, ledger, service, Events.none());
      lock.acquire(held, LockMode.QUEUE, Duration.ofSeconds(5));
      List<Future<?>> waiting = new ArrayList<>();
      for (int i = 0; i < waiters; i++) {
        String sha = "waiter" + i;
        waiting.add(pool.submit(() -> {
          try (Connection c = target.connect()) {
            long id = ledger.enqueue(c, new ReleaseLedger.Attempt(service, sha, "main", false, null, null));
            try (ReleaseLock mine = new ReleaseLock(c, ledger, service, Events.none())) {
              mine.acquire(id, LockMode.QUEUE, Duration.ofMinutes(1));
              ledger.advance(c, id, LedgerStatus.SUCCEEDED, null);
            }
          }
          return null;
        }));
      }
      Thread.sleep(2000); // all are waiting
      long before = transactions(probe);
      Thread.sleep(window.toMillis());
      long after = transactions(probe);
      ledger.advance(holder, held, LedgerStatus.SUCCEEDED, null);
      lock.close();
      for (Future<?> f : waiting) {
        f.get();
      }
      return (after - before - 1) / (double) window.toSeconds(); // less the probe's own first read
    } finally {
      pool.shutdownNow();
    }
  }

  private static long transactions(Connection probe) throws Exception {
    try (Statement s = probe.createStatement(); java.sql.ResultSet rs = s.executeQuery(
        "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()")) {
      rs.next();
      long value = rs.getLong(1);
      s.execute("SELECT pg_stat_clear_snapshot()");
      return value;
    }
  }

  @Test
  void reRun_ofAFinishedRelease_againstItsFirstRun() throws Exception {
    String registry = env("CLOSEDLOOP_REGISTRY");
    String image = registry + "/bench/rerun-" + UUID.randomUUID().toString().substring(0, 8);
    Path context = largeContext(100);
    try (EphemeralDatabase.Instance server = EphemeralDatabase.embedded().start(Events.none())) {
      List<Long> first = new ArrayList<>();
      List<Long> again = new ArrayList<>();
      for (int i = 0; i < RUNS; i++) {
        Files.writeString(context.resolve("run.txt"), "run " + i + " " + UUID.randomUUID()); // a new commit's content
        String sha = UUID.randomUUID().toString().replace("-", "") + "00000000";
        String database = "rerun_" + i;
        try (Connection c = server.target().connect(); Statement s = c.createStatement()) {
          s.execute("CREATE DATABASE " + database);
        }
        ProductionDatabase production = ProductionDatabase.at(DatabaseTarget.of(
            "jdbc:postgresql://127.0.0.1:" + server.target().port() + "/" + database, "postgres", null));
        long start = System.nanoTime();
        ReleaseResult result = release(image, sha, context, production);
        first.add(System.nanoTime() - start);
        assertThat(result.succeeded()).isTrue();
        start = System.nanoTime();
        release(image, sha, context, production);
        again.add(System.nanoTime() - start);
      }
      double firstMs = medianOf(first) / 1e6;
      double againMs = medianOf(again) / 1e6;
      String report = String.format("""
          re-run of a finished release with the same SHA (100 MB image, 9 migrations), median of %d
            first run (build + push, test-migrate, migrate, promote): %8.1f ms  runs %s
            re-run (image reused, nothing to migrate, tag in place):  %8.1f ms  runs %s
            re-run / first run: %.0f %%
          """, RUNS, firstMs, first.stream().map(n -> n / 1_000_000).toList(), againMs,
          again.stream().map(n -> n / 1_000_000).toList(), 100 * againMs / firstMs);
      write("rerun.txt", report);
    }
  }

  @Test
  void sideBySide_releaseWallTime_againstTheSequentialOrder() throws Exception {
    StringBuilder report = new StringBuilder();
    for (int megabytes : new int[] {1, 30}) { // a build as short as test-migrate, and one that dominates
      report.append(sideBySide(megabytes));
    }
    write("side-by-side.txt", report.toString());
  }

  private String sideBySide(int megabytes) throws Exception {
    String registry = env("CLOSEDLOOP_REGISTRY");
    String image = registry + "/bench/side-" + UUID.randomUUID().toString().substring(0, 8);
    Path context = largeContext(megabytes);
    try (EphemeralDatabase.Instance server = EphemeralDatabase.embedded().start(Events.none())) {
      List<Long> together = new ArrayList<>();
      List<Long> inOrder = new ArrayList<>();
      List<Long> bound = new ArrayList<>();
      List<Long> sums = new ArrayList<>();
      for (int i = -1; i < RUNS; i++) { // i = -1: warm-up
        for (boolean sideBySide : new boolean[] {i % 2 == 0, i % 2 != 0}) { // alternate which goes first
          Files.writeString(context.resolve("run.txt"), UUID.randomUUID().toString()); // a new commit's content
          String sha = UUID.randomUUID().toString().replace("-", "") + "00000000";
          String database = "side_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
          try (Connection c = server.target().connect(); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + database);
          }
          ProductionDatabase production = ProductionDatabase.at(DatabaseTarget.of(
              "jdbc:postgresql://127.0.0.1:" + server.target().port() + "/" + database, "postgres", null));
          Release release = Release.configure().image(image).sha(sha).buildContext(context)
              .migrations(Migrations.flyway("classpath:db/migration")).productionDatabase(production)
              .branch("main").load();
          long start = System.nanoTime();
          List<StepResult> steps = sideBySide ? release.release().steps() : inOrder(release);
          long wall = System.nanoTime() - start;
          if (i < 0) {
            continue;
          }
          Map<Step, Long> took = new java.util.EnumMap<>(Step.class);
          steps.forEach(step -> took.put(step.step(), step.duration().toNanos()));
          assertThat(took).containsOnlyKeys(Step.BUILD, Step.TEST_MIGRATE, Step.MIGRATE, Step.PROMOTE);
          if (sideBySide) {
            together.add(wall);
            bound.add(Math.max(took.get(Step.BUILD), took.get(Step.TEST_MIGRATE)) + took.get(Step.MIGRATE)
                + took.get(Step.PROMOTE));
            sums.add(took.values().stream().mapToLong(Long::longValue).sum());
          } else {
            inOrder.add(wall);
          }
        }
      }
      double togetherMs = medianOf(together) / 1e6;
      double inOrderMs = medianOf(inOrder) / 1e6;
      double boundMs = medianOf(bound) / 1e6;
      double sumMs = medianOf(sums) / 1e6;
      return String.format("""
          release of a %d MB image and the 9 sample migrations, each run a new commit, median of %d
            build and test-migrate side by side (release()):      %8.1f ms  runs %s
            the old sequential order (same steps, one at a time): %8.1f ms  runs %s
            side by side, sum of its steps:                       %8.1f ms
            side by side, max(build, test-migrate) + migrate + promote: %8.1f ms
            sequential / side by side: %.2fx;  wall / bound: %.2f (target <= 1.10)
          """, megabytes, RUNS, togetherMs, millisOf(together), inOrderMs, millisOf(inOrder), sumMs, boundMs,
          inOrderMs / togetherMs, togetherMs / boundMs);
    }
  }

  /** The four steps one after another in one process, as releases ran before they ran side by side. */
  private static List<StepResult> inOrder(Release release) {
    try (RunContext context = new RunContext(release.config(), Events.none())) {
      new StepRunner(context).run(List.of(StepRunner.Stage.of(new BuildStep()), StepRunner.Stage.of(new TestMigrateStep()),
          StepRunner.Stage.of(new MigrateStep()), StepRunner.Stage.of(new PromoteStep())));
      return context.state().results();
    }
  }

  private static List<Long> millisOf(List<Long> nanos) {
    return nanos.stream().map(n -> n / 1_000_000).toList();
  }

  private static ReleaseResult release(String image, String sha, Path context, ProductionDatabase production) {
    return Release.configure().image(image).sha(sha).buildContext(context)
        .migrations(Migrations.flyway("classpath:db/migration")).productionDatabase(production)
        .branch("main").load().release();
  }

  /** From the holder's unlock returning to the waiter's acquire returning. */
  private static long handOff(DatabaseTarget target, ReleaseLedger ledger, String service) throws Exception {
    try (Connection holder = target.connect(); Connection waiter = target.connect()) {
      long held = ledger.enqueue(holder, new ReleaseLedger.Attempt(service, "a", "main", false, null, null));
      ReleaseLock holding = new ReleaseLock(holder, ledger, service, Events.none());
      holding.acquire(held, LockMode.QUEUE, Duration.ofSeconds(5));
      ledger.advance(holder, held, LedgerStatus.RUNNING, null);
      long waiting = ledger.enqueue(waiter, new ReleaseLedger.Attempt(service, "b", "main", false, null, null));
      CompletableFuture<Long> acquired = CompletableFuture.supplyAsync(() -> {
        new ReleaseLock(waiter, ledger, service, Events.none()).acquire(waiting, LockMode.QUEUE, Duration.ofSeconds(10));
        return System.nanoTime();
      });
      Thread.sleep(300); // the waiter is polling
      ledger.advance(holder, held, LedgerStatus.SUCCEEDED, null);
      holding.close();
      long released = System.nanoTime();
      return acquired.get() - released;
    }
  }

  private static long bareHandOff(DatabaseTarget target, int key) throws Exception {
    try (Connection holder = target.connect(); Connection waiter = target.connect()) {
      try (Statement s = holder.createStatement()) {
        s.execute("SELECT pg_advisory_lock(" + key + ")");
      }
      CompletableFuture<Long> acquired = CompletableFuture.supplyAsync(() -> {
        try (Statement s = waiter.createStatement()) {
          s.execute("SELECT pg_advisory_lock(" + key + ")");
          return System.nanoTime();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      Thread.sleep(300);
      try (Statement s = holder.createStatement()) {
        s.execute("SELECT pg_advisory_unlock(" + key + ")");
      }
      long released = System.nanoTime();
      return acquired.get() - released;
    }
  }

  private String buildLargeImage(String image, String sha, int megabytes) throws IOException {
    return Release.configure().image(image).sha(sha).buildContext(largeContext(megabytes)).load().build()
        .image().orElseThrow().digest();
  }

  private Path largeContext(int megabytes) throws IOException {
    Path context = Files.createDirectories(work.resolve("context-" + UUID.randomUUID()));
    Files.copy(Path.of("/bin/busybox"), context.resolve("busybox"));
    byte[] chunk = new byte[1024 * 1024];
    Random random = new Random(42);
    try (OutputStream out = Files.newOutputStream(context.resolve("payload.bin"))) {
      for (int i = 0; i < megabytes; i++) {
        random.nextBytes(chunk); // incompressible, like a real application's layers
        out.write(chunk);
      }
    }
    Files.writeString(context.resolve("run.txt"), "");
    Files.writeString(context.resolve("Dockerfile"), "FROM scratch\nCOPY busybox payload.bin run.txt /\n");
    return context;
  }

  private interface Work {
    void run() throws Exception;
  }

  /** {nanos, bytes sent, bytes received} through the proxy. */
  private static long[] measure(ByteCountingProxy proxy, Work work) throws Exception {
    Thread.sleep(200); // let the previous round's connections close and be counted
    proxy.reset();
    long start = System.nanoTime();
    work.run();
    long nanos = System.nanoTime() - start;
    Thread.sleep(200);
    return new long[] {nanos, proxy.sent.get(), proxy.received.get()};
  }

  private static long median(List<long[]> runs, int index) {
    List<Long> sorted = runs.stream().map(r -> r[index]).sorted(Comparator.naturalOrder()).toList();
    return sorted.get(sorted.size() / 2);
  }

  private static double medianMs(List<long[]> runs) {
    return median(runs, 0) / 1e6;
  }

  private static long medianOf(List<Long> values) {
    List<Long> sorted = values.stream().sorted().toList();
    return sorted.get(sorted.size() / 2);
  }

  private static List<Long> millis(List<long[]> runs) {
    return runs.stream().map(r -> r[0] / 100_000 / 10).toList();
  }

  private static String imageId(String ref) throws Exception {
    return command("docker", "-H", env("DOCKER_HOST"), "image", "inspect", "--format", "{{.Id}}", ref).strip();
  }

  private static void docker(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("docker", "-H", env("DOCKER_HOST")));
    command.addAll(List.of(args));
    command(command.toArray(String[]::new));
  }

  private static String command(String... command) throws Exception {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes());
    assertThat(process.waitFor()).as(String.join(" ", command) + ": " + output).isZero();
    return output;
  }

  private static String env(String name) {
    String value = System.getenv(name);
    assertThat(value).as(name + " (run through scripts/services run)").isNotBlank();
    return value;
  }

  private static void write(String name, String report) throws IOException {
    System.out.println(report);
    Path out = Path.of("it/target/benchmarks").resolve(name);
    Files.createDirectories(out.getParent());
    Files.writeString(out, report);
  }
}
