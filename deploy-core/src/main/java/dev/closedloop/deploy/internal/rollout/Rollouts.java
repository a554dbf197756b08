package dev.closedloop.deploy.internal.rollout;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.aws.AwsSettings;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.RegistryCredentials;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.aws.AwsFailures;
import dev.closedloop.deploy.internal.image.DockerEngine;
import dev.closedloop.deploy.rollout.Rollout;
import dev.closedloop.deploy.rollout.RolloutSettings;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkException;

/** Opens the rollout that {@code deploy.rollout} names. */
public final class Rollouts {

  private Rollouts() {}

  /**
   * @param docker the Docker engine, opened only by a local rollout
   * @param pullCredentials for a local rollout whose engine lacks the image
   * @param tagDigest what a tag of {@code repository} names in the registry now
   */
  public static Rollout open(RolloutSettings settings, AwsSettings aws, ImageRef repository, List<String> promoteTags,
      Supplier<DockerEngine> docker, Supplier<RegistryCredentials> pullCredentials,
      java.util.function.Function<String, java.util.Optional<String>> tagDigest, Events events) {
    return switch (settings.kind()) {
      case APP_RUNNER -> new AppRunnerRollout(aws, settings, repository, promoteTags, tagDigest, events);
      case ECS -> new EcsRollout(aws, settings, repository);
      case ECS_EXPRESS -> new EcsExpressRollout(aws, settings, repository);
      case LOCAL -> new LocalRollout(docker.get(), settings, pullCredentials, events);
      case OWN -> settings.own();
      case NONE -> throw new IllegalStateException("no rollout is configured");
    };
  }

  /**
   * One AWS call of a rollout; a missing resource is a configuration error naming the setting,
   * any other failure one line on why.
   *
   * @param notFound the service's exception types for a resource that does not exist
   */
  @SafeVarargs
  static <T> T call(String target, String operation, String permission, Supplier<T> call,
      Class<? extends SdkException>... notFound) {
    try {
      return call.get();
    } catch (SdkException e) {
      for (Class<? extends SdkException> type : notFound) {
        if (type.isInstance(e)) {
          throw new DeployException(DeployException.Kind.CONFIGURATION, "rolloutService (deploy.rolloutService): "
              + target + " does not exist (" + AwsFailures.code(e) + "): check the name and its region", e);
        }
      }
      throw new DeployException(DeployException.Kind.AWS, operation + " of " + target + " failed: "
          + AwsFailures.why(e, permission), e);
    }
  }

  /**
   * True when asking again may bring another answer: throttling, a server error, no answer at all.
   * A missing resource, a permission or a rejected request stays as it is however long one waits.
   */
  public static boolean waitingHelps(DeployException e) {
    if (e.kind() == DeployException.Kind.CONFIGURATION) {
      return false;
    }
    if (e.getCause() instanceof AwsServiceException service) {
      return service.isThrottlingException() || service.statusCode() >= 500 || service.statusCode() == 0;
    }
    return true;
  }

  /** True when {@code image} (a reference as a service names it) is of {@code repository}. */
  static boolean ofRepository(String image, ImageRef repository) {
    try {
      return image != null && ImageRef.parse(image).name().equals(repository.name());
    } catch (DeployException e) {
      return false;
    }
  }

  /** Sleeps, keeping the thread's interrupt as a failure of the rollout. */
  public static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DeployException(DeployException.Kind.ROLLOUT, "Interrupted while waiting for the rollout", e);
    }
  }
}
