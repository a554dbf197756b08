package dev.closedloop.deploy.internal.image;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.AuthConfig;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.InternetProtocol;
import com.github.dockerjava.api.model.Ports;
import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import dev.closedloop.deploy.internal.ExitCleanup;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Containers of one Docker engine, by name: what a local rollout runs, checks and replaces. */
public final class Containers {

  private final DockerEngine engine;

  public Containers(DockerEngine engine) {
    this.engine = engine;
  }

  /**
   * A port to publish.
   *
   * @param hostPort 0 for a spare one the engine picks
   */
  public record Port(String hostIp, int hostPort, int containerPort, String protocol) { }

  /** A container as inspected: running or not, how it exited, and the host ports it got. */
  public record State(String id, String name, String image, boolean running, Long exitCode,
      Map<String, Integer> hostPorts) {

    /** The host port published for {@code containerPort}/{@code protocol}, if any. */
    public Optional<Integer> hostPort(int containerPort, String protocol) {
      return Optional.ofNullable(hostPorts.get(containerPort + "/" + protocol));
    }
  }

  /**
   * Makes {@code image} (by digest) present in the engine, pulling it when it is not.
   *
   * @param credentials asked for only when the image must be pulled
   */
  public void ensureImage(ImageRef image, Supplier<RegistryCredentials> credentials) {
    DockerClient client = engine.client();
    try {
      client.inspectImageCmd(image.toString()).exec();
      return;
    } catch (NotFoundException absent) {
      // pulled below
    } catch (RuntimeException e) {
      throw failure("inspect image " + image, e);
    }
    AuthConfig auth = DockerEngine.authConfig(image.apiHost(), credentials.get());
    try {
      QuietPull pull = client.pullImageCmd(image.toString()).withAuthConfig(auth).exec(new QuietPull());
      if (!pull.awaitCompletion(30, TimeUnit.MINUTES)) {
        throw new DeployException(DeployException.Kind.DOCKER, "Pulling " + image + " took longer than 30 minutes");
      }
      if (pull.failure != null) {
        throw new DeployException(DeployException.Kind.DOCKER, "Cannot pull " + image + " into the Docker engine at "
            + engine.host() + ": " + DockerEngine.rootMessage(pull.failure), pull.failure);
      }
      client.inspectImageCmd(image.toString()).exec();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DeployException(DeployException.Kind.DOCKER, "Interrupted while pulling " + image, e);
    } catch (DeployException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new DeployException(DeployException.Kind.DOCKER, "Cannot pull " + image + " into the Docker engine at "
          + engine.host() + ": " + DockerEngine.rootMessage(e), e);
    }
  }

  /** Creates and starts a container; the engine's error, such as a port in use, is one line. */
  public String run(String name, ImageRef image, List<String> env, Map<String, String> labels, List<Port> ports) {
    List<ExposedPort> exposed = new ArrayList<>();
    Ports bindings = new Ports();
    for (Port port : ports) {
      ExposedPort container = new ExposedPort(port.containerPort(), InternetProtocol.parse(port.protocol()));
      exposed.add(container);
      bindings.bind(container, port.hostPort() == 0
          ? (port.hostIp() == null ? Ports.Binding.empty() : Ports.Binding.bindIp(port.hostIp()))
          : new Ports.Binding(port.hostIp(), String.valueOf(port.hostPort())));
    }
    return createAndStart(name, image, env, labels, create -> create.withExposedPorts(exposed)
        .withHostConfig(HostConfig.newHostConfig().withPortBindings(bindings)));
  }

  /**
   * Creates and starts a container with the image's own entrypoint on the host's network: a
   * service that listens where it would on the engine's host.
   */
  public String runOnHostNetwork(String name, ImageRef image, List<String> env, Map<String, String> labels) {
    return createAndStart(name, image, env, labels,
        create -> create.withHostConfig(HostConfig.newHostConfig().withNetworkMode("host")));
  }

