package dev.closedloop.deploy.aws;

import dev.closedloop.deploy.DeployException;
import java.net.URI;
import software.amazon.awssdk.awscore.client.builder.AwsClientBuilder;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;

/**
 * How closedloop reaches AWS: the SDK's default credentials chain (environment, profiles, web
 * identity as GitHub Actions OIDC gives it, instance and container roles), the JDK's HTTP client
 * (no second HTTP stack in Maven's class realm), an optional endpoint for every service (moto,
 * LocalStack) and an optional region.
 *
 * @param endpoint {@code deploy.awsEndpoint}, or null for AWS itself
 * @param region {@code deploy.awsRegion}, or null to take it from the resource (an ECR host) or the SDK's chain
 */
public record AwsSettings(URI endpoint, String region) {

  public static AwsSettings defaults() {
    return new AwsSettings(null, null);
  }

  /**
   * Reads the settings as written.
   *
   * @throws DeployException of kind CONFIGURATION naming the setting
   */
  public static AwsSettings of(String endpoint, String region) {
    URI uri = null;
    if (endpoint != null && !endpoint.isBlank()) {
      try {
        uri = URI.create(endpoint.trim());
      } catch (IllegalArgumentException e) {
        uri = null;
      }
      if (uri == null || uri.getScheme() == null || uri.getHost() == null
          || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))) {
        throw new DeployException(DeployException.Kind.CONFIGURATION, "awsEndpoint (deploy.awsEndpoint) must be an"
            + " http(s) URL such as http://127.0.0.1:4566; got '" + endpoint + "'");
      }
    }
    String name = region == null || region.isBlank() ? null : region.trim();
    if (name != null && !name.matches("[a-z]{2}(-[a-z]+)+-\\d")) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "awsRegion (deploy.awsRegion) is not an AWS"
          + " region such as us-west-2; got '" + region + "'");
    }
    return new AwsSettings(uri, name);
  }

  /**
   * The region for a call: the resource's own ({@code preferred}: an ECR host names its region),
   * else {@code deploy.awsRegion}, else the SDK's chain (AWS_REGION, the profile, the instance).
   *
   * @throws DeployException of kind CONFIGURATION when none of them names one
   */
  public Region regionFor(String preferred) {
    if (preferred != null) {
      return Region.of(preferred);
    }
    if (region != null) {
      return Region.of(region);
    }
    try {
      return new DefaultAwsRegionProviderChain().getRegion();
    } catch (SdkClientException e) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "No AWS region is set: set deploy.awsRegion, or"
          + " AWS_REGION in the environment", e);
    }
  }

  /** A client of one service, built the way every closedloop client is. */
  public <B extends AwsClientBuilder<B, C>, C> C client(B builder, String preferredRegion) {
    builder.region(regionFor(preferredRegion));
    if (endpoint != null) {
      builder.endpointOverride(endpoint);
    }
    if (builder instanceof software.amazon.awssdk.awscore.client.builder.AwsSyncClientBuilder<?, ?> sync) {
      sync.httpClient(UrlConnectionHttpClient.create());
    }
    return builder.build();
  }
}
