package dev.closedloop.deploy.internal.image;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.aws.AwsSettings;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.ecr.EcrClient;
import software.amazon.awssdk.services.ecr.model.BatchGetImageResponse;
import software.amazon.awssdk.services.ecr.model.Image;
import software.amazon.awssdk.services.ecr.model.ImageAlreadyExistsException;
import software.amazon.awssdk.services.ecr.model.ImageIdentifier;
import software.amazon.awssdk.services.ecr.model.ImageTagAlreadyExistsException;

/**
 * Amazon ECR through the AWS SDK: tags are read with BatchGetImage and moved with PutImage of the
 * same manifest, so no layer moves. Credentials and the endpoint come from the SDK's usual
 * chain (environment, profile, role); the region from the registry host.
 */
public final class EcrRegistry implements Registry, AutoCloseable {

  private static final List<String> MANIFEST_TYPES = List.of(OciRegistry.MANIFEST_TYPES.split(", "));

  private final EcrClient ecr;
  private final String account;

  private EcrRegistry(EcrClient ecr, String account) {
    this.ecr = ecr;
    this.account = account;
  }

  /** The ECR registry of {@code image}'s host, reached the SDK's usual way. */
  public static EcrRegistry of(ImageRef image) {
    return of(image, AwsSettings.defaults());
  }

  /** The ECR registry of {@code image}'s host, in the host's own region, through {@code aws}'s endpoint if it has one. */
  public static EcrRegistry of(ImageRef image, AwsSettings aws) {
    String region = image.ecrRegion().orElseThrow(() -> new IllegalArgumentException(image + " is not in ECR"));
    return new EcrRegistry(aws.client(EcrClient.builder(), region), image.ecrAccount().orElseThrow());
  }

  @Override
  public Optional<String> digestOf(ImageRef image) {
    return find(image).map(found -> found.imageId().imageDigest());
  }

  @Override
  public Manifest manifest(ImageRef image) {
    Image found = find(image).orElseThrow(() -> new DeployException(DeployException.Kind.REGISTRY,
        image + " is not in the registry: build and push it first (deploy:build)"));
    return new Manifest(found.imageManifest().getBytes(StandardCharsets.UTF_8), found.imageManifestMediaType(),
        found.imageId().imageDigest());
  }

  @Override
  public void putManifest(ImageRef repository, String tag, Manifest manifest) {
    try {
      ecr.putImage(put -> put.registryId(account).repositoryName(repository.repository())
          .imageManifest(new String(manifest.content(), StandardCharsets.UTF_8))
          .imageManifestMediaType(manifest.mediaType())
          .imageDigest(manifest.digest())
          .imageTag(tag));
    } catch (ImageAlreadyExistsException e) {
      // the tag already names this digest: nothing to move
    } catch (ImageTagAlreadyExistsException e) {
      throw new DeployException(DeployException.Kind.REGISTRY, "ECR refused to move " + repository.withTag(tag)
          + ": the repository " + repository.repository() + " has immutable tags. Keep SHA tags immutable and let"
          + " the promote tags move: set the repository's tag mutability to IMMUTABLE_WITH_EXCLUSION with an"
          + " exclusion filter for " + tag + " (aws ecr put-image-tag-mutability)", e);
    } catch (SdkException e) {
      throw failure("PutImage " + repository.withTag(tag), e);
    }
  }

  /** Docker credentials for pushing to this registry (GetAuthorizationToken). */
  @Override
  public RegistryCredentials pushCredentials() {
    try {
      String token = ecr.getAuthorizationToken(get -> { }).authorizationData().get(0).authorizationToken();
      String decoded = new String(Base64.getDecoder().decode(token), StandardCharsets.UTF_8);
      int colon = decoded.indexOf(':');
      return new RegistryCredentials(decoded.substring(0, colon), decoded.substring(colon + 1));
    } catch (SdkException | IndexOutOfBoundsException e) {
      throw failure("GetAuthorizationToken", e);
    }
  }

  private Optional<Image> find(ImageRef image) {
    ImageIdentifier id = image.digestValue().isPresent()
        ? ImageIdentifier.builder().imageDigest(image.digestValue().get()).build()
        : ImageIdentifier.builder().imageTag(image.tagValue().orElse("latest")).build();
    try {
      BatchGetImageResponse response = ecr.batchGetImage(get -> get.registryId(account)
          .repositoryName(image.repository()).imageIds(id).acceptedMediaTypes(MANIFEST_TYPES));
      if (!response.images().isEmpty()) {
        return Optional.of(response.images().get(0));
      }
      if (response.failures().isEmpty() || "ImageNotFound".equals(response.failures().get(0).failureCodeAsString())) {
        return Optional.empty();
      }
      throw new DeployException(DeployException.Kind.REGISTRY, "ECR could not read " + image + ": "
          + response.failures().get(0).failureReason());
    } catch (SdkException e) {
      throw failure("BatchGetImage " + image, e);
    }
  }

  private static DeployException failure(String call, RuntimeException e) {
    return new DeployException(DeployException.Kind.AWS, "ECR " + call + " failed: " + e.getMessage()
        + " (check the AWS credentials and region of this build)", e);
  }

  @Override
  public void close() {
    ecr.close();
  }
}
