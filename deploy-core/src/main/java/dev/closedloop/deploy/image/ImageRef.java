package dev.closedloop.deploy.image;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.internal.Loopback;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An image reference, {@code [registry[:port]/]path[:tag][@sha256:digest]}, parsed by the rules
 * of the distribution reference grammar, with Docker Hub's defaults ({@code docker.io},
 * {@code library/}). Immutable; {@link #toString()} prints the fully qualified form.
 */
public record ImageRef(String registry, String repository, String tag, String digest) {

  public static final String DOCKER_HUB = "docker.io";

  private static final String COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
  private static final Pattern PATH = Pattern.compile(COMPONENT + "(?:/" + COMPONENT + ")*");
  private static final Pattern DOMAIN =
      Pattern.compile(
          "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
              + "|\\[[0-9a-fA-F:]+\\]");
  private static final Pattern PORT = Pattern.compile("[0-9]{1,5}");
  private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  private static final Pattern DIGEST = Pattern.compile("sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}");
  private static final Pattern ECR_HOST =
      Pattern.compile("([0-9]{12})\\.dkr\\.ecr(?:-fips)?\\.([a-z0-9-]+)\\.amazonaws\\.com(?:\\.cn)?");
  private static final int MAX_NAME_LENGTH = 255;

  public ImageRef {
    if (registry == null || registry.isEmpty() || repository == null || repository.isEmpty()) {
      throw new IllegalArgumentException("registry and repository are required");
    }
  }

  /**
   * Parses a reference as users write it: {@code my-service}, {@code nginx:1.27},
   * {@code localhost:5000/team/app:abc}, {@code 123456789012.dkr.ecr.us-west-2.amazonaws.com/app}.
   *
   * @throws DeployException of kind CONFIGURATION naming what is wrong and how to write it
   */
  public static ImageRef parse(String reference) {
    if (reference == null || reference.isBlank()) {
      throw invalid(String.valueOf(reference), "it is empty");
    }
    String rest = reference.trim();
    if (!rest.equals(reference)) {
      throw invalid(reference, "it has leading or trailing white space");
    }

    String digest = null;
    int at = rest.indexOf('@');
    if (at >= 0) {
      digest = rest.substring(at + 1);
      rest = rest.substring(0, at);
      if (!DIGEST.matcher(digest).matches()) {
        throw invalid(reference, "the digest '" + digest + "' is not sha256: followed by 64 lowercase hex digits");
      }
    }

    String registry = DOCKER_HUB;
    int slash = rest.indexOf('/');
    if (slash >= 0) {
      String first = rest.substring(0, slash);
      // Docker also takes an uppercase first part for a host; we read it as the lowercase-rule
      // mistake it almost always is, so the message can show the fix.
      if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
        registry = first;
        rest = rest.substring(slash + 1);
        checkRegistry(reference, registry);
      }
    }

    String tag = null;
    int colon = rest.lastIndexOf(':');
    if (colon >= 0) {
      tag = rest.substring(colon + 1);
      rest = rest.substring(0, colon);
      if (!TAG.matcher(tag).matches()) {
        throw invalid(reference, "the tag '" + tag + "' may hold only letters, digits, '_', '.' and '-'"
            + " (not first), at most 128 characters");
      }
    }

    String path = rest;
    if (path.isEmpty()) {
      throw invalid(reference, "the repository path is empty");
    }
    if (!path.equals(path.toLowerCase())) {
      throw invalid(reference, "repository names must be lowercase: use '" + path.toLowerCase() + "'");
    }
    if (!PATH.matcher(path).matches()) {
      throw invalid(reference, "the repository path '" + path + "' may hold only lowercase letters,"
          + " digits and single separators ('.', '_', '__', '-') between '/'-separated parts");
    }
    if (registry.equals(DOCKER_HUB) && !path.contains("/")) {
      path = "library/" + path;
    }
    if (registry.length() + 1 + path.length() > MAX_NAME_LENGTH) {
      throw invalid(reference, "the name is longer than " + MAX_NAME_LENGTH + " characters");
    }
    return new ImageRef(registry, path, tag, digest);
  }

  private static void checkRegistry(String reference, String registry) {
    String host = registry;
    int portAt = registry.lastIndexOf(':');
    if (portAt >= 0 && !registry.endsWith("]")) {
      String port = registry.substring(portAt + 1);
      host = registry.substring(0, portAt);
      if (!PORT.matcher(port).matches() || Integer.parseInt(port) == 0 || Integer.parseInt(port) > 65535) {
        throw invalid(reference, "the registry port '" + port + "' is not a number from 1 to 65535");
      }
    }
    if (!DOMAIN.matcher(host).matches()) {
      throw invalid(reference, "the registry host '" + host + "' is not a valid host name");
    }
  }

  private static DeployException invalid(String reference, String why) {
    return new DeployException(
        DeployException.Kind.CONFIGURATION,
        "Invalid image reference '" + reference + "': " + why
            + ". Write it as [registry[:port]/]path[:tag][@sha256:digest], e.g. registry.example.com/team/app");
  }

  public Optional<String> tagValue() {
    return Optional.ofNullable(tag);
  }

  public Optional<String> digestValue() {
    return Optional.ofNullable(digest);
  }

  public ImageRef withTag(String newTag) {
    return parse(registry + "/" + repository + ":" + newTag);
  }

  public ImageRef withDigest(String newDigest) {
    return parse(registry + "/" + repository + "@" + newDigest);
  }

  /** The repository without tag or digest: {@code registry/path}. */
  public String name() {
    return registry + "/" + repository;
  }

  /** The host (and port) to send registry API calls to. */
  public String apiHost() {
    return registry.equals(DOCKER_HUB) ? "registry-1.docker.io" : registry;
  }

  /** Registries on this machine speak plain HTTP; every other one HTTPS. */
  public boolean isLoopback() {
    String host = registry.startsWith("[") ? registry.substring(0, registry.indexOf(']') + 1)
        : registry.contains(":") ? registry.substring(0, registry.indexOf(':')) : registry;
    return Loopback.isLoopback(host);
  }

  public boolean isEcr() {
    return ECR_HOST.matcher(registry).matches();
  }

  /** The AWS region of an ECR registry. */
  public Optional<String> ecrRegion() {
    Matcher m = ECR_HOST.matcher(registry);
    return m.matches() ? Optional.of(m.group(2)) : Optional.empty();
  }

  /** The AWS account that owns an ECR registry. */
  public Optional<String> ecrAccount() {
    Matcher m = ECR_HOST.matcher(registry);
    return m.matches() ? Optional.of(m.group(1)) : Optional.empty();
  }

  @Override
  public String toString() {
    return name() + (tag != null ? ":" + tag : "") + (digest != null ? "@" + digest : "");
  }
}
