package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.guard.BranchGuard;
import java.util.List;
import java.util.Optional;

/**
 * What decides whether a run may reach production at all, decided in one place: the branch guard,
 * then, from the connection string alone before anything goes out, TLS and a transaction pooler,
 * then the server's own word on pooling. A release enforces the decisions, the plan prints them,
 * history and test-migrate's read of production follow them: the plan cannot drift from what a
 * release does.
 */
public final class ProductionGate {

  private final ReleaseConfig config;

  public ProductionGate(ReleaseConfig config) {
    this.config = config;
  }

  /** The branch guard's decision: a refusal, or the branch that passed (overridden when the guard is off). */
  public record BranchVerdict(BranchGuard.Decision decision, DeployException refusal) {

    public boolean refused() {
      return refusal != null;
    }

    /** The branch that passed; the guard's refusal otherwise. */
    public BranchGuard.Decision orThrow() {
      if (refusal != null) {
        throw refusal;
      }
      return decision;
    }
  }

  /**
   * What the connection string says before anything is sent (not even a handshake).
   *
   * @param tlsProblem a remote host reached without TLS, or empty
   * @param tlsRefused true when {@code deploy.requireTls} makes that problem a refusal
   * @param poolerProblem a transaction pooler in front of production, which cannot hold the lock, or empty
   */
  public record ConnectionVerdict(Optional<String> tlsProblem, boolean tlsRefused, Optional<String> poolerProblem) {

    /** True when no connection may be made. */
    public boolean refused() {
      return tlsRefused || poolerProblem.isPresent();
    }

    /**
     * Refuses as a release does, or warns about a connection without TLS that is let through.
     *
     * @throws DeployException of kind CONFIGURATION naming databaseUrl and the problem
     */
    public void enforce(Events events) {
      tlsProblem.ifPresent(problem -> {
        if (tlsRefused) {
          throw refusal(problem + " (deploy.requireTls is set)");
        }
        events.warn("databaseUrl: " + problem);
      });
      poolerProblem.ifPresent(problem -> {
        throw refusal(problem);
      });
    }
  }

  /** The branch guard, as every goal that reaches production applies it. */
  public BranchVerdict branch() {
    dev.closedloop.deploy.Guards guards = config.production().guards();
    try {
      return new BranchVerdict(new BranchGuard(guards.allowedBranches(), guards.branchGuard())
          .check(guards.branch(), config.ci()), null);
    } catch (DeployException refused) {
      return new BranchVerdict(null, refused);
    }
  }

  /** The branches the guard lets through, as the plan and the step lines name them. */
  public List<String> allowedBranches() {
    List<String> allowed = config.production().guards().allowedBranches();
    return allowed.isEmpty() ? BranchGuard.DEFAULT_ALLOWED : allowed;
  }

  /** What {@code target}'s connection string alone tells: every goal that reaches production passes here first. */
  public ConnectionVerdict beforeConnecting(DatabaseTarget target) {
    return new ConnectionVerdict(target.tlsProblem(), target.tlsProblem().isPresent() && config.production().requireTls(),
        target.poolerProblem());
  }

  /** What reads production over a connection. */
  public interface Reading<T> {
    T read(java.sql.Connection connection) throws java.sql.SQLException;
  }

  /**
   * Reads production as every read-only goal does (history, a promotion's source): past the checks
   * a release makes before it connects, over a read-only connection; nothing is created.
   *
   * @param absent what a local stand-in no release has made yet reads as: it is not created
   * @throws java.sql.SQLException as {@code reading} throws it, for the caller to name what it read
   */
  public <T> T readOnly(Events events, T absent, Reading<T> reading) throws java.sql.SQLException {
    if (!config.production().database().exists()) {
      return absent;
    }
    try (var production = config.production().database().open(events)) {
      beforeConnecting(production.target()).enforce(events);
      try (java.sql.Connection c = production.target().readOnly().connect()) {
        return reading.read(c);
      }
    }
  }

  /**
   * Asks the server whether two sessions of ours share one backend (a transaction pooler the
   * connection string does not show). Connects: only after {@link #beforeConnecting} let it.
   *
   * @throws DeployException of kind CONFIGURATION when they do
   */
  public void poolerOnServer(DatabaseTarget target) {
    target.sharedBackendProblem().ifPresent(problem -> {
      throw refusal(problem);
    });
  }

  private static DeployException refusal(String problem) {
    return new DeployException(DeployException.Kind.CONFIGURATION, "databaseUrl (deploy.databaseUrl): " + problem);
  }

  /**
   * Under CI, a build of uncommitted changes never goes live: its image holds what no commit
   * does. Outside CI it is the developer's own (tagged {@code <sha>-dirty-<hash>}).
   *
   * @throws DeployException of kind GUARD under CI when the working tree differs from the commit
   */
  public void refuseUncommittedUnderCi() {
    var build = config.buildRequest();
    if (build.uncommitted() != null && config.ci().system().isPresent()) {
      throw new DeployException(DeployException.Kind.GUARD, "Refusing to put " + build.shaRef() + " live: under CI ("
          + config.ci().system().get() + ") the working tree differs from commit " + build.sha() + " in tracked"
          + " files, so the image holds what no commit does. Find the step that changes them, or commit the change");
    }
  }
}
