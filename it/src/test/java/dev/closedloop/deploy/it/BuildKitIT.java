package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseEvent;
import dev.closedloop.deploy.guard.CiEnvironment;
import dev.closedloop.deploy.image.BuiltImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dockerfiles that need BuildKit (RUN --mount for caches and secrets), built through a real docker
 * CLI with BuildKit against the test engine: Debian's docker 20.10 client, which needs no buildx.
 */
class BuildKitIT {

  /** Debian's docker.io client: BuildKit through DOCKER_BUILDKIT=1, no buildx needed. */
  private static final String CLI = "/usr/bin/docker";
  private static final String SECRET = "npm-token-that-must-stay-out-of-layers";

  @TempDir Path context;

  private void dockerfile() throws IOException {
    Files.copy(TestServices.busybox(), context.resolve("busybox"));
    Files.writeString(context.resolve("Dockerfile"), """
        FROM scratch
        COPY busybox /bin/busybox
        RUN --mount=type=secret,id=npm --mount=type=cache,target=/cache ["/bin/busybox", "sh", "-c", \
        "/bin/busybox wc -c < /run/secrets/npm > /token-length && /bin/busybox touch /cache/used"]
        """);
  }

  @Test
  void runMountSecretsAndCaches_buildThroughTheCli_pushTheImage_andTheSecretIsNeitherPrintedNorInALayer()
      throws IOException {
    assertThat(Path.of(CLI)).as("Debian's docker.io client, which scripts/services installs").isExecutable();
    dockerfile();
    String sha = TestServices.randomSha();
    List<String> printed = new CopyOnWriteArrayList<>();
    List<Path> before = privateDirectories();

    BuiltImage built = Release.configure().image(TestServices.registry() + "/it/buildkit").sha(sha).buildContext(context)
        .dockerHost(TestServices.dockerHost()).dockerCli(CLI).buildSecrets(List.of("npm=env:NPM_TOKEN"))
        .ciEnvironment(new CiEnvironment(Map.of("NPM_TOKEN", SECRET, "PATH", System.getenv("PATH")), context))
        .listener(event -> printed.add(String.valueOf(event)))
        .load().build().image().orElseThrow();

    assertThat(TestServices.registryDigest("it/buildkit", sha)).contains(built.digest());
    assertThat(privateDirectories()).as("the directory that held the secret and the credentials is gone")
        .isEqualTo(before);
    assertThat(printed).anyMatch(line -> line.contains("with DOCKER_BUILDKIT=1 " + CLI + " build")
        && line.contains("(secrets: npm)"));
    assertThat(printed).as("one progress line per Dockerfile step").filteredOn(line -> line.startsWith("Progress["))
        .anyMatch(line -> line.contains("[stage-0 1/2] COPY busybox /bin/busybox"))
        .anyMatch(line -> line.contains("[stage-0 2/2] RUN --mount=type=secret,id=npm"))
        .noneMatch(line -> line.contains("[internal]"));
    assertThat(String.join("\n", printed)).doesNotContain(SECRET);
    // the secret was there while the step ran: its length is in the image, its value in no layer
    String image = TestServices.registry() + "/it/buildkit:" + sha;
    assertThat(TestServices.docker("run", "--rm", image, "/bin/busybox", "cat", "/token-length").output().strip())
        .isEqualTo(String.valueOf(SECRET.length()));
    Path saved = context.resolve("image.tar");
    TestServices.docker("save", "-o", saved.toString(), image);
    assertThat(new String(Files.readAllBytes(saved), StandardCharsets.ISO_8859_1)).doesNotContain(SECRET);
    assertThat(TestServices.docker("run", "--rm", image, "/bin/busybox", "ls", "/run/secrets").output())
        .doesNotContain("npm");
  }

  @Test
  void withoutACliThatBuildsWithBuildKit_aDockerfileThatNeedsIt_isRefusedInOneLine_beforeTheEngineIsAsked()
      throws IOException {
    dockerfile();
    // a docker 23+ client without buildx: it cannot build with BuildKit
    Path bin = Files.createDirectories(context.resolve("bin"));
    Path cli = bin.resolve("docker");
    Files.writeString(cli, "#!/bin/sh\n[ \"$1\" = --version ] && echo 'Docker version 28.2.2, build e6534b4'\nexit 1\n");
    Files.setPosixFilePermissions(cli, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    String sha = TestServices.randomSha();

    assertThatThrownBy(() -> Release.configure().image(TestServices.registry() + "/it/buildkit").sha(sha)
        .buildContext(context).dockerHost(TestServices.dockerHost())
        .ciEnvironment(new CiEnvironment(Map.of("PATH", bin.toString()), context)).load().build())
        .isInstanceOfSatisfying(DeployException.class, e -> assertThat(e.getMessage()).isEqualTo("The Dockerfile "
            + context.resolve("Dockerfile") + " needs BuildKit: RUN --mount (line 3); no docker CLI here builds with"
            + " BuildKit (docker buildx, or a docker CLI older than 23; deploy.dockerCli names one), and the Docker"
            + " engine's API builds without it"));
    assertThatThrownBy(() -> Release.configure().image(TestServices.registry() + "/it/buildkit").sha(sha)
        .buildContext(context).dockerHost(TestServices.dockerHost()).dockerCli(CLI)
        .platforms(List.of("linux/amd64", "linux/arm64")).load().build())
        .hasMessage("deploy.platforms names linux/amd64, linux/arm64: several platforms need docker buildx, and"
            + " DOCKER_BUILDKIT=1 " + CLI + " build has none. Install buildx, or name one platform");
    assertThat(TestServices.registryDigest("it/buildkit", sha)).isEmpty();
  }

  private static List<Path> privateDirectories() throws IOException {
    try (var entries = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
      return entries.filter(p -> p.getFileName().toString().startsWith("closedloop-buildkit-")).sorted().toList();
    }
  }
}
