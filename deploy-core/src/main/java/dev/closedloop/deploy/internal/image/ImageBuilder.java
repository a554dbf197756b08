package dev.closedloop.deploy.internal.image;

import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.BuildImageCmd;
import com.github.dockerjava.api.command.BuildImageResultCallback;
import com.github.dockerjava.api.model.AuthConfig;
import com.github.dockerjava.api.model.AuthConfigurations;
import com.github.dockerjava.api.model.BuildResponseItem;
import com.github.dockerjava.api.model.PushResponseItem;
import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.image.BuildRequest;
import dev.closedloop.deploy.image.BuiltImage;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.ExitCleanup;
import dev.closedloop.deploy.internal.database.Trees;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import java.nio.file.Path;

/**
 * Builds an image with the Docker engine, tags it {@code <repository>:<sha>} (and any extra
 * tags), pushes it and returns the digest the registry reports. An image whose {@code <sha>} tag
 * is already in the registry is reused, unless the request forces a rebuild.
 */
public final class ImageBuilder {

  /** Tags the build step never sets: moving them is promotion's job, after the migrations. */
  private static final Set<String> PROMOTION_ONLY_TAGS = Set.of("latest");

  private final DockerEngine engine;
  private final Registry registry;
  private final RegistryCredentials credentials;
  /** Credentials by registry for the registries a Dockerfile's base images come from, asked only to build. */
  private final Function<Set<String>, Map<String, RegistryCredentials>> pullCredentials;
  /** The docker CLI that builds with BuildKit, found when a build needs it; empty for the engine's API. */
  private final Supplier<Optional<BuildKit>> buildKit;
  /** A build secret's value from its reference, masked for the run. */
  private final UnaryOperator<String> secrets;
  /** The docker CLI's configuration directory of this user, whose helpers and builders the CLI keeps. */
  private final Path dockerConfig;
  private final Events events;
  /** The exit hook that stops a CLI build in flight, while there is one. */
  private volatile ExitCleanup.Handle cliStop;
  /** The build or push stream in flight; closing it makes the engine cancel that work. */
  private volatile Closeable inFlight;
  private volatile boolean aborted;

  public ImageBuilder(DockerEngine engine, Registry registry, RegistryCredentials credentials,
      Function<Set<String>, Map<String, RegistryCredentials>> pullCredentials, Supplier<Optional<BuildKit>> buildKit,
      UnaryOperator<String> secrets, Path dockerConfig, Events events) {
    this.engine = engine;
    this.registry = registry;
    this.credentials = credentials;
    this.pullCredentials = pullCredentials;
    this.buildKit = buildKit;
    this.secrets = secrets;
    this.dockerConfig = dockerConfig;
    this.events = events;
  }

  /** Checks a request before anything is built; also useful to a dry run. */
  public static void validate(BuildRequest request) {
    for (String tag : request.extraTags()) {
      if (PROMOTION_ONLY_TAGS.contains(tag)) {
        throw new DeployException(DeployException.Kind.CONFIGURATION,
            "The build never tags '" + tag + "' (deploy.tags): that tag moves only at promote, after the"
                + " migrations succeeded. Remove it from deploy.tags and list it in deploy.promoteTags");
      }
      request.repository().withTag(tag); // rejects a malformed tag with the tag in the message
    }
    if (!Files.isDirectory(request.context())) {
      throw new DeployException(DeployException.Kind.CONFIGURATION,
          "The build context " + request.context() + " (deploy.buildContext) is not a directory");
    }
    if (!Files.isRegularFile(request.dockerfile())) {
      throw new DeployException(DeployException.Kind.CONFIGURATION,
          "No Dockerfile at " + request.dockerfile() + " (deploy.dockerfile): create it or point"
              + " deploy.dockerfile at the Dockerfile to build");
    }
    if (!request.dockerfile().toAbsolutePath().normalize()
        .startsWith(request.context().toAbsolutePath().normalize())) {
      throw new DeployException(DeployException.Kind.CONFIGURATION,
          "The Dockerfile " + request.dockerfile() + " (deploy.dockerfile) is outside the build context "
              + request.context() + " (deploy.buildContext): move it inside the context");
    }
  }

