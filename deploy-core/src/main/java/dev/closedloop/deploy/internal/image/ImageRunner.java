package dev.closedloop.deploy.internal.image;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import dev.closedloop.deploy.internal.ExitCleanup;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Supplier;

/** Runs commands from one image, by digest, on the Docker engine, with the host's network. */
public final class ImageRunner {

  private final Containers containers;
  private final ImageRef image;
  private final Supplier<RegistryCredentials> credentials;
  private boolean present;
  private final java.util.Set<String> services = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /**
   * @param image the image by digest: a tag could name another image by the time it runs
   * @param credentials asked for only when the engine must pull the image
   */
  public ImageRunner(DockerEngine engine, ImageRef image, Supplier<RegistryCredentials> credentials) {
    if (image.digestValue().isEmpty()) {
      throw new IllegalArgumentException(image + " is not by digest");
    }
    this.containers = new Containers(engine);
    this.image = image;
    this.credentials = credentials;
  }

  public ImageRef image() {
    return image;
  }

  /**
   * Runs {@code argv} as the entrypoint, each output line to {@code lines}; the container is
   * removed afterwards.
   *
   * @param role what the run is for, in the container's name
   * @param database what it works on ({@code host:port/name}): while a container of an earlier run still works
   *     on it (its JVM was killed, the container was not), nothing more is started there
   * @return the exit code
   */
  public synchronized long run(String role, String database, List<String> argv, List<String> env,
      Consumer<String> lines) {
    prepare(database);
    return containers.runToEnd(name(role), image, argv, env, labels(role, database), lines);
  }

  /**
   * Starts the image with its own entrypoint on the host's network, as a service that runs until
   * the returned handle is closed; a JVM stopped by a signal removes it too.
   *
   * @param database as for {@link #run}: what the service works on
   */
  public synchronized Service start(String role, String database, List<String> env) {
    prepare(database);
    String name = name(role);
    // removed with the JVM from before it exists: a signal between create and start leaves nothing behind
    ExitCleanup.Handle removeWithUs = ExitCleanup.register("remove the container " + name,
        () -> containers.remove(name));
    services.add(name);
    Service service = new Service(name, removeWithUs);
    try {
      containers.runOnHostNetwork(name, image, env, labels(role, database));
    } catch (RuntimeException e) {
      try {
        service.close(); // by name: it may exist though its start failed
      } catch (RuntimeException removing) {
        e.addSuppressed(removing);
      }
      throw e;
    }
    return service;
  }

  /** Pulls the image when the engine does not have it yet (once per runner). */
  public synchronized void pull() {
    if (!present) {
      containers.ensureImage(image, credentials);
      present = true;
    }
  }

  private void forget(String name, ExitCleanup.Handle removeWithUs) {
    services.remove(name);
    removeWithUs.close();
  }

  /** A container {@link #start} started; closing it removes the container. */
  public final class Service implements AutoCloseable {

    private final String name;
    private final ExitCleanup.Handle removeWithUs;

    private Service(String name, ExitCleanup.Handle removeWithUs) {
      this.name = name;
      this.removeWithUs = removeWithUs;
    }

    public String name() {
      return name;
    }

    /** How the container is now; empty when it is gone. */
    public java.util.Optional<Containers.State> state() {
      return containers.inspect(name);
    }

    /** The last {@code lines} lines it wrote. */
    public String logTail(int lines) {
      return containers.logTail(name, lines);
    }

    /**
     * Removes the container, also on an interrupted thread (the engine's socket would refuse it);
     * until it is gone, the JVM's exit still removes it.
     */
    @Override
    public void close() {
      boolean interrupted = Thread.interrupted();
      try {
        containers.remove(name);
      } finally {
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      }
      forget(name, removeWithUs);
    }
  }

  /**
   * Refuses while a container of an earlier run still works on {@code database} (its JVM was
   * killed, the container was not), one this runner started aside; pulls the image once.
   */
  private void prepare(String database) {
    List<String> running = containers.running(Map.of(DATABASE_LABEL, database)).stream()
        .filter(name -> !services.contains(name)).toList();
    if (!running.isEmpty()) {
      throw new DeployException(DeployException.Kind.MIGRATION, "Container " + running.get(0) + " of an earlier"
          + " release still runs against " + database + " (its release was stopped, the container was not): wait"
          + " for it to end, or stop it (docker stop " + running.get(0) + "), then release again");
    }
    pull();
  }

  private static String name(String role) {
    return "closedloop-" + role + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static Map<String, String> labels(String role, String database) {
    return Containers.ownedLabels(role, Map.of(DATABASE_LABEL, database));
  }

  /** Removes the containers of {@code role} that killed processes of this machine left: {@link Containers#removeOrphans}. */
  public List<String> removeOrphans(String role) {
    return containers.removeOrphans(role);
  }

  private static final String DATABASE_LABEL = "dev.closedloop.database";

  /** Removes the containers of {@code role} running against {@code database}: a run that must end now. */
  public void stop(String role, String database) {
    for (String container : containers.running(Map.of("dev.closedloop.role", role, DATABASE_LABEL, database))) {
      containers.remove(container);
    }
  }

  /**
   * A command line split into words as a shell would, without one: the image may have no shell.
   * Single and double quotes group words; a backslash escapes the next character.
   */
  public static List<String> argv(String command) {
    List<String> words = new ArrayList<>();
    StringBuilder word = new StringBuilder();
    boolean inWord = false;
    char quote = 0;
    for (int i = 0; i < command.length(); i++) {
      char c = command.charAt(i);
      if (quote != 0) {
        if (c == quote) {
          quote = 0;
        } else if (c == '\\' && quote == '"' && i + 1 < command.length()) {
          word.append(command.charAt(++i));
        } else {
          word.append(c);
        }
      } else if (c == '\'' || c == '"') {
        quote = c;
        inWord = true;
      } else if (c == '\\' && i + 1 < command.length()) {
        word.append(command.charAt(++i));
        inWord = true;
      } else if (Character.isWhitespace(c)) {
        if (inWord) {
          words.add(word.toString());
          word.setLength(0);
          inWord = false;
        }
      } else {
        word.append(c);
        inWord = true;
      }
    }
    if (quote != 0) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "The command '" + command + "' has an unclosed"
          + " quote");
    }
    if (inWord) {
      words.add(word.toString());
    }
    return words;
  }
}
