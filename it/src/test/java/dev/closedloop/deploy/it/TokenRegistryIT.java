package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.image.BuiltImage;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import dev.closedloop.deploy.image.TagMove;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.image.OciRegistry;
import dev.closedloop.deploy.internal.image.Promoter;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A registry that wants Bearer tokens (the scheme of Docker Hub, GHCR, Harbor): the registry
 * answers 401 with a WWW-Authenticate Bearer challenge naming a token service, which the test
 * runs, issuing RS256-signed JWTs for the Basic credentials it is given.
 */
class TokenRegistryIT {

  private static final String USER = "ci";
  private static final String PASSWORD = "token-test-password";
  private static final String SERVICE = "closedloop-test-registry";
  private static final String ISSUER = "closedloop-test-issuer";

  @TempDir static Path state;
  private static HttpServer tokenService;
  private static TestServices.OwnRegistry registry;
  private static String address;
  private static PrivateKey key;
  private static String certificate;

  @TempDir Path context;

  @BeforeAll
  static void start() throws Exception {
    Path keystore = state.resolve("token.p12");
    TestServices.Run keytool = TestServices.run(state, "keytool", "-genkeypair", "-alias", "token", "-keyalg", "RSA",
        "-keysize", "2048", "-validity", "2", "-dname", "CN=" + ISSUER, "-storetype", "PKCS12",
        "-keystore", keystore.toString(), "-storepass", "changeit", "-keypass", "changeit");
    assertThat(keytool.exitCode()).as(keytool.output()).isZero();
    KeyStore store = KeyStore.getInstance("PKCS12");
    try (FileInputStream in = new FileInputStream(keystore.toFile())) {
      store.load(in, "changeit".toCharArray());
    }
    key = (PrivateKey) store.getKey("token", "changeit".toCharArray());
    Certificate cert = store.getCertificate("token");
    certificate = Base64.getEncoder().encodeToString(cert.getEncoded());
    Files.writeString(state.resolve("root.pem"), "-----BEGIN CERTIFICATE-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(cert.getEncoded()) + "\n-----END CERTIFICATE-----\n");

    tokenService = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    tokenService.createContext("/token", exchange -> {
      String authorization = exchange.getRequestHeaders().getFirst("Authorization");
      String expected = "Basic " + Base64.getEncoder().encodeToString((USER + ":" + PASSWORD).getBytes(StandardCharsets.UTF_8));
      String query = exchange.getRequestURI().getRawQuery();
      if (!expected.equals(authorization)) {
        exchange.sendResponseHeaders(401, -1);
        exchange.close();
        return;
      }
      byte[] body = ("{\"token\":\"" + jwt(scopes(query)) + "\"}").getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    tokenService.start();

    registry = TestServices.startRegistry(state, """
          token:
            realm: http://127.0.0.1:%d/token
            service: %s
            issuer: %s
            rootcertbundle: %s
        """.formatted(tokenService.getAddress().getPort(), SERVICE, ISSUER, state.resolve("root.pem")));
    address = registry.address();
  }

  @AfterAll
  static void stop() throws InterruptedException {
    if (registry != null) {
      registry.close();
    }
    if (tokenService != null) {
      tokenService.stop(0);
    }
  }

  /** The access claims for scope=repository:NAME:ACTIONS parameters. */
  private static String scopes(String query) {
    StringBuilder access = new StringBuilder();
    for (String pair : query == null ? new String[0] : query.split("&")) {
      if (pair.startsWith("scope=")) {
        String[] scope = URLDecoder.decode(pair.substring(6), StandardCharsets.UTF_8).split(":");
        if (access.length() > 0) {
          access.append(',');
        }
        access.append("{\"type\":\"").append(scope[0]).append("\",\"name\":\"").append(scope[1])
            .append("\",\"actions\":[\"").append(scope[2].replace(",", "\",\"")).append("\"]}");
      }
    }
    return "[" + access + "]";
  }

  private static String jwt(String access) {
    long now = System.currentTimeMillis() / 1000;
    String header = "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"x5c\":[\"" + certificate + "\"]}";
    String claims = "{\"iss\":\"" + ISSUER + "\",\"sub\":\"" + USER + "\",\"aud\":\"" + SERVICE + "\",\"exp\":"
        + (now + 300) + ",\"nbf\":" + (now - 10) + ",\"iat\":" + now + ",\"jti\":\"" + UUID.randomUUID()
        + "\",\"access\":" + access + "}";
    Base64.Encoder url = Base64.getUrlEncoder().withoutPadding();
    String signingInput = url.encodeToString(header.getBytes(StandardCharsets.UTF_8)) + "."
        + url.encodeToString(claims.getBytes(StandardCharsets.UTF_8));
    try {
      Signature rsa = Signature.getInstance("SHA256withRSA");
      rsa.initSign(key);
      rsa.update(signingInput.getBytes(StandardCharsets.US_ASCII));
      return signingInput + "." + url.encodeToString(rsa.sign());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void buildAndPromote_throughTheBearerChallenge() throws IOException {
    Files.copy(TestServices.busybox(), context.resolve("busybox"));
    Files.writeString(context.resolve("Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\n");
    RegistryCredentials credentials = new RegistryCredentials(USER, PASSWORD);
    String sha = TestServices.randomSha();

    BuiltImage built = Release.configure().image(address + "/token/app").sha(sha).buildContext(context)
        .registryCredentials(credentials).dockerHost(TestServices.dockerHost()).load().build().image().orElseThrow();
    ImageRef repository = ImageRef.parse(address + "/token/app");
    List<TagMove> moves = new Promoter(new OciRegistry(credentials), Events.none())
        .promote(repository, built.digest(), List.of("latest"));

    assertThat(moves).containsExactly(new TagMove("latest", null, built.digest(), true));
    assertThat(new OciRegistry(credentials).digestOf(repository.withTag("latest"))).contains(built.digest());
    assertThatThrownBy(() -> new OciRegistry(new RegistryCredentials(USER, "wrong")).digestOf(repository.withTag("latest")))
        .hasMessage("The registry " + address + " refused the credentials for " + address + "/token/app: check the"
            + " <server> with id '" + address + "' in settings.xml");
  }
}
