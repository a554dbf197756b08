package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseBuilder;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.rollout.Rollout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Releases rolled out to {@link AppRunnerSimulator}: App Runner's automatic deployments watching
 * the registry, its own clock, operations listed late, real containers asked on their health
 * path, rollbacks, and the deployment a tag moved back starts. What a release must leave is
 * checked where it lives: the tag in the registry, the rows in the ledger, what the service serves.
 */
@ExtendWith(TestAwsCredentials.class)
class AppRunnerRolloutIT {

  @TempDir Path work;
  private RolloutFixture fixture;
  private FakeAws aws;
  private AppRunnerSimulator appRunner;

  @BeforeEach
  void setUp() throws Exception {
    fixture = new RolloutFixture(work);
    aws = new FakeAws();
    Files.createDirectories(fixture.context.resolve("www"));
    fixture.dockerfile("COPY www /www", "ENTRYPOINT [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\", \"-h\","
        + " \"/www\"]");
  }

  @AfterEach
  void tearDown() {
    if (appRunner != null) {
      appRunner.close();
    }
    aws.close();
  }

  /** The next image answers /health with 2xx, or not; and /version with {@code version}. */
  private void nextImage(boolean healthy, String version) throws IOException {
    Path health = fixture.context.resolve("www/health");
    if (healthy) {
      Files.writeString(health, "ok\n");
    } else {
      Files.deleteIfExists(health);
    }
    Files.writeString(fixture.context.resolve("www/version"), version + "\n");
  }

  /** A first release without a rollout, live on the service: the previous version every test goes back to. */
  private String liveService(boolean autoDeploy) throws Exception {
    nextImage(true, "first");
    fixture.release("1", settings -> { });
    appRunner = new AppRunnerSimulator(aws, fixture.repository, "latest");
    appRunner.autoDeploy = autoDeploy;
    return fixture.digest("latest");
  }

  private Consumer<ReleaseBuilder> toAppRunner(String timeout) {
    return settings -> settings.rollout("apprunner").rolloutService(AppRunnerSimulator.ARN).rolloutTimeout(timeout)
        .awsEndpoint(aws.endpoint()).awsRegion(FakeAws.REGION);
  }

  private List<String> started() {
    return aws.calls("StartDeployment").stream().map(call -> call.operation()).toList();
  }

  @Test
  void autoDeploy_healthy_followsTheOperationTheTagMoveStarted_toSuccess() throws Exception {
    liveService(true);
    nextImage(true, "second");

    ReleaseResult result = fixture.release("2", toAppRunner("60s"));

    String digest = result.image().orElseThrow().digest();
    AppRunnerSimulator.Operation operation = appRunner.operations().get(0);
    assertThat(result.rollout()).hasValueSatisfying(rollout -> {
      assertThat(rollout.outcome()).isEqualTo(Rollout.Outcome.SUCCEEDED);
      assertThat(rollout.deployment()).isEqualTo(operation.id);
    });
    assertThat(operation.digest).isEqualTo(digest);
    assertThat(started()).isEmpty();
    assertThat(appRunner.servingDigest()).isEqualTo(digest);
    assertThat(fixture.digest("latest")).isEqualTo(digest);
    assertThat(fixture.rollouts().get(1)).containsExactly("succeeded", operation.id, "succeeded", "[]");
  }

