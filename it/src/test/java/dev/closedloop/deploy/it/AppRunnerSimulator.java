package dev.closedloop.deploy.it;

import static dev.closedloop.deploy.it.RolloutFixture.map;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An App Runner service deploying an image tag of the local registry, played as App Runner
 * documents it, behind {@link FakeAws}'s wire protocol (AWS JSON 1.0). Field, status and error
 * names are those of botocore's {@code apprunner} service-2.json.
 *
 * <p>With automatic deployments on it watches the registry: each time the tag names another
 * digest (a promote, and a tag moved back too) it starts a {@code START_DEPLOYMENT} operation,
 * stamped by its own clock ({@link #clockOffset}) and listed only after {@link #listingDelay}.
 * An operation runs the image for real on the test engine and asks its health check path: 2xx
 * within {@link #healthTimeout} makes it {@code SUCCEEDED} and the new container serves;
 * otherwise {@code ROLLBACK_IN_PROGRESS}, then {@code ROLLBACK_SUCCEEDED}, the previous container
 * serving on. While an operation runs the service is {@code OPERATION_IN_PROGRESS} and
 * StartDeployment is refused; a push meanwhile is deployed after it. {@link #publicUrl()} is the
 * service's address: it forwards to whichever container serves.
 */
final class AppRunnerSimulator implements AutoCloseable {

  static final String ARN =
      "arn:aws:apprunner:us-east-1:123456789012:service/shop/8fe1e10304f84fd2b0df550fe98a71fa";
  private static final String LABEL = "dev.closedloop.test.apprunner";
  private static final int PORT = 8080;

  /** One operation, as ListOperations lists it. */
  static final class Operation {
    final String id = UUID.randomUUID().toString().replace("-", "");
    final String type;
    final String digest;
    final Instant startedAt;
    /** When ListOperations starts to list it (the caller's clock). */
    final Instant listedFrom;
    volatile String status = "IN_PROGRESS";
    volatile Instant endedAt;
    volatile Instant updatedAt;

    Operation(String type, String digest, Instant startedAt, Instant listedFrom) {
      this.type = type;
      this.digest = digest;
      this.startedAt = startedAt;
      this.updatedAt = startedAt;
      this.listedFrom = listedFrom;
    }

    Map<String, Object> summary() {
      Map<String, Object> summary = map("Id", id, "Type", type, "Status", status, "TargetArn", ARN,
          "StartedAt", FakeAws.epochSeconds(startedAt), "UpdatedAt", FakeAws.epochSeconds(updatedAt));
      if (endedAt != null) {
        summary.put("EndedAt", FakeAws.epochSeconds(endedAt));
      }
      return summary;
    }
  }

  private record Serving(String container, int port, String digest) { }

  private final FakeAws aws;
  private final String repository;
  private final String tag;
  private final HttpServer proxy;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final List<Operation> operations = new CopyOnWriteArrayList<>();
  private final SimulatedInstances instances = new SimulatedInstances(LABEL);
  private final Map<String, AtomicInteger> throttled = new ConcurrentHashMap<>();
  private final Set<String> denied = ConcurrentHashMap.newKeySet();
  private final Thread watcher;
  private final List<Thread> workers = new CopyOnWriteArrayList<>();
  private volatile boolean closed;

  volatile boolean autoDeploy = true;
  volatile boolean paused;
  /** How far App Runner's clock is from the caller's. */
  volatile Duration clockOffset = Duration.ZERO;
  /** How long a new operation goes unlisted. */
  volatile Duration listingDelay = Duration.ZERO;
  volatile Duration healthTimeout = Duration.ofSeconds(8);
  volatile String healthPath = "/health";
  /** How long after SUCCEEDED the public address still routes to the previous instance. */
  volatile Duration routingDelay = Duration.ZERO;
  /** The digest the tag named when the watcher last looked; a change is a push. */
  private volatile String seen;
  private volatile Serving serving;
  private volatile Operation running;

  /**
   * A RUNNING service deploying {@code repository:tag}; what the tag names now is deployed first,
   * as the service's current version (a tag that names nothing yet: nothing serves).
   */
  AppRunnerSimulator(FakeAws aws, String repository, String tag) throws IOException {
    this.aws = aws;
    this.repository = repository;
    this.tag = tag;
    this.proxy = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    proxy.createContext("/", exchange -> {
      Serving now = serving;
      byte[] body;
      int status;
      if (now == null) {
        status = 503;
        body = "no instance serves".getBytes();
      } else {
        try {
          HttpResponse<byte[]> answer = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + now.port()
              + exchange.getRequestURI())).timeout(Duration.ofSeconds(5)).build(),
              HttpResponse.BodyHandlers.ofByteArray());
          status = answer.statusCode();
          body = answer.body();
        } catch (IOException | InterruptedException e) {
          status = 502;
          body = ("the instance did not answer: " + e).getBytes();
        }
      }
      exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    proxy.start();
    seen = TestServices.registryDigest(repository, tag).orElse(null);
    if (seen != null) {
      Serving first = run(seen);
      if (first == null) {
        throw new IllegalStateException(repository + "@" + seen + " is not healthy: it cannot be the live version");
      }
      serving = first;
    }
    aws.on("DescribeService", this::describeService)
        .on("ListOperations", this::listOperations)
        .on("StartDeployment", this::startDeployment);
    watcher = new Thread(this::watch, "apprunner-simulator");
    watcher.setDaemon(true);
    watcher.start();
  }

  /** The service's public address, forwarding to the container that serves. */
  String publicUrl() {
    return "http://127.0.0.1:" + proxy.getAddress().getPort();
  }

  /** The digest the serving container runs, or null. */
  String servingDigest() {
    Serving now = serving;
    return now == null ? null : now.digest();
  }

  /** Every operation, oldest first. */
  List<Operation> operations() {
    return List.copyOf(operations);
  }

  /** The caller's role lacks {@code apprunner:<operation>}. */
  AppRunnerSimulator deny(String operation) {
    denied.add(operation);
    return this;
  }

  /** The next {@code times} calls of {@code operation} are throttled. */
  AppRunnerSimulator throttle(String operation, int times) {
    throttled.computeIfAbsent(operation, o -> new AtomicInteger()).set(times);
    return this;
  }

  /** Waits until no operation runs and none is waiting for the watcher. */
  void awaitIdle(Duration within) throws InterruptedException {
    Instant deadline = Instant.now().plus(within);
    while (Instant.now().isBefore(deadline)) {
      String now = TestServices.registryDigest(repository, tag).orElse(null);
      if (running == null && java.util.Objects.equals(now, seen)) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("App Runner still busy after " + within);
  }

  private Instant clock() {
    return Instant.now().plus(clockOffset);
  }

  private void refuse(String operation) {
    if (denied.contains(operation)) {
      throw new FakeAws.Error("AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/deploy/ci is not"
          + " authorized to perform: apprunner:" + operation + " on resource: " + ARN);
    }
    AtomicInteger left = throttled.get(operation);
    if (left != null && left.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      throw new FakeAws.Error("ThrottlingException", "Rate exceeded");
    }
  }

  private void known(JsonNode request) {
    if (!ARN.equals(request.path("ServiceArn").asText())) {
      throw new FakeAws.Error("ResourceNotFoundException", "Service not found: " + request.path("ServiceArn").asText());
    }
  }

  private String status() {
    return paused ? "PAUSED" : running != null ? "OPERATION_IN_PROGRESS" : "RUNNING";
  }

  private Object describeService(JsonNode request) {
    refuse("DescribeService");
    known(request);
    Instant now = clock();
    return map("Service", map("ServiceName", "shop", "ServiceId", "8fe1e10304f84fd2b0df550fe98a71fa",
        "ServiceArn", ARN, "ServiceUrl", publicUrl().substring("http://".length()),
        "CreatedAt", FakeAws.epochSeconds(now.minusSeconds(86_400)), "UpdatedAt", FakeAws.epochSeconds(now),
        "Status", status(),
        "SourceConfiguration", map("AutoDeploymentsEnabled", autoDeploy, "ImageRepository", map(
            "ImageIdentifier", TestServices.registry() + "/" + repository + ":" + tag, "ImageRepositoryType", "ECR",
            "ImageConfiguration", map("Port", String.valueOf(PORT)))),
        "HealthCheckConfiguration", map("Protocol", "HTTP", "Path", healthPath),
        "InstanceConfiguration", map("Cpu", "1024", "Memory", "2048")));
  }

  /** Newest first, as App Runner lists them; an operation too new to be listed yet is not. */
  private Object listOperations(JsonNode request) {
    refuse("ListOperations");
    known(request);
    int max = request.path("MaxResults").asInt(20);
    List<Object> listed = new ArrayList<>();
    Instant now = Instant.now();
    for (int i = operations.size() - 1; i >= 0 && listed.size() < max; i--) {
      Operation operation = operations.get(i);
      if (!operation.listedFrom.isAfter(now)) {
        listed.add(operation.summary());
      }
    }
    return map("OperationSummaryList", listed);
  }

  private synchronized Object startDeployment(JsonNode request) {
    refuse("StartDeployment");
    known(request);
    if (paused || running != null) {
      throw new FakeAws.Error("InvalidStateException", "You can't start a deployment for service " + ARN + " when it's"
          + " in " + status() + " state");
    }
    String digest = TestServices.registryDigest(repository, tag).orElseThrow(() -> new FakeAws.Error(
        "InvalidRequestException", repository + ":" + tag + " does not exist"));
    seen = digest;
    return map("OperationId", begin(digest).id);
  }

  /** Starts an operation deploying {@code digest}, run by a thread of its own. */
  private synchronized Operation begin(String digest) {
    Operation operation = new Operation("START_DEPLOYMENT", digest, clock(), Instant.now().plus(listingDelay));
    operations.add(operation);
    running = operation;
    Thread worker = new Thread(() -> deploy(operation), "apprunner-simulator-deploy");
    worker.setDaemon(true);
    workers.add(worker);
    worker.start();
    return operation;
  }

  /** The registry watch of automatic deployments: a new digest under the tag is a push, deployed when idle. */
  private void watch() {
    while (!closed) {
      try {
        Thread.sleep(150);
        synchronized (this) {
          String now = TestServices.registryDigest(repository, tag).orElse(null);
          if (autoDeploy && !paused && running == null && now != null && !now.equals(seen)) {
            seen = now;
            begin(now);
          }
        }
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException | AssertionError e) { // the registry blinked: looked at again
      }
    }
  }

  private void deploy(Operation operation) {
    Serving candidate = run(operation.digest);
    if (candidate != null) {
      Serving old = serving;
      end(operation, "SUCCEEDED");
      sleep(routingDelay); // SUCCEEDED is said before the last router takes the new instance
      serving = candidate;
      if (old != null) {
        remove(old.container());
      }
      return;
    }
    operation.status = "ROLLBACK_IN_PROGRESS";
    operation.updatedAt = clock();
    sleep(Duration.ofMillis(700)); // the previous version's instances take the traffic back
    end(operation, "ROLLBACK_SUCCEEDED");
  }

  private synchronized void end(Operation operation, String status) {
    operation.status = status;
    operation.endedAt = clock();
    operation.updatedAt = operation.endedAt;
    running = null;
  }

  /** Runs {@code digest} and asks its health path; the instance when healthy, else null (and it is gone). */
  private Serving run(String digest) {
    return instances.startHealthy(TestServices.registry() + "/" + repository + "@" + digest, PORT, healthPath,
        healthTimeout).map(instance -> new Serving(instance.container(), instance.port(), digest)).orElse(null);
  }

  private void remove(String container) {
    instances.remove(container);
  }

  private static void sleep(Duration duration) {
    SimulatedInstances.sleep(duration);
  }

  @Override
  public void close() {
    closed = true;
    watcher.interrupt();
    proxy.stop(0);
    SimulatedInstances.join(workers);
    instances.close();
  }
}
