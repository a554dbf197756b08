package dev.closedloop.deploy.internal.rollout;

import dev.closedloop.deploy.DeployException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Consumer;

/**
 * Asks a released service's public address ({@code deploy.healthUrl}) until it serves this
 * release: a 2xx answer, holding {@code deploy.healthExpect} when that is set. A platform that
 * says "succeeded" names no digest (App Runner), and may still route to the old version for a
 * while; this is what tells that the release itself answers.
 */
public final class LiveCheck {

  private static final Duration ASK_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration BETWEEN = Duration.ofSeconds(2);
  /** Enough of a body to find a SHA or a version in, not a whole page held in memory. */
  private static final int BODY_LIMIT = 64 * 1024;

  private LiveCheck() {}

  /**
   * Asks {@code url} until it serves, or {@code deadline} passes.
   *
   * @param expect text the answer must contain, or null for any 2xx
   * @param changed told each new answer, once: "answered 503", "answered 200 without 'abc123'"
   * @return null once it served; else the last answer, as one line
   */
  public static String awaitServed(URI url, String expect, Instant deadline, Consumer<String> changed) {
    HttpClient http = HttpClient.newBuilder().connectTimeout(ASK_TIMEOUT).followRedirects(HttpClient.Redirect.NORMAL)
        .build();
    String last = null;
    while (true) {
      String answer = ask(http, url, expect);
      if (answer == null) {
        return null;
      }
      if (!answer.equals(last)) {
        changed.accept(answer);
      }
      last = answer;
      Duration left = Duration.between(Instant.now(), deadline);
      if (left.isNegative() || left.isZero()) {
        return last;
      }
      Rollouts.sleep(BETWEEN.compareTo(left) < 0 ? BETWEEN : left);
    }
  }

  /** Null when {@code url} serves; else what it answered. */
  private static String ask(HttpClient http, URI url, String expect) {
    try {
      HttpResponse<java.io.InputStream> response = http.send(HttpRequest.newBuilder(url).timeout(ASK_TIMEOUT).GET()
          .header("Cache-Control", "no-cache").build(), HttpResponse.BodyHandlers.ofInputStream());
      String body;
      try (var in = response.body()) {
        body = new String(in.readNBytes(BODY_LIMIT), java.nio.charset.StandardCharsets.UTF_8);
      }
      if (response.statusCode() / 100 != 2) {
        return "answered " + response.statusCode();
      }
      if (expect != null && !body.contains(expect)) {
        return "answered " + response.statusCode() + " without '" + expect + "'";
      }
      return null;
    } catch (IOException e) {
      return "did not answer (" + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()) + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DeployException(DeployException.Kind.ROLLOUT, "Interrupted while asking " + url, e);
    }
  }
}