  @Test
  void autoDeploy_unhealthy_rollsBack_latestGoesBack_andTheDeploymentThatMoveStarts_isFollowed() throws Exception {
    String previous = liveService(true);
    nextImage(false, "broken");

    DeployException failure = (DeployException) catchThrowable(() -> fixture.release("2", toAppRunner("90s")));

    assertThat(failure.kind()).isEqualTo(DeployException.Kind.ROLLOUT);
    List<AppRunnerSimulator.Operation> operations = appRunner.operations();
    assertThat(operations).hasSize(2);
    AppRunnerSimulator.Operation bad = operations.get(0);
    AppRunnerSimulator.Operation back = operations.get(1);
    assertThat(bad.status).isEqualTo("ROLLBACK_SUCCEEDED");
    assertThat(back.digest).as("the tag moved back is a new image version: App Runner deploys it")
        .isEqualTo(previous);
    assertThat(back.status).isEqualTo("SUCCEEDED");
    assertThat(failure.getMessage()).contains("rolled back: ROLLBACK_SUCCEEDED", "latest names " + previous
        + " again", "The deployment moving them back started (" + back.id + ") succeeded");
    assertThat(fixture.digest("latest")).isEqualTo(previous);
    assertThat(appRunner.servingDigest()).isEqualTo(previous);
    assertThat(fixture.rollouts().get(1)).containsExactly("failed", bad.id, "rolled_back", "[\"latest\"]");
    assertThat(revert(2)).contains("\"deployment\": \"" + back.id + "\"", "\"outcome\": \"succeeded\"");

    // the service is idle again: the next release is not refused because of the revert
    nextImage(true, "third");
    ReleaseResult next = fixture.release("3", toAppRunner("60s"));
    assertThat(next.rollout().orElseThrow().outcome()).isEqualTo(Rollout.Outcome.SUCCEEDED);
    assertThat(appRunner.servingDigest()).isEqualTo(next.image().orElseThrow().digest());
  }

  @Test
  void appRunnersClock_tenSecondsAhead_orBehind_decidesNothing() throws Exception {
    liveService(true);
    for (Duration skew : List.of(Duration.ofSeconds(10), Duration.ofSeconds(-10))) {
      appRunner.clockOffset = skew;
      nextImage(true, "skew " + skew);

      ReleaseResult result = fixture.release("skew" + skew.toSeconds(), toAppRunner("60s"));

      AppRunnerSimulator.Operation newest = appRunner.operations().get(appRunner.operations().size() - 1);
      assertThat(result.rollout().orElseThrow().deployment()).as("clock %s", skew).isEqualTo(newest.id);
      assertThat(result.rollout().orElseThrow().outcome()).isEqualTo(Rollout.Outcome.SUCCEEDED);
    }
    assertThat(started()).isEmpty();
  }

  @Test
  void anOperationListedLate_isStillTheOneTheMoveStarted_andNoSecondDeploymentIsStarted() throws Exception {
    liveService(true);
    appRunner.listingDelay = Duration.ofSeconds(3);
    nextImage(true, "second");

    ReleaseResult result = fixture.release("2", toAppRunner("60s"));

    assertThat(appRunner.operations()).hasSize(1);
    assertThat(result.rollout().orElseThrow().deployment()).isEqualTo(appRunner.operations().get(0).id);
    assertThat(started()).isEmpty();
  }

  @Test
  void aTagMovedByAnotherRelease_whileOursDeploys_isSuperseded_andTheTagIsLeftToThatRelease() throws Exception {
    String previous = liveService(true);
    appRunner.healthTimeout = Duration.ofSeconds(8);
    nextImage(true, "second");

    DeployException failure = (DeployException) catchThrowable(() -> fixture.release("2", settings -> {
      toAppRunner("90s").accept(settings);
      settings.listener(event -> { // another release moves latest back while ours deploys
        if (event instanceof dev.closedloop.deploy.ReleaseEvent.Progress p && p.step() == dev.closedloop.deploy.Step.ROLLOUT
            && p.message().contains("following")) {
          TestServices.moveTag(fixture.repository, "latest", previous);
        }
      });
    }));

    assertThat(failure.getMessage()).contains("was superseded by another deployment", "latest names " + previous
        + " now", "App Runner deploys that one next");
    assertThat(fixture.digest("latest")).as("left to the release that moved it").isEqualTo(previous);
    assertThat(fixture.rollouts().get(1).get(2)).isEqualTo("superseded");
  }

  @Test
  void anOperationListedAfterTheGrace_whileTheServiceSaysOneRuns_isWaitedFor_notDoubledByStartDeployment()
      throws Exception {
    liveService(true);
    appRunner.listingDelay = Duration.ofSeconds(12); // the grace is a third of 30 s: 10 s
    nextImage(true, "second");

    ReleaseResult result = fixture.release("2", toAppRunner("30s"));

    assertThat(result.rollout().orElseThrow().outcome()).isEqualTo(Rollout.Outcome.SUCCEEDED);
    assertThat(result.rollout().orElseThrow().deployment()).isEqualTo(appRunner.operations().get(0).id);
    assertThat(started()).isEmpty();
  }

