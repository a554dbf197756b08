package dev.closedloop.deploy.internal.rollout;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.aws.AwsSettings;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.rollout.Rollout;
import dev.closedloop.deploy.rollout.RolloutSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import software.amazon.awssdk.services.ecs.EcsClient;
import software.amazon.awssdk.services.ecs.model.ClusterNotFoundException;
import software.amazon.awssdk.services.ecs.model.ContainerDefinition;
import software.amazon.awssdk.services.ecs.model.DeploymentCircuitBreaker;
import software.amazon.awssdk.services.ecs.model.DeploymentConfiguration;
import software.amazon.awssdk.services.ecs.model.DescribeServicesResponse;
import software.amazon.awssdk.services.ecs.model.RegisterTaskDefinitionRequest;
import software.amazon.awssdk.services.ecs.model.ServiceDeployment;
import software.amazon.awssdk.services.ecs.model.ServiceNotFoundException;
import software.amazon.awssdk.services.ecs.model.TaskDefinition;

/**
 * An ECS service: a revision of its current task definition with only the image changed to the
 * promoted digest, then UpdateService, then the service deployment that update started is
 * followed (DescribeServiceDeployments): SUCCESSFUL, or ROLLBACK_SUCCESSFUL when the deployment
 * circuit breaker rolled the service back, in which case the image the service went back to is
 * named for the tags. Another deployment taking its place (someone else's UpdateService) is no
 * rollback: that is superseded. A service whose failures would never end (no circuit breaker with
 * rollback, or no {@code rolloutState} behind a Classic Load Balancer) is refused before anything
 * changes, unless {@code deploy.ecsWithoutRollback} asks to follow it to its steady state and
 * judge it by {@code deploy.healthUrl}. Only the rolling strategy of ECS's own controller is
 * followed; blue/green, linear, canary, CodeDeploy and external controllers are refused in one line.
 */
final class EcsRollout implements Rollout {

  private final EcsClient client;
  private final String cluster;
  private final String service;
  private final ImageRef repository;
  private final boolean withoutRollback;
  /** The task definition revision this rollout registered. */
  private String registered;
  /** The service deployment UpdateService started; null where ECS names none. */
  private String serviceDeployment;

  EcsRollout(AwsSettings aws, RolloutSettings settings, ImageRef repository) {
    this.client = aws.client(EcsClient.builder(), settings.serviceRegion());
    String[] names = settings.ecsClusterAndService();
    this.cluster = names[0];
    this.service = names[1];
    this.repository = repository;
    this.withoutRollback = settings.ecsWithoutRollback();
  }

  @Override
  public String target() {
    return "ECS service " + cluster + "/" + service;
  }

  @Override
  public String check() {
    var current = describe();
    String controller = current.deploymentController() == null ? "ECS" : current.deploymentController().typeAsString();
    if (!"ECS".equals(controller)) {
      throw refused(target() + " is deployed by " + controller + ", not by ECS itself: closedloop follows ECS rolling"
          + " deployments only");
    }
    DeploymentConfiguration configuration = current.deploymentConfiguration();
    String strategy = configuration == null || configuration.strategyAsString() == null ? "ROLLING"
        : configuration.strategyAsString();
    if (!"ROLLING".equals(strategy)) {
      throw refused(target() + " deploys with the " + strategy + " strategy: closedloop follows ROLLING deployments"
          + " only (deploymentConfiguration.strategy)");
    }
    if (!withoutRollback) {
      DeploymentCircuitBreaker breaker = configuration == null ? null : configuration.deploymentCircuitBreaker();
      if (breaker == null || !Boolean.TRUE.equals(breaker.enable()) || !Boolean.TRUE.equals(breaker.rollback())) {
        throw refused(target() + " has no deployment circuit breaker with rollback, so a failing deployment would"
            + " neither end nor roll back: turn on deploymentConfiguration.deploymentCircuitBreaker (enable=true,"
            + " rollback=true), or set deploy.ecsWithoutRollback=true and deploy.healthUrl to follow it to its steady"
            + " state and judge it by its health");
      }
      boolean classic = current.loadBalancers().stream().anyMatch(lb -> lb.loadBalancerName() != null
          && lb.targetGroupArn() == null);
      if (classic) {
        throw refused(target() + " is behind a Classic Load Balancer, where ECS reports no rolloutState: move it to a"
            + " target group, or set deploy.ecsWithoutRollback=true and deploy.healthUrl to follow it to its steady"
            + " state and judge it by its health");
      }
    }
    TaskDefinition definition = taskDefinition(current.taskDefinition());
    if (containersOfRepository(definition).isEmpty()) {
      throw refused("no container of " + definition.taskDefinitionArn() + " (the task definition of " + target()
          + ") runs an image of " + repository.name() + ": set deploy.image to the repository it runs");
    }
    if (current.currentServiceDeployment() != null) { // the rollout reads it: a role without it fails now
      serviceDeployments(current.currentServiceDeployment());
    }
    return target() + " (" + current.status() + ") runs " + definition.taskDefinitionArn()
        + (withoutRollback ? ", followed to its steady state (deploy.ecsWithoutRollback)" : "");
  }

