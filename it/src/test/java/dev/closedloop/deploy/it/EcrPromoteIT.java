package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.TagMove;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.image.EcrRegistry;
import dev.closedloop.deploy.internal.image.Promoter;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ecr.EcrClient;
import software.amazon.awssdk.services.ecr.model.ImageTagMutability;

/**
 * Promotion in Amazon ECR (BatchGetImage + PutImage) against moto, which the test starts. moto's
 * image digests are its own, so the test compares with what moto reports.
 */
class EcrPromoteIT {

  private static final String ACCOUNT = "123456789012";
  private static final String REGION = "us-west-2";
  private static final String HOST = ACCOUNT + ".dkr.ecr." + REGION + ".amazonaws.com";
  private static final String MANIFEST = """
      {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",\
      "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":%d,\
      "digest":"sha256:%s"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip",      "size":%d,"digest":"sha256:%s"}]}""";

  @TempDir static Path state;
  private static TestServices.Moto moto;
  private static EcrClient ecr;

  @BeforeAll
  static void startMoto() throws Exception {
    moto = TestServices.startMoto(state);
    String endpoint = moto.endpoint();
    // the SDK's standard settings, as a user's CI would have them
    System.setProperty("aws.endpointUrl", endpoint);
    System.setProperty("aws.accessKeyId", "testing");
    System.setProperty("aws.secretAccessKey", "testing");
    ecr = EcrClient.builder().region(Region.of(REGION)).endpointOverride(URI.create(endpoint))
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("testing", "testing")))
        .httpClient(UrlConnectionHttpClient.create()).build();
  }

  @AfterAll
  static void stopMoto() throws InterruptedException {
    System.clearProperty("aws.endpointUrl");
    System.clearProperty("aws.accessKeyId");
    System.clearProperty("aws.secretAccessKey");
    if (ecr != null) {
      ecr.close();
    }
    if (moto != null) {
      moto.close();
    }
  }

  /** Puts an image into moto's ECR and returns the digest moto gives it. */
  private static String putImage(String repository, String tag, int size) {
    String hex = Integer.toHexString(size).repeat(64).substring(0, 64);
    String manifest = MANIFEST.formatted(size, hex, size, hex);
    return ecr.putImage(put -> put.repositoryName(repository).imageManifest(manifest).imageTag(tag)
        .imageManifestMediaType("application/vnd.docker.distribution.manifest.v2+json")).image().imageId().imageDigest();
  }

  @Test
  void promote_movesTheTagToTheDigest_andRecordsThePrevious() {
    ecr.createRepository(create -> create.repositoryName("shop/service"));
    String first = putImage("shop/service", "aaaa111", 101);
    String second = putImage("shop/service", "bbbb222", 202);
    ImageRef repository = ImageRef.parse(HOST + "/shop/service");

    try (EcrRegistry registry = EcrRegistry.of(repository)) {
      Promoter promoter = new Promoter(registry, Events.none());
      assertThat(registry.digestOf(repository.withTag("aaaa111"))).contains(first);

      assertThat(promoter.promote(repository, first, List.of("latest")))
          .containsExactly(new TagMove("latest", null, first, true));
      assertThat(promoter.promote(repository, second, List.of("latest")))
          .containsExactly(new TagMove("latest", first, second, true));
      assertThat(promoter.promote(repository, second, List.of("latest")))
          .containsExactly(new TagMove("latest", second, second, false));
      assertThat(registry.digestOf(repository.withTag("latest"))).contains(second);
    }
  }

  /**
   * Real ECR answers ImageTagAlreadyExistsException, which becomes the "tags are immutable" line;
   * moto accepts the PutImage without moving the tag. Either way promotion must fail and leave
   * the tag where it was: here it is the read-back that catches it.
   */
  @Test
  void promote_whenTheTagDoesNotMove_failsAndLeavesItWhereItWas() {
    ecr.createRepository(create -> create.repositoryName("shop/immutable")
        .imageTagMutability(ImageTagMutability.IMMUTABLE));
    String first = putImage("shop/immutable", "latest", 303);
    String second = putImage("shop/immutable", "cccc333", 404);
    ImageRef repository = ImageRef.parse(HOST + "/shop/immutable");

    try (EcrRegistry registry = EcrRegistry.of(repository)) {
      assertThatThrownBy(() -> new Promoter(registry, Events.none()).promote(repository, second, List.of("latest")))
          .isInstanceOfSatisfying(DeployException.class, e -> assertThat(e.getMessage()).startsWith(
              "Moved " + repository.withTag("latest") + " to " + second + " but the registry now reports " + first));
      assertThat(registry.digestOf(repository.withTag("latest"))).contains(first);
    }
  }

  @Test
  void pushCredentials_comeFromGetAuthorizationToken() {
    try (EcrRegistry registry = EcrRegistry.of(ImageRef.parse(HOST + "/shop/service"))) {
      assertThat(registry.pushCredentials().username()).isEqualTo("AWS");
    }
  }
}
