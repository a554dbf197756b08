package dev.closedloop.deploy.it;

import static dev.closedloop.deploy.it.RolloutFixture.map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An ECS Express Mode service, played as the {@code ecs} model documents it, behind
 * {@link FakeAws} (AWS JSON 1.1). UpdateExpressGatewayService makes a new service revision (the
 * configuration of the newest one, with what the request changes) and a service deployment,
 * named as the service's {@code currentDeployment}. The deployment is a canary: the new revision
 * runs for real on the test engine and is active beside the old one while it bakes; when its
 * health check path answers 2xx the old revision goes and the deployment is SUCCESSFUL,
 * otherwise ROLLBACK_IN_PROGRESS, then ROLLBACK_SUCCESSFUL with the old revision alone again.
 */
final class EcsExpressSimulator implements AutoCloseable {

  static final String ARN = "arn:aws:ecs:us-east-1:123456789012:service/default/shop";
  private static final String LABEL = "dev.closedloop.test.ecs-express";

  /** A service revision: its configuration, and the instance that runs it. */
  private record Revision(String arn, ObjectNode configuration, String container) { }

  /** A service deployment, as DescribeServiceDeployments describes it. */
  static final class Deployment {
    final String arn;
    final String target;
    final String source;
    volatile String status = "IN_PROGRESS";
    volatile String statusReason;
    volatile boolean rolledBack;

    Deployment(String arn, String target, String source) {
      this.arn = arn;
      this.target = target;
      this.source = source;
    }
  }

  private final SimulatedInstances instances = new SimulatedInstances(LABEL);
  private final List<Revision> active = new CopyOnWriteArrayList<>();
  private final Map<String, Deployment> deployments = new ConcurrentHashMap<>();
  private final Set<String> denied = ConcurrentHashMap.newKeySet();
  private final AtomicInteger revisions = new AtomicInteger();
  private final List<Thread> workers = new CopyOnWriteArrayList<>();
  private volatile String currentDeployment;

  /** How long the new revision bakes beside the old one. */
  volatile Duration bake = Duration.ofSeconds(2);
  volatile Duration healthTimeout = Duration.ofSeconds(6);

  /** An ACTIVE service whose one revision runs {@code image} (healthy on /health at 8080). */
  EcsExpressSimulator(FakeAws aws, String image) {
    ObjectNode configuration = FakeAws.JSON.createObjectNode().put("healthCheckPath", "/health").put("cpu", "256")
        .put("memory", "512");
    ObjectNode container = configuration.putObject("primaryContainer").put("image", image).put("containerPort", 8080);
    container.putArray("environment").addObject().put("name", "MODE").put("value", "prod");
    Revision first = start(configuration).orElseThrow(() -> new IllegalStateException(image + " is not healthy: it"
        + " cannot be the live revision"));
    active.add(first);
    aws.on("DescribeExpressGatewayService", this::describe)
        .on("UpdateExpressGatewayService", this::update)
        .on("DescribeServiceDeployments", this::describeDeployments);
  }

  /** The caller's role lacks {@code ecs:<operation>}. */
  EcsExpressSimulator deny(String operation) {
    denied.add(operation);
    return this;
  }

  /** The images of the active revisions, oldest first. */
  List<String> activeImages() {
    return active.stream().map(r -> r.configuration().get("primaryContainer").get("image").asText()).toList();
  }

  Deployment deployment(String arn) {
    return deployments.get(arn);
  }

  String currentDeployment() {
    return currentDeployment;
  }

  private void refuse(String operation) {
    if (denied.contains(operation)) {
      throw new FakeAws.Error("AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/deploy/ci is not"
          + " authorized to perform: ecs:" + operation + " on resource: " + ARN);
    }
  }

  private Object describe(JsonNode request) {
    refuse("DescribeExpressGatewayService");
    if (!ARN.equals(request.path("serviceArn").asText())) {
      throw new FakeAws.Error("ResourceNotFoundException", "The specified Express service was not found.");
    }
    Map<String, Object> service = map("cluster", "default", "serviceName", "shop", "serviceArn", ARN,
        "status", map("statusCode", "ACTIVE"), "activeConfigurations", active.stream().map(r -> (Object) r
            .configuration()).toList(), "createdAt", FakeAws.epochSeconds(Instant.now().minusSeconds(86_400)),
        "updatedAt", FakeAws.epochSeconds(Instant.now()));
    if (currentDeployment != null) {
      service.put("currentDeployment", currentDeployment);
    }
    return map("service", service);
  }

