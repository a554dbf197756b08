package dev.closedloop.deploy.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.internal.image.Registry;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ImageRefTest {

  private static final String D = "sha256:" + "a".repeat(64);

  @ParameterizedTest(name = "{0}")
  @CsvSource(nullValues = "-", delimiter = '|', textBlock = """
      nginx                                                      | docker.io      | library/nginx        | -      | -
      nginx:1.27                                                 | docker.io      | library/nginx        | 1.27   | -
      team/app                                                   | docker.io      | team/app             | -      | -
      team/app:v1.2.3                                            | docker.io      | team/app             | v1.2.3 | -
      docker.io/library/nginx                                    | docker.io      | library/nginx        | -      | -
      docker.io/nginx                                            | docker.io      | library/nginx        | -      | -
      localhost/app                                              | localhost      | app                  | -      | -
      localhost:5000/app:abc123                                  | localhost:5000 | app                  | abc123 | -
      127.0.0.1:5000/team/app                                    | 127.0.0.1:5000 | team/app             | -      | -
      registry.example.com/a/b/c:tag_1                           | registry.example.com | a/b/c          | tag_1  | -
      registry.example.com:443/app                               | registry.example.com:443 | app        | -      | -
      123456789012.dkr.ecr.us-west-2.amazonaws.com/fem-fd-service | 123456789012.dkr.ecr.us-west-2.amazonaws.com | fem-fd-service | - | -
      ghcr.io/org/my_app:1.0-rc.1                                | ghcr.io        | org/my_app           | 1.0-rc.1 | -
      app.with.dots                                              | docker.io      | library/app.with.dots | -     | -
      a__b/c--d                                                  | docker.io      | a__b/c--d            | -      | -
      Registry.Example.com/app                                   | Registry.Example.com | app            | -      | -
      [::1]:5000/app                                             | [::1]:5000     | app                  | -      | -
      app:TAG                                                    | docker.io      | library/app          | TAG    | -
      """)
  void parse_whenValid_splitsRegistryRepositoryAndTag(String ref, String registry, String repo, String tag, String digest) {
    ImageRef image = ImageRef.parse(ref);

    assertThat(image.registry()).isEqualTo(registry);
    assertThat(image.repository()).isEqualTo(repo);
    assertThat(image.tag()).isEqualTo(tag);
    assertThat(image.digest()).isEqualTo(digest);
    assertThat(ImageRef.parse(image.toString())).isEqualTo(image);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa              | docker.io/library/app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
      localhost:5000/app:1@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa | localhost:5000/app:1@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
      nginx                                                                                 | docker.io/library/nginx
      """)
  void toString_printsFullyQualifiedForm(String ref, String printed) {
    assertThat(ImageRef.parse(ref).toString()).isEqualTo(printed);
  }

  @ParameterizedTest(name = "[{index}] ''{0}''")
  @CsvSource(delimiter = '|', textBlock = """
      MyApp                                    | must be lowercase: use 'myapp'
      Shop/App                                 | must be lowercase: use 'shop/app'
      team/MyApp:1                             | must be lowercase: use 'team/myapp'
      registry.example.com/Team/app            | must be lowercase
      ''                                       | it is empty
      '   '                                    | it is empty
      ' app'                                   | white space
      app:                                     | the tag ''
      app:-bad                                 | the tag '-bad'
      app:has space                            | the tag 'has space'
      app@sha256:abc                           | not sha256: followed by 64
      app@md5:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa | not sha256: followed by 64
      localhost:99999/app                      | port '99999'
      localhost:0/app                          | port '0'
      localhost:http/app                       | port 'http'
      host_name.example.com/app                | registry host 'host_name.example.com'
      -bad.example.com/app                     | registry host '-bad.example.com'
      registry.example.com/                    | repository path is empty
      team//app                                | repository path 'team//app'
      app-                                     | repository path 'app-'
      _app                                     | repository path '_app'
      a..b                                     | repository path 'a..b'
      team/app/                                | repository path 'team/app/'
      """)
  void parse_whenInvalid_saysWhatIsWrongAndHowToWriteIt(String ref, String why) {
    assertThatThrownBy(() -> ImageRef.parse(ref))
        .isInstanceOfSatisfying(DeployException.class, e -> {
          assertThat(e.kind()).isEqualTo(DeployException.Kind.CONFIGURATION);
          assertThat(e.getMessage()).startsWith("Invalid image reference '").contains(why)
              .endsWith("e.g. registry.example.com/team/app");
        });
  }

  @org.junit.jupiter.api.Test
  void parse_whenNameIsLongerThan255Characters_refusesIt() {
    assertThatThrownBy(() -> ImageRef.parse("registry.example.com/" + "a".repeat(240)))
        .hasMessageContaining("longer than 255 characters");
  }

  @org.junit.jupiter.api.Test
  void ecr_registries_giveRegionAndAccount() {
    ImageRef image = ImageRef.parse("123456789012.dkr.ecr.us-west-2.amazonaws.com/fem-fd-service");

    assertThat(image.isEcr()).isTrue();
    assertThat(image.ecrRegion()).contains("us-west-2");
    assertThat(image.ecrAccount()).contains("123456789012");
    assertThat(ImageRef.parse("ghcr.io/a/b").isEcr()).isFalse();
  }

  @org.junit.jupiter.api.Test
  void loopbackRegistries_areSpokenToOverHttp_andDockerHubThroughItsApiHost() {
    assertThat(ImageRef.parse("localhost:5000/a").isLoopback()).isTrue();
    assertThat(ImageRef.parse("127.0.0.1:5000/a").isLoopback()).isTrue();
    assertThat(ImageRef.parse("[::1]:5000/a").isLoopback()).isTrue();
    assertThat(ImageRef.parse("registry.example.com/a").isLoopback()).isFalse();
    assertThat(ImageRef.parse("nginx").apiHost()).isEqualTo("registry-1.docker.io");
  }

  @org.junit.jupiter.api.Test
  void withTagAndWithDigest_keepTheRepository() {
    ImageRef base = ImageRef.parse("localhost:5000/team/app");

    assertThat(base.withTag("abc").toString()).isEqualTo("localhost:5000/team/app:abc");
    assertThat(base.withDigest(D).toString()).isEqualTo("localhost:5000/team/app@" + D);
    assertThatThrownBy(() -> base.withTag("bad tag")).hasMessageContaining("the tag 'bad tag'");
  }
}
