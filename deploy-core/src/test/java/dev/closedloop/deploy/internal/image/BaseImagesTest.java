package dev.closedloop.deploy.internal.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BaseImagesTest {

  @TempDir Path dir;

  @Test
  void theRegistriesOfEveryBase_notStagesScratchOrUnknownVariables() throws IOException {
    Path dockerfile = dir.resolve("Dockerfile");
    Files.writeString(dockerfile, """
        # syntax=docker/dockerfile:1
        ARG BASE_REGISTRY=registry.example.com:5000
        ARG RUNTIME
        ARG UNSET
        FROM --platform=$BUILDPLATFORM ${BASE_REGISTRY}/team/jdk:17 AS build
        RUN echo FROM evil.example.org/not-an-instruction
        from build as test
        FROM \\
          eclipse-temurin:17-jre
        FROM $RUNTIME
        FROM ghcr.io/acme/tools@sha256:%s AS tools
        FROM $UNSET/thing
        FROM scratch
        COPY --from=tools /bin/tool /tool
        COPY --from=build /app /app
        """.formatted("a".repeat(64)));

    assertThat(BaseImages.registries(dockerfile, Map.of("RUNTIME", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/base:1")))
        .containsExactly("registry.example.com:5000", "docker.io", "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "ghcr.io");
  }

  @Test
  void aBuildArgumentOverridesTheArgDefault() throws IOException {
    Path dockerfile = dir.resolve("Dockerfile");
    Files.writeString(dockerfile, "ARG REGISTRY=docker.io\nFROM ${REGISTRY}/library/alpine:3\n");

    assertThat(BaseImages.registries(dockerfile, Map.of("REGISTRY", "127.0.0.1:5000")))
        .containsExactly("127.0.0.1:5000");
    assertThat(BaseImages.registries(dockerfile, Map.of())).containsExactly("docker.io");
    Files.writeString(dockerfile, "ARG MIRROR\nFROM ${MIRROR:-mirror.example.com}/library/alpine:3\n");
    assertThat(BaseImages.registries(dockerfile, Map.of())).containsExactly("mirror.example.com");
    assertThat(BaseImages.registries(dockerfile, Map.of("MIRROR", "127.0.0.1:5000"))).containsExactly("127.0.0.1:5000");
  }
}
