package dev.closedloop.deploy.internal.step;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.image.BuiltImage;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.TagMove;
import dev.closedloop.deploy.rollout.Rollout;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.awscore.exception.AwsServiceException;

/**
 * The rollout step's contract over an in-memory registry and production, with a target scripted
 * per test: what ends the watch at once, where the tags go back to, what the ledger holds before
 * they move, the deployment a move back starts, and the public address as the last word.
 */
class RolloutStepTest {

  private static final ImageRef REPOSITORY = ImageRef.parse("registry.example.com/shop");

  @TempDir Path dir;

  /** A target whose observations are scripted: each call of observe() takes the next, the last one repeats. */
  private static final class ScriptedRollout implements Rollout {
    final List<String> calls = new CopyOnWriteArrayList<>();
    final List<Supplier<Observation>> script = new ArrayList<>();
    /** What reverted() returns, and the observations of that deployment. */
    Deployment revertDeployment;
    final List<Supplier<Observation>> revertScript = new ArrayList<>();
    private int observed;
    private int revertObserved;
    /** When set, the target refuses the deployment. */
    boolean refuseStart;

    ScriptedRollout then(Supplier<Observation> next) {
      script.add(next);
      return this;
    }

    @Override
    public String target() {
      return "pool 7";
    }

    @Override
    public String check() {
      return "pool 7 is there";
    }

    @Override
    public void beforeTagMove() {
      calls.add("before tag move");
    }

    @Override
    public Deployment start(Request request) {
      calls.add("start " + request.image().digestValue().orElseThrow());
      if (refuseStart) {
        throw new DeployException(DeployException.Kind.AWS, "StartDeployment of pool 7 failed: InvalidStateException");
      }
      return new Deployment("d-1", "deployment d-1");
    }

    @Override
    public Optional<Deployment> reverted(Request request) {
      calls.add("reverted to " + request.image().digestValue().orElseThrow());
      return Optional.ofNullable(revertDeployment);
    }

    @Override
    public Observation observe(Deployment deployment) {
      calls.add("observe " + deployment.id());
      if (deployment.id().equals("d-1")) {
        return script.get(Math.min(observed++, script.size() - 1)).get();
      }
      return revertScript.get(Math.min(revertObserved++, revertScript.size() - 1)).get();
    }

    @Override
    public Duration pollInterval(int attempt) {
      return Duration.ofMillis(20);
    }
  }

  private record Run(StepFixture fixture, String previous, String built, RolloutStep.Ended ended) {
    String latest() {
      return fixture.registry.tags.get(REPOSITORY.name() + ":latest");
    }

    DeployException failure() {
      return ended.failure();
    }
  }

  /** A release whose promote moved latest from a previous image to the built one, then the rollout step. */
  private Run rollOut(ScriptedRollout rollout, java.util.function.Consumer<StepFixture> before,
      java.util.function.Consumer<dev.closedloop.deploy.ReleaseBuilder> settings) {
    StepFixture fixture = new StepFixture(dir, builder -> {
      builder.rollout(rollout).rolloutTimeout("20s");
      settings.accept(builder);
    });
    String previous = fixture.registry.push("the image live before");
    String built = fixture.registry.push("the image this release built");
    fixture.registry.putManifest(REPOSITORY, "latest", fixture.registry.manifests.get(built));
    before.accept(fixture);
    try (RunContext context = fixture.context(null)) {
      context.state().put(PromoteStep.PROMOTED, new PromoteStep.Promotion(List.of(new TagMove("latest", previous,
          built, true)), Instant.now(), new BuiltImage(REPOSITORY.withTag(StepFixture.SHA), built, List.of(), false),
          null));
      return new Run(fixture, previous, built, new RolloutStep().run(context));
    }
  }

  private Run rollOut(ScriptedRollout rollout) {
    return rollOut(rollout, fixture -> { }, builder -> { });
  }

  private static Supplier<Rollout.Observation> state(Rollout.State state, String status) {
    return () -> new Rollout.Observation(state, status, null);
  }

  private static Supplier<Rollout.Observation> fails(DeployException e) {
    return () -> {
      throw e;
    };
  }

  private static DeployException aws(String code, int status) {
    AwsServiceException cause = AwsServiceException.builder().statusCode(status)
        .awsErrorDetails(AwsErrorDetails.builder().errorCode(code).errorMessage(code).build()).build();
    return new DeployException(DeployException.Kind.AWS, "DescribeService of pool 7 failed: " + code, cause);
  }

  @Test
  void aPermissionDenied_whileFollowing_endsTheWatchAtOnce_leavingTheTags() {
    ScriptedRollout rollout = new ScriptedRollout().then(state(Rollout.State.IN_PROGRESS, "IN_PROGRESS"))
        .then(fails(aws("AccessDeniedException", 403)));

    Run run = rollOut(rollout);

    assertThat(rollout.calls.stream().filter(call -> call.startsWith("observe")).count()).isEqualTo(2);
    assertThat(run.failure().getMessage()).contains("pool 7 (deployment d-1) could not be followed to its end",
        "AccessDeniedException", "The tags are left as they are");
    assertThat(run.latest()).isEqualTo(run.built());
    assertThat(run.fixture().production.journal).contains("rollout d-1 timed_out");
  }