  private DeployException refused(String why) {
    return new DeployException(DeployException.Kind.CONFIGURATION, "rolloutService (deploy.rolloutService): " + why);
  }

  @Override
  public Deployment start(Request request) {
    TaskDefinition definition = taskDefinition(describe().taskDefinition());
    List<ContainerDefinition> containers = new ArrayList<>();
    for (ContainerDefinition container : definition.containerDefinitions()) {
      containers.add(ofRepository(container) ? container.toBuilder().image(request.image().toString()).build()
          : container);
    }
    RegisterTaskDefinitionRequest.Builder revision = RegisterTaskDefinitionRequest.builder()
        .family(definition.family())
        .containerDefinitions(containers)
        .taskRoleArn(definition.taskRoleArn())
        .executionRoleArn(definition.executionRoleArn())
        .networkMode(definition.networkMode())
        .volumes(definition.volumes())
        .placementConstraints(definition.placementConstraints())
        .requiresCompatibilities(definition.requiresCompatibilities())
        .cpu(definition.cpu())
        .memory(definition.memory())
        .pidMode(definition.pidMode())
        .ipcMode(definition.ipcMode())
        .proxyConfiguration(definition.proxyConfiguration())
        .inferenceAccelerators(definition.inferenceAccelerators())
        .ephemeralStorage(definition.ephemeralStorage())
        .runtimePlatform(definition.runtimePlatform())
        .enableFaultInjection(definition.enableFaultInjection());
    registered = call("RegisterTaskDefinition", "ecs:RegisterTaskDefinition and iam:PassRole on its roles",
        () -> client.registerTaskDefinition(revision.build()).taskDefinition().taskDefinitionArn());
    var updated = call("UpdateService", "ecs:UpdateService", () -> client.updateService(update -> update
        .cluster(cluster).service(service).taskDefinition(registered)).service());
    var deployment = updated.deployments().stream().filter(d -> registered.equals(d.taskDefinition())).findFirst()
        .orElseThrow(() -> new DeployException(DeployException.Kind.ROLLOUT, target() + " accepted " + registered
            + " but lists no deployment of it"));
    serviceDeployment = updated.currentServiceDeployment();
    return new Deployment(deployment.id(), "deployment " + deployment.id() + " of " + registered);
  }

  @Override
  public Observation observe(Deployment deployment) {
    var now = describe();
    Optional<software.amazon.awssdk.services.ecs.model.Deployment> ours = now.deployments().stream()
        .filter(d -> deployment.id().equals(d.id())).findFirst();
    var primary = now.deployments().stream().filter(d -> "PRIMARY".equals(d.status())).findFirst();
    if (serviceDeployment != null && !serviceDeployment.equals(now.currentServiceDeployment())) {
      return superseded(primary, "the service's current deployment is " + now.currentServiceDeployment());
    }
    if (withoutRollback) {
      return steadyState(ours, primary, now.deployments().size());
    }
    if (serviceDeployment != null) {
      Optional<ServiceDeployment> followed = serviceDeployments(serviceDeployment).stream().findFirst();
      if (followed.isPresent()) {
        return fromServiceDeployment(followed.get(), ours, primary);
      }
    }
    return fromRolloutState(ours, primary);
  }

