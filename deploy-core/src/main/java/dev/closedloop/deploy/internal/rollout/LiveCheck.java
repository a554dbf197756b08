package dev.closedloop.deploy.internal.rollout;

import dev.closedloop.deploy.DeployException;
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
  /** Enough of a body to find a SHA or a version in. */
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
      Duration left = Duration.between(Instant.now(), deadline);
      Duration within = left.compareTo(ASK_TIMEOUT) < 0 ? left : ASK_TIMEOUT;
      String answer = ask(http, url, expect, within.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1)
          : within);
      if (answer == null) {
        return null;
      }
      if (!answer.equals(last)) {
        changed.accept(answer);
      }
      last = answer;
      left = Duration.between(Instant.now(), deadline);
      if (left.isNegative() || left.isZero()) {
        return last;
      }
      Rollouts.sleep(BETWEEN.compareTo(left) < 0 ? BETWEEN : left);
    }
  }

  /**
   * Null when {@code url} serves; else what it answered. The whole exchange, body included, ends
   * within {@code timeout}: a server that sends its headers and then stalls holds nothing up.
   */
  private static String ask(HttpClient http, URI url, String expect, Duration timeout) {
    try {
      HttpResponse<byte[]> response = http.sendAsync(HttpRequest.newBuilder(url).timeout(timeout).GET()
          .header("Cache-Control", "no-cache").build(), HttpResponse.BodyHandlers.ofByteArray())
          .orTimeout(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS).get();
      byte[] bytes = response.body();
      String body = new String(bytes, 0, Math.min(bytes.length, BODY_LIMIT), java.nio.charset.StandardCharsets.UTF_8);
      if (response.statusCode() / 100 != 2) {
        return "answered " + response.statusCode();
      }
      if (expect != null && !body.contains(expect)) {
        return "answered " + response.statusCode() + " without '" + expect + "'";
      }
      return null;
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      return cause instanceof java.util.concurrent.TimeoutException
          ? "did not answer within " + timeout.toSeconds() + "s"
          : "did not answer (" + (cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage())
              + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DeployException(DeployException.Kind.ROLLOUT, "Interrupted while asking deploy.healthUrl", e);
    }
  }
}
