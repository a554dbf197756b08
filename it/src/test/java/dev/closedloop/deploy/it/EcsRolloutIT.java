package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseBuilder;
import dev.closedloop.deploy.ReleaseEvent;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.rollout.Rollout;
import java.io.IOException;
import java.net.InetSocketAddress;
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
 * Releases rolled out to {@link EcsSimulator}: rolling deployments whose tasks run for real,
 * the circuit breaker as configured, a foreign deployment in the middle, refusals. What a release
 * must leave is checked where it lives: the tag in the registry, the row in the ledger, what the
 * service runs.
 */
@ExtendWith(TestAwsCredentials.class)
class EcsRolloutIT {

  @TempDir Path work;
  private RolloutFixture fixture;
  private FakeAws aws;
  private EcsSimulator ecs;

  @BeforeEach
  void setUp() throws Exception {
    fixture = new RolloutFixture(work);
    aws = new FakeAws();
    nextImage(true);
  }

  @AfterEach
  void tearDown() {
    if (ecs != null) {
      ecs.close();
    }
    aws.close();
  }

  /** The next image stays up (a web server), or exits at once as a crashing service does. */
  private void nextImage(boolean staysUp) throws IOException {
    fixture.dockerfile(staysUp ? "ENTRYPOINT [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\"]"
        : "ENTRYPOINT [\"/bin/busybox\", \"false\"]");
  }

  private String image(String digest) {
    return TestServices.registry() + "/" + fixture.repository + "@" + digest;
  }

  /** A first release, running on the service as task definition shop:1 by digest. */
  private String liveService() throws Exception {
    fixture.release("1", settings -> { });
    String live = fixture.digest("latest");
    ecs = new EcsSimulator(aws, image(live));
    return live;
  }

  private Consumer<ReleaseBuilder> toEcs(String timeout) {
    return settings -> settings.rollout("ecs").rolloutService(EcsSimulator.CLUSTER + "/" + EcsSimulator.SERVICE)
        .rolloutTimeout(timeout).awsEndpoint(aws.endpoint()).awsRegion(FakeAws.REGION);
  }

  @Test
  void aHealthyRevision_registeredWithOnlyTheImageChanged_isFollowedToSuccessful() throws Exception {
    liveService();

    ReleaseResult result = fixture.release("2", toEcs("60s"));

    String digest = result.image().orElseThrow().digest();
    JsonNode registered = aws.calls("RegisterTaskDefinition").get(0).body();
    assertThat(registered.get("family").asText()).isEqualTo("shop");
    assertThat(registered.get("cpu").asText()).isEqualTo("256");
    assertThat(registered.get("executionRoleArn").asText()).isEqualTo("arn:aws:iam::123456789012:role/exec");
    assertThat(registered.get("containerDefinitions").get(0).get("image").asText()).isEqualTo(image(digest));
    assertThat(registered.get("containerDefinitions").get(0).get("portMappings").get(0).get("containerPort").asInt())
        .isEqualTo(8080);
    assertThat(registered.get("containerDefinitions").get(1).get("image").asText())
        .isEqualTo("public.ecr.aws/nginx/nginx:1.27");
    JsonNode update = aws.calls("UpdateService").get(0).body();
    assertThat(update.get("cluster").asText()).isEqualTo("prod");
    assertThat(update.get("service").asText()).isEqualTo("shop");
    EcsSimulator.Deployment primary = ecs.primary();
    assertThat(ecs.image(primary.taskDefinition)).isEqualTo(image(digest));
    assertThat(primary.serviceDeploymentStatus).isEqualTo("SUCCESSFUL");
    assertThat(ecs.runningTasks()).as("the old task stopped").isEqualTo(1);
    assertThat(result.rollout().orElseThrow().deployment()).isEqualTo(primary.id);
    assertThat(fixture.rollouts().get(1)).containsExactly("succeeded", primary.id, "succeeded", "[]");
    assertThat(fixture.digest("latest")).isEqualTo(digest);
    assertThat(fixture.rolloutLines()).anyMatch(line -> line.endsWith(": SUCCESSFUL (1/1 running)"));
  }

  @Test
  void aCircuitBreakerRollback_movesLatestToTheImageOfTheTaskDefinitionEcsWentBackTo() throws Exception {
    String running = liveService();
    fixture.release("2", settings -> { }); // latest moves on; the service still runs the first release
    String notRunning = fixture.digest("latest");
    nextImage(false);

    DeployException failure = (DeployException) catchThrowable(() -> fixture.release("3", toEcs("90s")));

    EcsSimulator.Deployment ours = ecs.deployments().get(1);
    assertThat(ours.serviceDeploymentStatus).isEqualTo("ROLLBACK_SUCCESSFUL");
    assertThat(ecs.image(ecs.primary().taskDefinition)).isEqualTo(image(running));
    assertThat(failure.getMessage()).contains("rolled back: ROLLBACK_SUCCESSFUL (rolled back to "
        + ecs.primary().taskDefinition, "latest names " + running + " again");
    assertThat(fixture.digest("latest")).as("what the service runs, not what latest named before")
        .isEqualTo(running).isNotEqualTo(notRunning);
    assertThat(fixture.rollouts().get(2)).containsExactly("failed", ours.id, "rolled_back", "[\"latest\"]");
  }

