package dev.closedloop.deploy.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The wire of App Runner and ECS for the SDK, behind {@code deploy.awsEndpoint}: the simulators
 * ({@link AppRunnerSimulator}, {@link EcsSimulator}, {@link EcsExpressSimulator}) register their
 * operations on it and play the services' state machines. It speaks their protocols as the SDK
 * does: a POST with {@code X-Amz-Target: AppRunner.<Operation>} (AWS JSON 1.0) or
 * {@code AmazonEC2ContainerServiceV20141113.<Operation>} (AWS JSON 1.1), a JSON body, and errors
 * as HTTP 400 with {@code __type}. Requests signed with the access key {@code REJECTED} get the
 * answer AWS gives to unknown keys; requests signed for another region than the fake's find
 * nothing, as AWS would in that region.
 */
final class FakeAws implements AutoCloseable {

  static final ObjectMapper JSON = new ObjectMapper();
  static final String REGION = "us-east-1";
  private static final Pattern CREDENTIAL = Pattern.compile("Credential=([^/]+)/\\d+/([^/]+)/([^/]+)/");

  /** One call as the fake saw it. */
  record Call(String operation, JsonNode body) { }

  /** An AWS error answer. */
  static final class Error extends RuntimeException {
    final String type;

    Error(String type, String message) {
      super(message);
      this.type = type;
    }
  }

  private final HttpServer server;
  private final Map<String, Function<JsonNode, Object>> operations = new ConcurrentHashMap<>();
  private final List<Call> calls = new java.util.concurrent.CopyOnWriteArrayList<>();

  FakeAws() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::handle);
    server.start();
  }

  String endpoint() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** Answers {@code operation} (e.g. {@code DescribeServices}) with what {@code answer} returns (a JSON-able value), or throws as {@link Error}. */
  FakeAws on(String operation, Function<JsonNode, Object> answer) {
    operations.put(operation, answer);
    return this;
  }

  List<Call> calls() {
    return new ArrayList<>(calls);
  }

  List<Call> calls(String operation) {
    return calls.stream().filter(call -> call.operation().equals(operation)).toList();
  }

  private void handle(HttpExchange exchange) throws IOException {
    String target = exchange.getRequestHeaders().getFirst("X-Amz-Target");
    String contentType = exchange.getRequestHeaders().getFirst("Content-Type");
    byte[] body = exchange.getRequestBody().readAllBytes();
    String operation = target == null ? "" : target.substring(target.indexOf('.') + 1);
    String protocol = target != null && target.startsWith("AppRunner.") ? "application/x-amz-json-1.0"
        : "application/x-amz-json-1.1";
    try {
      if (!"POST".equals(exchange.getRequestMethod()) || target == null || !protocol.equals(contentType)) {
        throw new Error("UnknownOperationException", "not an AWS JSON request: " + exchange.getRequestMethod()
            + " " + target + " " + contentType);
      }
      Matcher credential = CREDENTIAL.matcher(String.valueOf(exchange.getRequestHeaders().getFirst("Authorization")));
      if (!credential.find()) {
        throw new Error("MissingAuthenticationTokenException", "Missing Authentication Token");
      }
      if (credential.group(1).equals("REJECTED")) {
        throw new Error("UnrecognizedClientException", "The security token included in the request is invalid.");
      }
      JsonNode request = JSON.readTree(body.length == 0 ? "{}".getBytes(StandardCharsets.UTF_8) : body);
      calls.add(new Call(operation, request));
      if (!credential.group(2).equals(REGION)) {
        throw new Error(operation.contains("Express") || target.startsWith("AppRunner.") ? "ResourceNotFoundException"
            : "ClusterNotFoundException", "Nothing of that name in " + credential.group(2));
      }
      Function<JsonNode, Object> answer = operations.get(operation);
      if (answer == null) {
        throw new Error("UnknownOperationException", "the test scripted no answer for " + operation);
      }
      respond(exchange, 200, protocol, JSON.writeValueAsBytes(answer.apply(request)));
    } catch (Error e) {
      ObjectNode error = JSON.createObjectNode().put("__type", e.type).put("message", e.getMessage());
      exchange.getResponseHeaders().add("x-amzn-ErrorType", e.type);
      respond(exchange, 400, protocol, JSON.writeValueAsBytes(error));
    } catch (RuntimeException e) {
      respond(exchange, 500, protocol, JSON.writeValueAsBytes(Map.of("__type", "InternalFailure", "message",
          String.valueOf(e))));
    }
  }

  private static void respond(HttpExchange exchange, int status, String contentType, byte[] body) throws IOException {
    exchange.getResponseHeaders().add("Content-Type", contentType);
    exchange.getResponseHeaders().add("x-amzn-RequestId", java.util.UUID.randomUUID().toString());
    exchange.sendResponseHeaders(status, body.length);
    exchange.getResponseBody().write(body);
    exchange.close();
  }

  @Override
  public void close() {
    server.stop(0);
  }

  /** Seconds since the epoch, as AWS JSON protocols write timestamps. */
  static double epochSeconds(java.time.Instant at) {
    return at.toEpochMilli() / 1000.0;
  }
}
