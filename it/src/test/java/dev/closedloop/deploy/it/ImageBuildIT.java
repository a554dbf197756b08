package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseEvent;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.StepResult;
import dev.closedloop.deploy.image.BuiltImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** deploy:build on the real Docker engine and registry that scripts/services starts. */
class ImageBuildIT {

  @TempDir Path context;

  private final List<ReleaseEvent> events = new ArrayList<>();
  private String repository;

  @BeforeEach
  void writeContext() throws IOException {
    repository = "it/build-" + TestServices.randomSha().substring(0, 8);
    Files.copy(TestServices.busybox(), context.resolve("busybox"));
    Files.writeString(context.resolve("hello.txt"), "hello from closedloop\n");
    Files.writeString(context.resolve("secret.env"), "TOKEN=must-not-be-in-the-image\n");
    Files.writeString(context.resolve(".dockerignore"), "secret.env\n");
    Files.writeString(context.resolve("Dockerfile"), """
        FROM scratch
        ARG GREETING=unset
        COPY . /app/
        LABEL greeting=$GREETING
        ENTRYPOINT ["/app/busybox"]
        """);
  }

  private Release release(String sha, boolean force, List<String> tags) {
    return Release.configure()
        .image(TestServices.registry() + "/" + repository)
        .sha(sha)
        .buildContext(context)
        .buildArg("GREETING", "hi")
        .labels(Map.of("team", "shop"))
        .sourceUrl("https://example.com/shop")
        .tags(tags)
        .forceBuild(force)
        .dockerHost(TestServices.dockerHost())
        .listener(events::add)
        .load();
  }

  @Test
  void build_pushesShaTag_andTheRegistryResolvesItToTheReturnedDigest() {
    String sha = TestServices.randomSha();

    ReleaseResult result = release(sha, false, List.of("build-42")).build();

    BuiltImage image = result.image().orElseThrow();
    assertThat(image.reused()).isFalse();
    assertThat(image.image().toString()).isEqualTo(TestServices.registry() + "/" + repository + ":" + sha);
    assertThat(image.digest()).startsWith("sha256:");
    assertThat(TestServices.registryDigest(repository, sha)).contains(image.digest());
    assertThat(TestServices.registryDigest(repository, "build-42")).contains(image.digest());
    assertThat(TestServices.registryDigest(repository, "latest")).as("build never tags latest").isEmpty();
    assertThat(result.steps()).extracting(StepResult::status).containsExactly(StepResult.Status.SUCCEEDED);

    // One progress line per Dockerfile step and per pushed layer, not a flood.
    List<String> progress = events.stream().filter(e -> e instanceof ReleaseEvent.Progress)
        .map(e -> ((ReleaseEvent.Progress) e).message()).toList();
    assertThat(progress).anyMatch(m -> m.startsWith("Step 1/") && m.endsWith(": FROM scratch"));
    assertThat(progress).anyMatch(m -> m.matches("layer [0-9a-f]{12}: (pushed|mounted from .*|layer already exists)"));
    assertThat(progress).hasSizeLessThan(20);
    assertThat(events.get(0)).isInstanceOf(ReleaseEvent.StepStarted.class);
    assertThat(events.get(events.size() - 1)).isInstanceOf(ReleaseEvent.StepFinished.class);
  }

  @Test
  void build_appliesDockerignoreBuildArgsAndOciLabels() {
    String sha = TestServices.randomSha();
    String ref = release(sha, false, List.of()).build().image().orElseThrow().image().toString();

    String files = TestServices.docker("run", "--rm", ref, "ls", "/app").output();
    assertThat(files).contains("hello.txt", "busybox", "Dockerfile").doesNotContain("secret.env");
    String labels = TestServices.docker("image", "inspect", "--format", "{{json .Config.Labels}}", ref).output();
    assertThat(labels)
        .contains("\"greeting\":\"hi\"")
        .contains("\"team\":\"shop\"")
        .contains("\"org.opencontainers.image.revision\":\"" + sha + "\"")
        .contains("\"org.opencontainers.image.source\":\"https://example.com/shop\"")
        .contains("\"org.opencontainers.image.created\":\"20");
  }

  @Test
  void build_whenShaIsAlreadyInTheRegistry_skipsTheBuild_unlessForced() throws IOException {
    String sha = TestServices.randomSha();
    BuiltImage first = release(sha, false, List.of()).build().image().orElseThrow();
    Files.writeString(context.resolve("hello.txt"), "changed, but the sha is the same\n");
    events.clear();

    BuiltImage second = release(sha, false, List.of()).build().image().orElseThrow();

    assertThat(second.reused()).isTrue();
    assertThat(second.digest()).isEqualTo(first.digest());
    assertThat(events).noneMatch(e -> e instanceof ReleaseEvent.Progress p && p.message().startsWith("Step "));
    assertThat(events).anyMatch(e -> e instanceof ReleaseEvent.Progress p
        && p.message().contains("build skipped; set deploy.forceBuild=true to rebuild"));

    BuiltImage forced = release(sha, true, List.of()).build().image().orElseThrow();
    assertThat(forced.reused()).isFalse();
    assertThat(forced.digest()).isNotEqualTo(first.digest());
    assertThat(TestServices.registryDigest(repository, sha)).contains(forced.digest());
  }

  @Test
  void build_whenADockerfileStepFails_raisesTheEnginesMessage_andPushesNothing() throws IOException {
    Files.writeString(context.resolve("Dockerfile"), "FROM scratch\nCOPY does-not-exist.txt /\n");
    String sha = TestServices.randomSha();

    assertThatThrownBy(() -> release(sha, false, List.of()).build())
        .isInstanceOfSatisfying(DeployException.class, e -> {
          assertThat(e.kind()).isEqualTo(DeployException.Kind.DOCKER);
          assertThat(e.getMessage()).startsWith("docker build of ").contains("does-not-exist.txt");
          assertThat(e.partialResult().orElseThrow().steps()).extracting(StepResult::status)
              .containsExactly(StepResult.Status.FAILED);
        });
    assertThat(TestServices.registryDigest(repository, sha)).isEmpty();
  }

  @Test
  void build_withATargetStage_buildsOnlyThatStage() throws IOException {
    Files.writeString(context.resolve("Dockerfile"), """
        FROM scratch AS tools
        COPY busybox /bin/busybox
        ENTRYPOINT ["/bin/busybox"]

        FROM tools AS app
        COPY hello.txt /hello.txt
        """);
    String ref = Release.configure().image(TestServices.registry() + "/" + repository)
        .sha(TestServices.randomSha()).buildContext(context).buildTarget("tools")
        .dockerHost(TestServices.dockerHost()).load().build().image().orElseThrow().image().toString();

    String files = TestServices.docker("run", "--rm", ref, "ls", "/").output();
    assertThat(files).contains("bin").doesNotContain("hello.txt");
  }

  @Test
  void build_refusesToTagLatest() {
    assertThatThrownBy(() -> release(TestServices.randomSha(), false, List.of("latest")).build())
        .hasMessageStartingWith("The build never tags 'latest' (deploy.tags)");
    assertThat(TestServices.registryDigest(repository, "latest")).isEmpty();
  }
}