  @Test
  void aForeignDeployment_inTheMiddle_isSuperseded_notARollback_andTheTagsStay() throws Exception {
    String live = liveService();
    ecs.taskStartup = Duration.ofSeconds(3);
    ecs.foreignImage = image(live);
    ecs.foreignUpdateAfter = Duration.ofMillis(500);

    DeployException failure = (DeployException) catchThrowable(() -> fixture.release("2", toEcs("60s")));

    String released = failure.partialResult().orElseThrow().image().orElseThrow().digest();
    assertThat(failure.getMessage()).contains("was superseded by another deployment", "is PRIMARY",
        "It is not a rollback").doesNotContain("rolled back");
    assertThat(fixture.digest("latest")).isEqualTo(released);
    assertThat(fixture.rollouts().get(1)).containsExactly("failed", ecs.deployments().get(1).id, "superseded", "[]");
  }

  @Test
  void aServiceWithoutTheCircuitBreakersRollback_isRefusedBeforeProductionIsTouched() throws Exception {
    String live = liveService();
    ecs.breakerRollback = false;

    assertThatThrownBy(() -> fixture.release("2", toEcs("60s"))).isInstanceOfSatisfying(DeployException.class, e -> {
      assertThat(e.kind()).isEqualTo(DeployException.Kind.CONFIGURATION);
      assertThat(e.getMessage()).contains("has no deployment circuit breaker with rollback",
          "deploymentConfiguration.deploymentCircuitBreaker (enable=true, rollback=true)", "deploy.ecsWithoutRollback");
    });
    assertThat(fixture.digest("latest")).isEqualTo(live);
    assertThat(fixture.rollouts()).hasSize(1);
    assertThat(aws.calls("UpdateService")).isEmpty();
  }

