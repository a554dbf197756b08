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
import java.util.function.Function;
import software.amazon.awssdk.services.apprunner.AppRunnerClient;
import software.amazon.awssdk.services.apprunner.model.ImageRepository;
import software.amazon.awssdk.services.apprunner.model.InvalidStateException;
import software.amazon.awssdk.services.apprunner.model.OperationSummary;
import software.amazon.awssdk.services.apprunner.model.ResourceNotFoundException;
import software.amazon.awssdk.services.apprunner.model.Service;

/**
 * An App Runner service that deploys one of the promote tags. When its automatic deployments are
 * on, moving the tag starts a deployment, which App Runner names nowhere: it is the first
 * START_DEPLOYMENT operation that was not listed just before the tag moved. The ids are compared,
 * never the times: App Runner stamps an operation with its own clock, which may run ahead of or
 * behind ours, and lists it only after a while. Without automatic deployments (or when no tag
 * moved) StartDeployment starts one; with them, only when none appeared within a grace and none
 * is in progress. A tag moved back is a new image version to App Runner too: that deployment is
 * found the same way. After SUCCEEDED the tag is read back: when it names another digest by then,
 * App Runner deploys that one next, and ours is superseded.
 */
final class AppRunnerRollout implements Rollout {

  /** How long a tag move is given to show up as an operation: at most this, at most a third of the time left. */
  private static final Duration AUTO_DEPLOY_GRACE = Duration.ofSeconds(60);
  private static final java.util.Set<String> RUNNING = java.util.Set.of("PENDING", "IN_PROGRESS",
      "ROLLBACK_IN_PROGRESS");
  /** Reading the operations just before a tag move: tried this often when App Runner throttles. */
  private static final int SNAPSHOT_ATTEMPTS = 4;

  private final AppRunnerClient client;
  private final String serviceArn;
  private final ImageRef repository;
  private final List<String> promoteTags;
  private final Function<String, Optional<String>> tagDigest;
  private final Events events;
  private String deployedTag;
  private boolean autoDeploy;
  /** The operation ids listed just before the last tag move; null when none was read. */
  private java.util.Set<String> before;
  /** The digest our deployment deploys, by deployment id. */
  private final java.util.Map<String, String> deploying = new java.util.concurrent.ConcurrentHashMap<>();

  /** @param tagDigest what a tag of the repository names in the registry now */
  AppRunnerRollout(AwsSettings aws, RolloutSettings settings, ImageRef repository, List<String> promoteTags,
      Function<String, Optional<String>> tagDigest, Events events) {
    this.client = aws.client(AppRunnerClient.builder(), settings.serviceRegion());
    this.serviceArn = settings.service();
    this.repository = repository;
    this.promoteTags = promoteTags;
    this.tagDigest = tagDigest;
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
    operations(); // the rollout finds its deployment there: a role without ListOperations fails now, not after the move
    deployedTag = deployed.tagValue().orElseThrow();
    autoDeploy = Boolean.TRUE.equals(service.sourceConfiguration().autoDeploymentsEnabled());
    return target() + " (" + service.statusAsString() + ") deploys " + image.imageIdentifier() + ", automatic"
        + " deployments " + (autoDeploy ? "on" : "off");
  }

  @Override
  public void beforeTagMove() {
    if (!autoDeploy) {
      return;
    }
    for (int attempt = 1; ; attempt++) {
      try {
        before = ids(operations());
        return;
      } catch (DeployException e) {
        if (attempt == SNAPSHOT_ATTEMPTS || !Rollouts.waitingHelps(e)) {
          before = null;
          throw e;
        }
        Rollouts.sleep(pollInterval(attempt));
      }
    }
  }

  @Override
  public Deployment start(Request request) {
    boolean byTheMove = autoDeploy && request.moved(deployedTag);
    String what = "the deployment moving " + deployedTag + " to " + request.image().digestValue().orElse("")
        + " started";
    if (byTheMove) {
      Optional<Deployment> moved = startedByTheMove(request, what);
      if (moved.isPresent()) {
        return moved.get();
      }
      if (!Instant.now().isBefore(request.deadline())) { // a second deployment now could only race the first
        throw new DeployException(DeployException.Kind.ROLLOUT, target() + " listed no deployment of the move of "
            + deployedTag + " before deploy.rolloutTimeout ended");
      }
      events.warn(target() + " started no deployment after the move of " + deployedTag + ", and none is in progress:"
          + " starting one (StartDeployment)");
    }
    String id;
    try {
      id = call("StartDeployment", "apprunner:StartDeployment", () -> client.startDeployment(
          start -> start.serviceArn(serviceArn)).operationId());
    } catch (DeployException e) {
      if (!byTheMove || !(e.getCause() instanceof InvalidStateException)) {
        throw e;
      }
      // an operation began meanwhile: the move's, listed late
      return startedByTheMove(request, what).orElseThrow(() -> e);
    }
    request.image().digestValue().ifPresent(digest -> deploying.put(id, digest));
    return new Deployment(id, "StartDeployment (operation " + id + ")");
  }

