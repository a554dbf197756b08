package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.image.BuiltImage;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.TagMove;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.image.OciRegistry;
import dev.closedloop.deploy.internal.image.Promoter;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Promotion by digest on the real registry: tags move, manifests stay byte for byte. */
class PromoteIT {

  private static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  private static final String DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
  private static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";

  @TempDir Path context;

  private final HttpClient http = HttpClient.newHttpClient();
  private String repository;
  private ImageRef repo;
  private Promoter promoter;

  @BeforeEach
  void setUp() throws IOException {
    repository = "it/promote-" + TestServices.randomSha().substring(0, 8);
    repo = ImageRef.parse(TestServices.registry() + "/" + repository);
    promoter = new Promoter(OciRegistry.anonymous(), Events.none());
    Files.copy(TestServices.busybox(), context.resolve("busybox"));
  }

  private BuiltImage build(String content) throws IOException {
    Files.writeString(context.resolve("version.txt"), content);
    Files.writeString(context.resolve("Dockerfile"), "FROM scratch\nCOPY busybox version.txt /\n");
    return Release.configure().image(repo.toString()).sha(TestServices.randomSha()).buildContext(context)
        .dockerHost(TestServices.dockerHost()).load().build().image().orElseThrow();
  }

  @Test
  void promote_movesLatestToTheDigest_recordsThePrevious_andIsIdempotent() throws IOException {
    BuiltImage first = build("one");
    BuiltImage second = build("two");

    List<TagMove> initial = promoter.promote(repo, first.digest(), List.of("latest", "stable"));
    assertThat(initial).containsExactly(
        new TagMove("latest", null, first.digest(), true), new TagMove("stable", null, first.digest(), true));
    assertThat(TestServices.registryDigest(repository, "latest")).contains(first.digest());

    List<TagMove> next = promoter.promote(repo, second.digest(), List.of("latest"));
    assertThat(next).containsExactly(new TagMove("latest", first.digest(), second.digest(), true));
    assertThat(TestServices.registryDigest(repository, "latest")).contains(second.digest());
    assertThat(TestServices.registryDigest(repository, "stable")).as("only the named tags move").contains(first.digest());

    List<TagMove> again = promoter.promote(repo, second.digest(), List.of("latest"));
    assertThat(again).containsExactly(new TagMove("latest", second.digest(), second.digest(), false));
  }

  @Test
  void promote_keepsAMultiPlatformIndexWhole_inBothIndexFormats() throws Exception {
    BuiltImage amd64 = build("amd64");
    BuiltImage arm64 = build("arm64");
    for (String indexType : List.of(OCI_INDEX, DOCKER_LIST)) {
      String index = """
          {"schemaVersion":2,"mediaType":"%s","manifests":[\
          {"mediaType":"%s","digest":"%s","size":%d,"platform":{"architecture":"amd64","os":"linux"}},\
          {"mediaType":"%s","digest":"%s","size":%d,"platform":{"architecture":"arm64","os":"linux"}}]}"""
          .formatted(indexType, DOCKER_MANIFEST, amd64.digest(), manifestSize(amd64.digest()),
              DOCKER_MANIFEST, arm64.digest(), manifestSize(arm64.digest()));
      byte[] bytes = index.getBytes();
      String digest = "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
      HttpResponse<String> put = http.send(HttpRequest.newBuilder(manifestUri("multi"))
          .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)).header("Content-Type", indexType).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(put.statusCode()).as(put.body()).isEqualTo(201);

      promoter.promote(repo, digest, List.of("latest"));

      HttpResponse<byte[]> latest = http.send(HttpRequest.newBuilder(manifestUri("latest"))
          .header("Accept", indexType).build(), HttpResponse.BodyHandlers.ofByteArray());
      assertThat(latest.headers().firstValue("Content-Type")).contains(indexType);
      assertThat(latest.headers().firstValue("Docker-Content-Digest")).contains(digest);
      assertThat(latest.body()).isEqualTo(bytes);
    }
  }

  @Test
  void promote_whenTheDigestIsNotInTheRegistry_saysSo_andMovesNothing() throws IOException {
    BuiltImage first = build("one");
    promoter.promote(repo, first.digest(), List.of("latest"));
    String missing = "sha256:" + "0".repeat(64);

    assertThatThrownBy(() -> promoter.promote(repo, missing, List.of("latest")))
        .hasMessage(repo + "@" + missing + " is not in the registry: build and push it first (deploy:build)");
    assertThat(TestServices.registryDigest(repository, "latest")).contains(first.digest());
  }

  private int manifestSize(String digest) throws Exception {
    return http.send(HttpRequest.newBuilder(manifestUri(digest)).header("Accept", DOCKER_MANIFEST).build(),
        HttpResponse.BodyHandlers.ofByteArray()).body().length;
  }

  private URI manifestUri(String reference) {
    return URI.create("http://" + TestServices.registry() + "/v2/" + repository + "/manifests/" + reference);
  }
}
