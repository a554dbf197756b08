package dev.closedloop.deploy;

import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.guard.CiEnvironment;
import dev.closedloop.deploy.image.BuildRequest;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A release's immutable configuration. Built with {@link Release#configure()}; every setting has
 * one name, the same as its {@code deploy.*} property in the Maven plugin.
 */
public record ReleaseConfig(
    ImageRef image,
    String sha,
    Path buildContext,
    Path dockerfile,
    Map<String, String> buildArgs,
    String buildTarget,
    Map<String, String> labels,
    String sourceUrl,
    List<String> tags,
    boolean forceBuild,
    String dockerHost,
    RegistryCredentials registryCredentials,
    Migrations migrations,
    EphemeralDatabase testDatabase,
    List<ReleaseListener> listeners,
    List<String> warnings) {

  private static final Pattern SHA = Pattern.compile("[0-9a-f]{7,64}");

  public ReleaseConfig {
    buildArgs = Map.copyOf(buildArgs);
    labels = Map.copyOf(labels);
    tags = List.copyOf(tags);
    listeners = List.copyOf(listeners);
    warnings = List.copyOf(warnings);
  }

  /** The build request this configuration describes. */
  public BuildRequest buildRequest() {
    Map<String, String> allLabels = new LinkedHashMap<>();
    if (sourceUrl != null && !sourceUrl.isBlank()) {
      allLabels.put("org.opencontainers.image.source", sourceUrl);
    }
    allLabels.putAll(labels);
    return new BuildRequest(image, sha, buildContext, dockerfile, buildArgs, buildTarget, allLabels, tags, forceBuild);
  }

  /**
   * Checks that the settings {@code steps} need are set.
   *
   * @throws DeployException of kind CONFIGURATION naming every missing setting at once
   */
  void require(Step... steps) {
    List<String> missing = new ArrayList<>();
    for (Step step : steps) {
      switch (step) {
        case BUILD -> {
          if (image == null) {
            missing.add("image (deploy.image)");
          }
          if (sha == null) {
            missing.add("sha (deploy.sha; no CI variable or git repository gave one)");
          }
        }
        case TEST_MIGRATE -> {
          if (migrations == null) {
            missing.add("migrations (deploy.migrations)");
          }
        }
        default -> { }
      }
    }
    if (!missing.isEmpty()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION,
          String.join(", ", missing) + (missing.size() == 1 ? " is" : " are") + " required by "
              + List.of(steps) + " but not set");
    }
  }

  private static Map<String, String> keyValues(List<String> entries, String setting) {
    Map<String, String> map = new LinkedHashMap<>();
    for (String entry : entries) {
      int eq = entry == null ? -1 : entry.indexOf('=');
      if (eq <= 0) {
        throw new DeployException(DeployException.Kind.CONFIGURATION,
            setting + " takes NAME=value entries; got '" + entry + "'");
      }
      map.put(entry.substring(0, eq).trim(), entry.substring(eq + 1));
    }
    return map;
  }

  /** Collects settings; {@link #load()} checks them all at once. */
  public static final class Builder {
    private String image;
    private String sha;
    private Path buildContext = Path.of(".");
    private Path dockerfile;
    private final Map<String, String> buildArgs = new LinkedHashMap<>();
    private String buildTarget;
    private final Map<String, String> labels = new LinkedHashMap<>();
    private String sourceUrl;
    private final List<String> tags = new ArrayList<>();
    private boolean forceBuild;
    private String dockerHost;
    private RegistryCredentials registryCredentials;
    private Migrations migrations;
    private EphemeralDatabase testDatabase = EphemeralDatabase.embedded();
    private final List<ReleaseListener> listeners = new ArrayList<>();
    private CiEnvironment ci;

    Builder() {}

    /** The image repository, e.g. {@code 123456789012.dkr.ecr.us-west-2.amazonaws.com/app}. */
    public Builder image(String repository) {
      this.image = repository;
      return this;
    }

    /** The commit being released; default: the CI system's commit variable, else git's HEAD. */
    public Builder sha(String sha) {
      this.sha = sha;
      return this;
    }

    public Builder buildContext(Path context) {
      this.buildContext = context;
      return this;
    }

    /** Default: {@code Dockerfile} in the build context. */
    public Builder dockerfile(Path dockerfile) {
      this.dockerfile = dockerfile;
      return this;
    }

    public Builder buildArg(String name, String value) {
      this.buildArgs.put(name, value);
      return this;
    }

    public Builder buildArgs(Map<String, String> args) {
      this.buildArgs.putAll(args);
      return this;
    }

    /** Build arguments written as {@code NAME=value}, as they come from the command line. */
    public Builder buildArgs(List<String> entries) {
      this.buildArgs.putAll(keyValues(entries, "buildArgs (deploy.buildArgs)"));
      return this;
    }

    /** The Dockerfile stage to build ({@code --target}). */
    public Builder buildTarget(String stage) {
      this.buildTarget = stage;
      return this;
    }

    public Builder labels(Map<String, String> labels) {
      this.labels.putAll(labels);
      return this;
    }

    /** Labels written as {@code name=value}, as they come from the command line. */
    public Builder labels(List<String> entries) {
      this.labels.putAll(keyValues(entries, "labels (deploy.labels)"));
      return this;
    }

    /**
     * The source repository's web address, for the {@code org.opencontainers.image.source}
     * label; default: from the CI variables.
     */
    public Builder sourceUrl(String url) {
      this.sourceUrl = url;
      return this;
    }

    /** Tags pushed besides {@code <sha>} at build (never {@code latest}: that moves at promote). */
    public Builder tags(List<String> tags) {
      this.tags.addAll(tags);
      return this;
    }

    /** Rebuild and push even when {@code <sha>} is already in the registry. */
    public Builder forceBuild(boolean force) {
      this.forceBuild = force;
      return this;
    }

    /** The Docker engine; default {@code DOCKER_HOST}, else the platform's socket. */
    public Builder dockerHost(String host) {
      this.dockerHost = host;
      return this;
    }

    public Builder registryCredentials(RegistryCredentials credentials) {
      this.registryCredentials = credentials;
      return this;
    }

    public Builder migrations(Migrations migrations) {
      this.migrations = migrations;
      return this;
    }

    /** Where test-migrate runs; default {@link EphemeralDatabase#embedded()}. */
    public Builder testDatabase(EphemeralDatabase database) {
      this.testDatabase = database;
      return this;
    }

    public Builder listener(ReleaseListener listener) {
      this.listeners.add(listener);
      return this;
    }

    /** Where the commit SHA is read from when {@link #sha} is not set. */
    public Builder ciEnvironment(CiEnvironment ci) {
      this.ci = ci;
      return this;
    }

    /**
     * Checks every setting and returns the release.
     *
     * @throws DeployException of kind CONFIGURATION listing every bad setting in one message
     */
    public Release load() {
      List<String> problems = new ArrayList<>();
      ImageRef imageRef = null;
      if (image != null && !image.isBlank()) {
        try {
          imageRef = ImageRef.parse(image);
          if (imageRef.tagValue().isPresent() || imageRef.digestValue().isPresent()) {
            problems.add("image (deploy.image) names a repository without tag or digest (the tag is"
                + " the commit SHA); got '" + image + "'");
          }
        } catch (DeployException e) {
          problems.add("image (deploy.image): " + e.getMessage());
        }
      }
      List<String> warnings = new ArrayList<>();
      CiEnvironment environment = ci != null ? ci : CiEnvironment.current(buildContext);
      String resolvedSha = sha;
      if (resolvedSha == null || resolvedSha.isBlank()) {
        resolvedSha = environment.sha().orElse(null);
        if (resolvedSha != null && environment.uncommittedChanges()) {
          warnings.add("The working tree has uncommitted changes: an image built now holds them, but is"
              + " tagged with commit " + resolvedSha + ". Commit first, or set deploy.sha");
        }
      }
      String resolvedSource = sourceUrl != null ? sourceUrl : environment.sourceUrl().orElse(null);
      if (resolvedSha != null && !SHA.matcher(resolvedSha).matches()) {
        problems.add("sha (deploy.sha) must be a commit SHA of 7 to 64 lowercase hex digits; got '" + resolvedSha + "'");
      }
      if (buildContext == null) {
        problems.add("buildContext (deploy.buildContext) is null");
      }
      if (problems.isEmpty()) {
        Path context = buildContext.toAbsolutePath().normalize();
        Path file = dockerfile != null ? context.resolve(dockerfile).normalize() : context.resolve("Dockerfile");
        return new Release(new ReleaseConfig(imageRef, resolvedSha, context, file, buildArgs, buildTarget,
            labels, resolvedSource, tags, forceBuild, dockerHost, registryCredentials, migrations, testDatabase,
            listeners, warnings));
      }
      throw new DeployException(DeployException.Kind.CONFIGURATION, problems.size() == 1 ? problems.get(0)
          : problems.size() + " settings are wrong: " + String.join("; ", problems));
    }
  }
}
