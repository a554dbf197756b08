package dev.closedloop.deploy.internal.image;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.image.BuildRequest;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds through the docker CLI with BuildKit, which the engine's API (the legacy builder) lacks:
 * {@code RUN --mount=type=cache}, {@code --mount=type=secret}, {@code # syntax=} and several
 * platforms at once. {@code docker buildx build} when buildx is installed, else
 * {@code DOCKER_BUILDKIT=1 docker build} for a client older than 23 (later ones need buildx).
 * Registry credentials and secrets reach the CLI through a private temporary directory, removed
 * afterwards; none is ever on a command line.
 */
public final class BuildKit {

  /** How the CLI builds with BuildKit. */
  public enum Mode {
    BUILDX, DOCKER_BUILDKIT
  }

  /**
   * The line BuildKit's plain progress starts a Dockerfile step with: {@code #7 [2/3] RUN make} or
   * {@code #7 [build 2/3] RUN make}; its own ({@code [internal] load …}) are detail.
   */
  private static final Pattern STEP = Pattern.compile("^#(\\d+) (\\[(?:[^\\]]* )?\\d+/\\d+\\] .*)$");
  private static final Pattern CLIENT_VERSION = Pattern.compile("Docker version (\\d+)\\.");

  private final Path cli;
  private final Mode mode;

  private BuildKit(Path cli, Mode mode) {
    this.cli = cli;
    this.mode = mode;
  }

  public Mode mode() {
    return mode;
  }

  @Override
  public String toString() {
    return (mode == Mode.BUILDX ? cli + " buildx build" : "DOCKER_BUILDKIT=1 " + cli + " build");
  }

  /**
   * The CLI {@code configured} names (a path or a name on {@code PATH}), else {@code docker} on
   * the PATH, when it builds with BuildKit; empty when there is none, or it cannot.
   *
   * @param why told why a CLI found cannot build with BuildKit
   */
  public static Optional<BuildKit> find(String configured, Map<String, String> env, Consumer<String> why) {
    Optional<Path> cli = locate(configured != null && !configured.isBlank() ? configured.trim() : "docker", env);
    if (cli.isEmpty()) {
      if (configured != null && !configured.isBlank()) {
        throw new DeployException(DeployException.Kind.CONFIGURATION, "dockerCli (deploy.dockerCli): no executable '"
            + configured.trim() + "' here");
      }
      return Optional.empty();
    }
    if (exitsZero(cli.get(), "buildx", "version")) {
      return Optional.of(new BuildKit(cli.get(), Mode.BUILDX));
    }
    String version = output(cli.get(), "--version");
    Matcher major = CLIENT_VERSION.matcher(version);
    if (major.find() && Integer.parseInt(major.group(1)) < 23) {
      return Optional.of(new BuildKit(cli.get(), Mode.DOCKER_BUILDKIT));
    }
    why.accept(cli.get() + " (" + version.strip() + ") has no buildx, and from version 23 the docker CLI builds"
        + " with BuildKit only through buildx");
    return Optional.empty();
  }

  private static Optional<Path> locate(String name, Map<String, String> env) {
    if (name.contains(File.separator)) {
      Path path = Path.of(name);
      return Files.isExecutable(path) ? Optional.of(path) : Optional.empty();
    }
    String path = env.getOrDefault("PATH", System.getenv("PATH"));
    for (String dir : (path == null ? "" : path).split(File.pathSeparator)) {
      Path candidate = Path.of(dir.isEmpty() ? "." : dir, name);
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  private static boolean exitsZero(Path cli, String... args) {
    try {
      Process process = new ProcessBuilder(command(cli, args)).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        return false;
      }
      return process.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static String output(Path cli, String... args) {
    Path out = null;
    try {
      out = Files.createTempFile("closedloop-docker-version-", ".txt"); // drained by the OS: a hung CLI cannot hang us
      Process process = new ProcessBuilder(command(cli, args)).redirectErrorStream(true)
          .redirectOutput(out.toFile()).start();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        return "";
      }
      return Files.readString(out, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    } finally {
      if (out != null) {
        try {
          Files.deleteIfExists(out);
        } catch (IOException ignored) {
          // a temporary file
        }
      }
    }
  }

  private static List<String> command(Path cli, String... args) {
    List<String> command = new ArrayList<>(List.of(cli.toString()));
    command.addAll(List.of(args));
    return command;
  }

  /**
   * What in a Dockerfile needs BuildKit, as "what (line N)", or empty: said when only the
   * engine's API is there to build it, which would fail on it with a parse error.
   */
  public static Optional<String> neededBy(Path dockerfile) {
    List<String> lines;
    try {
      lines = Files.readAllLines(dockerfile, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return Optional.empty(); // validated before; the build says what is wrong with it
    }
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.matches("(?i)#\\s*syntax\\s*=.*")) {
        return Optional.of("a # syntax= directive (line " + (i + 1) + ")");
      }
      if (line.matches("(?i)RUN\\s+.*--mount=.*")) {
        return Optional.of("RUN --mount (line " + (i + 1) + ")");
      }
      if (line.matches("(?i)(RUN|COPY)\\s+.*<<-?['\"]?[A-Za-z_]+.*")) {
        return Optional.of("a here-document (line " + (i + 1) + ")");
      }
      if (line.matches("(?i)COPY\\s+.*--(link|parents|exclude)\\b.*")) {
        return Optional.of("COPY --link (line " + (i + 1) + ")");
      }
    }
    return Optional.empty();
  }

  /** Stops a build: the CLI and what it started (buildx runs as a plugin process of its own). */
  static void stop(Process process) {
    process.descendants().forEach(ProcessHandle::destroy);
    process.destroy();
  }

  /**
   * Whether a build argument's name would steer the CLI itself when passed through its
   * environment: which engine, configuration, programs or proxy it uses (in any letter case, as
   * Go's proxy variables are read in both).
   */
  static boolean steersTheCli(String name) {
    String upper = name.toUpperCase(java.util.Locale.ROOT);
    return Set.of("PATH", "HOME", "SSL_CERT_FILE", "SSL_CERT_DIR").contains(upper) || upper.endsWith("_PROXY")
        || upper.startsWith("DOCKER_") || upper.startsWith("BUILDX_") || upper.startsWith("BUILDKIT_")
        || upper.startsWith("LD_");
  }

  /**
   * The command line of a build: its tags, labels, build arguments, target, secrets (by file in
   * {@code secretsDir}) and platforms; several platforms are pushed ({@code push}, the digest
   * pushed written to {@code metadata}), one is loaded into the engine.
   */
  List<String> commandLine(BuildRequest request, List<ImageRef> tags, Map<String, String> labels,
      Map<String, Path> secretFiles, boolean push, Path metadata) {
    List<String> command = new ArrayList<>(List.of(cli.toString()));
    if (mode == Mode.BUILDX) {
      command.addAll(List.of("buildx", "build"));
      command.add(push ? "--push" : "--load");
      if (push && metadata != null) {
        command.addAll(List.of("--metadata-file", metadata.toString()));
      }
    } else {
      command.add("build");
    }
    command.addAll(List.of("--progress=plain", "--file", request.dockerfile().toAbsolutePath().toString()));
    if (!request.platforms().isEmpty()) {
      command.addAll(List.of("--platform", String.join(",", request.platforms())));
    }
    for (ImageRef tag : tags) {
      command.addAll(List.of("--tag", tag.toString()));
    }
    labels.forEach((name, value) -> command.addAll(List.of("--label", name + "=" + value)));
    // NAME alone: the value comes from the CLI's environment, never from its command line
    request.buildArgs().keySet().forEach(name -> command.addAll(List.of("--build-arg", name)));
    if (request.target() != null && !request.target().isBlank()) {
      command.addAll(List.of("--target", request.target()));
    }
    secretFiles.forEach((id, file) -> command.addAll(List.of("--secret", "id=" + id + ",src=" + file)));
    command.add(request.context().toAbsolutePath().toString());
    return command;
  }

  private static final String PRIVATE_PREFIX = "closedloop-buildkit-";
  /** Who made a private directory: this JVM's pid and start, so a later build knows when it is dead. */
  private static final String OWNER = "owner";

  /**
   * A private directory (0700) for the CLI's configuration and the secrets' files. Those a killed
   * build left (no exit hook runs on SIGKILL) are removed first: credentials and secrets must not
   * outlive the build that needed them.
   */
  static Path privateDirectory() throws IOException {
    removeOrphans(Path.of(System.getProperty("java.io.tmpdir")));
    Path dir = Files.createTempDirectory(PRIVATE_PREFIX, PosixFilePermissions.asFileAttribute(
        PosixFilePermissions.fromString("rwx------")));
    Files.writeString(dir.resolve(OWNER), owner(ProcessHandle.current()), StandardCharsets.UTF_8);
    return dir;
  }

  private static String owner(ProcessHandle process) {
    return process.pid() + " " + process.info().startInstant().map(Object::toString).orElse("");
  }

  /** Removes the private directories in {@code tmp} whose owner no longer runs; others' are left alone. */
  static void removeOrphans(Path tmp) {
    try (java.util.stream.Stream<Path> entries = Files.list(tmp)) {
      for (Path dir : (Iterable<Path>) entries::iterator) {
        if (!dir.getFileName().toString().startsWith(PRIVATE_PREFIX) || !Files.isReadable(dir.resolve(OWNER))) {
          continue; // not ours, or another user's
        }
        String[] owner = Files.readString(dir.resolve(OWNER), StandardCharsets.UTF_8).split(" ", 2);
        boolean alive = ProcessHandle.of(Long.parseLong(owner[0])).map(BuildKit::owner)
            .filter(now -> now.equals(String.join(" ", owner))).isPresent();
        if (!alive) {
          dev.closedloop.deploy.internal.database.Trees.delete(dir);
        }
      }
    } catch (IOException | RuntimeException e) {
      // a directory that cannot be read or removed is left as it is; this build goes on
    }
  }

  /**
   * Writes a docker {@code config.json} into {@code dir}: the user's own (its helpers kept), with
   * {@code credentials} added as inline auths; buildx's builders stay the user's.
   */
  static void writeConfig(Path dir, Path userConfigDir, Map<String, RegistryCredentials> credentials) throws IOException {
    com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
    Path userConfig = userConfigDir.resolve("config.json");
    com.fasterxml.jackson.databind.JsonNode read = Files.isRegularFile(userConfig) ? json.readTree(userConfig.toFile())
        : json.createObjectNode();
    if (!(read instanceof com.fasterxml.jackson.databind.node.ObjectNode config)
        || config.has("auths") && !config.get("auths").isObject()
        || config.has("credHelpers") && !config.get("credHelpers").isObject()) {
      throw new IOException(userConfig + " is not a docker configuration (a JSON object with auths and credHelpers"
          + " objects): fix it, or point DOCKER_CONFIG elsewhere");
    }
    com.fasterxml.jackson.databind.node.ObjectNode auths = config.with("auths");
    com.fasterxml.jackson.databind.node.ObjectNode helpers = config.has("credHelpers")
        ? (com.fasterxml.jackson.databind.node.ObjectNode) config.get("credHelpers") : null;
    credentials.forEach((registry, known) -> {
      String key = registry.equals(ImageRef.DOCKER_HUB) ? DockerConfig.HUB_SERVER : registry;
      com.fasterxml.jackson.databind.node.ObjectNode entry = auths.putObject(key);
      if (known.isIdentityToken()) {
        entry.put("identitytoken", known.password());
      } else {
        entry.put("auth", Base64.getEncoder().encodeToString((known.username() + ":" + known.password())
            .getBytes(StandardCharsets.UTF_8)));
      }
      if (helpers != null) {
        helpers.remove(registry.equals(ImageRef.DOCKER_HUB) ? "index.docker.io" : registry); // ours win
      }
    });
    if (!credentials.isEmpty()) {
      config.remove("credsStore"); // it would be asked before the auths closedloop found
    }
    Path file = dir.resolve("config.json");
    Files.writeString(file, json.writeValueAsString(config), StandardCharsets.UTF_8);
    // what else the CLI keeps there stays the user's: buildx's builders, per-user plugins (buildx itself,
    // often), contexts, and the default TLS certificates of a tcp:// engine
    for (String kept : List.of("buildx", "cli-plugins", "contexts", "ca.pem", "cert.pem", "key.pem")) {
      Path theirs = userConfigDir.resolve(kept);
      if (Files.exists(theirs)) {
        Files.createSymbolicLink(dir.resolve(kept), theirs.toAbsolutePath());
      }
    }
  }

  /**
   * Runs a build, each step's first line told to {@code progress} and every other line to
   * {@code detail}; a failure is one line: BuildKit's own "failed to solve" (or last error).
   */
  void run(List<String> command, Map<String, String> env, Consumer<String> progress, Consumer<String> detail,
      Consumer<Process> started, java.util.function.BooleanSupplier aborted) {
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().putAll(env);
    if (mode == Mode.DOCKER_BUILDKIT) {
      builder.environment().put("DOCKER_BUILDKIT", "1");
    }
    Deque<String> last = new ArrayDeque<>();
    String failure = null;
    Set<String> steps = new HashSet<>();
    try {
      Process process = builder.start();
      started.accept(process);
      try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
          StandardCharsets.UTF_8))) {
        for (String line = out.readLine(); line != null; line = out.readLine()) {
          Matcher step = STEP.matcher(line);
          if (step.matches() && steps.add(step.group(1))) {
            progress.accept(step.group(2));
          } else {
            detail.accept(line);
          }
          if (line.contains("failed to solve") || line.startsWith("ERROR:") || line.startsWith("error:")) {
            failure = line.replaceFirst("^(ERROR|error): ", "");
          }
          last.addLast(line);
          if (last.size() > 5) {
            last.removeFirst();
          }
        }
      }
      int exit = process.waitFor();
      if (exit != 0 && aborted.getAsBoolean()) {
        throw new DeployException(DeployException.Kind.DOCKER, "Stopped while building with " + this);
      }
      if (exit != 0) {
        throw new DeployException(DeployException.Kind.DOCKER, "BuildKit (" + this + ") failed, exit " + exit + ": "
            + (failure != null ? failure : last.isEmpty() ? "no output" : last.peekLast()));
      }
    } catch (IOException e) {
      throw new DeployException(DeployException.Kind.DOCKER, "Cannot run " + cli + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DeployException(DeployException.Kind.DOCKER, "Interrupted while building with " + this, e);
    }
  }
}
