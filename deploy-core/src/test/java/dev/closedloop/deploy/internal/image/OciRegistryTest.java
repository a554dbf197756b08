package dev.closedloop.deploy.internal.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The registry client against small loopback servers that misbehave on purpose. */
class OciRegistryTest {

  @Test
  void aBearerRealmOnPlainHttpElsewhere_isRefused_beforeAnyCredentialIsSent() throws Exception {
    HttpServer registry = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    AtomicInteger authorized = new AtomicInteger();
    registry.createContext("/", exchange -> {
      if (exchange.getRequestHeaders().containsKey("Authorization")) {
        authorized.incrementAndGet();
      }
      exchange.getResponseHeaders().add("WWW-Authenticate",
          "Bearer realm=\"http://auth.example.com/token\",service=\"registry\"");
      exchange.sendResponseHeaders(401, -1);
      exchange.close();
    });
    registry.start();
    try {
      ImageRef image = ImageRef.parse("127.0.0.1:" + registry.getAddress().getPort() + "/team/app:latest");

      assertThatThrownBy(() -> new OciRegistry(new RegistryCredentials("ci", "s3cret")).digestOf(image))
          .isInstanceOfSatisfying(DeployException.class, e -> assertThat(e.getMessage()).isEqualTo("The registry 127.0.0.1:"
              + registry.getAddress().getPort() + " sends clients to the token service http://auth.example.com/token"
              + " over plain HTTP: refusing to send credentials there. Configure the registry's token realm as https://"));
      assertThat(authorized).hasValue(0);
    } finally {
      registry.stop(0);
    }
  }

  @Test
  void aRegistryThatBlips_429Then503_isAskedAgain_andItsAnswerCounts() throws Exception {
    HttpServer registry = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    AtomicInteger asked = new AtomicInteger();
    String digest = "sha256:" + "a".repeat(64);
    registry.createContext("/", exchange -> {
      switch (asked.incrementAndGet()) {
        case 1 -> {
          exchange.getResponseHeaders().add("Retry-After", "1");
          exchange.sendResponseHeaders(429, -1);
        }
        case 2 -> exchange.sendResponseHeaders(503, -1);
        default -> {
          exchange.getResponseHeaders().add("Docker-Content-Digest", digest);
          exchange.sendResponseHeaders(200, -1);
        }
      }
      exchange.close();
    });
    registry.start();
    try {
      ImageRef image = ImageRef.parse("127.0.0.1:" + registry.getAddress().getPort() + "/team/app:latest");

      assertThat(new OciRegistry(null).digestOf(image)).contains(digest);
      assertThat(asked).hasValue(3);
    } finally {
      registry.stop(0);
    }
  }

  @Test
  void aRegistryThatKeepsFailing_isAskedFourTimes_thenItsAnswerIsTheError() throws Exception {
    HttpServer registry = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    AtomicInteger asked = new AtomicInteger();
    registry.createContext("/", exchange -> {
      asked.incrementAndGet();
      exchange.getResponseHeaders().add("Retry-After", "0");
      exchange.sendResponseHeaders(502, -1);
      exchange.close();
    });
    registry.start();
    try {
      ImageRef image = ImageRef.parse("127.0.0.1:" + registry.getAddress().getPort() + "/team/app:latest");

      assertThatThrownBy(() -> new OciRegistry(null).digestOf(image)).isInstanceOf(DeployException.class)
          .hasMessageContaining("502");
      assertThat(asked).hasValue(4);
    } finally {
      registry.stop(0);
    }
  }

  @Test
  void aRegistryThatNeverAnswers_failsWithinTheReadTimeout_namingIt() throws Exception {
    List<Socket> held = new ArrayList<>();
    try (ServerSocket stalled = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread accept = new Thread(() -> {
        try {
          while (true) {
            held.add(stalled.accept()); // accepts, reads nothing, answers nothing
          }
        } catch (java.io.IOException closed) {
          // the test is over
        }
      });
      accept.setDaemon(true);
      accept.start();
      ImageRef image = ImageRef.parse("127.0.0.1:" + stalled.getLocalPort() + "/team/app:latest");

      assertThatThrownBy(() -> new OciRegistry(null, java.util.Set.of(), Duration.ofMillis(500)).digestOf(image))
          .isInstanceOfSatisfying(DeployException.class, e -> assertThat(e.getMessage())
              .startsWith("The registry 127.0.0.1:" + stalled.getLocalPort() + " did not answer within 500 ms for 127.0.0.1:" + stalled.getLocalPort() + "/team/app"));
    } finally {
      for (Socket socket : held) {
        socket.close();
      }
    }
  }
}
