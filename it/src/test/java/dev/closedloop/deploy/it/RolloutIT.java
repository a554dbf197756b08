package dev.closedloop.deploy.it;

import static dev.closedloop.deploy.it.RolloutFixture.map;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.rollout.Rollout;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rollouts to App Runner, ECS and ECS Express after a real release (registry, production
 * database, ledger), against {@link FakeAws} scripted per test: success, rollback, failure,
 * never finishing. What a rollback must leave is checked where it lives: the tag in the
 * registry, the row in the ledger.
 */
class RolloutIT {

  private static final String EXPRESS_ARN = "arn:aws:ecs:us-east-1:123456789012:service/default/shop";

  @TempDir Path work;
  private RolloutFixture fixture;
  private FakeAws aws;

  @BeforeAll
  static void start() {
    // the SDK's chain reads these first; nothing here may ask the EC2 metadata address
    System.setProperty("aws.accessKeyId", "testing");
    System.setProperty("aws.secretAccessKey", "testing");
    System.setProperty("aws.disableEc2Metadata", "true");
  }

  @AfterAll
  static void stop() {
    System.clearProperty("aws.accessKeyId");
    System.clearProperty("aws.secretAccessKey");
  }

  @BeforeEach
  void setUp() throws Exception {
    fixture = new RolloutFixture(work);
    aws = new FakeAws();
  }

  @AfterEach
  void tearDown() {
    aws.close();
  }

  /** A first release without rollout, so latest has a previous digest to go back to. */
  private String firstRelease() throws Exception {
    fixture.release("1", settings -> { });
    return fixture.digest("latest");
  }

  private ReleaseResult releaseTo(String kind, String service, String timeout) throws Exception {
    return fixture.release("2", settings -> settings.rollout(kind).rolloutService(service).rolloutTimeout(timeout)
        .awsEndpoint(aws.endpoint()).awsRegion(FakeAws.REGION));
  }

  // --- an embedder's own rollout

  /** A target of the embedder's own: what the release asked it, and a deployment that rolls back. */
  private static final class OwnRollout implements Rollout {
    final List<String> asked = new java.util.concurrent.CopyOnWriteArrayList<>();
    final AtomicInteger observed = new AtomicInteger();

    @Override
    public String target() {
      return "blue-green pool 7";
    }

    @Override
    public String check() {
      asked.add("check");
      return "pool 7 takes images of the repository";
    }

    @Override
    public Deployment start(Request request) {
      asked.add("start " + request.image().digestValue().orElseThrow());
      return new Deployment("d-1", "deployment d-1");
    }

    @Override
    public Observation observe(Deployment deployment) {
      return observed.incrementAndGet() < 2 ? new Observation(State.IN_PROGRESS, "SHIFTING", null)
          : new Observation(State.ROLLED_BACK, "ROLLED_BACK", "health checks failed");
    }

    @Override
    public java.time.Duration pollInterval(int attempt) {
      return java.time.Duration.ofMillis(50);
    }

    @Override
    public void close() {
      asked.add("closed");
    }
  }

  @Test
  void ownRollout_rolledBack_isFollowedLikeABuiltInTarget_andMovesLatestBack() throws Exception {
    String previous = firstRelease();
    OwnRollout own = new OwnRollout();

    assertThatThrownBy(() -> fixture.release("2", settings -> settings.rollout(own).rolloutTimeout("60s")))
        .isInstanceOfSatisfying(DeployException.class, e -> {
          assertThat(e.kind()).isEqualTo(DeployException.Kind.ROLLOUT);
          assertThat(e.getMessage()).contains("blue-green pool 7 (deployment d-1) rolled back",
              "latest names " + previous + " again");
          assertThat(e.partialResult().orElseThrow().rollout().orElseThrow().outcome())
              .isEqualTo(Rollout.Outcome.ROLLED_BACK);
        });

    String released = own.asked.get(1).substring("start ".length());
    assertThat(released).isNotEqualTo(previous);
    assertThat(own.asked).containsExactly("check", "start " + released, "closed");
    assertThat(fixture.digest("latest")).isEqualTo(previous);
    assertThat(fixture.rollouts().get(1)).containsExactly("failed", "d-1", "rolled_back", "[\"latest\"]");
  }

  // --- App Runner (its deployments are played by AppRunnerSimulator: AppRunnerRolloutIT)

  @Test
  void appRunner_malformedArn_isOneLineAtLoad() {
    assertThatThrownBy(() -> fixture.release("2", settings -> settings.rollout("apprunner")
        .rolloutService("arn:aws:apprunner:us-east-1:123:service/shop")))
        .isInstanceOfSatisfying(DeployException.class, e -> assertThat(e.getMessage()).isEqualTo(
            "rolloutService (deploy.rolloutService) 'arn:aws:apprunner:us-east-1:123:service/shop' is not the App"
                + " Runner service ARN, arn:aws:apprunner:REGION:ACCOUNT:service/NAME/ID"));
    assertThat(aws.calls()).isEmpty();
  }

  // --- ECS

  // (its deployments are played by EcsSimulator: EcsRolloutIT)