  /**
   * Stops a build in progress from another thread: the engine cancels the build or push it is
   * doing, and nothing more is pushed. {@link #build} then fails.
   */
  public void abort() {
    aborted = true;
    Closeable stream = inFlight;
    if (stream != null) {
      try {
        stream.close();
      } catch (IOException e) {
        events.debug("closing the build stream: " + e.getMessage());
      }
    }
  }

  private void checkNotAborted(String before) {
    if (aborted) {
      throw new DeployException(DeployException.Kind.DOCKER, "Stopped before " + before);
    }
  }

  /**
   * Builds and pushes. The {@code <sha>} tag is pushed last, so its presence in the registry
   * means every tag of the build is there: a reused image is a whole one.
   */
  public BuiltImage build(BuildRequest request) {
    validate(request);
    ImageRef shaRef = request.shaRef();
    List<ImageRef> tags = new ArrayList<>();
    for (String tag : request.extraTags()) {
      tags.add(request.repository().withTag(tag));
    }
    tags.add(shaRef);

    if (!request.force()) {
      Optional<String> existing = registry.digestOf(shaRef);
      if (existing.isPresent()) {
        events.progress(Step.BUILD, shaRef + " is already in the registry (" + existing.get()
            + "): build skipped; set deploy.forceBuild=true to rebuild");
        return new BuiltImage(shaRef, existing.get(), List.of(shaRef), true);
      }
    }

    checkNotAborted("building " + shaRef);
    Optional<BuildKit> kit = buildKit.get();
    if (kit.isEmpty()) {
      refuseWhatNeedsBuildKit(request);
    }
    if (kit.isPresent() && request.platforms().size() > 1) {
      return pushedByBuildx(kit.get(), request, tags);
    }
    String imageId = kit.isPresent() ? buildWithCli(kit.get(), request, tags, false) : buildImage(request, tags);
    events.debug("built image " + imageId);
    String digest = null;
    for (ImageRef tag : tags) {
      checkNotAborted("pushing " + tag);
      String pushed = push(tag);
      if (digest == null) {
        digest = pushed;
      }
    }
    // The registry is the authority on what a tag points at; the push stream is only a hint.
    String registered = registry.digestOf(shaRef).orElseThrow(() -> new DeployException(
        DeployException.Kind.REGISTRY, "The registry lost " + shaRef + " right after the push"));
    if (digest != null && !digest.equals(registered)) {
      throw new DeployException(DeployException.Kind.REGISTRY, "The registry reports " + registered
          + " for " + shaRef + " but the push reported " + digest + ": another build pushed the same tag");
    }
    return new BuiltImage(shaRef, registered, tags, false);
  }

