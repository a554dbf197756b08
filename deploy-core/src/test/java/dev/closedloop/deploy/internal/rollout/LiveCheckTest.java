package dev.closedloop.deploy.internal.rollout;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class LiveCheckTest {

  @Test
  void anAddressThatSendsItsHeadersAndStalls_holdsNothingUpPastTheDeadline() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
    server.createContext("/version", exchange -> {
      exchange.sendResponseHeaders(200, 1000);
      exchange.getResponseBody().write("v".getBytes());
      exchange.getResponseBody().flush();
      try {
        release.await(); // the rest of the body never comes while the check asks
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      exchange.close();
    });
    server.start();
    List<String> seen = new CopyOnWriteArrayList<>();
    try {
      String last = LiveCheck.awaitServed(URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/version"),
          "abc123", Instant.now().plus(Duration.ofSeconds(2)), seen::add);

      assertThat(last).startsWith("did not answer within");
      assertThat(seen).isNotEmpty();
    } finally {
      release.countDown();
      server.stop(0);
    }
  }

  @Test
  void anAddressThatServesTheText_isServed_andOneWithoutIt_saysWhatItAnswered() throws Exception {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/version", exchange -> {
      byte[] body = "version 9f8e7d".getBytes();
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
    try {
      URI url = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/version");
      assertThat(LiveCheck.awaitServed(url, "9f8e7d", Instant.now().plusSeconds(5), answer -> { })).isNull();
      assertThat(LiveCheck.awaitServed(url, "abc123", Instant.now().plusSeconds(1), answer -> { }))
          .isEqualTo("answered 200 without 'abc123'");
      assertThat(LiveCheck.awaitServed(URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/none"), null,
          Instant.now().plusSeconds(1), answer -> { })).isEqualTo("answered 404");
    } finally {
      server.stop(0);
    }
  }
}