  @Test
  void ecs_wrongRegion_findsNoCluster_andNothingIsPromoted() throws Exception {
    String previous = firstRelease();

    assertThatThrownBy(() -> fixture.release("2", settings -> settings.rollout("ecs").rolloutService("prod/shop")
        .awsEndpoint(aws.endpoint()).awsRegion("eu-west-1")))
        .isInstanceOfSatisfying(DeployException.class, e -> assertThat(e.getMessage()).isEqualTo(
            "rolloutService (deploy.rolloutService): ECS service prod/shop does not exist (ClusterNotFoundException):"
                + " check the name and its region"));

    assertThat(fixture.digest("latest")).isEqualTo(previous);
    assertThat(fixture.rollouts()).hasSize(1);
  }

  // --- ECS Express

  private static Object expressService(String... revisionsAndImages) {
    List<Object> active = new java.util.ArrayList<>();
    for (int i = 0; i < revisionsAndImages.length; i += 2) {
      active.add(map("serviceRevisionArn", revisionsAndImages[i], "createdAt", FakeAws.epochSeconds(Instant.now()
          .minusSeconds(100 - i)), "primaryContainer", map("image", revisionsAndImages[i + 1], "containerPort", 8080,
          "environment", List.of(map("name", "MODE", "value", "prod")))));
    }
    return map("service", map("serviceArn", EXPRESS_ARN, "serviceName", "shop", "cluster", "default",
        "status", map("statusCode", "ACTIVE"), "activeConfigurations", active));
  }

  /** The image UpdateExpressGatewayService was given. */
  private volatile String expressImage;

  private void expressService(String oldImage, Function<Integer, Object> then) {
    AtomicInteger described = new AtomicInteger();
    aws.on("DescribeExpressGatewayService", request -> expressImage != null ? then.apply(described.getAndIncrement())
        : expressService("rev-1", oldImage));
    aws.on("UpdateExpressGatewayService", request -> {
      expressImage = request.get("primaryContainer").get("image").asText();
      return map("service", map("serviceArn", EXPRESS_ARN, "targetConfiguration", map("serviceRevisionArn", "rev-2",
          "primaryContainer", request.get("primaryContainer"))));
    });
  }

  @Test
  void ecsExpress_updatesThePrimaryContainersImage_andWaitsForTheOnlyActiveRevision() throws Exception {
    String previous = firstRelease();
    String old = TestServices.registry() + "/" + fixture.repository + "@" + previous;
    expressService(old, call -> switch (call) {
      case 0 -> expressService("rev-1", old);
      case 1 -> expressService("rev-1", old, "rev-2", expressImage);
      default -> expressService("rev-2", expressImage);
    });

    ReleaseResult result = releaseTo("ecs-express", EXPRESS_ARN, "60s");

    JsonNode update = aws.calls("UpdateExpressGatewayService").get(0).body();
    assertThat(update.get("serviceArn").asText()).isEqualTo(EXPRESS_ARN);
    assertThat(update.get("primaryContainer").get("image").asText())
        .isEqualTo(TestServices.registry() + "/" + fixture.repository + "@" + result.image().orElseThrow().digest());
    // the rest of the primary container goes back as it was
    assertThat(update.get("primaryContainer").get("environment").get(0).get("value").asText()).isEqualTo("prod");
    assertThat(update.get("primaryContainer").get("containerPort").asInt()).isEqualTo(8080);
    assertThat(fixture.rollouts().get(1)).containsExactly("succeeded", "rev-2", "succeeded", "[]");
    assertThat(fixture.rolloutLines()).anyMatch(line -> line.contains("active beside 1 older"));
  }

  @Test
  void ecsExpress_canaryRollsBack_asItsServiceDeploymentSays_andLatestMovesBack() throws Exception {
    String previous = firstRelease();
    String old = TestServices.registry() + "/" + fixture.repository + "@" + previous;
    String deployment = "arn:aws:ecs:us-east-1:123456789012:service-deployment/default/shop/d-2";
    // the new revision is never seen among the active ones: only the service deployment tells
    expressService(old, call -> {
      Object described = expressService("rev-1", old);
      ((java.util.Map<String, Object>) ((java.util.Map<?, ?>) described).get("service")).put("currentDeployment",
          deployment);
      return described;
    });
    AtomicInteger asked = new AtomicInteger();
    aws.on("DescribeServiceDeployments", request -> map("serviceDeployments", List.of(map(
        "serviceDeploymentArn", request.get("serviceDeploymentArns").get(0).asText(),
        "targetServiceRevision", map("arn", "rev-2"),
        "status", asked.getAndIncrement() == 0 ? "ROLLBACK_IN_PROGRESS" : "ROLLBACK_SUCCESSFUL",
        "statusReason", "4xx and 5xx responses passed 1 %")), "failures", List.of()));

    assertThatThrownBy(() -> releaseTo("ecs-express", EXPRESS_ARN, "60s"))
        .isInstanceOfSatisfying(DeployException.class, e -> assertThat(e.getMessage())
            .contains("rolled back: ROLLBACK_SUCCESSFUL (4xx and 5xx responses passed 1 %)",
                "latest names " + previous + " again"));
    assertThat(aws.calls("DescribeServiceDeployments").get(0).body().get("serviceDeploymentArns").get(0).asText())
        .isEqualTo(deployment);

    assertThat(fixture.digest("latest")).isEqualTo(previous);
    assertThat(fixture.rollouts().get(1)).containsExactly("failed", "rev-2", "rolled_back", "[\"latest\"]");
  }
}
