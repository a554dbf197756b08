package dev.closedloop.example.shop;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.concurrent.Executors;

/**
 * The example shop service: an HTTP server whose health endpoint answers from its database, so
 * a rollout can tell a running service with a migrated schema from one without.
 *
 * <p>Environment: {@code PORT} (default 8080), {@code DATABASE_URL} (a JDBC URL),
 * {@code DATABASE_USER}, {@code DATABASE_PASSWORD}.
 */
public final class ShopService {

  private final String databaseUrl;
  private final Properties credentials = new Properties();

  ShopService(String databaseUrl, String user, String password) {
    this.databaseUrl = databaseUrl;
    if (user != null) {
      credentials.setProperty("user", user);
    }
    if (password != null) {
      credentials.setProperty("password", password);
    }
    credentials.setProperty("connectTimeout", "5");
  }

  public static void main(String[] args) throws IOException {
    int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
    String url = System.getenv("DATABASE_URL");
    if (url == null || url.isBlank()) {
      System.err.println("DATABASE_URL is not set: give the service a jdbc:postgresql:// URL");
      System.exit(2);
    }
    ShopService service = new ShopService(url, System.getenv("DATABASE_USER"), System.getenv("DATABASE_PASSWORD"));
    HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
    server.createContext("/health", service::health);
    server.createContext("/", exchange -> respond(exchange, 200, "{\"service\":\"shop\"}"));
    server.setExecutor(Executors.newFixedThreadPool(4));
    server.start();
    System.out.println("shop-service listening on port " + port);
  }

  /** 200 with the schema's note when the database answers, 503 with the reason when not. */
  void health(HttpExchange exchange) throws IOException {
    try (Connection c = DriverManager.getConnection(databaseUrl, credentials);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT schema_note FROM service_health")) {
      String note = rs.next() ? rs.getString(1) : "no health row";
      respond(exchange, 200, "{\"status\":\"ok\",\"database\":\"" + json(note) + "\"}");
    } catch (SQLException e) {
      respond(exchange, 503, "{\"status\":\"unavailable\",\"error\":\"" + json(e.getMessage()) + "\"}");
    }
  }

  private static String json(String text) {
    return text == null ? "" : text.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ");
  }

  private static void respond(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }
}
