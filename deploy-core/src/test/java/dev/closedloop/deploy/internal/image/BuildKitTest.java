package dev.closedloop.deploy.internal.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.closedloop.deploy.image.BuildRequest;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BuildKitTest {

  @TempDir Path dir;

  /** A docker CLI of the given version, with or without buildx, as a script. */
  private Path cli(String version, boolean buildx) throws IOException {
    Path cli = dir.resolve("bin/docker");
    Files.createDirectories(cli.getParent());
    Files.writeString(cli, """
        #!/bin/sh
        [ "$1" = --version ] && { echo "Docker version %s, build abc"; exit 0; }
        [ "$1" = buildx ] && [ "$2" = version ] && { %s; }
        exit 1
        """.formatted(version, buildx ? "echo 'github.com/docker/buildx v0.20.0'; exit 0" : "echo 'unknown command'; exit 1"));
    Files.setPosixFilePermissions(cli, PosixFilePermissions.fromString("rwxr-xr-x"));
    return cli;
  }

  @Test
  void buildx_isUsedWhenPresent_elseDockerBuildkitBefore23_elseNone() throws IOException {
    StringBuilder why = new StringBuilder();
    assertThat(BuildKit.find(cli("28.2.2", true).toString(), Map.of(), why::append).map(BuildKit::mode))
        .contains(BuildKit.Mode.BUILDX);
    assertThat(BuildKit.find(cli("20.10.24+dfsg1", false).toString(), Map.of(), why::append).map(BuildKit::mode))
        .contains(BuildKit.Mode.DOCKER_BUILDKIT);
    assertThat(why).isEmpty();
    assertThat(BuildKit.find(cli("28.2.2", false).toString(), Map.of(), why::append)).isEmpty();
    assertThat(why.toString()).endsWith("has no buildx, and from version 23 the docker CLI builds with BuildKit only"
        + " through buildx");
    // found on the PATH given, by name
    assertThat(BuildKit.find(null, Map.of("PATH", dir.resolve("bin").toString()), w -> { })).isEmpty();
    cli("20.10.24", false);
    assertThat(BuildKit.find(null, Map.of("PATH", "/nonexistent:" + dir.resolve("bin")), w -> { })).isPresent();
    assertThat(BuildKit.find(null, Map.of("PATH", "/nonexistent"), w -> { })).isEmpty();
  }

  @Test
  void theCommandLine_carriesNoBuildArgumentValueAndNoSecret() throws IOException {
    BuildKit kit = BuildKit.find(cli("28.2.2", true).toString(), Map.of(), w -> { }).orElseThrow();
    ImageRef repository = ImageRef.parse("registry.example.com/shop");
    BuildRequest request = new BuildRequest(repository, "3f2a9c1", dir, dir.resolve("Dockerfile"),
        Map.of("NPM_TOKEN", "s3cr3t-build-arg"), "runtime", Map.of(), List.of(), false, null,
        Map.of("npm", "env:NPM_TOKEN"), List.of("linux/amd64", "linux/arm64"));

    List<String> command = kit.commandLine(request, List.of(repository.withTag("3f2a9c1")),
        Map.of("team", "shop"), Map.of("npm", dir.resolve("secret-0")), true, dir.resolve("metadata.json"));

    assertThat(String.join(" ", command)).doesNotContain("s3cr3t");
    assertThat(command).containsSubsequence("buildx", "build", "--push", "--metadata-file",
            dir.resolve("metadata.json").toString(), "--progress=plain")
        .containsSubsequence("--platform", "linux/amd64,linux/arm64")
        .containsSubsequence("--tag", "registry.example.com/shop:3f2a9c1")
        .containsSubsequence("--label", "team=shop")
        .containsSubsequence("--build-arg", "NPM_TOKEN")
        .containsSubsequence("--target", "runtime")
        .containsSubsequence("--secret", "id=npm,src=" + dir.resolve("secret-0"))
        .endsWith(dir.toAbsolutePath().toString());
  }

  @Test
  void whatNeedsBuildKit_isNamedWithItsLine() throws IOException {
    Path dockerfile = dir.resolve("Dockerfile");
    Files.writeString(dockerfile, "FROM scratch\nCOPY a /a\n");
    assertThat(BuildKit.neededBy(dockerfile)).isEmpty();
    Files.writeString(dockerfile, "FROM alpine\nRUN --mount=type=cache,target=/root/.m2 mvn package\n");
    assertThat(BuildKit.neededBy(dockerfile)).contains("RUN --mount (line 2)");
    Files.writeString(dockerfile, "# syntax=docker/dockerfile:1\nFROM alpine\n");
    assertThat(BuildKit.neededBy(dockerfile)).contains("a # syntax= directive (line 1)");
    Files.writeString(dockerfile, "FROM alpine\nRUN <<EOF\necho hi\nEOF\n");
    assertThat(BuildKit.neededBy(dockerfile)).contains("a here-document (line 2)");
  }

  @Test
  void theCliConfiguration_keepsTheUsersHelpers_andAddsTheCredentialsFound() throws IOException {
    Path user = Files.createDirectories(dir.resolve("user"));
    Files.writeString(user.resolve("config.json"), """
        {"credHelpers": {"ghcr.io": "gh", "registry.example.com": "old"}, "credsStore": "desktop", "proxies": {"default": {}}}
        """);
    Files.createDirectories(user.resolve("buildx"));
    Files.createDirectories(user.resolve("cli-plugins"));
    Path own = Files.createDirectories(dir.resolve("own"));

    BuildKit.writeConfig(own, user, Map.of("registry.example.com", new RegistryCredentials("ci", "pw"),
        "docker.io", RegistryCredentials.identityToken("refresh")));

    JsonNode config = new ObjectMapper().readTree(own.resolve("config.json").toFile());
    assertThat(config.path("credHelpers").path("ghcr.io").asText()).isEqualTo("gh");
    assertThat(config.path("credHelpers").has("registry.example.com")).isFalse();
    assertThat(config.has("credsStore")).isFalse();
    assertThat(config.has("proxies")).isTrue();
    assertThat(config.path("auths").path("registry.example.com").path("auth").asText()).isEqualTo("Y2k6cHc=");
    assertThat(config.path("auths").path("https://index.docker.io/v1/").path("identitytoken").asText())
        .isEqualTo("refresh");
    assertThat(Files.readSymbolicLink(own.resolve("buildx"))).isEqualTo(user.resolve("buildx"));
    assertThat(Files.readSymbolicLink(own.resolve("cli-plugins"))).as("a buildx installed for this user")
        .isEqualTo(user.resolve("cli-plugins"));
    assertThat(own.resolve("contexts")).doesNotExist();
    Path secrets = BuildKit.privateDirectory();
    try {
      assertThat(Optional.of(Files.getPosixFilePermissions(secrets))).contains(PosixFilePermissions.fromString("rwx------"));
    } finally {
      dev.closedloop.deploy.internal.database.Trees.delete(secrets);
    }
  }

  @Test
  void privateDirectories_aKilledBuildLeft_areRemoved_andALiveBuildsAreNot() throws IOException {
    Path dead = Files.createDirectories(dir.resolve("closedloop-buildkit-1"));
    Files.writeString(dead.resolve("owner"), "2147483646 2020-01-01T00:00:00Z");
    Files.writeString(dead.resolve("secret-0"), "left by a SIGKILL");
    Path alive = Files.createDirectories(dir.resolve("closedloop-buildkit-2"));
    ProcessHandle me = ProcessHandle.current();
    Files.writeString(alive.resolve("owner"), me.pid() + " " + me.info().startInstant().map(Object::toString).orElse(""));
    Path other = Files.createDirectories(dir.resolve("something-else"));

    BuildKit.removeOrphans(dir);

    assertThat(dead).doesNotExist();
    assertThat(alive).exists();
    assertThat(other).exists();
  }

  @Test
  void buildArgumentsThatWouldSteerTheCli_inAnyCase() {
    for (String name : List.of("PATH", "DOCKER_HOST", "docker_config", "http_proxy", "HTTPS_PROXY", "BUILDKIT_PROGRESS",
        "BUILDX_BUILDER", "LD_PRELOAD", "SSL_CERT_FILE")) {
      assertThat(BuildKit.steersTheCli(name)).as(name).isTrue();
    }
    for (String name : List.of("NPM_TOKEN", "JAVA_VERSION", "PROXY_HOST", "BUILD_ID")) {
      assertThat(BuildKit.steersTheCli(name)).as(name).isFalse();
    }
  }
}
