package dev.closedloop.deploy;

import dev.closedloop.deploy.aws.AwsSettings;
import dev.closedloop.deploy.image.RegistryCredentials;
import java.util.List;
import java.util.Map;

/**
 * Where images are built and kept: the Docker engine ({@code dockerHost}, null for DOCKER_HOST or
 * the platform's socket), the registry's credentials (null for none), the tags promote moves to a
 * tested digest (the first is the one releases go live by), AWS, for ECR and the other services
 * called, the registries off loopback spoken to over plain HTTP ({@code host[:port]}), and
 * credentials for other registries the build pulls base images from, by host, and the docker CLI
 * that builds with BuildKit (null for {@code docker} on the PATH). These are what a run opens its engine, registry and rollout target from, for several
 * steps: none of them belongs to one step alone.
 */
public record RegistrySettings(
    String dockerHost, RegistryCredentials registryCredentials, List<String> promoteTags, AwsSettings aws,
    List<String> insecureRegistries, Map<String, RegistryCredentials> pullCredentials, String dockerCli) {

  public RegistrySettings {
    promoteTags = List.copyOf(promoteTags);
    insecureRegistries = List.copyOf(insecureRegistries);
    pullCredentials = Map.copyOf(pullCredentials);
  }

  public RegistrySettings(String dockerHost, RegistryCredentials registryCredentials, List<String> promoteTags,
      AwsSettings aws) {
    this(dockerHost, registryCredentials, promoteTags, aws, List.of(), Map.of(), null);
  }

  @Override
  public String toString() {
    return "RegistrySettings[dockerHost=" + dockerHost + ", registryCredentials="
        + (registryCredentials != null ? "****" : null) + ", promoteTags=" + promoteTags + ", aws=" + aws + ", insecureRegistries=" + insecureRegistries + ", pullCredentials=" + pullCredentials.keySet() + ", dockerCli=" + dockerCli + "]";
  }
}