  /** What the service deployment UpdateService started says: the status ECS decided on. */
  private Observation fromServiceDeployment(ServiceDeployment followed,
      Optional<software.amazon.awssdk.services.ecs.model.Deployment> ours,
      Optional<software.amazon.awssdk.services.ecs.model.Deployment> primary) {
    String status = followed.statusAsString() == null ? "PENDING" : followed.statusAsString();
    String counts = ours.map(EcsRollout::counts).orElse(null);
    String detail = join(counts, followed.statusReason());
    return switch (status) {
      case "SUCCESSFUL" -> new Observation(State.SUCCEEDED, status, detail);
      case "ROLLBACK_SUCCESSFUL" -> {
        String to = primary.map(software.amazon.awssdk.services.ecs.model.Deployment::taskDefinition).orElse(null);
        yield new Observation(State.ROLLED_BACK, status, join("rolled back to " + to, followed.statusReason()),
            to == null ? null : imageOf(to));
      }
      case "ROLLBACK_FAILED" -> new Observation(State.FAILED, status, detail);
      case "STOPPED" -> primary.isPresent() && !registered.equals(primary.get().taskDefinition())
          ? superseded(primary, followed.statusReason())
          : new Observation(State.FAILED, status, detail);
      case "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS" -> new Observation(State.IN_PROGRESS, status,
          join(primary.map(p -> "to " + p.taskDefinition() + ", deployment " + p.id() + ": " + counts(p)).orElse(null),
              followed.statusReason()));
      default -> new Observation(State.IN_PROGRESS, status, detail);
    };
  }

  /** Without a service deployment (an older service): the deployments' own rolloutState. */
  private Observation fromRolloutState(Optional<software.amazon.awssdk.services.ecs.model.Deployment> ours,
      Optional<software.amazon.awssdk.services.ecs.model.Deployment> primary) {
    if (ours.isEmpty()) {
      if (primary.isPresent() && registered.equals(primary.get().taskDefinition())) {
        return state(primary.get(), "deployment " + primary.get().id() + " of the same revision took its place; ");
      }
      return primary.isPresent() ? superseded(primary, null)
          : new Observation(State.FAILED, "GONE", "the service no longer lists it");
    }
    var d = ours.get();
    if ("FAILED".equals(d.rolloutStateAsString()) && primary.isPresent()
        && !registered.equals(primary.get().taskDefinition())) {
      return rollback(primary.get()); // the circuit breaker made the previous revision primary again
    }
    return state(d, "");
  }

  /** Without the circuit breaker: done once ours is the only deployment and runs every desired task. */
  private Observation steadyState(Optional<software.amazon.awssdk.services.ecs.model.Deployment> ours,
      Optional<software.amazon.awssdk.services.ecs.model.Deployment> primary, int deployments) {
    if (ours.isEmpty() || !"PRIMARY".equals(ours.get().status())) {
      return superseded(primary, null);
    }
    var d = ours.get();
    if ("FAILED".equals(d.rolloutStateAsString())) { // a circuit breaker without rollback stopped it
      return new Observation(State.FAILED, "FAILED", join(counts(d), d.rolloutStateReason()));
    }
    boolean steady = d.runningCount() != null && d.runningCount().equals(d.desiredCount())
        && primary.isPresent() && deployments == 1;
    return steady ? new Observation(State.SUCCEEDED, "STEADY", counts(d))
        : new Observation(State.IN_PROGRESS, "IN_PROGRESS", counts(d) + ", not yet the only deployment");
  }

  private Observation superseded(Optional<software.amazon.awssdk.services.ecs.model.Deployment> primary,
      String why) {
    String which = primary.map(p -> "deployment " + p.id() + " of " + p.taskDefinition() + " is PRIMARY")
        .orElse("another deployment took its place");
    return new Observation(State.SUPERSEDED, "SUPERSEDED", join(which, why));
  }

