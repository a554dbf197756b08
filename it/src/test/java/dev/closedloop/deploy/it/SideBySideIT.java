package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseEvent;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.StepResult;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.Migrations;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Build and test-migrate run side by side on the real engine, registry and embedded PostgreSQL:
 * when one fails, the other is stopped and leaves nothing behind.
 */
class SideBySideIT {

  private static final Pattern DATA_DIR = Pattern.compile("embedded PostgreSQL on port \\d+, data (\\S+), log ");

  @TempDir Path work;

  private final List<ReleaseEvent> events = new CopyOnWriteArrayList<>();
  private Path context;
  private Path migrations;
  private String repository;
  private String sha;

  @BeforeEach
  void setUp() throws IOException {
    context = Files.createDirectories(work.resolve("context"));
    migrations = Files.createDirectories(work.resolve("migrations"));
    Files.copy(TestServices.busybox(), context.resolve("busybox"));
    repository = "it/side-" + TestServices.randomSha().substring(0, 8);
    sha = TestServices.randomSha();
  }

  private Release release(EphemeralDatabase testDatabase) {
    return Release.configure()
        .image(TestServices.registry() + "/" + repository)
        .sha(sha)
        .buildContext(context)
        .dockerHost(TestServices.dockerHost())
        .migrations(Migrations.flyway("filesystem:" + migrations))
        .testDatabase(testDatabase)
        .listener(events::add)
        .load();
  }

  @Test
  void buildAndTestMigrate_runSideBySide_andBothResultsAreKept() throws IOException {
    Files.writeString(context.resolve("Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\n");
    Files.writeString(migrations.resolve("V1__create_people.sql"), "CREATE TABLE people (id int PRIMARY KEY);\n");

    ReleaseResult result = release(EphemeralDatabase.embedded()).buildAndTestMigrate();

    assertThat(result.steps()).extracting(StepResult::step).containsExactlyInAnyOrder(Step.BUILD, Step.TEST_MIGRATE);
    assertThat(result.steps()).extracting(StepResult::status).containsOnly(StepResult.Status.SUCCEEDED);
    assertThat(TestServices.registryDigest(repository, sha)).contains(result.image().orElseThrow().digest());
    assertThat(result.testMigration().orElseThrow().applied()).hasSize(1);
    // both started before either finished: they really ran side by side
    List<Class<?>> order = events.stream().filter(e -> e instanceof ReleaseEvent.StepStarted
        || e instanceof ReleaseEvent.StepFinished).map(Object::getClass).collect(Collectors.toList());
    assertThat(order).startsWith(ReleaseEvent.StepStarted.class, ReleaseEvent.StepStarted.class);
  }

  @Test
  void whenTheBuildFails_theRunningTestMigrateIsStopped_andLeavesNoServerOrDirectoryBehind() throws IOException {
    // the build fails after two seconds, while the migration still sleeps on the throwaway database
    Files.writeString(context.resolve("Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\n"
        + "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"sleep 2; echo no such package >&2; exit 3\"]\n");
    Files.writeString(migrations.resolve("V1__slow.sql"), "SELECT pg_sleep(120);\n");
    RecordingDatabase database = new RecordingDatabase(EphemeralDatabase.embedded());

    assertThatThrownBy(() -> release(database).buildAndTestMigrate())
        .isInstanceOfSatisfying(DeployException.class, e -> {
          assertThat(e.kind()).isEqualTo(DeployException.Kind.DOCKER);
          assertThat(e.getMessage()).startsWith("docker build of " + context.resolve("Dockerfile") + " failed");
          assertThat(e.partialResult().orElseThrow().steps()).extracting(StepResult::step, StepResult::status)
              .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple(Step.BUILD, StepResult.Status.FAILED),
                  org.assertj.core.groups.Tuple.tuple(Step.TEST_MIGRATE, StepResult.Status.STOPPED));
        });

    assertThat(database.target).as("the throwaway database had started").isNotNull();
    assertThatThrownBy(database.target::connect).as("its server is gone").isInstanceOf(DeployException.class);
    Path dataDir = dataDirectory();
    eventually("no process runs on " + dataDir, () -> ProcessHandle.allProcesses().noneMatch(p ->
        p.info().arguments().map(args -> String.join(" ", args).contains(dataDir.toString())).orElse(false)));
    eventually(dataDir.getParent() + " is deleted", () -> !Files.exists(dataDir.getParent()));
    assertThat(TestServices.registryDigest(repository, sha)).as("nothing was pushed").isEmpty();
  }

  @Test
  void whenTestMigrateFails_theRunningBuildIsStopped_pushesNothing_andLeavesNoContainerBehind() throws IOException {
    Files.writeString(context.resolve("Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\n"
        + "RUN [\"/bin/busybox\", \"sleep\", \"117\"]\n");
    // the migration fails after three seconds, while the build still runs its RUN step
    Files.writeString(migrations.resolve("V1__wait.sql"), "SELECT pg_sleep(3);\n");
    Files.writeString(migrations.resolve("V2__broken.sql"), "CREATE TABLE people (id int PRIMARY KEY;\n");

    assertThatThrownBy(() -> release(EphemeralDatabase.embedded()).buildAndTestMigrate())
        .isInstanceOfSatisfying(DeployException.class, e -> {
          assertThat(e.kind()).isEqualTo(DeployException.Kind.MIGRATION);
          assertThat(e.getMessage()).startsWith("Migration V2__broken.sql failed at line 1: ");
          assertThat(e.partialResult().orElseThrow().steps()).extracting(StepResult::step, StepResult::status)
              .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple(Step.BUILD, StepResult.Status.STOPPED),
                  org.assertj.core.groups.Tuple.tuple(Step.TEST_MIGRATE, StepResult.Status.FAILED));
        });

    assertThat(TestServices.registryDigest(repository, sha)).as("no tag was pushed").isEmpty();
    eventually("the build's container is gone", () -> !TestServices.docker("ps", "-a", "--no-trunc",
        "--format", "{{.Command}}").output().contains("sleep 117"));
    assertThat(TestServices.run(work, "docker", "-H", TestServices.dockerHost(), "image", "inspect",
        TestServices.registry() + "/" + repository + ":" + sha).exitCode()).as("no image was tagged").isNotZero();
  }

  /** The data directory the embedded database reported in its debug event. */
  private Path dataDirectory() {
    for (ReleaseEvent event : events) {
      if (event instanceof ReleaseEvent.Log log) {
        Matcher m = DATA_DIR.matcher(log.message());
        if (m.find()) {
          return Path.of(m.group(1));
        }
      }
    }
    return fail("no embedded PostgreSQL was reported in " + events);
  }

  /** Waits up to 20 s for {@code condition}: cleanup that runs in the background. */
  private static void eventually(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("still not true after 20 s: " + what);
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        fail("interrupted");
      }
    }
  }
}