  private String createAndStart(String name, ImageRef image, List<String> env, Map<String, String> labels,
      java.util.function.UnaryOperator<com.github.dockerjava.api.command.CreateContainerCmd> settings) {
    DockerClient client = engine.client();
    String id = null;
    try {
      id = settings.apply(client.createContainerCmd(image.toString()).withName(name).withEnv(env)
          .withLabels(labels)).exec().getId();
      client.startContainerCmd(id).exec();
      return id;
    } catch (RuntimeException e) {
      if (id != null) {
        try {
          remove(id);
        } catch (DeployException ignored) {
          // the failure to report is the one that got here
        }
      }
      throw new DeployException(DeployException.Kind.DOCKER, "Cannot run " + image + " as container " + name + ": "
          + DockerEngine.rootMessage(e), e);
    }
  }

  /**
   * Runs {@code argv} as the image's entrypoint on the host's network, hands each line it prints
   * to {@code lines} as it comes, and removes the container afterwards, also when the wait is
   * interrupted.
   *
   * @return the exit code
   */
  public long runToEnd(String name, ImageRef image, List<String> argv, List<String> env, Map<String, String> labels,
      java.util.function.Consumer<String> lines) {
    DockerClient client = engine.client();
    String id;
    try {
      id = client.createContainerCmd(image.toString()).withName(name).withEntrypoint(argv).withCmd(List.of())
          .withEnv(env).withLabels(labels).withHostConfig(HostConfig.newHostConfig().withNetworkMode("host"))
          .exec().getId();
    } catch (RuntimeException e) {
      throw failure("create a container of " + image, e);
    }
    // a JVM stopped by a signal takes its container along: no migration outlives its release's lock
    ExitCleanup.Handle stopWithUs = ExitCleanup.register("remove the container " + name, () -> remove(id));
    try {
      client.startContainerCmd(id).exec();
      follow(id, name, lines);
      return exitCode(id, name);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DeployException(DeployException.Kind.DOCKER, "Interrupted while " + name + " ran; it was stopped", e);
    } catch (DeployException e) {
      throw e;
    } catch (RuntimeException e) {
      throw failure("run " + image + " as " + name, e);
    } finally {
      stopWithUs.close();
      try {
        remove(id);
      } catch (DeployException e) {
        // removing it is tidying up: the run's own outcome is what to report
      }
    }
  }

  /** Hands each line the container prints to {@code lines}; a broken stream only ends the output, not the run. */
  private void follow(String id, String name, java.util.function.Consumer<String> lines) throws InterruptedException {
    StringBuilder partial = new StringBuilder();
    try {
      engine.client().logContainerCmd(id).withFollowStream(true).withStdOut(true).withStdErr(true)
          .exec(new ResultCallback.Adapter<Frame>() {
            @Override
            public void onNext(Frame frame) {
              partial.append(new String(frame.getPayload(), StandardCharsets.UTF_8));
              for (int newline; (newline = partial.indexOf("\n")) >= 0; ) {
                lines.accept(partial.substring(0, newline).stripTrailing());
                partial.delete(0, newline + 1);
              }
            }
          }).awaitCompletion();
    } catch (RuntimeException e) {
      lines.accept("(the output of " + name + " was lost: " + DockerEngine.rootMessage(e) + "; waiting for it to end)");
    }
    if (!partial.isEmpty()) {
      lines.accept(partial.toString().stripTrailing());
    }
  }

  /** Waits for the container to end by asking it, not by one long request a timeout could cut. */
  private long exitCode(String id, String name) throws InterruptedException {
    while (true) {
      State state = inspect(id).orElseThrow(() -> new DeployException(DeployException.Kind.DOCKER, name
          + " disappeared before it ended"));
      if (!state.running()) {
        return state.exitCode() == null ? -1 : state.exitCode();
      }
      Thread.sleep(500);
    }
  }

  /**
   * The label naming the process a throwaway container belongs to: the machine, its PID
   * namespace and the user (a container with the host's hostname is another machine all the
   * same), the JVM's pid and when it started (a pid is reused; a pid with its start time is not).
   */
  public static final String OWNER_LABEL = "dev.closedloop.owner";

  /** This JVM as {@link #OWNER_LABEL} names it; empty where that cannot be told (not Linux). */
  public static Optional<String> owner() {
    return ownerOf(ProcessHandle.current());
  }

