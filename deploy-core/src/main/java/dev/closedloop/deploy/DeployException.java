package dev.closedloop.deploy;

import dev.closedloop.deploy.secret.Redactor;
import java.util.Optional;

/**
 * Every failure of the engine. The message is one line a user can act on: what failed, the
 * parameter or resource, and what to do. It never contains the value of a secret.
 */
public class DeployException extends RuntimeException {

  /** What kind of thing failed; decides how a caller reports it. */
  public enum Kind {
    /** A setting is missing or wrong; nothing was touched. */
    CONFIGURATION(true),
    /** The Docker engine is unreachable or refused the build or push. */
    DOCKER(false),
    /** The registry is unreachable or refused a request. */
    REGISTRY(false),
    /** A database is unreachable or refused a connection. */
    DATABASE(false),
    /** A migration failed; the release said no. */
    MIGRATION(true),
    /** A guard (branch, lock) refused the release. */
    GUARD(true),
    /** An AWS call failed. */
    AWS(false),
    /** The rollout failed or rolled back. */
    ROLLOUT(true),
    /** A team's own hook failed or timed out before a step (deploy.hooks). */
    HOOK(true);

    private final boolean refusal;

    Kind(boolean refusal) {
      this.refusal = refusal;
    }

    /**
     * True when the release ran and said no (bad input, failed migration, refused guard), false
     * when it could not run (an engine, registry or database out of reach).
     */
    public boolean isRefusal() {
      return refusal;
    }
  }

  private final Kind kind;
  private final ReleaseResult partialResult;

  public DeployException(Kind kind, String message) {
    this(kind, message, null, null);
  }

  public DeployException(Kind kind, String message, Throwable cause) {
    this(kind, message, cause, null);
  }

  private DeployException(Kind kind, String message, Throwable cause, ReleaseResult partialResult) {
    super(message, cause);
    this.kind = kind;
    this.partialResult = partialResult;
  }

  public Kind kind() {
    return kind;
  }

  /** What the release had done before it failed, when the failure came from a release run. */
  public Optional<ReleaseResult> partialResult() {
    return Optional.ofNullable(partialResult);
  }

  /**
   * This failure with the result of the steps that ran before it, its message and every cause's
   * redacted (Maven prints the whole chain under -X).
   */
  DeployException withPartialResult(ReleaseResult result, Redactor redactor) {
    DeployException copy = new DeployException(kind, redactor.redact(getMessage()), redactor.redactChain(getCause()),
        result);
    copy.setStackTrace(getStackTrace());
    for (Throwable other : getSuppressed()) {
      copy.addSuppressed(redactor.redactChain(other));
    }
    return copy;
  }
}