  private static String join(String a, String b) {
    if (a == null || a.isBlank()) {
      return b;
    }
    return b == null || b.isBlank() ? a : a + "; " + b;
  }

  /** The image of our repository in {@code taskDefinition}, as the service runs it; null when none is. */
  private ImageRef imageOf(String taskDefinition) {
    try {
      return containersOfRepository(taskDefinition(taskDefinition)).stream().findFirst()
          .map(container -> ImageRef.parse(container.image())).orElse(null);
    } catch (DeployException e) { // the tags then go back by the ledger instead
      return null;
    }
  }

  private List<ServiceDeployment> serviceDeployments(String arn) {
    return call("DescribeServiceDeployments", "ecs:DescribeServiceDeployments", () -> client
        .describeServiceDeployments(describe -> describe.serviceDeploymentArns(arn)).serviceDeployments());
  }

  private static Observation state(software.amazon.awssdk.services.ecs.model.Deployment d, String prefix) {
    String state = d.rolloutStateAsString() == null ? "IN_PROGRESS" : d.rolloutStateAsString();
    String detail = prefix + counts(d) + (d.rolloutStateReason() == null ? "" : "; " + d.rolloutStateReason());
    return switch (state) {
      case "COMPLETED" -> new Observation(State.SUCCEEDED, state, detail);
      case "FAILED" -> new Observation(State.FAILED, state, detail);
      default -> new Observation(State.IN_PROGRESS, state, detail);
    };
  }

  /** Another revision is primary instead of ours: a rollback, done when that deployment completed. */
  private Observation rollback(software.amazon.awssdk.services.ecs.model.Deployment to) {
    String detail = "to " + to.taskDefinition() + ", deployment " + to.id() + ": " + counts(to);
    return switch (to.rolloutStateAsString() == null ? "IN_PROGRESS" : to.rolloutStateAsString()) {
      case "COMPLETED" -> new Observation(State.ROLLED_BACK, "FAILED", "rolled back " + detail,
          imageOf(to.taskDefinition()));
      case "FAILED" -> new Observation(State.FAILED, "ROLLBACK_FAILED", detail);
      default -> new Observation(State.IN_PROGRESS, "ROLLING_BACK", detail);
    };
  }
  private static String counts(software.amazon.awssdk.services.ecs.model.Deployment d) {
    return d.runningCount() + "/" + d.desiredCount() + " running" + (d.failedTasks() != null && d.failedTasks() > 0
        ? ", " + d.failedTasks() + " failed" : "");
  }

  private software.amazon.awssdk.services.ecs.model.Service describe() {
    DescribeServicesResponse response = call("DescribeServices", "ecs:DescribeServices",
        () -> client.describeServices(describe -> describe.cluster(cluster).services(service)));
    if (response.services().isEmpty() || "INACTIVE".equals(response.services().get(0).status())) {
      String reason = response.failures().isEmpty() ? "INACTIVE" : response.failures().get(0).reason();
      throw new DeployException(DeployException.Kind.CONFIGURATION, "rolloutService (deploy.rolloutService): "
          + target() + " does not exist (" + reason + "): check the cluster, the service name and the region");
    }
    return response.services().get(0);
  }

  private TaskDefinition taskDefinition(String arn) {
    return call("DescribeTaskDefinition", "ecs:DescribeTaskDefinition", () -> client.describeTaskDefinition(
        describe -> describe.taskDefinition(arn)).taskDefinition());
  }

  private List<ContainerDefinition> containersOfRepository(TaskDefinition definition) {
    return definition.containerDefinitions().stream().filter(this::ofRepository).toList();
  }

  private boolean ofRepository(ContainerDefinition container) {
    return Rollouts.ofRepository(container.image(), repository);
  }

  private <T> T call(String operation, String permission, java.util.function.Supplier<T> call) {
    return Rollouts.call(target(), operation, permission, call, ClusterNotFoundException.class,
        ServiceNotFoundException.class);
  }

  @Override
  public void close() {
    client.close();
  }
}