  /** {@code process} of this machine, namespace and user as {@link #OWNER_LABEL} names it. */
  public static Optional<String> ownerOf(ProcessHandle process) {
    Optional<Long> started = process.info().startInstant().map(java.time.Instant::toEpochMilli);
    return machine().flatMap(machine -> started.map(at -> machine + " " + process.pid() + " " + at));
  }

  /** hostname, PID namespace and uid of this process, from /proc; empty without one. */
  private static Optional<String> machine() {
    try {
      java.nio.file.Path self = java.nio.file.Path.of("/proc/self");
      String host = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/kernel/hostname")).strip();
      String namespace = java.nio.file.Files.readSymbolicLink(self.resolve("ns/pid")).toString();
      Object uid = java.nio.file.Files.getAttribute(self, "unix:uid");
      return host.isEmpty() || host.contains(" ") || namespace.contains(" ") ? Optional.empty()
          : Optional.of(host + " " + namespace + " " + uid);
    } catch (java.io.IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** {@code more}, the container's role, and this JVM as its owner where it can be named. */
  public static Map<String, String> ownedLabels(String role, Map<String, String> more) {
    Map<String, String> labels = new java.util.HashMap<>(more);
    labels.put("dev.closedloop.role", role);
    owner().ifPresent(owner -> labels.put(OWNER_LABEL, owner));
    return Map.copyOf(labels);
  }

  /**
   * Removes the containers of {@code role} that a killed process (kill -9) of this machine,
   * namespace and user left: those whose owner no longer runs. What another machine, namespace
   * or user runs, and anything whose owner cannot be told dead, is left alone.
   *
   * @return the names removed
   */
  public List<String> removeOrphans(String role) {
    Optional<String> machine = machine();
    if (machine.isEmpty()) {
      return List.of();
    }
    List<String> removed = new ArrayList<>();
    List<com.github.dockerjava.api.model.Container> found;
    try {
      found = engine.client().listContainersCmd().withShowAll(true)
          .withLabelFilter(Map.of("dev.closedloop.role", role)).exec();
    } catch (RuntimeException e) {
      throw failure("list containers", e);
    }
    for (com.github.dockerjava.api.model.Container container : found) {
      String owner = container.getLabels() == null ? null : container.getLabels().get(OWNER_LABEL);
      if (owner == null || !owner.startsWith(machine.get() + " ")) {
        continue;
      }
      String[] process = owner.substring(machine.get().length() + 1).split(" ");
      if (process.length != 2 || !process[0].matches("\\d{1,18}") || !process[1].matches("\\d{1,18}")) {
        continue;
      }
      long startedAt = Long.parseLong(process[1]);
      // alive when its pid runs a process started then; a clock stepped since may shift that a little
      boolean alive = ProcessHandle.of(Long.parseLong(process[0])).map(running -> running.info().startInstant()
          .map(at -> Math.abs(at.toEpochMilli() - startedAt) < 10_000).orElse(true)).orElse(false);
      if (!alive) {
        String name = container.getNames() == null || container.getNames().length == 0 ? container.getId()
            : container.getNames()[0].replaceFirst("^/", "");
        try {
          remove(container.getId());
          removed.add(name);
        } catch (DeployException e) {
          // another release may be removing it right now; whoever comes next tries again
        }
      }
    }
    return removed;
  }

  /** The names of the running containers that carry all of {@code labels}. */
  public List<String> running(Map<String, String> labels) {
    try {
      return engine.client().listContainersCmd().withLabelFilter(labels).exec().stream()
          .map(c -> c.getNames() == null || c.getNames().length == 0 ? c.getId() : c.getNames()[0].replaceFirst("^/", ""))
          .toList();
    } catch (RuntimeException e) {
      throw failure("list containers", e);
    }
  }

  /** The container named (or with the id) {@code name}, if there is one. */
  public Optional<State> inspect(String name) {
    try {
      InspectContainerResponse inspected = engine.client().inspectContainerCmd(name).exec();
      Map<String, Integer> hostPorts = new java.util.HashMap<>();
      Ports ports = inspected.getNetworkSettings() == null ? null : inspected.getNetworkSettings().getPorts();
      if (ports != null) {
        ports.getBindings().forEach((port, bound) -> {
          if (bound != null && bound.length > 0 && bound[0].getHostPortSpec() != null) {
            hostPorts.put(port.getPort() + "/" + port.getProtocol(), Integer.parseInt(bound[0].getHostPortSpec()));
          }
        });
      }
      var state = inspected.getState();
      return Optional.of(new State(inspected.getId(), inspected.getName().replaceFirst("^/", ""),
          inspected.getConfig().getImage(), Boolean.TRUE.equals(state.getRunning()), state.getExitCodeLong(),
          hostPorts));
    } catch (NotFoundException e) {
      return Optional.empty();
    } catch (RuntimeException e) {
      throw failure("inspect container " + name, e);
    }
  }

  /** Runs {@code sh -c command} in the container: its exit code, or empty if it outlasted {@code timeout}. */
  public Optional<Long> exec(String container, String command, Duration timeout) {
    DockerClient client = engine.client();
    try {
      String exec = client.execCreateCmd(container).withCmd("sh", "-c", command).withAttachStdout(true)
          .withAttachStderr(true).exec().getId();
      boolean ended = client.execStartCmd(exec).exec(new ResultCallback.Adapter<Frame>())
          .awaitCompletion(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return ended ? Optional.ofNullable(client.inspectExecCmd(exec).exec().getExitCodeLong()) : Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DeployException(DeployException.Kind.DOCKER, "Interrupted while checking " + container, e);
    } catch (RuntimeException e) {
      throw failure("run the health command in " + container, e);
    }
  }

  /** The last {@code lines} lines the container wrote. */
  public String logTail(String container, int lines) {
    StringBuilder out = new StringBuilder();
    try {
      engine.client().logContainerCmd(container).withStdOut(true).withStdErr(true).withTail(lines)
          .exec(new ResultCallback.Adapter<Frame>() {
            @Override
            public void onNext(Frame frame) {
              out.append(new String(frame.getPayload(), StandardCharsets.UTF_8));
            }
          }).awaitCompletion(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      return "";
    }
    return out.toString().strip();
  }

  public void rename(String container, String name) {
    try {
      engine.client().renameContainerCmd(container).withName(name).exec();
    } catch (RuntimeException e) {
      throw failure("rename " + container + " to " + name, e);
    }
  }

  /** Starts the container; one that already runs is fine. */
  public void start(String container) {
    try {
      engine.client().startContainerCmd(container).exec();
    } catch (com.github.dockerjava.api.exception.NotModifiedException e) {
      // already running
    } catch (RuntimeException e) {
      throw failure("start " + container, e);
    }
  }

  /** Stops the container, giving it {@code grace} to end on SIGTERM; a stopped one is left as it is. */
  public void stop(String container, Duration grace) {
    try {
      engine.client().stopContainerCmd(container).withTimeout((int) Math.max(1, grace.toSeconds())).exec();
    } catch (com.github.dockerjava.api.exception.NotModifiedException e) {
      // already stopped
    } catch (RuntimeException e) {
      throw failure("stop " + container, e);
    }
  }

  /** Removes the container, running or not; one that is already gone is fine. */
  public void remove(String container) {
    try {
      engine.client().removeContainerCmd(container).withForce(true).exec();
    } catch (NotFoundException e) {
      // gone already
    } catch (RuntimeException e) {
      throw failure("remove " + container, e);
    }
  }

  /** docker-java reports a transport's failure as a plain RuntimeException, the engine's as a DockerException. */
  private DeployException failure(String what, RuntimeException e) {
    return new DeployException(DeployException.Kind.DOCKER, "Cannot " + what + " in the Docker engine at "
        + engine.host() + ": " + DockerEngine.rootMessage(e), e);
  }

  /**
   * A pull whose failure is kept for one line of ours: docker-java's own callback would log it
   * first, with a stack trace, as "Error during callback".
   */
  private static final class QuietPull extends com.github.dockerjava.api.command.PullImageResultCallback {
    volatile Throwable failure;

    @Override
    public void onError(Throwable throwable) {
      failure = throwable;
      try {
        close();
      } catch (java.io.IOException e) {
        // closing a finished stream: nothing is left to release
      }
    }
  }
}
