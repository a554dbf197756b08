package dev.closedloop.deploy.internal.image;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.transport.DockerHttpClient;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import com.github.dockerjava.api.model.AuthConfig;
import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.image.RegistryCredentials;
import java.io.IOException;
import java.time.Duration;

/**
 * A connection to a Docker engine. The host is {@code dockerHost} when set, else
 * {@code DOCKER_HOST}, else the platform's default socket.
 */
public final class DockerEngine implements AutoCloseable {

  private final String host;
  private final DockerClient client;

  private DockerEngine(String host, DockerClient client) {
    this.host = host;
    this.client = client;
  }

  /**
   * What the engine sends a registry at {@code address} (host[:port], or Docker Hub's index
   * address): nothing but the address without credentials; an identity token as such, which the
   * engine exchanges at the registry's token service.
   */
  public static AuthConfig authConfig(String address, RegistryCredentials credentials) {
    AuthConfig auth = new AuthConfig().withRegistryAddress(address);
    if (credentials == null) {
      return auth;
    }
    return credentials.isIdentityToken() ? auth.withIdentityToken(credentials.password())
        : auth.withUsername(credentials.username()).withPassword(credentials.password());
  }

  /**
   * Connects and pings the engine.
   *
   * @param dockerHost e.g. {@code unix:///var/run/docker.sock} or {@code tcp://127.0.0.1:2375};
   *     null for the default
   * @throws DeployException of kind DOCKER when the engine does not answer
   */
  public static DockerEngine connect(String dockerHost) {
    DefaultDockerClientConfig.Builder config = DefaultDockerClientConfig.createDefaultConfigBuilder();
    if (dockerHost != null && !dockerHost.isBlank()) {
      config.withDockerHost(dockerHost);
    }
    DockerClientConfig resolved;
    try {
      resolved = config.build();
    } catch (RuntimeException e) {
      throw new DeployException(DeployException.Kind.CONFIGURATION,
          "Invalid Docker host '" + dockerHost + "' (deploy.dockerHost): " + e.getMessage()
              + ". Use unix:///path/to/docker.sock or tcp://host:port", e);
    }
    String host = resolved.getDockerHost().toString();
    DockerHttpClient http = new ZerodepDockerHttpClient.Builder()
        .dockerHost(resolved.getDockerHost())
        .sslConfig(resolved.getSSLConfig())
        .connectionTimeout(Duration.ofSeconds(5))
        .responseTimeout(Duration.ofMinutes(30))
        .build();
    DockerClient client = DockerClientImpl.getInstance(resolved, http);
    try {
      client.pingCmd().exec();
    } catch (RuntimeException e) {
      closeQuietly(client);
      throw new DeployException(DeployException.Kind.DOCKER,
          "Cannot reach the Docker engine at " + host + " (" + rootMessage(e)
              + "): start it, or point deploy.dockerHost (or DOCKER_HOST) at a running engine", e);
    }
    return new DockerEngine(host, client);
  }

  public String host() {
    return host;
  }

  DockerClient client() {
    return client;
  }

  @Override
  public void close() {
    closeQuietly(client);
  }

  private static void closeQuietly(DockerClient client) {
    try {
      client.close();
    } catch (IOException ignored) {
      // nothing left to release
    }
  }

  static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = root.getMessage();
    if (message == null || message.isBlank()) {
      return root.getClass().getSimpleName();
    }
    // the engine's error as docker-java passes it on: Status 500: {"message":"Get \"http://…\": dial tcp …"}
    java.util.regex.Matcher engine = ENGINE_ERROR.matcher(message.trim());
    if (engine.matches()) {
      try {
        String said = new com.fasterxml.jackson.databind.ObjectMapper().readTree(engine.group(2)).path("message")
            .asText("");
        if (!said.isBlank()) {
          return said + " (HTTP " + engine.group(1) + " from the engine)";
        }
      } catch (java.io.IOException notJson) {
        // not JSON after all: the message as it is
      }
    }
    return message.trim();
  }

  private static final java.util.regex.Pattern ENGINE_ERROR = java.util.regex.Pattern.compile(
      "Status (\\d{3}): (\\{.*})", java.util.regex.Pattern.DOTALL);
}
