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
  /** An identity token, as Azure Container Registry's login leaves in config.json: a refresh token. */
  private static final String IDENTITY_TOKEN = "identity-refresh-token-for-tests";

  @TempDir static Path state;
  private static HttpServer tokenService;
  private static TestServices.OwnRegistry registry;
  private static String address;
  private static PrivateKey key;
  private static String certificate;
  /** Every token asked for: "GET <scopes>" or "POST <grant> <scopes>", in order. */
  private static final List<String> asked = new java.util.concurrent.CopyOnWriteArrayList<>();

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
      if (exchange.getRequestMethod().equals("POST")) { // OAuth2, as for an identity token
        String form = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        String grant = parameter(form, "grant_type");
        asked.add("POST " + grant + " " + parameter(form, "scope"));
        if (!"refresh_token".equals(grant) || !IDENTITY_TOKEN.equals(parameter(form, "refresh_token"))) {
          exchange.sendResponseHeaders(401, -1);
          exchange.close();
          return;
        }
        byte[] body = ("{\"access_token\":\"" + jwt(scopes(form)) + "\",\"expires_in\":300}")
            .getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(body);
        }
        return;
      }
      asked.add("GET " + parameter(exchange.getRequestURI().getRawQuery(), "scope"));
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

  /** The access claims for scope=repository:NAME:ACTIONS parameters (several, or space-separated in one). */
  private static String scopes(String query) {
    StringBuilder access = new StringBuilder();
    for (String pair : query == null ? new String[0] : query.split("&")) {
      if (pair.startsWith("scope=")) {
        for (String one : URLDecoder.decode(pair.substring(6), StandardCharsets.UTF_8).split(" ")) {
          String[] scope = one.split(":");
          if (access.length() > 0) {
            access.append(',');
          }
          access.append("{\"type\":\"").append(scope[0]).append("\",\"name\":\"").append(scope[1])
              .append("\",\"actions\":[\"").append(scope[2].replace(",", "\",\"")).append("\"]}");
        }
      }
    }
    return "[" + access + "]";
  }

  /** The scopes, or another parameter, of a query or form, decoded and joined by a space. */
  private static String parameter(String query, String name) {
    List<String> values = new java.util.ArrayList<>();
    for (String pair : query == null ? new String[0] : query.split("&")) {
      if (pair.startsWith(name + "=")) {
        values.add(URLDecoder.decode(pair.substring(name.length() + 1), StandardCharsets.UTF_8));
      }
    }
    return String.join(" ", values);
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

  @Test
  void reads_askForPullOnly_andOnlyAMoveAsksForPush() throws IOException {
    BuiltImage built = buildAs(new RegistryCredentials(USER, PASSWORD), "token/scoped");
    ImageRef repository = ImageRef.parse(address + "/token/scoped");
    RegistryCredentials credentials = new RegistryCredentials(USER, PASSWORD);

    asked.clear();
    OciRegistry reader = new OciRegistry(credentials);
    assertThat(reader.digestOf(repository.withTag(built.image().tagValue().orElseThrow()))).contains(built.digest());
    reader.manifest(repository.withDigest(built.digest()));
    assertThat(asked).as("what a read-only goal asks the token service for").containsExactly(
        "GET repository:token/scoped:pull");

    asked.clear();
    new Promoter(new OciRegistry(credentials), Events.none()).promote(repository, built.digest(), List.of("latest"));
    assertThat(asked).containsExactly("GET repository:token/scoped:pull", "GET repository:token/scoped:pull,push");
    assertThat(new OciRegistry(credentials).digestOf(repository.withTag("latest"))).contains(built.digest());
  }

  @Test
  void anIdentityToken_fromDockerConfig_buildsPushesAndPromotes_asAnOAuthRefreshToken_neverPrinted() throws IOException {
    Path docker = Files.createDirectories(context.resolve("docker"));
    // what `az acr login` leaves: a placeholder user with no password, and the identity token
    Files.writeString(docker.resolve("config.json"), """
        {"auths": {"%s": {"auth": "%s", "identitytoken": "%s"}}}
        """.formatted(address, Base64.getEncoder().encodeToString(
            "00000000-0000-0000-0000-000000000000:".getBytes(StandardCharsets.UTF_8)), IDENTITY_TOKEN));
    Files.copy(TestServices.busybox(), context.resolve("busybox"));
    Files.writeString(context.resolve("Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\n");
    String sha = TestServices.randomSha();
    java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();

    asked.clear();
    BuiltImage built = Release.configure().image(address + "/token/identity").sha(sha).buildContext(context)
        .ciEnvironment(new dev.closedloop.deploy.guard.CiEnvironment(java.util.Map.of("DOCKER_CONFIG", docker.toString()), context))
        .listener(event -> printed.writeBytes((event + "\n").getBytes(StandardCharsets.UTF_8)))
        .dockerHost(TestServices.dockerHost()).load().build().image().orElseThrow();

    // the engine pushed with the identity token too: every token came from the refresh grant
    assertThat(asked).isNotEmpty().allSatisfy(request -> assertThat(request).startsWith("POST refresh_token "));
    RegistryCredentials identity = RegistryCredentials.identityToken(IDENTITY_TOKEN);
    ImageRef repository = ImageRef.parse(address + "/token/identity");
    new Promoter(new OciRegistry(identity), Events.none()).promote(repository, built.digest(), List.of("latest"));
    assertThat(new OciRegistry(new RegistryCredentials(USER, PASSWORD)).digestOf(repository.withTag("latest")))
        .contains(built.digest());
    assertThat(printed.toString(StandardCharsets.UTF_8)).isNotBlank().doesNotContain(IDENTITY_TOKEN);
    assertThatThrownBy(() -> new OciRegistry(RegistryCredentials.identityToken("revoked")).digestOf(repository.withTag("latest")))
        .hasMessage("The registry " + address + " refused the identity token for " + address + "/token/identity: it"
            + " may have expired; log in again (az acr login, or docker login " + address + ")");
  }

  private BuiltImage buildAs(RegistryCredentials credentials, String repository) throws IOException {
    Files.copy(TestServices.busybox(), context.resolve("busybox"));
    Files.writeString(context.resolve("Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\n");
    return Release.configure().image(address + "/" + repository).sha(TestServices.randomSha()).buildContext(context)
        .registryCredentials(credentials).dockerHost(TestServices.dockerHost()).load().build().image().orElseThrow();
  }
}
