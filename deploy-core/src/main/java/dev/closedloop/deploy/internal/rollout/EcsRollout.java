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
import software.amazon.awssdk.services.ecs.model.DescribeServicesResponse;
import software.amazon.awssdk.services.ecs.model.RegisterTaskDefinitionRequest;
import software.amazon.awssdk.services.ecs.model.ServiceNotFoundException;
import software.amazon.awssdk.services.ecs.model.TaskDefinition;

/**
 * An ECS service: a revision of its current task definition with only the image changed to the
 * promoted digest, then UpdateService, then its deployment is followed through
 * {@code rolloutState}. When the deployment circuit breaker rolls the service back, that is a
 * rollback.
 */
final class EcsRollout implements Rollout {

  private final EcsClient client;
  private final String cluster;
  private final String service;
  private final ImageRef repository;
  /** The task definition revision this rollout registered. */
  private String registered;

  EcsRollout(AwsSettings aws, RolloutSettings settings, ImageRef repository) {
    this.client = aws.client(EcsClient.builder(), settings.serviceRegion());
    String[] names = settings.ecsClusterAndService();
    this.cluster = names[0];
    this.service = names[1];
    this.repository = repository;
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
      throw new DeployException(DeployException.Kind.CONFIGURATION, "rolloutService (deploy.rolloutService): "
          + target() + " is deployed by " + controller + ", not by ECS itself: closedloop follows ECS rolling"
          + " deployments only");
    }
    TaskDefinition definition = taskDefinition(current.taskDefinition());
    if (containersOfRepository(definition).isEmpty()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "rolloutService (deploy.rolloutService): no"
          + " container of " + definition.taskDefinitionArn() + " (the task definition of " + target() + ") runs an"
          + " image of " + repository.name() + ": set deploy.image to the repository it runs");
    }
    return target() + " (" + current.status() + ") runs " + definition.taskDefinitionArn();
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
    return new Deployment(deployment.id(), "deployment " + deployment.id() + " of " + registered);
  }

  @Override
  public Observation observe(Deployment deployment) {
    var now = describe();
    Optional<software.amazon.awssdk.services.ecs.model.Deployment> ours = now.deployments().stream()
        .filter(d -> deployment.id().equals(d.id())).findFirst();
    var primary = now.deployments().stream().filter(d -> "PRIMARY".equals(d.status())).findFirst();
    if (ours.isEmpty()) {
      if (primary.isPresent() && registered.equals(primary.get().taskDefinition())) {
        return state(primary.get(), "deployment " + primary.get().id() + " of the same revision took its place; ");
      }
      return primary.isPresent() ? rollback(primary.get())
          : new Observation(State.FAILED, "GONE", "the service no longer lists it");
    }
    var d = ours.get();
    if ("FAILED".equals(d.rolloutStateAsString()) && primary.isPresent()
        && !registered.equals(primary.get().taskDefinition())) {
      return rollback(primary.get()); // the circuit breaker made the previous revision primary again
    }
    return state(d, "");
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
  private static Observation rollback(software.amazon.awssdk.services.ecs.model.Deployment to) {
    String detail = "to " + to.taskDefinition() + ", deployment " + to.id() + ": " + counts(to);
    return switch (to.rolloutStateAsString() == null ? "IN_PROGRESS" : to.rolloutStateAsString()) {
      case "COMPLETED" -> new Observation(State.ROLLED_BACK, "FAILED", "rolled back " + detail);
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
