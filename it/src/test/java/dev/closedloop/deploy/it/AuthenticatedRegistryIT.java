package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.image.BuiltImage;
import dev.closedloop.deploy.image.RegistryCredentials;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pushing to a registry that wants credentials (htpasswd, basic auth), from the API and from
 * settings.xml through Maven. The test runs that registry itself.
 */
class AuthenticatedRegistryIT {

  private static final String USER = "ci";
  private static final String PASSWORD = "pa:ss@w/rd-for-tests";

  @TempDir static Path state;
  private static TestServices.OwnRegistry registry;
  private static String address;

  @TempDir Path context;

  @BeforeAll
  static void startRegistry() throws Exception {
    registry = startAuthenticatedRegistry(state);
    address = registry.address();
  }

  /** A registry of its own in {@code state} that wants user {@code USER} with password {@code PASSWORD}. */
  static TestServices.OwnRegistry startAuthenticatedRegistry(Path state) throws Exception {
    TestServices.Run hash = TestServices.run(state, "python3", "-W", "ignore", "-c",
        "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))", PASSWORD);
    assertThat(hash.exitCode()).as(hash.output()).isZero();
    assertThat(hash.output().strip()).startsWith("$2b$");
    Files.writeString(state.resolve("htpasswd"), USER + ":" + hash.output().strip() + "\n");
    return TestServices.startRegistry(state, """
          htpasswd:
            realm: closedloop-test
            path: %s
        """.formatted(state.resolve("htpasswd")));
  }

  @AfterAll
  static void stopRegistry() throws InterruptedException {
    if (registry != null) {
      registry.close();
    }
  }

  @Test
  void build_withCredentials_pushes_andAReRunFindsTheImageThroughTheAuthChallenge() throws IOException {
    writeContext(context);
    String sha = TestServices.randomSha();

    BuiltImage first = build(sha, new RegistryCredentials(USER, PASSWORD));
    BuiltImage second = build(sha, new RegistryCredentials(USER, PASSWORD));

    assertThat(first.reused()).isFalse();
    assertThat(digest("auth/app", sha)).contains(first.digest());
    assertThat(second.reused()).isTrue();
    assertThat(second.digest()).isEqualTo(first.digest());
  }

  @Test
  void build_withWrongOrNoCredentials_namesTheSettingsServer_andNeverPrintsThePassword() throws IOException {
    writeContext(context);
    String sha = TestServices.randomSha();

    assertThatThrownBy(() -> build(sha, new RegistryCredentials(USER, "wrong-password")))
        .isInstanceOfSatisfying(DeployException.class, e -> {
          assertThat(e.kind()).isEqualTo(DeployException.Kind.REGISTRY);
          assertThat(e.getMessage()).isEqualTo("The registry " + address + " refused the credentials for "
              + address + "/auth/app: check the <server> with id '" + address + "' in settings.xml");
        });
    assertThatThrownBy(() -> build(sha, null))
        .hasMessage("The registry " + address + " wants credentials for " + address
            + "/auth/app: add a <server> with id '" + address + "' to settings.xml");
    assertThat(digest("auth/app", sha)).isEmpty();
  }

  @Test
  void mavenBuild_takesCredentialsFromSettingsXmlServer() throws IOException {
    Path project = Files.createDirectories(context.resolve("project"));
    writeContext(project);
    Files.copy(TestServices.root().resolve("it/src/test/projects/consumer/pom.xml"), project.resolve("pom.xml"));
    Path settings = context.resolve("settings.xml");
    Files.writeString(settings, """
        <settings>
          <servers>
            <server>
              <id>%s</id>
              <username>%s</username>
              <password>%s</password>
            </server>
          </servers>
        </settings>
        """.formatted(address, USER, PASSWORD));
    String sha = TestServices.randomSha();

    TestServices.Run run = TestServices.run(project, TestServices.root().resolve("mvnw").toString(), "-B", "-ntp",
        "-s", settings.toString(), "-Dclosedloop.version=" + TestServices.version(),
        "-Ddeploy.image=" + address + "/auth/consumer", "-Ddeploy.sha=" + sha, "deploy:build");

    assertThat(run.exitCode()).as(run.output()).isZero();
    assertThat(digest("auth/consumer", sha)).isPresent();
    assertThat(run.output()).doesNotContain(PASSWORD);
  }

