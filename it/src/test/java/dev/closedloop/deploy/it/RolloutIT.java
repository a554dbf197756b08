package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.rollout.Rollout;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rollouts after a real release (registry, production database, ledger) that need no platform
 * played out: an embedder's own target, and settings refused before any AWS call. The platforms'
 * deployments are played by simulators: AppRunnerRolloutIT, EcsRolloutIT, EcsExpressRolloutIT.
 */
@ExtendWith(TestAwsCredentials.class)
class RolloutIT {

  @TempDir Path work;
  private RolloutFixture fixture;
  private FakeAws aws;

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

  // --- ECS Express (played by EcsExpressSimulator: EcsExpressRolloutIT)
}
