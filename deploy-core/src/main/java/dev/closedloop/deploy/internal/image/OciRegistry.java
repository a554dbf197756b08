package dev.closedloop.deploy.internal.image;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import dev.closedloop.deploy.internal.Loopback;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A registry spoken to through the OCI distribution API over {@code java.net.http}: anonymous,
 * basic, or bearer-token auth answered from the {@code WWW-Authenticate} challenge. A read asks
 * the token service for {@code pull} only, a tag move for {@code pull,push}, so a read-only role
 * serves every goal that only reads. Plain HTTP is spoken only to a registry on loopback or one
 * named insecure ({@code deploy.insecureRegistries}).
 */
public final class OciRegistry implements Registry {

  /** Every manifest kind we keep intact: single images and multi-platform indexes. */
  static final String MANIFEST_TYPES = String.join(", ",
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.docker.distribution.manifest.v2+json");

  /** The token scopes' actions: a read needs no more than pull. */
  private static final String PULL = "pull";
  private static final String PUSH = "pull,push";
  private static final Pattern CHALLENGE_PARAM = Pattern.compile("(\\w+)=\"([^\"]*)\"");
  private static final ObjectMapper JSON = new ObjectMapper();
  /** How long a registry may take to answer one call. */
  private static final Duration READ_TIMEOUT = Duration.ofSeconds(60);

  private final Duration readTimeout;

  private final HttpClient http;
  private final RegistryCredentials credentials;
  /** Registries (host[:port]) spoken to over plain HTTP though they are not on loopback. */
  private final Set<String> insecure;
  /** The Authorization header that answered the registry's challenge, by scope. */
  private final Map<String, String> authorizations = new ConcurrentHashMap<>();

  public OciRegistry(RegistryCredentials credentials) {
    this(credentials, Set.of());
  }

  public OciRegistry(RegistryCredentials credentials, Set<String> insecureRegistries) {
    this(credentials, insecureRegistries, java.net.ProxySelector.getDefault(), READ_TIMEOUT);
  }

  /** Through {@code proxies} ({@link dev.closedloop.deploy.internal.Proxies}: HTTPS_PROXY and the like). */
  public OciRegistry(RegistryCredentials credentials, Set<String> insecureRegistries, java.net.ProxySelector proxies) {
    this(credentials, insecureRegistries, proxies, READ_TIMEOUT);
  }

  OciRegistry(RegistryCredentials credentials, Set<String> insecureRegistries, Duration readTimeout) {
    this(credentials, insecureRegistries, java.net.ProxySelector.getDefault(), readTimeout);
  }

  private OciRegistry(RegistryCredentials credentials, Set<String> insecureRegistries, java.net.ProxySelector proxies,
      Duration readTimeout) {
    this.readTimeout = readTimeout;
    this.credentials = credentials;
    this.insecure = Set.copyOf(insecureRegistries);
    HttpClient.Builder http = HttpClient.newBuilder()
        .connectTimeout(Duration.ofSeconds(10))
        .followRedirects(HttpClient.Redirect.NORMAL);
    if (proxies != null) {
      http.proxy(proxies);
    }
    this.http = http.build();
  }

  public static OciRegistry anonymous() {
    return new OciRegistry(null);
  }

  @Override
  public Optional<String> digestOf(ImageRef image) {
    HttpResponse<Void> response = send(image, PULL, HttpRequest.newBuilder(manifestUri(image, reference(image)))
        .method("HEAD", HttpRequest.BodyPublishers.noBody())
        .header("Accept", MANIFEST_TYPES), HttpResponse.BodyHandlers.discarding());
    if (response.statusCode() == 404) {
      return Optional.empty();
    }
    if (response.statusCode() != 200) {
      throw failure(image, "HEAD manifest answered HTTP " + response.statusCode());
    }
    return Optional.of(response.headers().firstValue("Docker-Content-Digest").orElseThrow(() ->
        failure(image, "the registry sent no Docker-Content-Digest header")));
  }

  @Override
  public Manifest manifest(ImageRef image) {
    HttpResponse<byte[]> response = send(image, PULL, HttpRequest.newBuilder(manifestUri(image, reference(image)))
        .GET().header("Accept", MANIFEST_TYPES), HttpResponse.BodyHandlers.ofByteArray());
    if (response.statusCode() == 404) {
      throw new DeployException(DeployException.Kind.REGISTRY, image + " is not in the registry: build and push it"
          + " first (deploy:build)");
    }
    if (response.statusCode() != 200) {
      throw failure(image, "GET manifest answered HTTP " + response.statusCode());
    }
    String mediaType = response.headers().firstValue("Content-Type").orElseThrow(() ->
        failure(image, "the registry sent the manifest without a Content-Type"));
    String digest = sha256(response.body());
    if (image.digestValue().isPresent() && !image.digestValue().get().equals(digest)) {
      throw failure(image, "the manifest's bytes hash to " + digest + ", not to the digest asked for");
    }
    return new Manifest(response.body(), mediaType, digest);
  }

  @Override
  public void putManifest(ImageRef repository, String tag, Manifest manifest) {
    ImageRef tagged = repository.withTag(tag);
    HttpResponse<Void> response = send(tagged, PUSH, HttpRequest.newBuilder(manifestUri(tagged, tag))
        .PUT(HttpRequest.BodyPublishers.ofByteArray(manifest.content()))
        .header("Content-Type", manifest.mediaType()), HttpResponse.BodyHandlers.discarding());
    if (response.statusCode() != 201 && response.statusCode() != 200) {
      throw failure(tagged, "PUT manifest answered HTTP " + response.statusCode()
          + (response.statusCode() == 400 || response.statusCode() == 409
              ? " (tags in this repository may be immutable)" : ""));
    }
  }

  private static String reference(ImageRef image) {
    return image.digestValue().orElseGet(() -> image.tagValue().orElse("latest"));
  }

  private static String sha256(byte[] content) {
    try {
      return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private <T> HttpResponse<T> send(ImageRef image, String actions, HttpRequest.Builder request,
      HttpResponse.BodyHandler<T> body) {
    request.timeout(readTimeout); // a stalled registry must not hang a release that holds the lock
    String scope = "repository:" + image.repository() + ":" + actions;
    String known = authorizations.get(scope);
    if (known != null) {
      request.header("Authorization", known);
    }
    HttpResponse<T> response = exchange(image, request.build(), body);
    if (response.statusCode() == 401) {
      String challenge = response.headers().firstValue("WWW-Authenticate").orElse("");
      String authorization = answer(image, challenge, scope);
      authorizations.put(scope, authorization);
      response = exchange(image, request.setHeader("Authorization", authorization).build(), body);
      if (response.statusCode() == 401 || response.statusCode() == 403) {
        throw new DeployException(DeployException.Kind.REGISTRY,
            refusedMessage(image));
      }
    }
    return response;
  }

  private String answer(ImageRef image, String challenge, String scope) {
    if (challenge.regionMatches(true, 0, "Basic", 0, 5)) {
      if (credentials == null) {
        throw noCredentials(image);
      }
      if (credentials.isIdentityToken()) {
        throw new DeployException(DeployException.Kind.REGISTRY, "The registry " + image.registry() + " asks for a"
            + " user name and password, but its credentials are an identity token, which only a token service"
            + " takes: log in with a user name and password (docker login " + image.registry() + ")");
      }
      return credentials.basicHeader();
    }
    if (!challenge.regionMatches(true, 0, "Bearer", 0, 6)) {
      throw failure(image, "unsupported authentication challenge '" + challenge + "'");
    }
    Map<String, String> params = new LinkedHashMap<>();
    Matcher m = CHALLENGE_PARAM.matcher(challenge);
    while (m.find()) {
      params.put(m.group(1), m.group(2));
    }
    String realm = params.get("realm");
    if (realm == null) {
      throw failure(image, "the authentication challenge names no realm");
    }
    URI realmUri = URI.create(realm);
    if (credentials != null && !"https".equalsIgnoreCase(realmUri.getScheme()) && !Loopback.isLoopback(realmUri.getHost())
        && !namedInsecure(realmUri.getHost())) {
      throw new DeployException(DeployException.Kind.REGISTRY, "The registry " + image.registry() + " sends"
          + " clients to the token service " + realm + " over plain HTTP: refusing to send credentials there."
          + " Configure the registry's token realm as https://");
    }
    HttpRequest.Builder tokenRequest;
    if (credentials != null && credentials.isIdentityToken()) {
      // an identity token (ACR's, or a helper's "<token>") is an OAuth2 refresh token: posted, never in a URL
      StringBuilder form = new StringBuilder("grant_type=refresh_token&client_id=closedloop")
          .append("&refresh_token=").append(URLEncoder.encode(credentials.password(), StandardCharsets.UTF_8))
          .append("&scope=").append(URLEncoder.encode(scope, StandardCharsets.UTF_8));
      if (params.containsKey("service")) {
        form.append("&service=").append(URLEncoder.encode(params.get("service"), StandardCharsets.UTF_8));
      }
      tokenRequest = HttpRequest.newBuilder(realmUri).timeout(readTimeout)
          .header("Content-Type", "application/x-www-form-urlencoded")
          .POST(HttpRequest.BodyPublishers.ofString(form.toString()));
    } else {
      StringBuilder url = new StringBuilder(realm).append(realm.contains("?") ? "&" : "?")
          .append("scope=").append(URLEncoder.encode(scope, StandardCharsets.UTF_8));
      if (params.containsKey("service")) {
        url.append("&service=").append(URLEncoder.encode(params.get("service"), StandardCharsets.UTF_8));
      }
      tokenRequest = HttpRequest.newBuilder(URI.create(url.toString())).GET().timeout(readTimeout);
      if (credentials != null) {
        tokenRequest.header("Authorization", credentials.basicHeader());
      }
    }
    try {
      HttpResponse<String> response = within(http.sendAsync(tokenRequest.build(), HttpResponse.BodyHandlers.ofString()));
      if (response.statusCode() == 401 || response.statusCode() == 403) {
        throw credentials == null ? noCredentials(image) : new DeployException(DeployException.Kind.REGISTRY,
            refusedMessage(image));
      }
      String token = response.statusCode() == 200 ? token(response.body()) : null;
      if (token == null) {
        throw failure(image, "the token service answered HTTP " + response.statusCode()
            + (response.statusCode() == 200 ? " without a token" : ""));
      }
      return "Bearer " + token;
    } catch (IOException e) {
      throw failure(image, "the token service is unreachable (" + e.getMessage() + ")");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw failure(image, "interrupted");
    }
  }

  /** Waits for an answer for at most the read timeout, body and all; what went wrong comes out as it was. */
  private <T> HttpResponse<T> within(java.util.concurrent.CompletableFuture<HttpResponse<T>> answer)
      throws IOException, InterruptedException {
    try {
      return answer.get(readTimeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      answer.cancel(true);
      throw e;
    } catch (java.util.concurrent.TimeoutException e) {
      answer.cancel(true);
      throw new java.net.http.HttpTimeoutException("no whole answer within " + readTimeout.toMillis() + " ms");
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException io) {
        throw io;
      }
      if (cause instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw new IOException(cause);
    }
  }

  /** The token of a token service's answer: {@code token}, or OAuth2's {@code access_token}. */
  private static String token(String body) {
    try {
      JsonNode answer = JSON.readTree(body);
      for (String field : new String[] {"token", "access_token"}) {
        JsonNode token = answer.path(field);
        if (token.isTextual() && !token.asText().isEmpty()) {
          return token.asText();
        }
      }
      return null;
    } catch (JsonProcessingException e) {
      return null;
    }
  }

  /** How often a request the registry answered 429 or 5xx is sent, in all. */
  private static final int ATTEMPTS = 4;
  /** The longest wait between two, whatever Retry-After asks. */
  private static final Duration LONGEST_WAIT = Duration.ofSeconds(10);

  /**
   * One request, sent again after a pause when the registry says it is busy (429) or failed
   * (5xx): a registry behind a load balancer blips, and each request here is idempotent (a
   * manifest read, or the same bytes put under the same tag).
   */
  private <T> HttpResponse<T> exchange(ImageRef image, HttpRequest request, HttpResponse.BodyHandler<T> body) {
    for (int attempt = 1; ; attempt++) {
      HttpResponse<T> response = exchangeOnce(image, request, body);
      int status = response.statusCode();
      if ((status != 429 && status < 500) || attempt == ATTEMPTS) {
        return response;
      }
      Duration wait = response.headers().firstValue("Retry-After").filter(value -> value.matches("\\d{1,4}"))
          .map(value -> Duration.ofSeconds(Long.parseLong(value))).orElse(Duration.ofMillis(500L << attempt));
      sleep(image, wait.compareTo(LONGEST_WAIT) > 0 ? LONGEST_WAIT : wait);
    }
  }

  private static void sleep(ImageRef image, Duration wait) {
    try {
      Thread.sleep(wait.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw failure(image, "interrupted");
    }
  }

  private <T> HttpResponse<T> exchangeOnce(ImageRef image, HttpRequest request, HttpResponse.BodyHandler<T> body) {
    try {
      return within(http.sendAsync(request, body)); // the whole answer, body included, in time
    } catch (java.net.http.HttpTimeoutException e) {
      throw new DeployException(DeployException.Kind.REGISTRY, "The registry " + image.registry() + " did not answer"
          + " within " + readTimeout.toMillis() + " ms for " + image.name() + ": check that it runs and is not"
          + " overloaded, then run again", e);
    } catch (IOException e) {
      if (speaksPlainHttp(e)) {
        throw new DeployException(DeployException.Kind.REGISTRY, "The registry " + image.registry() + " answers"
            + " plain HTTP, not HTTPS: closedloop speaks plain HTTP only to a registry on loopback, since"
            + " credentials and digests would cross the network unprotected. Serve it over HTTPS, or name it in"
            + " deploy.insecureRegistries if this network is trusted", e);
      }
      throw new DeployException(DeployException.Kind.REGISTRY,
          "Cannot reach the registry " + image.registry() + " for " + image.name() + " ("
              + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName())
              + "): check the image parameter (deploy.image) and that the registry runs", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw failure(image, "interrupted");
    }
  }

  /** A TLS handshake answered with plain HTTP: the JDK's words for it. */
  private static boolean speaksPlainHttp(Throwable e) {
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (cause instanceof javax.net.ssl.SSLException && cause.getMessage() != null
          && (cause.getMessage().contains("Unsupported or unrecognized SSL message")
              || cause.getMessage().contains("plaintext connection"))) {
        return true;
      }
    }
    return false;
  }

  /** A token service on the host of a registry named insecure may speak plain HTTP too. */
  private boolean namedInsecure(String host) {
    return insecure.stream().anyMatch(registry -> registry.equals(host) || registry.startsWith(host + ":"));
  }

  private URI manifestUri(ImageRef image, String reference) {
    String scheme = image.isLoopback() || insecure.contains(image.registry()) ? "http" : "https";
    return URI.create(scheme + "://" + image.apiHost() + "/v2/" + image.repository() + "/manifests/" + reference);
  }

  private String refusedMessage(ImageRef image) {
    return credentials != null && credentials.isIdentityToken()
        ? "The registry " + image.registry() + " refused the identity token for " + image.name() + ": it may have"
            + " expired; log in again (az acr login, or docker login " + image.registry() + ")"
        : "The registry " + image.registry() + " refused the credentials for " + image.name()
            + ": check the <server> with id '" + image.registry() + "' in settings.xml";
  }

  private static DeployException noCredentials(ImageRef image) {
    return new DeployException(DeployException.Kind.REGISTRY,
        "The registry " + image.registry() + " wants credentials for " + image.name()
            + ": add a <server> with id '" + image.registry() + "' to settings.xml");
  }

  private static DeployException failure(ImageRef image, String what) {
    return new DeployException(DeployException.Kind.REGISTRY,
        "Registry " + image.registry() + " failed for " + image + ": " + what);
  }
}