  /** Without BuildKit: what cannot be built is refused in one line before the engine is asked. */
  private void refuseWhatNeedsBuildKit(BuildRequest request) {
    String missing = "; no docker CLI here builds with BuildKit (docker buildx, or a docker CLI older than 23;"
        + " deploy.dockerCli names one), and the Docker engine's API builds without it";
    if (request.platforms().size() > 1) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "deploy.platforms names "
          + String.join(", ", request.platforms()) + ": several platforms need docker buildx" + missing);
    }
    if (!request.secrets().isEmpty()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "deploy.buildSecrets ("
          + String.join(", ", request.secrets().keySet()) + ") are passed only by BuildKit" + missing);
    }
    BuildKit.neededBy(request.dockerfile()).ifPresent(what -> {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "The Dockerfile " + request.dockerfile()
          + " needs BuildKit: " + what + missing);
    });
  }

  /** Several platforms: buildx pushes the index itself, the {@code <sha>} tag last. */
  private BuiltImage pushedByBuildx(BuildKit kit, BuildRequest request, List<ImageRef> tags) {
    if (kit.mode() != BuildKit.Mode.BUILDX) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "deploy.platforms names "
          + String.join(", ", request.platforms()) + ": several platforms need docker buildx, and " + kit
          + " has none. Install buildx, or name one platform");
    }
    ImageRef shaRef = request.shaRef();
    List<ImageRef> first = tags.size() > 1 ? tags.subList(0, tags.size() - 1) : tags;
    String digest = buildWithCli(kit, request, first, true);
    if (tags.size() > 1) { // the index buildx pushed, by its digest (a tag may move meanwhile), under <sha> last
      checkNotAborted("tagging " + shaRef);
      registry.putManifest(request.repository(), shaRef.tagValue().orElseThrow(),
          registry.manifest(request.repository().withDigest(digest)));
    }
    String registered = registry.digestOf(shaRef).orElseThrow(() -> new DeployException(
        DeployException.Kind.REGISTRY, "The registry lost " + shaRef + " right after buildx pushed it"));
    if (!registered.equals(digest)) {
      throw new DeployException(DeployException.Kind.REGISTRY, "The registry reports " + registered + " for " + shaRef
          + " but buildx pushed " + digest + ": another build pushed the same tag");
    }
    events.progress(Step.BUILD, "pushed " + shaRef + " for " + String.join(", ", request.platforms()));
    return new BuiltImage(shaRef, registered, tags, false);
  }

  /**
   * Builds through the docker CLI with BuildKit: loaded into the engine (then pushed as any
   * build; the image id is returned), or for several platforms pushed by buildx (the index's
   * digest is returned).
   */
  private String buildWithCli(BuildKit kit, BuildRequest request, List<ImageRef> tags, boolean push) {
    List<String> reserved = request.buildArgs().keySet().stream().filter(BuildKit::steersTheCli).sorted().toList();
    if (!reserved.isEmpty()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "buildArgs (deploy.buildArgs): "
          + String.join(", ", reserved) + " cannot be a build argument when the docker CLI builds (build arguments"
          + " reach it through its environment, where that name decides how the CLI itself works): rename it");
    }
    Set<String> bases = BaseImages.registries(request.dockerfile(), request.buildArgs());
    Map<String, RegistryCredentials> found = pullCredentials.apply(bases);
    Map<String, RegistryCredentials> auths = new LinkedHashMap<>(found);
    if (credentials != null && request.repository() != null) {
      auths.put(request.repository().registry(), credentials); // buildx pushes with it
    }
    Path dir = null;
    ExitCleanup.Handle cleanup = null;
    try {
      dir = BuildKit.privateDirectory();
      Path made = dir;
      // credentials and secrets sit there while the CLI runs: gone also when the JVM is stopped
      cleanup = ExitCleanup.register("removing the BuildKit build's private directory", () -> Trees.delete(made));
      BuildKit.writeConfig(dir, dockerConfig, auths);
      Map<String, Path> secretFiles = new LinkedHashMap<>();
      for (Map.Entry<String, String> secret : request.secrets().entrySet()) {
        Path file = Files.createFile(dir.resolve("secret-" + secretFiles.size()),
            java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, secrets.apply(secret.getValue()), java.nio.charset.StandardCharsets.UTF_8);
        secretFiles.put(secret.getKey(), file);
      }
      Map<String, String> env = new LinkedHashMap<>(request.buildArgs());
      env.put("DOCKER_HOST", engine.host());
      env.put("DOCKER_CONFIG", dir.toString());
      if (System.getenv("DOCKER_CERT_PATH") == null) {
        env.put("DOCKER_CERT_PATH", dockerConfig.toString()); // the certificates' default place stays theirs
      }
      Path metadata = dir.resolve("metadata.json");
      events.progress(Step.BUILD, "building " + request.shaRef() + " from " + request.dockerfile() + " with " + kit
          + " on " + engine.host() + (request.secrets().isEmpty() ? "" : " (secrets: "
              + String.join(", ", request.secrets().keySet()) + ")"));
      try {
        kit.run(kit.commandLine(request, tags, labels(request), secretFiles, push, metadata), env,
            line -> events.progress(Step.BUILD, line), events::debug, process -> {
              inFlight = () -> BuildKit.stop(process);
              // a JVM told to stop stops the build too: it would go on pushing a cancelled release's tags
              cliStop = ExitCleanup.register("stopping the BuildKit build", () -> BuildKit.stop(process));
              if (aborted) {
                BuildKit.stop(process);
              }
            }, () -> aborted);
      } catch (DeployException e) {
        Set<String> anonymous = new LinkedHashSet<>(bases);
        anonymous.removeAll(found.keySet());
        throw anonymous.isEmpty() || !refusedPull(e.getMessage()) ? e : new DeployException(e.kind(), e.getMessage()
            + " (" + noCredentialsFor(anonymous) + ")", e);
      }
      checkNotAborted("the build of " + request.shaRef() + " finished");
      if (push) {
        String digest = new com.fasterxml.jackson.databind.ObjectMapper().readTree(metadata.toFile())
            .path("containerimage.digest").asText("");
        if (!digest.startsWith("sha256:")) {
          throw new DeployException(DeployException.Kind.DOCKER, "buildx pushed " + request.shaRef()
              + " but wrote no containerimage.digest to its metadata file: upgrade buildx");
        }
        return digest;
      }
      return engine.client().inspectImageCmd(tags.get(tags.size() - 1).toString()).exec().getId();
    } catch (IOException e) {
      throw new DeployException(DeployException.Kind.DOCKER, "Cannot prepare the BuildKit build of "
          + request.shaRef() + ": " + e.getMessage(), e);
    } finally {
      if (cliStop != null) {
        cliStop.close();
      }
      if (cleanup != null) {
        cleanup.close();
      }
      Trees.delete(dir);
      if (dir != null && Files.exists(dir)) {
        events.warn("Could not remove " + dir + ", which holds this build's registry credentials and secrets:"
            + " remove it by hand");
      }
    }
  }

  /** An engine's or BuildKit's words for a pull the registry refused. */
  private static boolean refusedPull(String why) {
    return why.contains("unauthorized") || why.contains("authentication required") || why.contains("pull access denied")
        || why.contains("no basic auth credentials") || why.contains("denied");
  }

  private static String noCredentialsFor(Set<String> registries) {
    return "no credentials were found for " + String.join(", ", registries) + ", where the Dockerfile pulls from: add"
        + " a settings.xml <server> with the registry as its id, or docker login to it";
  }

  private static Map<String, String> labels(BuildRequest request) {
    Map<String, String> labels = new LinkedHashMap<>();
    labels.put("org.opencontainers.image.revision", request.sha());
    labels.put("org.opencontainers.image.created", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
    labels.putAll(request.labels());
    return labels;
  }

  private String buildImage(BuildRequest request, List<ImageRef> tags) {
    Set<String> tagNames = new LinkedHashSet<>();
    tags.forEach(t -> tagNames.add(t.toString()));
    Map<String, String> labels = labels(request);

    Set<String> bases = BaseImages.registries(request.dockerfile(), request.buildArgs());
    Map<String, RegistryCredentials> pulling = pullCredentials.apply(bases);
    events.progress(Step.BUILD, "building " + request.shaRef() + " from " + request.dockerfile()
        + " on " + engine.host());
    try {
      BuildImageCmd cmd = engine.client().buildImageCmd()
          .withBaseDirectory(request.context().toFile())
          .withDockerfile(request.dockerfile().toFile())
          .withTags(tagNames)
          .withLabels(labels)
          .withPull(false);
      if (!pulling.isEmpty()) {
        AuthConfigurations auths = new AuthConfigurations();
        // the engine looks Docker Hub up under the docker CLI's old index address
        pulling.forEach((address, known) -> auths.addConfig(DockerEngine.authConfig(
            address.equals(ImageRef.DOCKER_HUB) ? DockerConfig.HUB_SERVER : address, known)));
        cmd.withBuildAuthConfigs(auths);
      }
      request.buildArgs().forEach(cmd::withBuildArg);
      if (request.target() != null && !request.target().isBlank()) {
        cmd.withTarget(request.target());
      }
      BuildImageResultCallback callback = cmd.exec(new BuildImageResultCallback() {
        @Override
        public void onStart(Closeable stream) {
          super.onStart(stream);
          closeIfAborted(this); // the stream opens on another thread, maybe after abort()
        }

        @Override
        public void onNext(BuildResponseItem item) {
          String stream = item.getStream();
          if (stream != null && !stream.isBlank()) {
            String line = stream.strip();
            if (line.startsWith("Step ")) {
              events.progress(Step.BUILD, line);
            } else {
              events.debug(line);
            }
          }
          super.onNext(item);
        }
      });
      inFlight = callback;
      if (aborted) {
        callback.close();
      }
      return callback.awaitImageId();
    } catch (RuntimeException | IOException e) {
      checkNotAborted("the build of " + request.shaRef() + " finished");
      String why = DockerEngine.rootMessage(e);
      Set<String> anonymous = new LinkedHashSet<>(bases);
      anonymous.removeAll(pulling.keySet());
      throw new DeployException(DeployException.Kind.DOCKER, "docker build of " + request.dockerfile() + " failed: "
          + why + (refusedPull(why) && !anonymous.isEmpty() ? " (" + noCredentialsFor(anonymous) + ")" : ""), e);
    }
  }

  private String push(ImageRef tag) {
    events.progress(Step.BUILD, "pushing " + tag);
    PushCallback callback = new PushCallback();
    inFlight = callback;
    try {
      engine.client().pushImageCmd(tag.name())
          .withTag(tag.tagValue().orElseThrow())
          .withAuthConfig(authConfig(tag))
          .exec(callback);
      if (aborted) {
        callback.close();
      }
      callback.awaitCompletion();
      checkNotAborted("the push of " + tag + " finished");
    } catch (IOException e) {
      throw new DeployException(DeployException.Kind.DOCKER, "Cannot stop the push of " + tag + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DeployException(DeployException.Kind.DOCKER, "Interrupted while pushing " + tag, e);
    } catch (RuntimeException e) {
      throw new DeployException(DeployException.Kind.REGISTRY,
          "docker push of " + tag + " failed: " + DockerEngine.rootMessage(e), e);
    }
    if (callback.error != null) {
      throw new DeployException(DeployException.Kind.REGISTRY, "docker push of " + tag + " failed: "
          + callback.error + (callback.error.contains("auth") || callback.error.contains("denied")
              ? " (check the <server> with id '" + tag.registry() + "' in settings.xml)"
              : callback.error.contains("HTTP response to HTTPS client")
                  ? " (the Docker engine speaks HTTPS to registries off loopback: list " + tag.registry()
                      + " in insecure-registries of the engine's daemon.json, or serve the registry over HTTPS)"
                  : ""));
    }
    return callback.digest;
  }

  private AuthConfig authConfig(ImageRef tag) {
    return DockerEngine.authConfig(tag.apiHost(), credentials);
  }

  private void closeIfAborted(Closeable callback) {
    if (aborted) {
      try {
        callback.close();
      } catch (IOException e) {
        events.debug("closing the build stream: " + e.getMessage());
      }
    }
  }

  /** One progress line per layer once it is in the registry, not one per chunk. */
  private final class PushCallback extends ResultCallback.Adapter<PushResponseItem> {
    private String digest;
    private String error;

    @Override
    public void onStart(Closeable stream) {
      super.onStart(stream);
      closeIfAborted(this); // the stream opens on another thread, maybe after abort()
    }

    @Override
    public void onNext(PushResponseItem item) {
      if (item.getErrorDetail() != null || item.getError() != null) {
        error = item.getErrorDetail() != null && item.getErrorDetail().getMessage() != null
            ? item.getErrorDetail().getMessage() : item.getError();
        return;
      }
      if (item.getAux() != null && item.getAux().getDigest() != null) {
        digest = item.getAux().getDigest();
      }
      String status = item.getStatus();
      if (status != null && item.getId() != null
          && (status.equals("Pushed") || status.equals("Layer already exists") || status.startsWith("Mounted from"))) {
        events.progress(Step.BUILD, "layer " + item.getId() + ": " + status.toLowerCase());
      }
    }
  }
}
