package dev.closedloop.deploy.internal.rollout;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.aws.AwsSettings;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.rollout.Rollout;
import dev.closedloop.deploy.rollout.RolloutSettings;
import java.util.List;
import software.amazon.awssdk.services.ecs.EcsClient;
import software.amazon.awssdk.services.ecs.model.ECSExpressGatewayService;
import software.amazon.awssdk.services.ecs.model.ExpressGatewayContainer;
import software.amazon.awssdk.services.ecs.model.ExpressGatewayServiceConfiguration;
import software.amazon.awssdk.services.ecs.model.ResourceNotFoundException;
import software.amazon.awssdk.services.ecs.model.ServiceNotFoundException;

/**
 * An ECS Express Mode service. A tag move deploys nothing there: the service is updated with the
 * promoted digest as its primary container's image, which makes a new service revision, and its
 * canary either makes that revision the only active one or rolls it back. The service deployment
 * the update started tells which (SUCCESSFUL, ROLLBACK_SUCCESSFUL…), and after a rollback the
 * revision left active names the image the service went back to; without one, the active
 * revisions do. Another service deployment taking its place is someone else's: superseded.
 */
final class EcsExpressRollout implements Rollout {

  private final EcsClient client;
  private final String serviceArn;
  private final ImageRef repository;
  private boolean seenActive;
  /** The service deployment seen deploying our revision; null before it was seen. */
  private String serviceDeployment;

  EcsExpressRollout(AwsSettings aws, RolloutSettings settings, ImageRef repository) {
    this.client = aws.client(EcsClient.builder(), settings.serviceRegion());
    this.serviceArn = settings.service();
    this.repository = repository;
  }

  @Override
  public String target() {
    return "ECS Express service " + serviceArn;
  }