  private synchronized Object update(JsonNode request) {
    refuse("UpdateExpressGatewayService");
    if (!ARN.equals(request.path("serviceArn").asText())) {
      throw new FakeAws.Error("ServiceNotFoundException", "Service not found.");
    }
    Revision from = active.get(active.size() - 1);
    ObjectNode configuration = from.configuration().deepCopy();
    if (request.has("primaryContainer")) {
      configuration.set("primaryContainer", request.get("primaryContainer").deepCopy());
    }
    String revision = ARN.replace(":service/", ":service-revision/") + "/" + revisions.incrementAndGet() + "00";
    configuration.put("serviceRevisionArn", revision).put("createdAt", FakeAws.epochSeconds(Instant.now()));
    Deployment deployment = new Deployment(ARN.replace(":service/", ":service-deployment/") + "/d-"
        + revisions.get(), revision, from.arn());
    deployments.put(deployment.arn, deployment);
    currentDeployment = deployment.arn;
    Thread worker = new Thread(() -> canary(deployment, configuration, from), "ecs-express-simulator");
    worker.setDaemon(true);
    workers.add(worker);
    worker.start();
    return map("service", map("serviceArn", ARN, "cluster", "default", "serviceName", "shop",
        "status", map("statusCode", "ACTIVE"), "targetConfiguration", configuration,
        "updatedAt", FakeAws.epochSeconds(Instant.now())));
  }

  private void canary(Deployment deployment, ObjectNode configuration, Revision from) {
    // the canary: the new revision is active beside the old one while its tasks start and bake
    Revision starting = new Revision(configuration.get("serviceRevisionArn").asText(), configuration, null);
    active.add(starting);
    var started = start(configuration);
    active.remove(starting);
    if (started.isPresent()) {
      active.add(started.get());
      SimulatedInstances.sleep(bake);
      active.remove(from);
      instances.remove(from.container());
      deployment.status = "SUCCESSFUL";
      return;
    }
    deployment.status = "ROLLBACK_IN_PROGRESS";
    deployment.statusReason = "Service deployment rolled back because the health checks of the target service"
        + " revision failed.";
    SimulatedInstances.sleep(Duration.ofMillis(700));
    deployment.rolledBack = true;
    deployment.status = "ROLLBACK_SUCCESSFUL";
  }

  /** Runs a revision's primary container and asks its health check path. */
  private java.util.Optional<Revision> start(ObjectNode configuration) {
    if (!configuration.has("serviceRevisionArn")) {
      configuration.put("serviceRevisionArn", ARN.replace(":service/", ":service-revision/") + "/1");
    }
    String arn = configuration.get("serviceRevisionArn").asText();
    JsonNode container = configuration.get("primaryContainer");
    return instances.startHealthy(container.get("image").asText(), container.path("containerPort").asInt(80),
        configuration.path("healthCheckPath").asText("/"), healthTimeout)
        .map(instance -> new Revision(arn, configuration, instance.container()));
  }

  private Object describeDeployments(JsonNode request) {
    refuse("DescribeServiceDeployments");
    List<Object> found = new ArrayList<>();
    List<Object> failures = new ArrayList<>();
    for (JsonNode arn : request.path("serviceDeploymentArns")) {
      Deployment d = deployments.get(arn.asText());
      if (d == null) {
        failures.add(map("arn", arn.asText(), "reason", "MISSING"));
        continue;
      }
      Map<String, Object> described = map("serviceDeploymentArn", d.arn, "serviceArn", ARN, "status", d.status,
          "targetServiceRevision", map("arn", d.target), "sourceServiceRevisions", List.of(map("arn", d.source)));
      if (d.statusReason != null) {
        described.put("statusReason", d.statusReason);
      }
      if (d.rolledBack) {
        described.put("rollback", map("reason", d.statusReason, "serviceRevisionArn", d.source));
      }
      found.add(described);
    }
    return map("serviceDeployments", found, "failures", failures);
  }

  @Override
  public void close() {
    SimulatedInstances.join(workers);
    instances.close();
  }
}
