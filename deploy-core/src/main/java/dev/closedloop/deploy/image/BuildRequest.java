package dev.closedloop.deploy.image;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What to build: the Dockerfile and its context, and the image repository to tag and push it to
 * as {@code <repository>:<sha>} (plus {@code extraTags}).
 *
 * @param uncommitted for a working tree whose tracked files differ from the commit, a hash of the difference: the
 *     build is tagged {@code <sha>-dirty-<hash>}, never as the commit's own; null for a clean tree
 * @param secrets BuildKit build secrets by id, each a reference ({@code env:NAME}, {@code file:PATH},
 *     {@code ssm:/path}) resolved only when the image is built
 * @param platforms the platforms to build for ({@code linux/amd64}, {@code linux/arm64}); empty for the
 *     engine's own
 */
public record BuildRequest(
    ImageRef repository,
    String sha,
    Path context,
    Path dockerfile,
    Map<String, String> buildArgs,
    String target,
    Map<String, String> labels,
    List<String> extraTags,
    boolean force,
    String uncommitted,
    Map<String, String> secrets,
    List<String> platforms) {

  public BuildRequest {
    buildArgs = Map.copyOf(buildArgs);
    labels = Map.copyOf(labels);
    extraTags = List.copyOf(extraTags);
    secrets = Map.copyOf(secrets);
    platforms = List.copyOf(platforms);
  }

  public BuildRequest(ImageRef repository, String sha, Path context, Path dockerfile, Map<String, String> buildArgs,
      String target, Map<String, String> labels, List<String> extraTags, boolean force, String uncommitted) {
    this(repository, sha, context, dockerfile, buildArgs, target, labels, extraTags, force, uncommitted, Map.of(),
        List.of());
  }

  /** The reference the build is keyed by: the commit's, or for uncommitted changes one of their own. */
  public ImageRef shaRef() {
    return repository.withTag(uncommitted == null ? sha : sha + "-dirty-" + uncommitted);
  }

  /** Names the build arguments without their values, which may be secrets (tokens for a private index). */
  @Override
  public String toString() {
    // a configuration without an image or sha still holds a request
    return "BuildRequest[" + (repository != null && sha != null ? shaRef() : repository + ":" + sha) + ", dockerfile=" + dockerfile + ", context=" + context + ", buildArgs="
        + buildArgs.keySet() + ", target=" + target + ", labels=" + labels + ", extraTags=" + extraTags + ", force="
        + force + ", secrets=" + secrets.keySet() + ", platforms=" + platforms + "]";
  }
}
