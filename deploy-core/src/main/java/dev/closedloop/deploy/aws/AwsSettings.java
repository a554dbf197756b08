package dev.closedloop.deploy.aws;

import dev.closedloop.deploy.DeployException;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import software.amazon.awssdk.auth.credentials.AnonymousCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.awscore.client.builder.AwsClientBuilder;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.auth.StsWebIdentityTokenFileCredentialsProvider;

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

  /** One web identity provider per endpoint and region, for the JVM's life, as the SDK keeps its own chain. */
  private static final Map<String, AwsCredentialsProvider> WEB_IDENTITY = new ConcurrentHashMap<>();

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

  /** How often each AWS call is sent at most, unless AWS_RETRY_MODE or AWS_MAX_ATTEMPTS say otherwise. */
  private static final int ATTEMPTS = 5;

  /**
   * Whether the team set the SDK's retries itself: AWS_RETRY_MODE or AWS_MAX_ATTEMPTS, the
   * aws.retryMode or aws.maxAttempts properties, or retry_mode or max_attempts in the profile used.
   */
  private static boolean retriesConfigured() {
    if (System.getenv("AWS_RETRY_MODE") != null || System.getenv("AWS_MAX_ATTEMPTS") != null
        || System.getProperty("aws.retryMode") != null || System.getProperty("aws.maxAttempts") != null) {
      return true;
    }
    try {
      String name = software.amazon.awssdk.profiles.ProfileFileSystemSetting.AWS_PROFILE.getStringValueOrThrow();
      return software.amazon.awssdk.profiles.ProfileFile.defaultProfileFile().profile(name)
          .map(profile -> profile.property("retry_mode").isPresent() || profile.property("max_attempts").isPresent())
          .orElse(false);
    } catch (RuntimeException e) {
      return false; // no readable profile file: nothing set there
    }
  }

  /** A client of one service, built the way every closedloop client is. */
  public <B extends AwsClientBuilder<B, C>, C> C client(B builder, String preferredRegion) {
    Region region = regionFor(preferredRegion);
    builder.region(region);
    if (endpoint != null) {
      builder.endpointOverride(endpoint);
      webIdentity(endpoint, region).ifPresent(builder::credentialsProvider);
    }
    if (builder instanceof software.amazon.awssdk.awscore.client.builder.AwsSyncClientBuilder<?, ?> sync) {
      // HTTPS_PROXY and NO_PROXY as well as Java's proxy properties (which the Maven plugin sets from settings.xml)
      sync.httpClient(UrlConnectionHttpClient.builder().proxyConfiguration(
          software.amazon.awssdk.http.urlconnection.ProxyConfiguration.builder()
              .useSystemPropertyValues(true).useEnvironmentVariablesValues(true).build()).build());
    }
    if (!retriesConfigured()) {
      // SDK versions differ in their default (legacy: 4 attempts, standard: 3): a throttled or failed
      // call is asked up to five times, with the standard backoff, whichever SDK a build resolves
      builder.overrideConfiguration(override -> override.retryStrategy(
          software.amazon.awssdk.awscore.retry.AwsRetryStrategy.standardRetryStrategy().toBuilder()
              .maxAttempts(ATTEMPTS).build()));
    }
    return builder.build();
  }

  /**
   * With an endpoint of its own (LocalStack, moto), the web identity of the credentials chain
   * (what GitHub Actions OIDC gives: {@code AWS_WEB_IDENTITY_TOKEN_FILE} and {@code AWS_ROLE_ARN})
   * must ask that endpoint's STS, not AWS's: the SDK's own chain would. Keys in the environment
   * or system properties come first in the chain, so they still win.
   */
  private static Optional<AwsCredentialsProvider> webIdentity(URI endpoint, Region region) {
    String tokenFile = System.getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    String role = System.getenv("AWS_ROLE_ARN");
    boolean keys = System.getenv("AWS_ACCESS_KEY_ID") != null || System.getProperty("aws.accessKeyId") != null;
    if (tokenFile == null || tokenFile.isBlank() || role == null || role.isBlank() || keys) {
      return Optional.empty();
    }
    String session = System.getenv("AWS_ROLE_SESSION_NAME");
    return Optional.of(WEB_IDENTITY.computeIfAbsent(endpoint + " " + region.id() + " " + role + " " + tokenFile,
        key -> StsWebIdentityTokenFileCredentialsProvider.builder()
            .stsClient(StsClient.builder().region(region).endpointOverride(endpoint)
                .credentialsProvider(AnonymousCredentialsProvider.create()) // the token is the credential
                .httpClient(UrlConnectionHttpClient.create()).build())
            .roleArn(role)
            .roleSessionName(session == null || session.isBlank() ? "closedloop" : session)
            .webIdentityTokenFile(Path.of(tokenFile))
            .build()));
  }
}
