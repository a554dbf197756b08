package dev.closedloop.deploy.internal.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Registry credentials the way the docker CLI keeps them: {@code config.json} in
 * {@code DOCKER_CONFIG} (default {@code ~/.docker}) with {@code credHelpers} (a helper per
 * registry), {@code credsStore} (one helper for all) and {@code auths} (inline), asked in that
 * order. A helper is the program {@code docker-credential-<name>}, run with {@code get}.
 */
public final class DockerConfig {

  /** Where the docker CLI keeps Docker Hub's credentials. */
  static final String HUB_SERVER = "https://index.docker.io/v1/";
  private static final java.time.Duration HELPER_TIMEOUT = java.time.Duration.ofSeconds(30);

  private final Path file;

  public DockerConfig(Path configDirectory) {
    this.file = configDirectory.resolve("config.json");
  }

  /** The directory the configuration is in. */
  public Path directory() {
    return file.getParent();
  }

  /** The docker CLI's configuration of this user: {@code DOCKER_CONFIG}, else {@code ~/.docker}. */
  public static DockerConfig current(Map<String, String> env) {
    String dir = env.get("DOCKER_CONFIG");
    return new DockerConfig(dir != null && !dir.isBlank() ? Path.of(dir)
        : Path.of(System.getProperty("user.home"), ".docker"));
  }

  /** Credentials for {@code registry} (host[:port]), if the configuration has any. */
  public Optional<RegistryCredentials> credentials(String registry) {
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    JsonNode config;
    try {
      config = new ObjectMapper().readTree(file.toFile());
    } catch (IOException e) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "Cannot read " + file + ": " + e.getMessage()
          + ". Fix the JSON, or point DOCKER_CONFIG elsewhere");
    }
    // The docker CLI keeps Docker Hub's credentials under its old index address, and asks
    // helpers with it; credHelpers name it by that address's host.
    boolean hub = registry.equals(ImageRef.DOCKER_HUB);
    String server = hub ? HUB_SERVER : registry;
    String helper = config.path("credHelpers").path(hub ? "index.docker.io" : registry).asText(null);
    if (helper == null && hub) {
      helper = config.path("credHelpers").path(registry).asText(null);
    }
    if (helper != null) {
      return fromHelper(helper, server);
    }
    String store = config.path("credsStore").asText(null);
    if (store != null && !store.isBlank()) {
      Optional<RegistryCredentials> stored = fromHelper(store, server);
      if (stored.isPresent()) {
        return stored;
      }
    }
    for (String key : new String[] {registry, "https://" + registry, "http://" + registry,
        hub ? HUB_SERVER : registry}) {
      JsonNode auth = config.path("auths").path(key);
      if (!auth.isMissingNode()) {
        return inline(auth, key);
      }
    }
    return Optional.empty();
  }

  private Optional<RegistryCredentials> inline(JsonNode auth, String key) {
    if (auth.hasNonNull("identitytoken") && !auth.get("identitytoken").asText().isEmpty()) {
      return Optional.of(RegistryCredentials.identityToken(auth.get("identitytoken").asText())); // ACR's login
    }
    if (auth.hasNonNull("auth")) {
      String decoded;
      try {
        decoded = new String(Base64.getDecoder().decode(auth.get("auth").asText()), StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        throw new DeployException(DeployException.Kind.CONFIGURATION, "The auths entry for " + key + " in " + file
            + " is not base64 of user:password");
      }
      int colon = decoded.indexOf(':');
      if (colon < 0) {
        throw new DeployException(DeployException.Kind.CONFIGURATION, "The auths entry for " + key + " in " + file
            + " is not base64 of user:password");
      }
      return Optional.of(new RegistryCredentials(decoded.substring(0, colon), decoded.substring(colon + 1)));
    }
    if (auth.hasNonNull("username") && auth.hasNonNull("password")) {
      return Optional.of(new RegistryCredentials(auth.get("username").asText(), auth.get("password").asText()));
    }
    return Optional.empty(); // an entry written by `docker login` with a credsStore holds nothing inline
  }

  private Optional<RegistryCredentials> fromHelper(String helper, String registry) {
    String program = "docker-credential-" + helper;
    Path errors = null;
    Process process = null;
    try {
      errors = Files.createTempFile("closedloop-credential-helper-", ".err"); // drained by the OS, never a full pipe
      process = new ProcessBuilder(program, "get").redirectError(errors.toFile()).start();
      try (OutputStream in = process.getOutputStream()) {
        in.write(registry.getBytes(StandardCharsets.UTF_8));
      }
      InputStream stdout = process.getInputStream();
      CompletableFuture<byte[]> answer = CompletableFuture.supplyAsync(() -> {
        try (stdout) {
          return stdout.readAllBytes();
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      if (!process.waitFor(HELPER_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        throw new DeployException(DeployException.Kind.CONFIGURATION, program + " get did not answer within "
            + HELPER_TIMEOUT.toSeconds() + " s for " + registry + ": check the helper (is it waiting for a login"
            + " prompt or a keychain?) or remove it from " + file);
      }
      String text = new String(answer.get(HELPER_TIMEOUT.toSeconds(), TimeUnit.SECONDS), StandardCharsets.UTF_8).trim();
      if (process.exitValue() != 0) {
        if (text.contains("credentials not found")) {
          return Optional.empty();
        }
        String said = text.isEmpty() ? Files.readString(errors, StandardCharsets.UTF_8).trim() : text;
        throw new DeployException(DeployException.Kind.CONFIGURATION, program + " get failed for " + registry
            + " (exit " + process.exitValue() + "): " + said);
      }
      JsonNode json = new ObjectMapper().readTree(text);
      // a helper answers the user name "<token>" for an identity token: RegistryCredentials reads it so
      return Optional.of(new RegistryCredentials(json.path("Username").asText(), json.path("Secret").asText()));
    } catch (IOException e) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, file + " names the credential helper " + helper
          + ", but " + program + " cannot be run (" + e.getMessage() + "): install it or change " + file, e);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, program + " get gave no readable answer for "
          + registry + " within " + HELPER_TIMEOUT.toSeconds() + " s", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DeployException(DeployException.Kind.CONFIGURATION, "Interrupted while asking " + program, e);
    } finally {
      if (process != null && process.isAlive()) {
        process.destroyForcibly();
      }
      if (errors != null) {
        try {
          Files.deleteIfExists(errors);
        } catch (IOException ignored) {
          // a temporary file
        }
      }
    }
  }
}
