package dev.closedloop.deploy.internal.rollout;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.aws.AwsSettings;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.rollout.Rollout;
import dev.closedloop.deploy.rollout.RolloutSettings;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import software.amazon.awssdk.services.apprunner.AppRunnerClient;
import software.amazon.awssdk.services.apprunner.model.ImageRepository;
import software.amazon.awssdk.services.apprunner.model.OperationSummary;
import software.amazon.awssdk.services.apprunner.model.ResourceNotFoundException;
import software.amazon.awssdk.services.apprunner.model.Service;

/**
 * An App Runner service that deploys one of the promote tags. When its automatic deployments are
 * on, moving the tag starts a deployment, which App Runner names nowhere: it is found in
 * ListOperations as the START_DEPLOYMENT that began after the promote. Otherwise (or when no
 * tag moved) StartDeployment starts one.
 */
final class AppRunnerRollout implements Rollout {

  /** How long a tag move is given to show up as an operation before StartDeployment is called. */
  private static final Duration AUTO_DEPLOY_GRACE = Duration.ofSeconds(60);
  /** App Runner's clock and ours may differ a little. */
  private static final Duration CLOCK_SKEW = Duration.ofSeconds(5);

  private final AppRunnerClient client;
  private final String serviceArn;
  private final ImageRef repository;
  private final List<String> promoteTags;
  private final Events events;
  private String deployedTag;
  private boolean autoDeploy;

  AppRunnerRollout(AwsSettings aws, RolloutSettings settings, ImageRef repository, List<String> promoteTags,
      Events events) {
    this.client = aws.client(AppRunnerClient.builder(), settings.serviceRegion());
    this.serviceArn = settings.service();
    this.repository = repository;
    this.promoteTags = promoteTags;
    this.events = events;
  }

  @Override
  public String target() {
    return "App Runner service " + serviceArn;
  }

  @Override
  public String check() {
    Service service = call("DescribeService", "apprunner:DescribeService", () -> client.describeService(
        describe -> describe.serviceArn(serviceArn)).service());
    ImageRepository image = service.sourceConfiguration() == null ? null
        : service.sourceConfiguration().imageRepository();
    if (image == null) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "rolloutService (deploy.rolloutService): "
          + target() + " deploys from source code, not from an image: nothing closedloop promotes reaches it");
    }
    ImageRef deployed;
    try {
      deployed = ImageRef.parse(image.imageIdentifier());
    } catch (DeployException e) {
      deployed = null;
    }
    if (deployed == null || !deployed.name().equals(repository.name())
        || deployed.tagValue().filter(promoteTags::contains).isEmpty()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "rolloutService (deploy.rolloutService): "
          + target() + " deploys " + image.imageIdentifier() + ", not one of the promote tags " + promoteTags + " of "
          + repository.name() + ": point the service at " + repository.withTag(promoteTags.get(0))
          + ", or set deploy.image and deploy.promoteTags to what it deploys");
    }
    if (!"RUNNING".equals(service.statusAsString())) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "rolloutService (deploy.rolloutService): "
          + target() + " is " + service.statusAsString() + ", not RUNNING: it takes no deployment now (wait for its"
          + " operation to end, or resume it)");
    }
    deployedTag = deployed.tagValue().orElseThrow();
    autoDeploy = Boolean.TRUE.equals(service.sourceConfiguration().autoDeploymentsEnabled());
    return target() + " (" + service.statusAsString() + ") deploys " + image.imageIdentifier() + ", automatic"
        + " deployments " + (autoDeploy ? "on" : "off");
  }

  @Override
  public Deployment start(Request request) {
    if (autoDeploy && request.moved(deployedTag)) {
      Instant deadline = Instant.now().plus(AUTO_DEPLOY_GRACE);
      int attempt = 0;
      while (true) {
        Optional<OperationSummary> started;
        try {
          started = startedSince(request.promoteStarted().minus(CLOCK_SKEW));
        } catch (DeployException e) { // throttled, say: the deployment goes on, asked again
          events.warn("could not list the operations of " + serviceArn + " (asking again): " + e.getMessage());
          started = Optional.empty();
        }
        if (started.isPresent()) {
          return new Deployment(started.get().id(), "the deployment moving " + deployedTag + " started (operation "
              + started.get().id() + ")");
        }
        if (Instant.now().isAfter(deadline)) {
          events.warn(target() + " started no deployment within " + AUTO_DEPLOY_GRACE.toSeconds() + "s of the move of "
              + deployedTag + ": starting one (StartDeployment)");
          break;
        }
        Rollouts.sleep(pollInterval(++attempt));
      }
    }
    String id = call("StartDeployment", "apprunner:StartDeployment", () -> client.startDeployment(
        start -> start.serviceArn(serviceArn)).operationId());
    return new Deployment(id, "StartDeployment (operation " + id + ")");
  }

  /** The service's latest operations, newest first. */
  private List<OperationSummary> operations() {
    return call("ListOperations", "apprunner:ListOperations",
        () -> client.listOperations(list -> list.serviceArn(serviceArn).maxResults(20)).operationSummaryList());
  }

  private Optional<OperationSummary> startedSince(Instant since) {
    List<OperationSummary> operations = operations();
    // newest first: the first START_DEPLOYMENT that began after the move
    return operations.stream().filter(op -> "START_DEPLOYMENT".equals(op.typeAsString()))
        .filter(op -> op.startedAt() != null && !op.startedAt().isBefore(since))
        .reduce((newer, older) -> older); // the earliest of those: the one the move started
  }

  @Override
  public Observation observe(Deployment deployment) {
    OperationSummary operation = operations().stream().filter(op -> deployment.id().equals(op.id())).findFirst()
        .orElse(null);
    if (operation == null) {
      return new Observation(State.IN_PROGRESS, "PENDING", "not listed yet");
    }
    String status = operation.statusAsString();
    State state = switch (status) {
      case "SUCCEEDED" -> State.SUCCEEDED;
      case "ROLLBACK_SUCCEEDED" -> State.ROLLED_BACK;
      case "FAILED", "ROLLBACK_FAILED" -> State.FAILED;
      default -> State.IN_PROGRESS;
    };
    return new Observation(state, status, null);
  }

  private <T> T call(String operation, String permission, java.util.function.Supplier<T> call) {
    return Rollouts.call(target(), operation, permission, call, ResourceNotFoundException.class);
  }

  @Override
  public void close() {
    client.close();
  }
}