  /** True when the service says an operation runs, listed or not. */
  private boolean inProgress() {
    Service service = call("DescribeService", "apprunner:DescribeService", () -> client.describeService(
        describe -> describe.serviceArn(serviceArn)).service());
    return "OPERATION_IN_PROGRESS".equals(service.statusAsString());
  }

  @Override
  public Optional<Deployment> reverted(Request request) {
    if (!autoDeploy || !request.moved(deployedTag)) {
      return Optional.empty(); // nothing deploys on a move
    }
    return startedByTheMove(request, "the deployment moving " + deployedTag + " back to "
        + request.image().digestValue().orElse("") + " started");
  }

  /**
   * The first START_DEPLOYMENT not listed before the tag moved, looked for within the grace (and
   * longer while an operation is in progress, which a push waits for), never past the deadline;
   * empty when none appeared.
   */
  private Optional<Deployment> startedByTheMove(Request request, String what) {
    if (before == null) {
      throw new DeployException(DeployException.Kind.ROLLOUT, target() + ": its operations were not read before the"
          + " tag moved, so the deployment the move started cannot be told from earlier ones");
    }
    Instant now = Instant.now();
    Duration left = Duration.between(now, request.deadline());
    Duration grace = AUTO_DEPLOY_GRACE.compareTo(left.dividedBy(3)) < 0 ? AUTO_DEPLOY_GRACE : left.dividedBy(3);
    Instant graceEnds = now.plus(grace);
    String lastError = null;
    for (int attempt = 1; ; attempt++) {
      boolean busy = false;
      try {
        List<OperationSummary> operations = operations();
        // newest first: the last new one listed is the earliest, the one the move started
        Optional<OperationSummary> started = operations.stream().filter(op -> "START_DEPLOYMENT".equals(
            op.typeAsString())).filter(op -> !before.contains(op.id())).reduce((newer, older) -> older);
        if (started.isPresent()) {
          request.image().digestValue().ifPresent(digest -> deploying.put(started.get().id(), digest));
          return Optional.of(new Deployment(started.get().id(), what + " (operation " + started.get().id() + ")"));
        }
        busy = operations.stream().anyMatch(op -> op.statusAsString() != null && RUNNING.contains(op.statusAsString()))
            || inProgress();
      } catch (DeployException e) {
        if (!Rollouts.waitingHelps(e)) {
          throw e;
        }
        if (!e.getMessage().equals(lastError)) {
          events.warn("could not list the operations of " + serviceArn + " (asking again): " + e.getMessage());
        }
        lastError = e.getMessage();
        busy = true; // unknown: not a reason to start a second deployment
      }
      Instant at = Instant.now();
      if (!at.isBefore(request.deadline()) || (!busy && !at.isBefore(graceEnds))) {
        return Optional.empty();
      }
      Duration wait = pollInterval(attempt);
      Duration until = Duration.between(at, request.deadline());
      Rollouts.sleep(wait.compareTo(until) < 0 ? wait : until);
    }
  }

  /** The service's latest operations, newest first. */
  private List<OperationSummary> operations() {
    return call("ListOperations", "apprunner:ListOperations",
        () -> client.listOperations(list -> list.serviceArn(serviceArn).maxResults(20)).operationSummaryList());
  }

  private static java.util.Set<String> ids(List<OperationSummary> operations) {
    return operations.stream().map(OperationSummary::id).collect(java.util.stream.Collectors.toSet());
  }

  @Override
  public Observation observe(Deployment deployment) {
    OperationSummary operation = operations().stream().filter(op -> deployment.id().equals(op.id())).findFirst()
        .orElse(null);
    if (operation == null) {
      return new Observation(State.IN_PROGRESS, "PENDING", "not listed yet");
    }
    String status = operation.statusAsString() == null ? "PENDING" : operation.statusAsString();
    return switch (status) {
      case "SUCCEEDED" -> stillOurs(deployment);
      case "ROLLBACK_SUCCEEDED" -> new Observation(State.ROLLED_BACK, status, null);
      case "FAILED", "ROLLBACK_FAILED" -> new Observation(State.FAILED, status, null);
      default -> new Observation(State.IN_PROGRESS, status, null);
    };
  }

  /** After SUCCEEDED: the tag must still name what was deployed, or App Runner deploys the other image next. */
  private Observation stillOurs(Deployment deployment) {
    String ours = deploying.get(deployment.id());
    if (ours == null || deployedTag == null) {
      return new Observation(State.SUCCEEDED, "SUCCEEDED", null);
    }
    Optional<String> now = tagDigest.apply(deployedTag);
    if (now.isPresent() && !now.get().equals(ours)) {
      return new Observation(State.SUPERSEDED, "SUCCEEDED", deployedTag + " names " + now.get() + " now, not "
          + ours + ": App Runner deploys that one next");
    }
    return new Observation(State.SUCCEEDED, "SUCCEEDED", null);
  }

  private <T> T call(String operation, String permission, java.util.function.Supplier<T> call) {
    return Rollouts.call(target(), operation, permission, call, ResourceNotFoundException.class);
  }

  @Override
  public void close() {
    client.close();
  }
}
