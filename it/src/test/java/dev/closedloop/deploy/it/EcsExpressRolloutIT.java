package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.JsonNode;
import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseBuilder;
import dev.closedloop.deploy.ReleaseEvent;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.Step;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Releases rolled out to {@link EcsExpressSimulator}: a new service revision per release, its
 * canary running for real beside the old one, success and rollback, checked in the registry, the
 * ledger and the revisions left active.
 */
@ExtendWith(TestAwsCredentials.class)
class EcsExpressRolloutIT {

  @TempDir Path work;
  private RolloutFixture fixture;
  private FakeAws aws;
  private EcsExpressSimulator express;

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
    if (express != null) {
      express.close();
    }
    aws.close();
  }

  private void nextImage(boolean healthy) throws IOException {
    Path health = fixture.context.resolve("www/health");
    if (healthy) {
      Files.writeString(health, "ok\n");
    } else {
      Files.deleteIfExists(health);
    }
  }

  private String image(String digest) {
    return TestServices.registry() + "/" + fixture.repository + "@" + digest;
  }

  private String liveService() throws Exception {
    nextImage(true);
    fixture.release("1", settings -> { });
    String live = fixture.digest("latest");
    express = new EcsExpressSimulator(aws, image(live));
    return live;
  }

  private Consumer<ReleaseBuilder> toExpress(String timeout) {
    return settings -> settings.rollout("ecs-express").rolloutService(EcsExpressSimulator.ARN).rolloutTimeout(timeout)
        .awsEndpoint(aws.endpoint()).awsRegion(FakeAws.REGION);
  }

  @Test
  void aHealthyRevision_updatesOnlyThePrimaryContainersImage_andEndsAsTheOnlyActiveOne() throws Exception {
    liveService();

    ReleaseResult result = fixture.release("2", toExpress("60s"));

    String digest = result.image().orElseThrow().digest();
    JsonNode update = aws.calls("UpdateExpressGatewayService").get(0).body();
    assertThat(update.get("serviceArn").asText()).isEqualTo(EcsExpressSimulator.ARN);
    assertThat(update.get("primaryContainer").get("image").asText()).isEqualTo(image(digest));
    // the rest of the primary container goes back as it was
    assertThat(update.get("primaryContainer").get("environment").get(0).get("value").asText()).isEqualTo("prod");
    assertThat(update.get("primaryContainer").get("containerPort").asInt()).isEqualTo(8080);
    assertThat(express.activeImages()).containsExactly(image(digest));
    assertThat(express.deployment(express.currentDeployment()).status).isEqualTo("SUCCESSFUL");
    assertThat(fixture.rollouts().get(1).get(2)).isEqualTo("succeeded");
    assertThat(fixture.digest("latest")).isEqualTo(digest);
  }

  @Test
  void aCanaryThatFailsItsHealthCheck_rollsBack_andLatestGoesToTheRevisionLeftActive() throws Exception {
    String live = liveService();
    nextImage(false);

    DeployException failure = (DeployException) catchThrowable(() -> fixture.release("2", toExpress("60s")));

    assertThat(failure.getMessage()).contains("rolled back: ROLLBACK_SUCCESSFUL (Service deployment rolled back"
        + " because the health checks of the target service revision failed.)", "latest names " + live + " again");
    assertThat(express.activeImages()).containsExactly(image(live));
    assertThat(fixture.digest("latest")).isEqualTo(live);
    assertThat(fixture.rollouts().get(1).subList(2, 4)).containsExactly("rolled_back", "[\"latest\"]");
  }

  @Test
  void accessDenied_whileFollowing_failsAtOnce() throws Exception {
    liveService();
    express.bake = java.time.Duration.ofSeconds(20);

    DeployException failure = (DeployException) catchThrowable(() -> fixture.release("2", settings -> {
      toExpress("10m").accept(settings);
      settings.listener(event -> {
        if (event instanceof ReleaseEvent.Progress p && p.step() == Step.ROLLOUT && p.message().contains("following")) {
          express.deny("DescribeExpressGatewayService");
        }
      });
    }));

    assertThat(failure.getMessage()).contains("could not be followed to its end",
        "allow ecs:DescribeExpressGatewayService");
  }
}