  @Test
  void withoutAutoDeploy_startDeploymentDeploysIt() throws Exception {
    String previous = liveService(false);
    nextImage(true, "second");

    ReleaseResult result = fixture.release("2", toAppRunner("60s"));

    assertThat(started()).hasSize(1);
    assertThat(appRunner.operations()).hasSize(1);
    assertThat(result.rollout().orElseThrow().deployment()).isEqualTo(appRunner.operations().get(0).id);
    assertThat(appRunner.servingDigest()).isEqualTo(result.image().orElseThrow().digest()).isNotEqualTo(previous);
  }

  @Test
  void withoutAutoDeploy_aRollback_movesLatestBack_andStartsNoDeploymentOfThePreviousImage() throws Exception {
    String previous = liveService(false);
    nextImage(false, "broken");

    assertThatThrownBy(() -> fixture.release("2", toAppRunner("60s")))
        .hasMessageContaining("rolled back: ROLLBACK_SUCCEEDED").hasMessageContaining("latest names " + previous
            + " again");

    assertThat(started()).hasSize(1);
    assertThat(appRunner.operations()).hasSize(1);
    assertThat(appRunner.servingDigest()).isEqualTo(previous);
  }

  @Test
  void aRoleWithoutListOperations_isRefusedBeforeProductionIsTouched() throws Exception {
    String previous = liveService(true);
    appRunner.deny("ListOperations");
    nextImage(true, "second");

    assertThatThrownBy(() -> fixture.release("2", toAppRunner("60s")))
        .isInstanceOfSatisfying(DeployException.class, e -> assertThat(e.getMessage()).contains("ListOperations of App"
            + " Runner service " + AppRunnerSimulator.ARN + " failed", "allow apprunner:ListOperations"));

    assertThat(fixture.digest("latest")).isEqualTo(previous);
    assertThat(fixture.rollouts()).hasSize(1); // no row: nothing was migrated or promoted
    assertThat(appRunner.operations()).isEmpty();
  }

  @Test
  void listOperationsDenied_afterTheMove_failsAtOnce_notAtTheTimeout() throws Exception {
    liveService(true);
    appRunner.listingDelay = Duration.ofSeconds(2);
    nextImage(true, "second");

    DeployException failure = (DeployException) catchThrowable(() -> fixture.release("2", settings -> {
      toAppRunner("10m").accept(settings);
      settings.listener(event -> { // the role loses the permission once the tag moved
        if (event instanceof dev.closedloop.deploy.ReleaseEvent.Progress p && p.step() == dev.closedloop.deploy.Step.PROMOTE
            && p.message().contains(" -> ")) {
          appRunner.deny("ListOperations");
        }
      });
    }));

    assertThat(failure.getMessage()).contains("allow apprunner:ListOperations");
    assertThat(failure.partialResult().orElseThrow().rollout()).hasValueSatisfying(rollout ->
        assertThat(rollout.outcome()).isEqualTo(Rollout.Outcome.FAILED));
    assertThat(started()).isEmpty();
  }

  @Test
  void throttledListings_areAskedAgain() throws Exception {
    liveService(true);
    nextImage(true, "second");
    appRunner.throttle("ListOperations", 3);

    ReleaseResult result = fixture.release("2", toAppRunner("60s"));

    assertThat(result.rollout().orElseThrow().outcome()).isEqualTo(Rollout.Outcome.SUCCEEDED);
  }

  @Test
  void healthExpect_succeedsOnlyOnceThePublicAddressServesThisRelease() throws Exception {
    liveService(true);
    appRunner.routingDelay = Duration.ofSeconds(4);
    String sha = TestServices.randomSha();
    nextImage(true, sha);

    ReleaseResult result = fixture.release(sha, "2", settings -> toAppRunner("60s").andThen(s -> s
        .healthUrl(appRunner.publicUrl() + "/version").healthExpect(sha)).accept(settings));

    assertThat(result.rollout().orElseThrow().outcome()).isEqualTo(Rollout.Outcome.SUCCEEDED);
    assertThat(fixture.rolloutLines()).anyMatch(line -> line.startsWith("asking " + appRunner.publicUrl()
        + "/version until it answers 2xx with '" + sha + "'"))
        .as("the old version still answered after SUCCEEDED").anyMatch(line -> line.endsWith("/version answered 200"
            + " without '" + sha + "'"));
  }