  @Test
  void credentials_fromDockerConfig_inlineAuthsAndACredentialHelper() throws IOException {
    writeContext(context);
    Path inline = Files.createDirectories(context.resolve("docker-inline"));
    Files.writeString(inline.resolve("config.json"), """
        {"auths": {"%s": {"auth": "%s"}}}
        """.formatted(address, Base64.getEncoder().encodeToString((USER + ":" + PASSWORD).getBytes(StandardCharsets.UTF_8))));
    String sha = TestServices.randomSha();

    BuiltImage built = Release.configure().image(address + "/auth/app").sha(sha).buildContext(context)
        .ciEnvironment(new dev.closedloop.deploy.guard.CiEnvironment(java.util.Map.of("DOCKER_CONFIG", inline.toString()), context))
        .dockerHost(TestServices.dockerHost()).load().build().image().orElseThrow();
    assertThat(digest("auth/app", sha)).contains(built.digest());

    // a real helper program, as docker-credential-pass or -ecr-login would be, found on PATH
    Path bin = Files.createDirectories(context.resolve("bin"));
    Path helper = bin.resolve("docker-credential-closedloop-test");
    Files.writeString(helper, """
        #!/bin/sh
        read registry
        [ "$1" = get ] && [ "$registry" = "%s" ] || { echo "credentials not found in native keychain"; exit 1; }
        printf '{"ServerURL":"%%s","Username":"%s","Secret":"%s"}' "$registry"
        """.formatted(address, USER, PASSWORD));
    Files.setPosixFilePermissions(helper, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    Path withHelper = Files.createDirectories(context.resolve("docker-helper"));
    Files.writeString(withHelper.resolve("config.json"), "{\"credHelpers\": {\"" + address + "\": \"closedloop-test\"}}");
    Path project = Files.createDirectories(context.resolve("project"));
    writeContext(project);
    Files.copy(TestServices.root().resolve("it/src/test/projects/consumer/pom.xml"), project.resolve("pom.xml"));
    String next = TestServices.randomSha();

    TestServices.Run run = TestServices.run(project, java.util.Map.of("DOCKER_CONFIG", withHelper.toString(),
        "PATH", bin + ":" + System.getenv("PATH")), TestServices.mvnw("-Ddeploy.image=" + address + "/auth/helper",
        "-Ddeploy.sha=" + next, "deploy:build").toArray(String[]::new));

    assertThat(run.exitCode()).as(run.output()).isZero();
    assertThat(digest("auth/helper", next)).isPresent();
    assertThat(run.output()).doesNotContain(PASSWORD);
  }

  @Test
  void credentialHelpers_thatFloodStderrOrHang_neverHangTheBuild_andDockerHubIsAskedByTheCliKey() throws IOException {
    Path bin = Files.createDirectories(context.resolve("bin"));
    Path asked = context.resolve("asked.txt");
    helper(bin, "closedloop-flood", """
        #!/bin/sh
        head -c 300000 /dev/zero | tr '\\0' x >&2
        read registry
        printf '{"ServerURL":"%%s","Username":"%s","Secret":"%s"}' "$registry"
        """.formatted(USER, PASSWORD));
    helper(bin, "closedloop-hang", "#!/bin/sh\nexec sleep 300\n");
    helper(bin, "closedloop-hub", "#!/bin/sh\nread registry\nprintf '%s' \"$registry\" > " + asked
        + "\necho 'credentials not found in native keychain'\nexit 1\n");
    Path config = Files.createDirectories(context.resolve("docker-helpers"));
    Files.writeString(config.resolve("config.json"), "{\"credHelpers\": {\"" + address + "\": \"closedloop-flood\","
        + " \"index.docker.io\": \"closedloop-hub\", \"127.0.0.1:1\": \"closedloop-hang\"}}");
    Path project = Files.createDirectories(context.resolve("project"));
    writeContext(project);
    Files.copy(TestServices.root().resolve("it/src/test/projects/consumer/pom.xml"), project.resolve("pom.xml"));
    java.util.Map<String, String> env = java.util.Map.of("DOCKER_CONFIG", config.toString(),
        "PATH", bin + ":" + System.getenv("PATH"));
    String sha = TestServices.randomSha();

    // the hanging helper takes its 30 s: meanwhile, from a project of its own, the others run
    Path hangProject = Files.createDirectories(context.resolve("hang-project"));
    writeContext(hangProject);
    Files.copy(project.resolve("pom.xml"), hangProject.resolve("pom.xml"));
    java.util.concurrent.CompletableFuture<TestServices.Run> hanging = java.util.concurrent.CompletableFuture
        .supplyAsync(() -> TestServices.run(hangProject, env, TestServices.mvnw("-Ddeploy.image=127.0.0.1:1/team/app",
            "-Ddeploy.sha=" + sha, "deploy:build").toArray(String[]::new)));

    // 300 KB on stderr, more than a pipe holds: the helper still answers, and the build pushes
    TestServices.Run flood = TestServices.run(project, env, TestServices.mvnw("-Ddeploy.image=" + address
        + "/auth/flood", "-Ddeploy.sha=" + sha, "deploy:build").toArray(String[]::new));
    assertThat(flood.exitCode()).as(flood.output()).isZero();
    assertThat(digest("auth/flood", sha)).isPresent();

    // the docker CLI keeps Docker Hub's credentials under https://index.docker.io/v1/
    TestServices.Run hub = TestServices.run(project, env, TestServices.mvnw("-Ddeploy.image=docker.io/team/app",
        "-Ddeploy.sha=" + sha, "-Ddeploy.lockMode=bogus", "deploy:build").toArray(String[]::new));
    assertThat(hub.exitCode()).isEqualTo(1);
    assertThat(Files.readString(asked)).isEqualTo("https://index.docker.io/v1/");

    TestServices.Run hang = hanging.join();
    assertThat(hang.exitCode()).isEqualTo(1);
    assertThat(hang.output().lines().filter(l -> l.startsWith("[ERROR] Failed to execute goal")).toList())
        .singleElement().asString().contains("docker-credential-closedloop-hang get did not answer within 30 s for"
            + " 127.0.0.1:1");
  }

  @Test
  void aPrivateBaseImage_pullsWithItsRegistrysCredentials_fromTheApiAndSettingsXml_orFailsInOneLineNamingIt()
      throws IOException {
    writeContext(context);
    String baseSha = TestServices.randomSha();
    String base = address + "/auth/base:" + baseSha;
    Release.configure().image(address + "/auth/base").sha(baseSha).buildContext(context)
        .registryCredentials(new RegistryCredentials(USER, PASSWORD)).dockerHost(TestServices.dockerHost())
        .load().build();
    Path app = Files.createDirectories(context.resolve("app"));
    Files.writeString(app.resolve("marker"), "on a private base\n");
    Files.writeString(app.resolve("Dockerfile"), "ARG BASE=" + base + "\nFROM ${BASE}\nCOPY marker /marker\n");
    String image = TestServices.registry() + "/it/private-base";

    // the engine has it no more: the build must pull it, with credentials for its registry
    TestServices.docker("rmi", base);
    String refusedSha = TestServices.randomSha();
    assertThatThrownBy(() -> Release.configure().image(image).sha(refusedSha).buildContext(app)
        .dockerHost(TestServices.dockerHost()).load().build())
        .isInstanceOfSatisfying(DeployException.class, e -> assertThat(e.getMessage())
            .startsWith("docker build of " + app.resolve("Dockerfile") + " failed: ")
            .endsWith("(no credentials were found for " + address + ", where the Dockerfile pulls from: add a"
                + " settings.xml <server> with the registry as its id, or docker login to it)")
            .doesNotContain("\n"));
    assertThat(TestServices.registryDigest("it/private-base", refusedSha)).isEmpty();

    String sha = TestServices.randomSha();
    BuiltImage built = Release.configure().image(image).sha(sha).buildContext(app)
        .registryCredentials(address, new RegistryCredentials(USER, PASSWORD))
        .dockerHost(TestServices.dockerHost()).load().build().image().orElseThrow();
    assertThat(TestServices.registryDigest("it/private-base", sha)).contains(built.digest());

    // the same through the docker CLI with BuildKit: the credentials reach it in a private config.json
    TestServices.docker("rmi", base);
    String cliSha = TestServices.randomSha();
    java.util.List<String> printed = new java.util.concurrent.CopyOnWriteArrayList<>();
    BuiltImage viaCli = Release.configure().image(image).sha(cliSha).buildContext(app).dockerCli("/usr/bin/docker")
        .registryCredentials(address, new RegistryCredentials(USER, PASSWORD)).listener(e -> printed.add(e.toString()))
        .dockerHost(TestServices.dockerHost()).load().build().image().orElseThrow();
    assertThat(TestServices.registryDigest("it/private-base", cliSha)).contains(viaCli.digest());
    assertThat(printed).anyMatch(line -> line.contains("with DOCKER_BUILDKIT=1 /usr/bin/docker build"));
    assertThat(String.join("\n", printed)).doesNotContain(PASSWORD);

    // through Maven, from the settings.xml <server> whose id is the base's registry; BuildKit kept the base
    // in its own cache, so the engine may have no tag to remove
    TestServices.run(context, "docker", "-H", TestServices.dockerHost(), "rmi", base);
    assertThat(TestServices.run(context, "docker", "-H", TestServices.dockerHost(), "image", "inspect", base).exitCode())
        .isNotZero();
    Path project = Files.createDirectories(context.resolve("project"));
    Files.copy(app.resolve("Dockerfile"), project.resolve("Dockerfile"));
    Files.copy(app.resolve("marker"), project.resolve("marker"));
    Files.copy(TestServices.root().resolve("it/src/test/projects/consumer/pom.xml"), project.resolve("pom.xml"));
    Path settings = context.resolve("settings.xml");
    Files.writeString(settings, """
        <settings>
          <servers>
            <server><id>maven-central-mirror</id><username>someone</username><password>other</password></server>
            <server><id>%s</id><username>%s</username><password>%s</password></server>
          </servers>
        </settings>
        """.formatted(address, USER, PASSWORD));
    String mavenSha = TestServices.randomSha();
    TestServices.Run run = TestServices.run(project, TestServices.root().resolve("mvnw").toString(), "-B", "-ntp",
        "-s", settings.toString(), "-Dclosedloop.version=" + TestServices.version(),
        "-Ddeploy.image=" + image, "-Ddeploy.sha=" + mavenSha, "deploy:build");

    assertThat(run.exitCode()).as(run.output()).isZero();
    assertThat(TestServices.registryDigest("it/private-base", mavenSha)).isPresent();
    assertThat(run.output()).doesNotContain(PASSWORD);
  }

  private static void helper(Path bin, String name, String script) throws IOException {
    Path helper = bin.resolve("docker-credential-" + name);
    Files.writeString(helper, script);
    Files.setPosixFilePermissions(helper, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private BuiltImage build(String sha, RegistryCredentials credentials) {
    return Release.configure().image(address + "/auth/app").sha(sha)
        .buildContext(context).registryCredentials(credentials)
        .dockerHost(TestServices.dockerHost()).load().build().image().orElseThrow();
  }

  private static void writeContext(Path dir) throws IOException {
    Files.copy(TestServices.busybox(), dir.resolve("busybox"));
    Files.writeString(dir.resolve("Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\n");
  }

  private static Optional<String> digest(String repository, String tag) {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + address + "/v2/" + repository + "/manifests/" + tag))
        .method("HEAD", HttpRequest.BodyPublishers.noBody())
        .header("Accept", "application/vnd.docker.distribution.manifest.v2+json")
        .header("Authorization", "Basic " + Base64.getEncoder()
            .encodeToString((USER + ":" + PASSWORD).getBytes(StandardCharsets.UTF_8)))
        .build();
    try {
      HttpResponse<Void> response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.discarding());
      return response.statusCode() == 200 ? response.headers().firstValue("Docker-Content-Digest") : Optional.empty();
    } catch (IOException | InterruptedException e) {
      throw new AssertionError(e);
    }
  }
}
