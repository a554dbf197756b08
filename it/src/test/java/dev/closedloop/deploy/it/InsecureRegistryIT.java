package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.image.BuiltImage;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.TagMove;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.image.OciRegistry;
import dev.closedloop.deploy.internal.image.Promoter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A registry off loopback that speaks plain HTTP, reached over this machine's own network
 * address: refused unless named in deploy.insecureRegistries, then used over HTTP.
 */
class InsecureRegistryIT {

  @TempDir static Path state;
  private static TestServices.OwnRegistry registry;
  /** The same registry as another machine reaches it: not loopback. */
  private static String remote;

  @TempDir Path context;

  @BeforeAll
  static void start() throws Exception {
    registry = TestServices.startOpenRegistry(state);
    remote = TestServices.outsideAddress() + ":" + registry.address().substring(registry.address().indexOf(':') + 1);
  }

  @AfterAll
  static void stop() throws InterruptedException {
    if (registry != null) {
      registry.close();
    }
  }

  @Test
  void aPlainHttpRegistryOffLoopback_isRefusedInOneLine_unlessNamed_thenTagsMoveOverHttp() throws IOException {
    Files.copy(TestServices.busybox(), context.resolve("busybox"));
    Files.writeString(context.resolve("Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\n");
    String sha = TestServices.randomSha();
    // pushed through loopback, where the engine speaks HTTP; the same storage answers on the network address
    BuiltImage pushed = Release.configure().image(registry.address() + "/lab/app").sha(sha).buildContext(context)
        .dockerHost(TestServices.dockerHost()).load().build().image().orElseThrow();
    ImageRef repository = ImageRef.parse(remote + "/lab/app");

    assertThatThrownBy(() -> new OciRegistry(null).digestOf(repository.withTag(sha)))
        .isInstanceOfSatisfying(DeployException.class, e -> assertThat(e.getMessage()).isEqualTo("The registry "
            + remote + " answers plain HTTP, not HTTPS: closedloop speaks plain HTTP only to a registry on loopback,"
            + " since credentials and digests would cross the network unprotected. Serve it over HTTPS, or name it"
            + " in deploy.insecureRegistries if this network is trusted"));
    // the same through a run: its build finds the image by the registry's answer, or refuses
    assertThatThrownBy(() -> Release.configure().image(remote + "/lab/app").sha(sha).buildContext(context)
        .dockerHost(TestServices.dockerHost()).load().build())
        .hasMessageContaining("answers plain HTTP, not HTTPS");

    OciRegistry named = new OciRegistry(null, Set.of(remote));
    assertThat(named.digestOf(repository.withTag(sha))).contains(pushed.digest());
    List<TagMove> moves = new Promoter(named, Events.none()).promote(repository, pushed.digest(), List.of("latest"));
    assertThat(moves).containsExactly(new TagMove("latest", null, pushed.digest(), true));
    assertThat(OciRegistry.anonymous().digestOf(ImageRef.parse(registry.address() + "/lab/app:latest")))
        .contains(pushed.digest());
    BuiltImage reused = Release.configure().image(remote + "/lab/app").sha(sha).buildContext(context)
        .insecureRegistries(List.of(remote)).dockerHost(TestServices.dockerHost()).load().build().image().orElseThrow();
    assertThat(reused.reused()).isTrue();
    assertThat(reused.digest()).isEqualTo(pushed.digest());
  }

  @Test
  void anInsecureRegistryNamedWithASchemeOrPath_isRefusedBeforeAnythingRuns() {
    assertThatThrownBy(() -> Release.configure().image(remote + "/lab/app").sha(TestServices.randomSha())
        .buildContext(context).insecureRegistries(List.of("http://" + remote, remote + "/lab")).load())
        .isInstanceOf(DeployException.class)
        .hasMessage("2 settings are wrong: insecureRegistries (deploy.insecureRegistries): 'http://" + remote
            + "' is not a registry: name it as host or host:port, as in the image name, without http:// or a path;"
            + " insecureRegistries (deploy.insecureRegistries): '" + remote + "/lab' is not a registry: name it as"
            + " host or host:port, as in the image name, without http:// or a path");
  }

  @Test
  void theRegistryIsReachedThroughHttpProxy_asTheVariableSays_andNoProxyBypassesIt() throws Exception {
    Files.copy(TestServices.busybox(), context.resolve("busybox"));
    Files.writeString(context.resolve("Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\n");
    String sha = TestServices.randomSha();
    BuiltImage pushed = Release.configure().image(registry.address() + "/lab/proxied").sha(sha).buildContext(context)
        .dockerHost(TestServices.dockerHost()).load().build().image().orElseThrow();
    TestServices.ForwardProxy proxy = TestServices.startForwardProxy();
    java.util.List<String> forwarded = proxy.forwarded();
    try {
      String proxyUrl = "http://127.0.0.1:" + proxy.port();
      BuiltImage found = Release.configure().image(remote + "/lab/proxied").sha(sha).buildContext(context)
          .insecureRegistries(List.of(remote)).dockerHost(TestServices.dockerHost())
          .ciEnvironment(new dev.closedloop.deploy.guard.CiEnvironment(java.util.Map.of("HTTP_PROXY", proxyUrl), context))
          .load().build().image().orElseThrow();

      assertThat(found.reused()).isTrue();
      assertThat(found.digest()).isEqualTo(pushed.digest());
      assertThat(forwarded).contains("HEAD http://" + remote + "/v2/lab/proxied/manifests/" + sha);

      forwarded.clear();
      String host = remote.substring(0, remote.indexOf(':'));
      Release.configure().image(remote + "/lab/proxied").sha(sha).buildContext(context)
          .insecureRegistries(List.of(remote)).dockerHost(TestServices.dockerHost())
          .ciEnvironment(new dev.closedloop.deploy.guard.CiEnvironment(
              java.util.Map.of("HTTP_PROXY", proxyUrl, "NO_PROXY", host), context))
          .load().build();
      assertThat(forwarded).isEmpty();
    } finally {
      proxy.close();
    }
  }

  @Test
  void mavensActiveProxy_fromSettingsXml_carriesTheRegistrysRequests() throws Exception {
    Path project = Files.createDirectories(context.resolve("project"));
    Files.copy(TestServices.busybox(), project.resolve("busybox"));
    Files.writeString(project.resolve("Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\n");
    Files.copy(TestServices.root().resolve("it/src/test/projects/consumer/pom.xml"), project.resolve("pom.xml"));
    String sha = TestServices.randomSha();
    BuiltImage pushed = Release.configure().image(registry.address() + "/lab/maven").sha(sha).buildContext(project)
        .dockerHost(TestServices.dockerHost()).load().build().image().orElseThrow();
    try (TestServices.ForwardProxy proxy = TestServices.startForwardProxy()) {
      Path settings = context.resolve("settings.xml");
      Files.writeString(settings, """
          <settings>
            <proxies>
              <proxy><id>corporate</id><active>true</active><protocol>http</protocol>
                <host>127.0.0.1</host><port>%d</port></proxy>
            </proxies>
          </settings>
          """.formatted(proxy.port()));

      // offline: Maven's own downloads never reach this proxy, only the plugin's registry calls do
      TestServices.Run run = TestServices.run(project, TestServices.root().resolve("mvnw").toString(), "-B", "-ntp",
          "-o", "-s", settings.toString(), "-Dclosedloop.version=" + TestServices.version(),
          "-Ddeploy.image=" + remote + "/lab/maven", "-Ddeploy.sha=" + sha, "-Ddeploy.insecureRegistries=" + remote,
          "deploy:build");

      assertThat(run.exitCode()).as(run.output()).isZero();
      assertThat(run.output()).contains("reused " + remote + "/lab/maven:" + sha + " (" + pushed.digest() + ")");
      assertThat(proxy.forwarded()).contains("HEAD http://" + remote + "/v2/lab/maven/manifests/" + sha);
    }
  }
}