  @Test
  void aPausedService_isRefusedBeforeProductionIsTouched() throws Exception {
    String previous = liveService(true);
    appRunner.paused = true;

    assertThatThrownBy(() -> fixture.release("2", toAppRunner("60s")))
        .hasMessageContaining("is PAUSED, not RUNNING: it takes no deployment now");
    assertThat(fixture.digest("latest")).isEqualTo(previous);
    assertThat(fixture.rollouts()).hasSize(1);
  }

  @Test
  void unknownService_failsBeforeAnythingChanged() throws Exception {
    String previous = liveService(true);
    String other = AppRunnerSimulator.ARN.replace("8fe1e1", "000000");

    assertThatThrownBy(() -> fixture.release("2", settings -> toAppRunner("60s").andThen(s -> s.rolloutService(other))
        .accept(settings))).isInstanceOfSatisfying(DeployException.class, e -> {
          assertThat(e.kind()).isEqualTo(DeployException.Kind.CONFIGURATION);
          assertThat(e.getMessage()).isEqualTo("rolloutService (deploy.rolloutService): App Runner service " + other
              + " does not exist (ResourceNotFoundException): check the name and its region");
        });
    assertThat(fixture.digest("latest")).isEqualTo(previous);
    assertThat(fixture.rollouts()).hasSize(1);
  }

  @Test
  void neverFinishing_timesOut_leavingTheTags() throws Exception {
    liveService(true);
    appRunner.healthTimeout = Duration.ofSeconds(30);
    nextImage(false, "slow");

    DeployException failure = (DeployException) catchThrowable(() -> fixture.release("2", toAppRunner("4s")));

    assertThat(failure.getMessage()).contains("did not finish within 4s (deploy.rolloutTimeout)",
        "The tags are left as they are");
    String released = failure.partialResult().orElseThrow().image().orElseThrow().digest();
    assertThat(fixture.digest("latest")).isEqualTo(released);
    assertThat(fixture.rollouts().get(1)).containsExactly("failed", appRunner.operations().get(0).id, "timed_out",
        "[]");
    assertThat(fixture.rolloutLines()).noneMatch(line -> line.contains("moved back"));
  }

  @Test
  void aReRunAfterATimeout_thatRollsBack_movesLatestBackToWhereTheFirstAttemptFoundIt() throws Exception {
    String previous = liveService(false);
    appRunner.healthTimeout = Duration.ofSeconds(4);
    nextImage(false, "broken");
    String sha = TestServices.randomSha();
    catchThrowable(() -> fixture.release(sha, "2", toAppRunner("2s")));
    String released = fixture.digest("latest");
    assertThat(released).isNotEqualTo(previous); // timed out: left as it was
    appRunner.awaitIdle(Duration.ofSeconds(30));

    // the same commit again: latest already names its image, so this run moves nothing itself
    assertThatThrownBy(() -> fixture.release(sha, "2", toAppRunner("60s")))
        .hasMessageContaining("latest names " + previous + " again");

    assertThat(fixture.digest("latest")).isEqualTo(previous);
    assertThat(fixture.rollouts().get(2)).containsExactly("failed", appRunner.operations().get(1).id, "rolled_back",
        "[\"latest\"]");
  }

  @Test
  void deployRollback_followsTheDeploymentItsTagMoveStarted() throws Exception {
    String previous = liveService(true);
    nextImage(true, "second");
    fixture.release("2", toAppRunner("60s"));

    ReleaseResult result = fixture.rollback(null, toAppRunner("60s"));

    assertThat(result.rollout().orElseThrow().outcome()).isEqualTo(Rollout.Outcome.SUCCEEDED);
    AppRunnerSimulator.Operation back = appRunner.operations().get(1);
    assertThat(back.digest).isEqualTo(previous);
    assertThat(fixture.digest("latest")).isEqualTo(previous);
    assertThat(appRunner.servingDigest()).isEqualTo(previous);
    assertThat(fixture.rollouts().get(2)).containsExactly("succeeded", back.id, "succeeded", "[]");
  }

