package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The services {@code scripts/services} starts for the tests. A test that needs one and cannot
 * reach it fails with the reason; it never skips.
 */
final class TestServices {

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private TestServices() {}

  static String dockerHost() {
    return required("DOCKER_HOST");
  }

  /** The local registry, {@code 127.0.0.1:PORT}. */
  static String registry() {
    return required("CLOSEDLOOP_REGISTRY");
  }

  private static String required(String variable) {
    String value = System.getenv(variable);
    if (value == null || value.isBlank()) {
      fail(variable + " is not set: run the tests through `scripts/services run ./mvnw -B install`,"
          + " which starts the Docker engine and registry they need");
    }
    return value;
  }

  /** The repository root, where mvnw and scripts/ are. */
  static Path root() {
    return Path.of(System.getProperty("closedloop.root", "..")).toAbsolutePath().normalize();
  }

  /** A copy of the consumer project {@code it/src/test/projects/NAME} in {@code work}, with busybox for its image. */
  static Path copyProject(String name, Path work) throws IOException {
    Path source = root().resolve("it/src/test/projects").resolve(name);
    Path target = work.resolve(name);
    try (java.util.stream.Stream<Path> files = Files.walk(source)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        Path to = target.resolve(source.relativize(file).toString());
        if (Files.isDirectory(file)) {
          Files.createDirectories(to);
        } else {
          Files.copy(file, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
    Files.copy(busybox(), target.resolve("busybox"));
    return target;
  }

  /** The project's mvnw on a project directory, with the plugin's version set. */
  static java.util.List<String> mvnw(String... args) {
    java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of(
        root().resolve("mvnw").toString(), "-B", "-ntp", "-Dstyle.color=never", "-Dclosedloop.version=" + version()));
    command.addAll(java.util.List.of(args));
    return command;
  }

  static String version() {
    return System.getProperty("closedloop.version", "0.1.0-SNAPSHOT");
  }

  /** The busybox binary images are built from: no image hub is reachable here. */
  static Path busybox() {
    for (String candidate : new String[] {"/bin/busybox", "/usr/bin/busybox"}) {
      if (Files.isExecutable(Path.of(candidate))) {
        return Path.of(candidate);
      }
    }
    return fail("busybox is missing: scripts/services up installs busybox-static");
  }

  /** What the registry itself says the tag points at: HEAD on the manifest, no client of ours. */
  static Optional<String> registryDigest(String repository, String tag) {
    HttpRequest request = HttpRequest.newBuilder(
            URI.create("http://" + registry() + "/v2/" + repository + "/manifests/" + tag))
        .method("HEAD", HttpRequest.BodyPublishers.noBody())
        .header("Accept", "application/vnd.docker.distribution.manifest.v2+json, "
            + "application/vnd.oci.image.manifest.v1+json")
        .build();
    try {
      HttpResponse<Void> response = HTTP.send(request, HttpResponse.BodyHandlers.discarding());
      if (response.statusCode() == 404) {
        return Optional.empty();
      }
      if (response.statusCode() != 200) {
        return fail("registry answered HTTP " + response.statusCode() + " for " + repository + ":" + tag);
      }
      return response.headers().firstValue("Docker-Content-Digest");
    } catch (IOException | InterruptedException e) {
      return fail("registry at " + registry() + " is unreachable: " + e);
    }
  }

  /** Moves {@code tag} to {@code digest} as another release would: the same manifest bytes PUT under the tag. */
  static void moveTag(String repository, String tag, String digest) {
    String base = "http://" + registry() + "/v2/" + repository + "/manifests/";
    try {
      HttpResponse<byte[]> manifest = HTTP.send(HttpRequest.newBuilder(URI.create(base + digest))
          .header("Accept", "application/vnd.docker.distribution.manifest.v2+json, "
              + "application/vnd.oci.image.manifest.v1+json").build(), HttpResponse.BodyHandlers.ofByteArray());
      String type = manifest.headers().firstValue("Content-Type").orElseThrow();
      HttpResponse<Void> put = HTTP.send(HttpRequest.newBuilder(URI.create(base + tag)).header("Content-Type", type)
          .PUT(HttpRequest.BodyPublishers.ofByteArray(manifest.body())).build(), HttpResponse.BodyHandlers.discarding());
      if (put.statusCode() != 201) {
        fail("moving " + repository + ":" + tag + " answered HTTP " + put.statusCode());
      }
    } catch (IOException | InterruptedException e) {
      fail("registry at " + registry() + " is unreachable: " + e);
    }
  }

  /** A registry a test runs itself, with an {@code auth:} block of its own; stop it with {@link #close}. */
  record OwnRegistry(Process process, String address) implements AutoCloseable {
    @Override
    public void close() throws InterruptedException {
      process.destroy();
      process.waitFor();
    }
  }

  /**
   * Starts docker-registry on a free loopback port with data under {@code state} and the given
   * YAML {@code auth:} block (indented by two spaces), and waits until it challenges for credentials.
   */
  static OwnRegistry startRegistry(Path state, String authBlock) throws IOException, InterruptedException {
    return serveRegistry(state, "auth:\n" + authBlock, "127.0.0.1", 401);
  }

  /**
   * Starts docker-registry without authentication on a free port of every interface, with data
   * under {@code state}, and waits until it answers on loopback; {@code address()} is the loopback one.
   */
  static OwnRegistry startOpenRegistry(Path state) throws IOException, InterruptedException {
    return serveRegistry(state, "", "0.0.0.0", 200);
  }

  /** docker-registry with {@code config} (YAML), listening on {@code bind}, once /v2/ answers {@code status} on loopback. */
  private static OwnRegistry serveRegistry(Path state, String config, String bind, int status)
      throws IOException, InterruptedException {
    int port;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    String address = "127.0.0.1:" + port;
    Files.writeString(state.resolve("config.yml"), "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
        + "    rootdirectory: " + state.resolve("data") + "\n" + config + "http:\n  addr: " + bind + ":" + port + "\n");
    Process process = new ProcessBuilder("docker-registry", "serve", state.resolve("config.yml").toString())
        .redirectErrorStream(true).redirectOutput(state.resolve("registry.log").toFile()).start();
    for (int attempt = 0; attempt < 100; attempt++) { // 10 s at most
      try {
        HttpResponse<Void> v2 = HTTP.send(HttpRequest.newBuilder(URI.create("http://" + address + "/v2/")).build(),
            HttpResponse.BodyHandlers.discarding());
        if (v2.statusCode() != status) {
          fail("the registry at " + address + " answers /v2/ with HTTP " + v2.statusCode() + ", not " + status);
        }
        return new OwnRegistry(process, address);
      } catch (IOException e) {
        Thread.sleep(100);
      }
    }
    process.destroy();
    return fail("the registry did not start: " + Files.readString(state.resolve("registry.log")));
  }

  /** A forward HTTP proxy on loopback that records each request it passes on ("METHOD absolute-URI"). */
  record ForwardProxy(com.sun.net.httpserver.HttpServer server, java.util.List<String> forwarded) implements AutoCloseable {
    int port() {
      return server.getAddress().getPort();
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }

  /** Starts a {@link ForwardProxy}: absolute-form requests (GET http://host/path) are sent on as they came. */
  static ForwardProxy startForwardProxy() throws IOException {
    java.util.List<String> forwarded = new java.util.concurrent.CopyOnWriteArrayList<>();
    com.sun.net.httpserver.HttpServer proxy = com.sun.net.httpserver.HttpServer.create(
        new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
    HttpClient direct = HttpClient.newHttpClient();
    proxy.createContext("/", exchange -> {
      forwarded.add(exchange.getRequestMethod() + " " + exchange.getRequestURI());
      HttpRequest.Builder request = HttpRequest.newBuilder(exchange.getRequestURI())
          .method(exchange.getRequestMethod(), HttpRequest.BodyPublishers.ofByteArray(
              exchange.getRequestBody().readAllBytes()));
      for (String header : java.util.List.of("Accept", "Content-Type", "Authorization")) {
        String value = exchange.getRequestHeaders().getFirst(header);
        if (value != null) {
          request.header(header, value);
        }
      }
      try {
        HttpResponse<byte[]> answer = direct.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        answer.headers().map().forEach((name, values) -> {
          if (!name.equalsIgnoreCase("content-length") && !name.equalsIgnoreCase("transfer-encoding")) {
            exchange.getResponseHeaders().put(name, values);
          }
        });
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(answer.statusCode(), head || answer.body().length == 0 ? -1 : answer.body().length);
        if (!head && answer.body().length > 0) {
          exchange.getResponseBody().write(answer.body());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        exchange.sendResponseHeaders(502, -1);
      } catch (IOException e) {
        exchange.sendResponseHeaders(502, -1);
      }
      exchange.close();
    });
    proxy.start();
    return new ForwardProxy(proxy, forwarded);
  }

  /** An IPv4 address of this machine that is not loopback: how another machine would reach it. */
  static String outsideAddress() throws IOException {
    for (java.net.NetworkInterface nic : java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces())) {
      if (!nic.isUp() || nic.isLoopback()) {
        continue;
      }
      for (java.net.InetAddress address : java.util.Collections.list(nic.getInetAddresses())) {
        if (address instanceof java.net.Inet4Address && !address.isLoopbackAddress() && !address.isLinkLocalAddress()) {
          return address.getHostAddress();
        }
      }
    }
    return fail("this machine has no IPv4 address off loopback to test a remote registry with");
  }

  /** moto, serving ECR, SSM and STS for the AWS SDK on one loopback port; stop it with {@link #close}. */
  record Moto(Process process, String endpoint) implements AutoCloseable {
    @Override
    public void close() throws InterruptedException {
      process.destroy();
      process.waitFor();
    }
  }

  /** Starts {@code python3 -m moto.server} on a free loopback port, logging to {@code state}, and waits for it. */
  static Moto startMoto(Path state) throws IOException, InterruptedException {
    int port;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    Process process = new ProcessBuilder("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", String.valueOf(port))
        .redirectErrorStream(true).redirectOutput(state.resolve("moto.log").toFile()).start();
    String endpoint = "http://127.0.0.1:" + port;
    for (int i = 0; i < 300; i++) { // 30 s at most
      try {
        HTTP.send(HttpRequest.newBuilder(URI.create(endpoint)).build(), HttpResponse.BodyHandlers.discarding());
        return new Moto(process, endpoint);
      } catch (IOException e) {
        Thread.sleep(100);
      }
    }
    process.destroy();
    return fail("moto did not start: " + Files.readString(state.resolve("moto.log")));
  }

  /** A fresh 40-digit commit SHA, so each test works on its own tags. */
  static String randomSha() {
    StringBuilder sha = new StringBuilder();
    java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
    for (int i = 0; i < 40; i++) {
      sha.append(Character.forDigit(random.nextInt(16), 16));
    }
    return sha.toString();
  }

  /** Runs the docker CLI against the test engine; fails the test when it fails. */
  static Run docker(String... args) {
    java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of("docker", "-H", dockerHost()));
    command.addAll(java.util.List.of(args));
    Run run = run(Path.of("."), command.toArray(String[]::new));
    if (run.exitCode() != 0) {
      fail(String.join(" ", command) + " failed: " + run.output());
    }
    return run;
  }

  /** Runs a command, returning its exit code and combined output. */
  static Run run(Path dir, String... command) {
    return run(dir, java.util.Map.of(), command);
  }

  /** Runs a command with extra environment variables (an empty value removes one). */
  static Run run(Path dir, java.util.Map<String, String> env, String... command) {
    try {
      ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
      // never ask the EC2 metadata address for credentials or a region: nothing of ours is there
      builder.environment().put("AWS_EC2_METADATA_DISABLED", "true");
      env.forEach((name, value) -> {
        if (value.isEmpty()) {
          builder.environment().remove(name);
        } else {
          builder.environment().put(name, value);
        }
      });
      Process process = builder.start();
      String output = new String(process.getInputStream().readAllBytes());
      return new Run(process.waitFor(), output);
    } catch (IOException e) {
      return fail("cannot run " + String.join(" ", command) + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return fail("interrupted");
    }
  }

  record Run(int exitCode, String output) {}
}