  @Test
  void throttling_andServerErrors_areAskedAgain_untilTheDeploymentEnds() {
    ScriptedRollout rollout = new ScriptedRollout().then(fails(aws("ThrottlingException", 400)))
        .then(fails(aws("InternalServiceErrorException", 500))).then(state(Rollout.State.SUCCEEDED, "SUCCEEDED"));

    Run run = rollOut(rollout);

    assertThat(run.failure()).isNull();
    assertThat(run.ended().result().outcome()).isEqualTo(Rollout.Outcome.SUCCEEDED);
    assertThat(run.fixture().warnings()).anyMatch(w -> w.contains("ThrottlingException"));
  }

  @Test
  void aDeploymentSupersededByAnother_isNoRollback_andLeavesTheTags() {
    ScriptedRollout rollout = new ScriptedRollout().then(() -> new Rollout.Observation(Rollout.State.SUPERSEDED,
        "SUPERSEDED", "deployment ecs-svc/99 of shop:12 is primary"));

    Run run = rollOut(rollout);

    assertThat(run.failure().getMessage()).contains("was superseded by another deployment",
        "deployment ecs-svc/99 of shop:12 is primary", "It is not a rollback");
    assertThat(run.latest()).isEqualTo(run.built());
    assertThat(run.fixture().production.journal).contains("rollout d-1 superseded")
        .noneMatch(line -> line.startsWith("reverted"));
    assertThat(rollout.calls).doesNotContain("before tag move");
  }

  @Test
  void aRollback_movesTheTagsToTheImageThePlatformRestored_recordingThePlanBeforeTheMove() {
    AtomicReference<String> restored = new AtomicReference<>();
    ScriptedRollout rollout = new ScriptedRollout().then(() -> new Rollout.Observation(Rollout.State.ROLLED_BACK,
        "ROLLBACK_SUCCESSFUL", null, REPOSITORY.withDigest(restored.get())));

    Run run = rollOut(rollout, fixture -> restored.set(fixture.registry.push("the image of the revision ECS restored")),
        builder -> { });

    assertThat(run.latest()).isEqualTo(restored.get()).isNotEqualTo(run.previous());
    List<String> journal = run.fixture().production.journal;
    assertThat(journal).containsSubsequence("rollout d-1 rolled_back",
        "rollout_revert {planned={latest=" + restored.get() + "}}", "reverted latest");
    assertThat(run.failure().getMessage()).contains("rolled back", "latest names " + restored.get() + " again");
  }

  @Test
  void aRollback_withoutAnImageNamed_movesTheTagsToTheLastReleaseWhoseRolloutSucceeded() {
    AtomicReference<String> lastGood = new AtomicReference<>();
    ScriptedRollout rollout = new ScriptedRollout().then(state(Rollout.State.ROLLED_BACK, "ROLLBACK_SUCCEEDED"));

    Run run = rollOut(rollout, fixture -> {
      lastGood.set(fixture.registry.push("the last image App Runner deployed"));
      fixture.production.promotedRows.add(InMemoryProduction.rolledOut(6, "c".repeat(40), "sha256:" + "e".repeat(64),
          "rolled_back")); // never served: passed over
      fixture.production.promotedRows.add(InMemoryProduction.rolledOut(5, "b".repeat(40), lastGood.get(),
          "succeeded"));
    }, builder -> { });

    assertThat(run.latest()).isEqualTo(lastGood.get());
    assertThat(run.fixture().production.journal).contains("reverted latest");
  }

  @Test
  void aRollback_afterARelease_whoseEndIsUnknown_movesTheTagsToTheirOwnPreviousDigests() {
    ScriptedRollout rollout = new ScriptedRollout().then(state(Rollout.State.ROLLED_BACK, "ROLLBACK_SUCCEEDED"));

    Run run = rollOut(rollout, fixture -> {
      fixture.production.promotedRows.add(InMemoryProduction.rolledOut(6, "c".repeat(40), "sha256:" + "e".repeat(64),
          "timed_out")); // it may have served, or not: the ledger cannot tell what App Runner went back to
      fixture.production.promotedRows.add(InMemoryProduction.rolledOut(5, "b".repeat(40),
          fixture.registry.push("an older image"), "succeeded"));
    }, builder -> { });

    assertThat(run.latest()).isEqualTo(run.previous());
  }

  @Test
  void aDeploymentThatNeverStarted_movesTheTagsToTheirOwnPreviousDigests_whateverTheLedgerSays() {
    ScriptedRollout rollout = new ScriptedRollout();
    rollout.refuseStart = true;

    Run run = rollOut(rollout, fixture -> fixture.production.promotedRows.add(InMemoryProduction.rolledOut(5,
        "b".repeat(40), fixture.registry.push("an older image"), "succeeded")), builder -> { });

    assertThat(run.latest()).isEqualTo(run.previous());
    assertThat(run.failure().getMessage()).contains("Could not deploy", "latest names " + run.previous() + " again");
  }