  @Override
  public String check() {
    ECSExpressGatewayService service = describe();
    String status = service.status() == null ? "UNKNOWN" : service.status().statusCodeAsString();
    if (!"ACTIVE".equals(status)) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "rolloutService (deploy.rolloutService): "
          + target() + " is " + status + ", not ACTIVE: it takes no new revision");
    }
    ExpressGatewayContainer container = primaryContainer(service);
    if (container == null || !Rollouts.ofRepository(container.image(), repository)) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "rolloutService (deploy.rolloutService): "
          + target() + " runs " + (container == null ? "no image" : container.image()) + ", not an image of "
          + repository.name() + ": set deploy.image to the repository it runs");
    }
    return target() + " (" + status + ") runs " + container.image();
  }

  @Override
  public Deployment start(Request request) {
    ExpressGatewayContainer container = primaryContainer(describe());
    if (container == null) {
      throw new DeployException(DeployException.Kind.ROLLOUT, target() + " has no active revision with a primary"
          + " container to give the new image");
    }
    // the whole primary container goes back with only the image changed: what is left out would be reset
    ExpressGatewayContainer updated = container.toBuilder().image(request.image().toString()).build();
    var response = call("UpdateExpressGatewayService", "ecs:UpdateExpressGatewayService and iam:PassRole",
        () -> client.updateExpressGatewayService(update -> update.serviceArn(serviceArn).primaryContainer(updated)));
    ExpressGatewayServiceConfiguration target = response.service() == null ? null
        : response.service().targetConfiguration();
    String revision = target != null && target.serviceRevisionArn() != null ? target.serviceRevisionArn()
        : request.image().toString();
    return new Deployment(revision, "service revision " + revision);
  }

  @Override
  public Observation observe(Deployment deployment) {
    ECSExpressGatewayService service = describe();
    String status = service.status() == null ? "UNKNOWN" : service.status().statusCodeAsString();
    if (!"ACTIVE".equals(status)) {
      return new Observation(State.FAILED, status, service.status() == null ? null : service.status().statusReason());
    }
    if (service.currentDeployment() != null) { // the ECS service deployment behind the revision says it best
      var followed = call("DescribeServiceDeployments", "ecs:DescribeServiceDeployments",
          () -> client.describeServiceDeployments(describe -> describe.serviceDeploymentArns(
              service.currentDeployment())).serviceDeployments()).stream().findFirst();
      boolean ofOurs = followed.isPresent() && followed.get().targetServiceRevision() != null
          && deployment.id().equals(followed.get().targetServiceRevision().arn());
      if (ofOurs) { // the one deploying our revision is ours, whenever it became current
        serviceDeployment = service.currentDeployment();
      } else if (serviceDeployment != null && followed.isPresent()) {
        return new Observation(State.SUPERSEDED, "SUPERSEDED", "the service's current deployment "
            + service.currentDeployment() + " deploys another revision than this release's");
      }
      if (ofOurs) {
        var d = followed.get();
        String state = d.statusAsString() == null ? "PENDING" : d.statusAsString();
        String detail = d.statusReason();
        return switch (state) {
          case "SUCCESSFUL" -> new Observation(State.SUCCEEDED, state, detail);
          case "ROLLBACK_SUCCESSFUL" -> new Observation(State.ROLLED_BACK, state, detail, restored(service,
              deployment));
          case "ROLLBACK_FAILED", "STOPPED" -> new Observation(State.FAILED, state, detail);
          default -> new Observation(State.IN_PROGRESS, state, detail);
        };
      }
    }
    List<ExpressGatewayServiceConfiguration> active = service.activeConfigurations();
    boolean ours = active.stream().anyMatch(c -> isOurs(c, deployment));
    if (ours && active.size() == 1) {
      return new Observation(State.SUCCEEDED, "ACTIVE", "the new revision is the only active one");
    }
    if (ours) {
      seenActive = true;
      return new Observation(State.IN_PROGRESS, "DEPLOYING", "the new revision is active beside "
          + (active.size() - 1) + " older");
    }
    if (seenActive) {
      return new Observation(State.ROLLED_BACK, "ROLLED_BACK", "the new revision is no longer active; "
          + active.stream().map(ExpressGatewayServiceConfiguration::serviceRevisionArn).toList() + " serves");
    }
    return new Observation(State.IN_PROGRESS, "PENDING", "the new revision is not active yet");
  }

  /** The image of the revision still active after a rollback, when there is one and it is of our repository. */
  private ImageRef restored(ECSExpressGatewayService service, Deployment deployment) {
    return service.activeConfigurations().stream().filter(c -> !isOurs(c, deployment))
        .map(ExpressGatewayServiceConfiguration::primaryContainer).filter(java.util.Objects::nonNull)
        .map(ExpressGatewayContainer::image).filter(image -> Rollouts.ofRepository(image, repository))
        .reduce((older, newer) -> newer).map(ImageRef::parse).orElse(null);
  }

  private static boolean isOurs(ExpressGatewayServiceConfiguration configuration, Deployment deployment) {
    return deployment.id().equals(configuration.serviceRevisionArn()) || (configuration.primaryContainer() != null
        && deployment.id().equals(configuration.primaryContainer().image()));
  }

  private ECSExpressGatewayService describe() {
    return call("DescribeExpressGatewayService", "ecs:DescribeExpressGatewayService",
        () -> client.describeExpressGatewayService(describe -> describe.serviceArn(serviceArn)).service());
  }

  /** The primary container of the newest active configuration. */
  private static ExpressGatewayContainer primaryContainer(ECSExpressGatewayService service) {
    return service.activeConfigurations().stream()
        .max(java.util.Comparator.comparing(c -> c.createdAt() == null ? java.time.Instant.EPOCH : c.createdAt()))
        .map(ExpressGatewayServiceConfiguration::primaryContainer).orElse(null);
  }

  private <T> T call(String operation, String permission, java.util.function.Supplier<T> call) {
    return Rollouts.call(target(), operation, permission, call, ResourceNotFoundException.class,
        ServiceNotFoundException.class);
  }

  @Override
  public void close() {
    client.close();
  }
}