  @Test
  void aRollbackToTheImageLiveAlready_whoseRolloutFails_leavesTheTagItDidNotMove() throws Exception {
    liveService(false);
    nextImage(true, "second");
    ReleaseResult live = fixture.release("2", toAppRunner("60s"));
    String digest = live.image().orElseThrow().digest();
    appRunner.deny("StartDeployment");

    assertThatThrownBy(() -> fixture.rollback(live.image().orElseThrow().image().tagValue().orElseThrow(),
        toAppRunner("60s"))).hasMessageContaining("latest named " + digest + " before this rollback: it is left as"
            + " it is");
    assertThat(fixture.digest("latest")).as("not moved back to what that release replaced").isEqualTo(digest);
  }

  @Test
  void maven_deployRelease_rollsOutToAppRunner_andSucceedsOnceThePublicAddressServesTheCommit() throws Exception {
    Path project = TestServices.copyProject("consumer", work);
    Files.createDirectories(project.resolve("www"));
    Files.writeString(project.resolve("www/health"), "ok\n");
    Files.writeString(project.resolve("Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\n"
        + "ENTRYPOINT [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n");
    String repository = fixture.repository;
    java.util.function.BiFunction<String, List<String>, TestServices.Run> release = (sha, more) -> {
      List<String> args = new java.util.ArrayList<>(List.of("-Ddeploy.image=" + TestServices.registry() + "/"
          + repository, "-Ddeploy.sha=" + sha, "-Ddeploy.branch=main", "-Ddeploy.databaseUrl=postgres://postgres@"
          + "127.0.0.1:" + fixture.production.port() + "/" + fixture.production.database()));
      args.addAll(more);
      args.add("deploy:release");
      return TestServices.run(project, java.util.Map.of("AWS_ACCESS_KEY_ID", "testing", "AWS_SECRET_ACCESS_KEY",
          "testing"), TestServices.mvnw(args.toArray(String[]::new)).toArray(String[]::new));
    };
    Files.writeString(project.resolve("www/version"), "first\n");
    TestServices.Run first = release.apply(TestServices.randomSha(), List.of());
    assertThat(first.exitCode()).as(first.output()).isZero();
    appRunner = new AppRunnerSimulator(aws, repository, "latest");
    String sha = TestServices.randomSha();
    Files.writeString(project.resolve("www/version"), sha + "\n");

    TestServices.Run released = release.apply(sha, List.of("-Ddeploy.awsEndpoint=" + aws.endpoint(),
        "-Ddeploy.awsRegion=us-east-1", "-Ddeploy.rollout=apprunner", "-Ddeploy.rolloutService=" + AppRunnerSimulator.ARN,
        "-Ddeploy.rolloutTimeout=2m", "-Ddeploy.healthUrl=" + appRunner.publicUrl() + "/version",
        "-Ddeploy.healthExpect=" + sha));

    assertThat(released.exitCode()).as(released.output()).isZero();
    String operation = appRunner.operations().get(0).id;
    assertThat(released.output()).contains("automatic deployments on", "(operation " + operation + ")",
        "App Runner service " + AppRunnerSimulator.ARN + ": SUCCEEDED", "until it answers 2xx with '" + sha + "'");
    String digest = TestServices.registryDigest(repository, sha).orElseThrow();
    assertThat(TestServices.registryDigest(repository, "latest")).contains(digest);
    assertThat(appRunner.servingDigest()).isEqualTo(digest);
    assertThat(fixture.rollouts().get(1)).isEqualTo(List.of("succeeded", operation, "succeeded", "[]"));
  }

  /** The ledger's rollout_revert of row {@code id}. */
  private String revert(long id) throws Exception {
    try (var c = fixture.production.connect(); var s = c.createStatement();
         var rs = s.executeQuery("SELECT rollout_revert::text FROM closedloop.release_ledger WHERE id = " + id)) {
      return rs.next() ? String.valueOf(rs.getString(1)) : null;
    }
  }
}
