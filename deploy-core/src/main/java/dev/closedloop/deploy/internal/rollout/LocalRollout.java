package dev.closedloop.deploy.internal.rollout;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.image.Containers;
import dev.closedloop.deploy.internal.image.DockerEngine;
import dev.closedloop.deploy.rollout.Rollout;
import dev.closedloop.deploy.rollout.RolloutSettings;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The promoted image as a container of the local Docker engine, replacing the previous one of
 * the same name. The new container is first checked beside the old one, on spare host ports,
 * while the old one keeps serving; only when it is healthy does it take the old one's name and
 * ports (the old one is stopped, kept until the new one passes again, then removed). An
 * unhealthy new container is removed and the old one goes on, or is started again.
 *
 * <p>Names: {@code <service>} serves; {@code <service>-candidate} is being checked;
 * {@code <service>-previous} is the old one during the swap. A run that died halfway leaves
 * those names, and the next run puts them right before it starts.
 */
final class LocalRollout implements Rollout {

  static final String LABEL = "dev.closedloop.rollout";
  private static final Duration CHECK_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration STOP_GRACE = Duration.ofSeconds(10);

  private final Containers containers;
  private final DockerEngine engine;
  private final RolloutSettings settings;
  private final Supplier<RegistryCredentials> credentials;
  private final Events events;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(CHECK_TIMEOUT).build();
  private final String name;
  private final String candidate;
  private final String previous;
  private ImageRef image;
  private boolean swapped;
  private String lastProblem;

  LocalRollout(DockerEngine engine, RolloutSettings settings, Supplier<RegistryCredentials> credentials,
      Events events) {
    this.engine = engine;
    this.containers = new Containers(engine);
    this.settings = settings;
    this.credentials = credentials;
    this.events = events;
    this.name = settings.service();
    this.candidate = name + "-candidate";
    this.previous = name + "-previous";
  }

  @Override
  public String target() {
    return "local container " + name;
  }

  /** Only looks: another release may be rolling out right now, and this one does not hold the lock yet. */
  @Override
  public String check() {
    String leftover = containers.inspect(previous).isPresent() ? "; " + previous + " was left by a rollout that"
        + " stopped halfway and is put back before this one" : "";
    return target() + (containers.inspect(name).map(c -> " (now running " + c.image() + ")").orElse(" (new)"))
        + " in the Docker engine at " + engine.host() + leftover;
  }

  /**
   * Puts back what a run that died halfway left, holding the release lock: no candidate, and the
   * old container serving. A {@code <name>} beside {@code <name>-previous} never finished its
   * check, so the old one, which had passed its own, takes its place again.
   */
  private void putRight() {
    containers.remove(candidate);
    if (containers.inspect(previous).isPresent()) {
      events.progress(Step.ROLLOUT, previous + " was left by a rollout that stopped halfway: it is " + name
          + " again");
      containers.remove(name);
      containers.rename(previous, name);
      containers.start(name);
    }
  }

  @Override
  public Deployment start(Request request) {
    image = request.image();
    putRight();
    containers.ensureImage(image, credentials);
    containers.run(candidate, image, env(), labels(), ports(true));
    // what the ledger records: which container is to run which image
    return new Deployment(name + "@" + image.digest(), "container " + candidate + " of " + image
        + ", checked on spare ports beside " + name);
  }

  @Override
  public Observation observe(Deployment deployment) {
    if (!swapped) {
      Containers.State state = containers.inspect(candidate).orElse(null);
      Optional<String> ended = ended(state);
      if (ended.isPresent()) {
        return new Observation(State.FAILED, "EXITED", ended.get());
      }
      if (!healthy(state, true)) {
        return new Observation(State.IN_PROGRESS, "STARTING", lastProblem);
      }
      events.progress(Step.ROLLOUT, candidate + " is healthy on a spare port: it takes the place of " + name);
      try {
        swap();
      } catch (DeployException e) { // a host port taken by something else, say: the old one comes back
        return new Observation(State.FAILED, "NOT_STARTED", e.getMessage());
      }
      return new Observation(State.IN_PROGRESS, "SWAPPING", name + " now runs " + image);
    }
    Containers.State state = containers.inspect(name).orElse(null);
    Optional<String> ended = ended(state);
    if (ended.isPresent()) {
      return new Observation(State.FAILED, "EXITED", ended.get());
    }
    if (!healthy(state, false)) {
      return new Observation(State.IN_PROGRESS, "STARTING", lastProblem);
    }
    containers.remove(previous);
    return new Observation(State.SUCCEEDED, "RUNNING", name + " runs " + image + " and is healthy");
  }