  @Test
  void theDeploymentAMoveBackStarts_isFollowedToItsEnd_andRecorded() {
    ScriptedRollout rollout = new ScriptedRollout().then(state(Rollout.State.ROLLED_BACK, "ROLLBACK_SUCCEEDED"));
    rollout.revertDeployment = new Rollout.Deployment("op-revert", "the deployment of op-revert");
    rollout.revertScript.add(state(Rollout.State.IN_PROGRESS, "IN_PROGRESS"));
    rollout.revertScript.add(state(Rollout.State.SUCCEEDED, "SUCCEEDED"));

    Run run = rollOut(rollout);

    assertThat(rollout.calls).containsSubsequence("start " + run.built(), "before tag move",
        "reverted to " + run.previous(), "observe op-revert", "observe op-revert");
    assertThat(run.fixture().production.journal).containsSubsequence("reverted latest",
        "rollout_revert {planned={latest=" + run.previous() + "}, deployment=op-revert}",
        "rollout_revert {planned={latest=" + run.previous() + "}, deployment=op-revert, outcome=succeeded}");
    assertThat(run.failure().getMessage()).contains("The deployment moving them back started (op-revert) succeeded");
  }

  @Test
  void aMoveBackThatFailsOnce_isTriedAgain() {
    ScriptedRollout rollout = new ScriptedRollout().then(state(Rollout.State.FAILED, "FAILED"));

    Run run = rollOut(rollout, fixture -> fixture.registry.failingPuts.set(1), builder -> { });

    assertThat(run.latest()).isEqualTo(run.previous());
    assertThat(run.fixture().warnings()).anyMatch(w -> w.contains("attempt 1 of 3, trying again"));
  }

  @Test
  void aMoveBackThatKeepsFailing_endsSayingWhatRepairsIt() {
    ScriptedRollout rollout = new ScriptedRollout().then(state(Rollout.State.FAILED, "FAILED"));

    Run run = rollOut(rollout, fixture -> fixture.registry.failingPuts.set(10), builder -> { });

    assertThat(run.latest()).isEqualTo(run.built());
    assertThat(run.failure().getMessage()).contains("could not move latest back to " + run.previous()
        + " (tried 3 times", "the next release moves it, or `mvn deploy:rollback` puts the previous release back");
    assertThat(run.fixture().production.journal).contains("rollout d-1 failed")
        .noneMatch(line -> line.startsWith("reverted"));
  }

  @Test
  void withHealthExpect_theRolloutSucceedsOnlyOnceThePublicAddressServesTheRelease() throws IOException {
    AtomicReference<String> serving = new AtomicReference<>("version " + "9".repeat(40));
    HttpServer server = version(serving);
    try {
      ScriptedRollout rollout = new ScriptedRollout().then(state(Rollout.State.IN_PROGRESS, "IN_PROGRESS"))
          .then(() -> { // the platform's success reaches the public address only a while later
            java.util.concurrent.CompletableFuture.runAsync(() -> serving.set("version " + StepFixture.SHA),
                java.util.concurrent.CompletableFuture.delayedExecutor(2500, java.util.concurrent.TimeUnit.MILLISECONDS));
            return new Rollout.Observation(Rollout.State.SUCCEEDED, "SUCCEEDED", null);
          });

      Run run = rollOut(rollout, fixture -> { }, builder -> builder.healthUrl(url(server))
          .healthExpect(StepFixture.SHA));

      assertThat(run.failure()).isNull();
      assertThat(run.fixture().progress()).containsSubsequence("[" + Step.ROLLOUT + "] asking " + url(server)
          + " until it answers 2xx with '" + StepFixture.SHA + "'", "[" + Step.ROLLOUT + "] " + url(server)
          + " answered 200 without '" + StepFixture.SHA + "'");
    } finally {
      server.stop(0);
    }
  }

  @Test
  void withHealthExpect_anAddressThatNeverServesTheRelease_isNoSuccess_andTheTagsStay() throws IOException {
    HttpServer server = version(new AtomicReference<>("version " + "9".repeat(40)));
    try {
      ScriptedRollout rollout = new ScriptedRollout().then(state(Rollout.State.SUCCEEDED, "SUCCEEDED"));

      Run run = rollOut(rollout, fixture -> { }, builder -> builder.healthUrl(url(server))
          .healthExpect(StepFixture.SHA).rolloutTimeout("3s"));

      assertThat(run.ended().result().outcome()).isEqualTo(Rollout.Outcome.TIMED_OUT);
      assertThat(run.failure().getMessage()).contains("SUCCEEDED, but " + url(server) + " answered 200 without '"
          + StepFixture.SHA + "'", "The tags are left as they are");
      assertThat(run.latest()).isEqualTo(run.built());
    } finally {
      server.stop(0);
    }
  }

  private static HttpServer version(AtomicReference<String> body) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/version", exchange -> {
      byte[] bytes = body.get().getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, bytes.length);
      exchange.getResponseBody().write(bytes);
      exchange.close();
    });
    server.start();
    return server;
  }

  private static String url(HttpServer server) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/version";
  }
}
