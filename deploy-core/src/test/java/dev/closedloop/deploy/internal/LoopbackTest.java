package dev.closedloop.deploy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.image.ImageRef;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LoopbackTest {

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
      "localhost, true", "LOCALHOST, true", "127.0.0.1, true", "127.1.2.3, true", "[::1], true", "::1, true",
      "0:0:0:0:0:0:0:1, true", "127.0.0.1.nip.io, false", "localhost.example.com, false", "10.0.0.1, false",
      "[::2], false", "example.com, false", "127.0.0.256, false"})
  void isLoopback_decidesFromTheParsedAddress_neverAPrefixOfAName(String host, boolean loopback) {
    assertThat(Loopback.isLoopback(host)).isEqualTo(loopback);
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({"127.0.0.1:5000/app, true", "127.0.0.1.nip.io:5000/app, false", "[::1]:5000/app, true",
      "localhost:5000/app, true", "registry.example.com/app, false"})
  void registries_onThisMachineAlone_speakPlainHttp(String image, boolean loopback) {
    assertThat(ImageRef.parse(image).isLoopback()).isEqualTo(loopback);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "jdbc:postgresql://127.0.0.1.nip.io:5432/shop | true",
      "jdbc:postgresql://db.example.com:5432/shop?ssl=true | false",
      "jdbc:postgresql://db.example.com:5432/shop?sslmode=require | false",
      "jdbc:postgresql://db.example.com:5432/shop?ssl=true&sslmode=prefer | true",
      "jdbc:postgresql://127.0.0.1:5432/shop | false"})
  void tlsProblem_isReportedForRemoteHostsThatMayFallBackToPlainText(String url, boolean problem) {
    assertThat(DatabaseTarget.of(url, "app", null).tlsProblem().isPresent()).isEqualTo(problem);
  }
}