  /** The old container stops and steps aside; the new one starts under its name and ports. */
  private void swap() {
    containers.remove(candidate);
    boolean hadOld = containers.inspect(name).isPresent();
    if (hadOld) {
      containers.rename(name, previous); // before it stops: a crash from here on leaves it to put back
    }
    swapped = true; // from here on a failure puts the old one back
    if (hadOld) {
      containers.stop(previous, STOP_GRACE);
    }
    containers.run(name, image, env(), labels(), ports(false));
  }

  /** The ports to publish: as configured, or on spare host ports the engine picks (the candidate's). */
  private List<Containers.Port> ports(boolean spare) {
    return settings.ports().stream().map(port -> new Containers.Port(port.hostIp(), spare ? 0 : port.hostPort(),
        port.containerPort(), port.protocol())).toList();
  }

  @Override
  public void end(Deployment deployment, Outcome outcome) {
    if (outcome == Outcome.SUCCEEDED) {
      return;
    }
    containers.remove(candidate);
    if (swapped) {
      containers.remove(name);
      if (containers.inspect(previous).isPresent()) {
        try {
          containers.rename(previous, name);
          containers.start(name);
        } catch (DeployException e) {
          throw new DeployException(DeployException.Kind.DOCKER, "The old container " + previous + " could not take"
              + " its place again, so " + name + " is not running: " + e.getMessage() + ". Start it by hand (docker"
              + " rename " + previous + " " + name + " && docker start " + name + ")", e);
        }
        events.progress(Step.ROLLOUT, name + " runs its previous image again");
      }
    }
  }

  /** A health check that never passes is a failed one: the old container goes on serving. */
  @Override
  public Outcome onTimeout() {
    return Outcome.FAILED;
  }

  @Override
  public Duration pollInterval(int attempt) {
    return Duration.ofMillis(500);
  }

  /** Why the container is not running, with the last lines it wrote; empty while it runs. */
  private Optional<String> ended(Containers.State state) {
    if (state == null) {
      return Optional.of("the container is gone");
    }
    if (state.running()) {
      return Optional.empty();
    }
    String log = containers.logTail(state.id(), 5);
    // what a container prints is its own: it may hold values nobody registered as secrets, so it goes
    // to the log (masked as far as known) and never into the error or the ledger
    if (!log.isEmpty()) {
      events.warn(state.name() + " exited with code " + state.exitCode() + "; its last lines:\n" + log);
    }
    return Optional.of("exited with code " + state.exitCode() + (log.isEmpty() ? "" : "; its last lines are in the"
        + " log above"));
  }

  private boolean healthy(Containers.State state, boolean sparePorts) {
    if (settings.healthCommand() != null) {
      Optional<Long> exit = containers.exec(state.id(), settings.healthCommand(), CHECK_TIMEOUT);
      lastProblem = exit.isEmpty() ? "the health command did not end within " + CHECK_TIMEOUT.toSeconds() + "s"
          : "the health command exited with " + exit.get();
      if (exit.isEmpty() || exit.get() != 0) {
        return false;
      }
    }
    if (settings.healthUrl() != null) {
      URI url = sparePorts ? onSparePort(state) : settings.healthUrl();
      try {
        HttpResponse<String> response = http.sendAsync(HttpRequest.newBuilder(url).timeout(CHECK_TIMEOUT).GET()
            .build(), HttpResponse.BodyHandlers.ofString()).orTimeout(CHECK_TIMEOUT.toMillis(),
            java.util.concurrent.TimeUnit.MILLISECONDS).get();
        lastProblem = url + " answered " + response.statusCode();
        String expect = settings.healthExpect();
        if (response.statusCode() / 100 == 2 && expect != null && !response.body().contains(expect)) {
          lastProblem = url + " answered " + response.statusCode() + " without '" + expect + "'";
          return false;
        }
        return response.statusCode() / 100 == 2;
      } catch (java.util.concurrent.ExecutionException e) {
        Throwable cause = e.getCause() == null ? e : e.getCause();
        lastProblem = url + ": " + (cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage());
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new DeployException(DeployException.Kind.ROLLOUT, "Interrupted while checking " + url, e);
      }
    }
    return true;
  }

  /** The health URL, at the spare host port the candidate got for the URL's container port. */
  private URI onSparePort(Containers.State state) {
    URI url = settings.healthUrl();
    int port = RolloutSettings.effectivePort(url);
    RolloutSettings.PortBinding binding = settings.ports().stream().filter(p -> p.hostPort() == port).findFirst()
        .orElseThrow();
    int spare = state.hostPort(binding.containerPort(), binding.protocol()).orElseThrow(() -> new DeployException(
        DeployException.Kind.DOCKER, candidate + " got no host port for " + binding.containerPort()));
    try {
      return new URI(url.getScheme(), url.getUserInfo(), url.getHost(), spare, url.getPath(), url.getQuery(), null);
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  private List<String> env() {
    return settings.env().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
  }

  private Map<String, String> labels() {
    return Map.of(LABEL, name, "dev.closedloop.image", image.toString());
  }
}
