package dev.closedloop.deploy.it;

import static dev.closedloop.deploy.it.RolloutFixture.map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An ECS service with rolling deployments, played as ECS documents it, behind {@link FakeAws}'s
 * wire protocol (AWS JSON 1.1); field, status and error names are those of botocore's {@code ecs}
 * service-2.json.
 *
 * <p>UpdateService makes a new PRIMARY deployment (the old one ACTIVE until it is replaced) and a
 * service deployment, named as the service's {@code currentServiceDeployment}. Its tasks run for
 * real on the test engine: a task is a container of the task definition's image from the test
 * registry; one still running after {@link #taskStartup} is RUNNING, one that exited is a failed
 * task. With all desired tasks running the deployment is COMPLETED (the service deployment
 * SUCCESSFUL) and the old tasks stop. The deployment circuit breaker, as configured: after its
 * threshold of failed tasks (the documented minimum, 3, since 0.5 × desired count is less) the
 * deployment is FAILED; with rollback a new PRIMARY deployment of the last completed task
 * definition runs and the service deployment ends ROLLBACK_SUCCESSFUL, without it STOPPED; with
 * the breaker off ECS keeps launching, IN_PROGRESS forever. {@code rolloutState} is left out
 * behind a Classic Load Balancer, as the model says. {@link #foreignUpdateAfter} plays someone
 * else's UpdateService in the middle of a rollout.
 */
final class EcsSimulator implements AutoCloseable {

  static final String REGION = FakeAws.REGION;
  static final String ACCOUNT = "123456789012";
  static final String CLUSTER = "prod";
  static final String SERVICE = "shop";
  static final String CLUSTER_ARN = "arn:aws:ecs:" + REGION + ":" + ACCOUNT + ":cluster/" + CLUSTER;
  static final String SERVICE_ARN = "arn:aws:ecs:" + REGION + ":" + ACCOUNT + ":service/" + CLUSTER + "/" + SERVICE;
  private static final String LABEL = "dev.closedloop.test.ecs";
  private static final int THRESHOLD = 3;

  /** A deployment of {@code deployments[]}, and the service deployment behind it. */
  final class Deployment {
    final String id;
    final String taskDefinition;
    final String serviceDeploymentArn;
    final Instant createdAt = Instant.now();
    volatile String status = "PRIMARY";
    volatile String rolloutState = "IN_PROGRESS";
    volatile String rolloutStateReason = "ECS deployment in progress.";
    volatile int running;
    volatile int failed;
    volatile String serviceDeploymentStatus = "IN_PROGRESS";
    volatile String statusReason;
    /** The task definition the service went back to, when the breaker rolled this one back. */
    volatile String rolledBackTo;
    final List<String> tasks = new CopyOnWriteArrayList<>();
    final List<String> sources;

    Deployment(String taskDefinition, List<String> sources) {
      this.id = "ecs-svc/" + (1_000_000 + ids.incrementAndGet());
      this.taskDefinition = taskDefinition;
      this.serviceDeploymentArn = "arn:aws:ecs:" + REGION + ":" + ACCOUNT + ":service-deployment/" + CLUSTER + "/"
          + SERVICE + "/" + id.substring("ecs-svc/".length());
      this.sources = sources;
    }

    Map<String, Object> described() {
      Map<String, Object> d = map("id", id, "status", status, "taskDefinition", taskDefinition,
          "desiredCount", desiredCount, "pendingCount", "PRIMARY".equals(status) ? desiredCount - running : 0,
          "runningCount", running, "failedTasks", failed, "createdAt", FakeAws.epochSeconds(createdAt),
          "updatedAt", FakeAws.epochSeconds(Instant.now()), "launchType", "FARGATE");
      if (!classicLoadBalancer) {
        d.put("rolloutState", rolloutState);
        d.put("rolloutStateReason", rolloutStateReason);
      }
      return d;
    }

    Map<String, Object> serviceDeployment() {
      Map<String, Object> d = map("serviceDeploymentArn", serviceDeploymentArn, "serviceArn", SERVICE_ARN,
          "clusterArn", CLUSTER_ARN, "createdAt", FakeAws.epochSeconds(createdAt), "status", serviceDeploymentStatus,
          "targetServiceRevision", map("arn", revision(taskDefinition), "requestedTaskCount", desiredCount,
              "runningTaskCount", running),
          "sourceServiceRevisions", sources.stream().map(source -> map("arn", revision(source))).toList(),
          "deploymentCircuitBreaker", map("status", breakerEnabled ? "MONITORING" : "DISABLED", "failureCount",
              failed, "threshold", THRESHOLD));
      if (statusReason != null) {
        d.put("statusReason", statusReason);
      }
      if (rolledBackTo != null) {
        d.put("rollback", map("reason", "Service deployment rolled back because the circuit breaker threshold was"
            + " exceeded.", "serviceRevisionArn", revision(rolledBackTo)));
      }
      return d;
    }
  }

  private final FakeAws aws;
  private final AtomicInteger ids = new AtomicInteger();
  private final Map<String, JsonNode> taskDefinitions = new ConcurrentHashMap<>();
  private final List<Deployment> deployments = new CopyOnWriteArrayList<>();
  private final Map<String, Deployment> serviceDeployments = new ConcurrentHashMap<>();
  private final SimulatedInstances instances = new SimulatedInstances(LABEL);
  private final Set<String> denied = ConcurrentHashMap.newKeySet();
  private final Map<String, AtomicInteger> throttled = new ConcurrentHashMap<>();
  private final List<Thread> workers = new CopyOnWriteArrayList<>();
  private volatile boolean closed;

  volatile int desiredCount = 1;
  volatile boolean breakerEnabled = true;
  volatile boolean breakerRollback = true;
  volatile boolean classicLoadBalancer;
  volatile String strategy = "ROLLING";
  volatile String controller = "ECS";
  /** How long a task must stay up to count as RUNNING. */
  volatile Duration taskStartup = Duration.ofMillis(1500);
  /** When set, someone else updates the service to {@link #foreignImage} this long after our UpdateService. */
  volatile Duration foreignUpdateAfter;
  volatile String foreignImage;
  private volatile String currentServiceDeployment;
  private volatile int revisions;

  /**
   * A service running {@code image} (the first release's, of the test registry) as task definition
   * shop:1, with an nginx sidecar that is not run, on one COMPLETED deployment.
   */
  EcsSimulator(FakeAws aws, String image) {
    this.aws = aws;
    String first = register(definition(image));
    Deployment initial = new Deployment(first, List.of());
    deployments.add(initial);
    serviceDeployments.put(initial.serviceDeploymentArn, initial);
    currentServiceDeployment = initial.serviceDeploymentArn;
    for (int i = 0; i < desiredCount; i++) {
      String task = launch(image);
      if (task == null) {
        throw new IllegalStateException(image + " does not stay up: it cannot be the running version");
      }
      initial.tasks.add(task);
    }
    initial.running = desiredCount;
    complete(initial);
    aws.on("DescribeServices", this::describeServices)
        .on("DescribeTaskDefinition", this::describeTaskDefinition)
        .on("RegisterTaskDefinition", this::registerTaskDefinition)
        .on("UpdateService", this::updateService)
        .on("DescribeServiceDeployments", this::describeServiceDeployments);
  }

  private static ObjectNode definition(String image) {
    ObjectNode definition = FakeAws.JSON.createObjectNode().put("family", SERVICE).put("cpu", "256")
        .put("memory", "512").put("networkMode", "awsvpc")
        .put("executionRoleArn", "arn:aws:iam::" + ACCOUNT + ":role/exec");
    definition.putArray("requiresCompatibilities").add("FARGATE");
    var containers = definition.putArray("containerDefinitions");
    ObjectNode app = containers.addObject().put("name", "app").put("image", image).put("essential", true);
    app.putArray("portMappings").addObject().put("containerPort", 8080);
    containers.addObject().put("name", "proxy").put("image", "public.ecr.aws/nginx/nginx:1.27")
        .put("essential", false);
    return definition;
  }

  /** The caller's role lacks {@code ecs:<operation>}. */
  EcsSimulator deny(String operation) {
    denied.add(operation);
    return this;
  }

  /** The next {@code times} calls of {@code operation} are throttled. */
  EcsSimulator throttle(String operation, int times) {
    throttled.computeIfAbsent(operation, o -> new AtomicInteger()).set(times);
    return this;
  }

  /** Every deployment, oldest first. */
  List<Deployment> deployments() {
    return List.copyOf(deployments);
  }

  /** The PRIMARY deployment. */
  Deployment primary() {
    return deployments.stream().filter(d -> "PRIMARY".equals(d.status)).reduce((a, b) -> b).orElseThrow();
  }

  /** The images of the task definition's essential container, by task definition ARN. */
  String image(String taskDefinition) {
    return taskDefinitions.get(taskDefinition).get("containerDefinitions").get(0).get("image").asText();
  }

  /** The containers running now for the service's tasks. */
  int runningTasks() {
    return (int) deployments.stream().flatMap(d -> d.tasks.stream()).count();
  }

  static String revision(String taskDefinition) {
    return SERVICE_ARN.replace(":service/", ":service-revision/") + "/" + Math.abs(taskDefinition.hashCode());
  }

  private void refuse(String operation) {
    if (denied.contains(operation)) {
      throw new FakeAws.Error("AccessDeniedException", "User: arn:aws:sts::" + ACCOUNT + ":assumed-role/deploy/ci is"
          + " not authorized to perform: ecs:" + operation + " on resource: " + SERVICE_ARN);
    }
    AtomicInteger left = throttled.get(operation);
    if (left != null && left.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      throw new FakeAws.Error("ThrottlingException", "Rate exceeded");
    }
  }

  private void cluster(JsonNode request) {
    String cluster = request.path("cluster").asText("default");
    if (!cluster.equals(CLUSTER) && !cluster.equals(CLUSTER_ARN)) {
      throw new FakeAws.Error("ClusterNotFoundException", "Cluster not found.");
    }
  }

  private boolean ours(String service) {
    return service.equals(SERVICE) || service.equals(SERVICE_ARN);
  }

  private Object describeServices(JsonNode request) {
    refuse("DescribeServices");
    cluster(request);
    List<Object> services = new ArrayList<>();
    List<Object> failures = new ArrayList<>();
    for (JsonNode name : request.path("services")) {
      if (!ours(name.asText())) {
        failures.add(map("arn", "arn:aws:ecs:" + REGION + ":" + ACCOUNT + ":service/" + CLUSTER + "/" + name.asText(),
            "reason", "MISSING"));
        continue;
      }
      services.add(service());
    }
    return map("services", services, "failures", failures);
  }

  private Map<String, Object> service() {
    Deployment primary = primary();
    Map<String, Object> breaker = map("enable", breakerEnabled, "rollback", breakerRollback);
    Map<String, Object> service = map("serviceArn", SERVICE_ARN, "serviceName", SERVICE, "clusterArn", CLUSTER_ARN,
        "status", "ACTIVE", "desiredCount", desiredCount, "runningCount", deployments.stream()
            .mapToInt(d -> d.running).sum(), "pendingCount", 0, "launchType", "FARGATE",
        "taskDefinition", primary.taskDefinition,
        "deploymentConfiguration", map("deploymentCircuitBreaker", breaker, "maximumPercent", 200,
            "minimumHealthyPercent", 100, "strategy", strategy),
        "deployments", deployments.stream().filter(d -> !"INACTIVE".equals(d.status))
            .sorted((a, b) -> "PRIMARY".equals(a.status) ? -1 : "PRIMARY".equals(b.status) ? 1 : 0)
            .map(Deployment::described).toList(),
        "currentServiceDeployment", currentServiceDeployment,
        "deploymentController", map("type", controller),
        "schedulingStrategy", "REPLICA");
    if (classicLoadBalancer) {
      service.put("loadBalancers", List.of(map("loadBalancerName", "shop-classic", "containerName", "app",
          "containerPort", 8080)));
    }
    return service;
  }

  private Object describeTaskDefinition(JsonNode request) {
    refuse("DescribeTaskDefinition");
    JsonNode definition = taskDefinitions.get(request.path("taskDefinition").asText());
    if (definition == null) {
      throw new FakeAws.Error("ClientException", "Unable to describe task definition.");
    }
    return map("taskDefinition", definition);
  }

  private synchronized String register(JsonNode request) {
    ObjectNode definition = request.deepCopy();
    int revision = ++revisions;
    String arn = "arn:aws:ecs:" + REGION + ":" + ACCOUNT + ":task-definition/" + SERVICE + ":" + revision;
    definition.put("taskDefinitionArn", arn).put("revision", revision).put("status", "ACTIVE");
    taskDefinitions.put(arn, definition);
    return arn;
  }

  private Object registerTaskDefinition(JsonNode request) {
    refuse("RegisterTaskDefinition");
    if (!request.path("family").asText().equals(SERVICE)) {
      throw new FakeAws.Error("ClientException", "Family must be " + SERVICE + " here");
    }
    return map("taskDefinition", taskDefinitions.get(register(request)));
  }

  private Object updateService(JsonNode request) {
    refuse("UpdateService");
    cluster(request);
    if (!ours(request.path("service").asText())) {
      throw new FakeAws.Error("ServiceNotFoundException", "Service not found.");
    }
    String taskDefinition = request.path("taskDefinition").asText();
    if (!taskDefinitions.containsKey(taskDefinition)) {
      throw new FakeAws.Error("ClientException", "TaskDefinition not found.");
    }
    deploy(taskDefinition);
    Duration foreign = foreignUpdateAfter;
    if (foreign != null) {
      foreignUpdateAfter = null;
      worker(() -> {
        sleep(foreign);
        deploy(register(definition(foreignImage)));
      });
    }
    return map("service", service());
  }

  /** A new PRIMARY deployment of {@code taskDefinition}; the one in progress (if any) is stopped. */
  private synchronized Deployment deploy(String taskDefinition) {
    List<String> sources = new ArrayList<>();
    for (Deployment d : deployments) {
      if ("PRIMARY".equals(d.status)) {
        d.status = "ACTIVE";
        sources.add(d.taskDefinition);
        if ("IN_PROGRESS".equals(d.serviceDeploymentStatus)) {
          d.serviceDeploymentStatus = "STOPPED";
          d.statusReason = "A new service deployment of " + taskDefinition + " started.";
        }
      }
    }
    Deployment deployment = new Deployment(taskDefinition, sources);
    deployments.add(deployment);
    serviceDeployments.put(deployment.serviceDeploymentArn, deployment);
    currentServiceDeployment = deployment.serviceDeploymentArn;
    worker(() -> run(deployment));
    return deployment;
  }

  private Object describeServiceDeployments(JsonNode request) {
    refuse("DescribeServiceDeployments");
    List<Object> found = new ArrayList<>();
    List<Object> failures = new ArrayList<>();
    for (JsonNode arn : request.path("serviceDeploymentArns")) {
      Deployment deployment = serviceDeployments.get(arn.asText());
      if (deployment == null) {
        failures.add(map("arn", arn.asText(), "reason", "MISSING"));
      } else {
        found.add(deployment.serviceDeployment());
      }
    }
    return map("serviceDeployments", found, "failures", failures);
  }

  /** Launches the deployment's tasks until they run, or the circuit breaker trips. */
  private void run(Deployment deployment) {
    String image = image(deployment.taskDefinition);
    while (!closed && isPrimary(deployment) && deployment.running < desiredCount) {
      String task = launch(image);
      if (task != null) {
        deployment.tasks.add(task);
        deployment.running++;
        continue;
      }
      deployment.failed++;
      if (breakerEnabled && deployment.failed >= THRESHOLD) {
        breakerTrips(deployment);
        return;
      }
    }
    if (!closed && isPrimary(deployment)) {
      complete(deployment);
    }
  }

  private boolean isPrimary(Deployment deployment) {
    return "PRIMARY".equals(deployment.status);
  }

  private synchronized void complete(Deployment deployment) {
    deployment.rolloutState = "COMPLETED";
    deployment.rolloutStateReason = "ECS deployment " + deployment.id + " completed.";
    if ("IN_PROGRESS".equals(deployment.serviceDeploymentStatus)) {
      deployment.serviceDeploymentStatus = "SUCCESSFUL";
    }
    for (Deployment old : deployments) {
      if (old != deployment && !"INACTIVE".equals(old.status)) {
        old.status = "INACTIVE";
        old.tasks.forEach(this::remove);
        old.tasks.clear();
        old.running = 0;
      }
    }
  }

  private void breakerTrips(Deployment deployment) {
    String lastCompleted;
    synchronized (this) {
      deployment.rolloutState = "FAILED";
      deployment.rolloutStateReason = "ECS deployment circuit breaker: tasks failed to start.";
      lastCompleted = deployments.stream().filter(d -> d != deployment && "COMPLETED".equals(d.rolloutState))
          .map(d -> d.taskDefinition).reduce((a, b) -> b).orElse(null);
      if (!breakerRollback || lastCompleted == null) {
        deployment.serviceDeploymentStatus = "STOPPED";
        deployment.statusReason = "Service deployment failed: the circuit breaker threshold was exceeded.";
        return;
      }
      deployment.serviceDeploymentStatus = "ROLLBACK_IN_PROGRESS";
      deployment.statusReason = "Service deployment rolled back because the circuit breaker threshold was exceeded.";
      deployment.rolledBackTo = lastCompleted;
      deployment.status = "ACTIVE";
    }
    // the rollback: a new PRIMARY deployment of the last completed task definition
    Deployment back = new Deployment(lastCompleted, List.of(deployment.taskDefinition));
    synchronized (this) {
      deployments.add(back);
    }
    run(back);
    if (!closed) {
      synchronized (this) {
        deployment.serviceDeploymentStatus = "ROLLBACK_SUCCESSFUL";
      }
    }
  }

  /** Runs one task of {@code image}; its container when it is still up after {@link #taskStartup}, else null. */
  private String launch(String image) {
    return instances.startStaying(image, taskStartup).orElse(null);
  }

  private void remove(String container) {
    instances.remove(container);
  }

  private void worker(Runnable work) {
    Thread thread = new Thread(work, "ecs-simulator");
    thread.setDaemon(true);
    workers.add(thread);
    thread.start();
  }

  private static void sleep(Duration duration) {
    SimulatedInstances.sleep(duration);
  }

  @Override
  public void close() {
    closed = true;
    SimulatedInstances.join(workers);
    instances.close();
  }

  /** Each deployment's status, rollout state and service deployment status, for a failing test's message. */
  @Override
  public String toString() {
    Map<String, Object> state = new LinkedHashMap<>();
    deployments.forEach(d -> state.put(d.id, d.status + "/" + d.rolloutState + "/" + d.serviceDeploymentStatus));
    return "ECS " + SERVICE_ARN + " " + state;
  }
}
