package dev.closedloop.deploy;

import dev.closedloop.deploy.database.FlywayMigrator;
import dev.closedloop.deploy.database.MigrationOutcome;
import dev.closedloop.deploy.image.BuiltImage;
import dev.closedloop.deploy.image.DockerEngine;
import dev.closedloop.deploy.image.ImageBuilder;
import dev.closedloop.deploy.image.OciRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The entry point: {@code Release.configure()…load()} then run steps. Each step is keyed by the
 * commit SHA, so running it again after a failure resumes instead of repeating work.
 *
 * <pre>{@code
 * ReleaseResult result = Release.configure()
 *     .image("registry.example.com/team/app")
 *     .buildContext(Path.of("."))
 *     .migrations(Migrations.flyway("classpath:db/migration"))
 *     .listener(System.out::println)
 *     .load()
 *     .buildAndTestMigrate();
 * }</pre>
 */
public final class Release {

  private final ReleaseConfig config;
  private final Events events;

  Release(ReleaseConfig config) {
    this.config = config;
    this.events = new Events(config.listeners());
  }

  public static ReleaseConfig.Builder configure() {
    return new ReleaseConfig.Builder();
  }

  public ReleaseConfig config() {
    return config;
  }

  /** Builds {@code <image>:<sha>} and pushes it, or reuses it when the registry has it. */
  public ReleaseResult build() {
    return run(List.of(Step.BUILD));
  }

  /** Applies every migration to a throwaway database, which is removed afterwards. */
  public ReleaseResult testMigrate() {
    return run(List.of(Step.TEST_MIGRATE));
  }

  /** build, then test-migrate; stops at the first failure. */
  public ReleaseResult buildAndTestMigrate() {
    return run(List.of(Step.BUILD, Step.TEST_MIGRATE));
  }

  private ReleaseResult run(List<Step> steps) {
    List<StepResult> done = new ArrayList<>();
    BuiltImage image = null;
    MigrationOutcome testMigration = null;
    try {
      config.require(steps.toArray(Step[]::new));
      config.warnings().forEach(events::warn);
      for (Step step : steps) {
        switch (step) {
          case BUILD -> image = runStep(step, done, this::buildImage,
              built -> (built.reused() ? "reused " : "pushed ") + built.image() + " (" + built.digest() + ")");
          case TEST_MIGRATE -> testMigration = runStep(step, done, this::migrateThrowaway,
              outcome -> outcome.applied().size() + " migrations applied on " + config.testDatabase().describe()
                  + " in " + outcome.duration().toMillis() + " ms, set " + shortFingerprint(outcome));
          default -> throw new IllegalStateException(step + " is not available yet");
        }
      }
      return new ReleaseResult(done, image, testMigration);
    } catch (DeployException e) {
      throw e.withPartialResult(new ReleaseResult(done, image, testMigration));
    }
  }

  private BuiltImage buildImage() {
    ImageBuilder.validate(config.buildRequest());
    try (DockerEngine engine = DockerEngine.connect(config.dockerHost())) {
      return new ImageBuilder(engine, new OciRegistry(config.registryCredentials()),
          config.registryCredentials(), events).build(config.buildRequest());
    }
  }

  private MigrationOutcome migrateThrowaway() {
    config.migrations().validate();
    events.progress(Step.TEST_MIGRATE, "starting " + config.testDatabase().describe());
    try (var database = config.testDatabase().start(events)) {
      return new FlywayMigrator(config.migrations(), events, Step.TEST_MIGRATE).migrate(database.target());
    }
  }

  private <T> T runStep(Step step, List<StepResult> done, Supplier<T> body, Function<T, String> summary) {
    Events.StepTimer timer = events.start(step);
    try {
      T value = body.get();
      done.add(timer.finished(summary.apply(value)));
      return value;
    } catch (DeployException e) {
      done.add(timer.failed(e.getMessage()));
      throw e;
    } catch (RuntimeException e) {
      String message = step + " failed unexpectedly: " + e;
      done.add(timer.failed(message));
      throw new DeployException(step == Step.BUILD ? DeployException.Kind.DOCKER : DeployException.Kind.DATABASE,
          message, e);
    }
  }

  private static String shortFingerprint(MigrationOutcome outcome) {
    String fingerprint = outcome.set().fingerprint();
    return fingerprint.substring(0, Math.min(fingerprint.length(), "sha256:".length() + 12));
  }
}