  @Test
  void withEcsWithoutRollback_aServiceWithoutTheBreaker_isFollowedToItsSteadyState_andItsHealth() throws Exception {
    liveService();
    ecs.breakerEnabled = false;
    HttpServer health = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    health.createContext("/health", exchange -> {
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    health.start();
    try {
      ReleaseResult result = fixture.release("2", settings -> toEcs("60s").andThen(s -> s.ecsWithoutRollback(true)
          .healthUrl("http://127.0.0.1:" + health.getAddress().getPort() + "/health")).accept(settings));

      assertThat(result.rollout().orElseThrow().outcome()).isEqualTo(Rollout.Outcome.SUCCEEDED);
      assertThat(result.rollout().orElseThrow().status()).startsWith("STEADY");
      assertThat(ecs.image(ecs.primary().taskDefinition)).isEqualTo(image(result.image().orElseThrow().digest()));
    } finally {
      health.stop(0);
    }
  }

  @Test
  void withEcsWithoutRollback_aBreakerWithoutRollbackThatTrips_failsAtOnce_andLatestGoesBack() throws Exception {
    String live = liveService();
    ecs.breakerRollback = false;
    nextImage(false);

    DeployException failure = (DeployException) catchThrowable(() -> fixture.release("2", settings -> toEcs("10m")
        .andThen(s -> s.ecsWithoutRollback(true).healthUrl("http://127.0.0.1:9/health")).accept(settings)));

    assertThat(failure.getMessage()).contains("failed: FAILED", "ECS deployment circuit breaker: tasks failed to start",
        "latest names " + live + " again");
    assertThat(fixture.digest("latest")).isEqualTo(live);
    assertThat(ecs.deployments().get(1).serviceDeploymentStatus).isEqualTo("STOPPED");
  }

  @Test
  void blueGreen_andClassicLoadBalancers_areRefusedInOneLine() throws Exception {
    liveService();
    ecs.strategy = "BLUE_GREEN";
    assertThatThrownBy(() -> fixture.release("2", toEcs("60s"))).hasMessage("rolloutService (deploy.rolloutService):"
        + " ECS service prod/shop deploys with the BLUE_GREEN strategy: closedloop follows ROLLING deployments only"
        + " (deploymentConfiguration.strategy)");
    ecs.strategy = "ROLLING";
    ecs.classicLoadBalancer = true;
    assertThatThrownBy(() -> fixture.release("3", toEcs("60s"))).hasMessageContaining("is behind a Classic Load"
        + " Balancer, where ECS reports no rolloutState");
    assertThat(aws.calls("UpdateService")).isEmpty();
  }

  @Test
  void accessDenied_whileFollowing_failsAtOnce_notAtTheTimeout() throws Exception {
    liveService();
    ecs.taskStartup = Duration.ofSeconds(3);

    DeployException failure = (DeployException) catchThrowable(() -> fixture.release("2", settings -> {
      toEcs("10m").accept(settings);
      settings.listener(event -> {
        if (event instanceof ReleaseEvent.Progress p && p.step() == Step.ROLLOUT && p.message().contains("following")) {
          ecs.deny("DescribeServices"); // the role loses the permission mid-rollout
        }
      });
    }));

    assertThat(failure.getMessage()).contains("could not be followed to its end", "these AWS credentials are not"
        + " allowed this call: allow ecs:DescribeServices");
    assertThat(aws.calls("DescribeServices").size()).as("asked once after the denial, not until the timeout")
        .isLessThan(6);
  }

  @Test
  void throttling_isAskedAgain() throws Exception {
    liveService();
    ecs.throttle("DescribeServiceDeployments", 2);

    ReleaseResult result = fixture.release("2", toEcs("60s"));

    assertThat(result.rollout().orElseThrow().outcome()).isEqualTo(Rollout.Outcome.SUCCEEDED);
  }

  @Test
  void anUnknownService_failsBeforeAnythingChanged() throws Exception {
    String live = liveService();

    assertThatThrownBy(() -> fixture.release("2", settings -> toEcs("60s").andThen(s -> s.rolloutService("prod/shop2"))
        .accept(settings))).hasMessage("rolloutService (deploy.rolloutService): ECS service prod/shop2 does not exist"
            + " (MISSING): check the cluster, the service name and the region");
    assertThat(fixture.digest("latest")).isEqualTo(live);
  }

  // --- through Maven

  @Test
  void maven_rejectedCredentials_isOneLine_thenTheSameReleaseRollsOutToEcs() throws Exception {
    Path project = TestServices.copyProject("consumer", work);
    java.nio.file.Files.writeString(project.resolve("Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\n"
        + "ENTRYPOINT [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\"]\n");
    String repository = fixture.repository;
    java.util.function.BiFunction<String, String, TestServices.Run> run = (sha, accessKey) -> TestServices.run(project,
        java.util.Map.of("AWS_ACCESS_KEY_ID", accessKey, "AWS_SECRET_ACCESS_KEY", "testing"),
        TestServices.mvnw("-Ddeploy.image=" + TestServices.registry() + "/" + repository, "-Ddeploy.sha=" + sha,
            "-Ddeploy.branch=main", "-Ddeploy.databaseUrl=postgres://postgres@127.0.0.1:" + fixture.production.port()
                + "/" + fixture.production.database(), "-Ddeploy.awsEndpoint=" + aws.endpoint(),
            "-Ddeploy.awsRegion=us-east-1", "-Ddeploy.rollout=" + (accessKey.isEmpty() ? "none" : "ecs"),
            "-Ddeploy.rolloutService=prod/shop", "-Ddeploy.rolloutTimeout=1m", "deploy:release")
            .toArray(String[]::new));
    TestServices.Run first = run.apply(TestServices.randomSha(), ""); // the version the service runs
    assertThat(first.exitCode()).as(first.output()).isZero();
    ecs = new EcsSimulator(aws, image(TestServices.registryDigest(repository, "latest").orElseThrow()));
    String sha = TestServices.randomSha();
    java.util.function.Function<String, TestServices.Run> release = accessKey -> run.apply(sha, accessKey);

    TestServices.Run rejected = release.apply("REJECTED");

    assertThat(rejected.exitCode()).as(rejected.output()).isEqualTo(1);
    assertThat(rejected.output().lines().filter(l -> l.startsWith("[ERROR] Failed to execute goal")).toList())
        .singleElement().asString().contains("DescribeServices of ECS service prod/shop failed: AWS rejected the"
            + " credentials (UnrecognizedClientException): check the role or keys this build runs with");
    assertThat(rejected.output()).doesNotContain("\tat ");
    assertThat(TestServices.registryDigest(repository, sha)).isEmpty(); // checked before the build began

    TestServices.Run released = release.apply("testing");

    assertThat(released.exitCode()).as(released.output()).isZero();
    EcsSimulator.Deployment primary = ecs.primary();
    assertThat(released.output()).contains("ECS service prod/shop (ACTIVE) runs " + ecs.deployments().get(0)
        .taskDefinition, "ECS service prod/shop: SUCCESSFUL").containsPattern("rollout +succeeded .*ECS service"
            + " prod/shop: succeeded, SUCCESSFUL");
    assertThat(ecs.image(primary.taskDefinition)).isEqualTo(image(TestServices.registryDigest(repository, sha)
        .orElseThrow()));
    assertThat(fixture.rollouts().get(1)).isEqualTo(List.of("succeeded", primary.id, "succeeded", "[]"));
  }
}
