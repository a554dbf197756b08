package dev.closedloop.deploy.internal;

import dev.closedloop.deploy.ReleaseEvent;
import dev.closedloop.deploy.ReleaseListener;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.StepResult;
import dev.closedloop.deploy.internal.secret.Secrets;
import dev.closedloop.deploy.secret.Redactor;
import java.time.Duration;
import java.util.List;

/**
 * Sends events to the configured listeners. One per release run; as a listener itself, it is what
 * the public interfaces that report progress ({@code EphemeralDatabase.start}) are handed.
 */
public final class Events implements ReleaseListener {

  private final List<ReleaseListener> listeners;
  private final Secrets secrets;

  public Events(List<ReleaseListener> listeners) {
    this(listeners, new Secrets());
  }

  /** Events whose text is masked of every secret in {@code secrets}: no listener ever sees one. */
  public Events(List<ReleaseListener> listeners, Secrets secrets) {
    this.listeners = List.copyOf(listeners);
    this.secrets = secrets;
  }

  public static Events none() {
    return new Events(List.of());
  }

  /** The run's events when {@code listener} is them, else events to that listener alone. */
  public static Events of(ReleaseListener listener) {
    return listener instanceof Events events ? events : new Events(List.of(listener));
  }

  @Override
  public void on(ReleaseEvent event) {
    emit(event);
  }

  public void emit(ReleaseEvent event) {
    ReleaseEvent safe = redact(event);
    for (ReleaseListener listener : listeners) {
      listener.on(safe);
    }
  }

  private ReleaseEvent redact(ReleaseEvent event) {
    Redactor redactor = secrets.redactor();
    if (event instanceof ReleaseEvent.StepFinished e) {
      return new ReleaseEvent.StepFinished(e.step(), e.duration(), redactor.redact(e.summary()));
    } else if (event instanceof ReleaseEvent.StepFailed e) {
      return new ReleaseEvent.StepFailed(e.step(), e.duration(), redactor.redact(e.message()));
    } else if (event instanceof ReleaseEvent.Progress e) {
      return new ReleaseEvent.Progress(e.step(), redactor.redact(e.message()));
    } else if (event instanceof ReleaseEvent.Log e) {
      return new ReleaseEvent.Log(e.level(), redactor.redact(e.message()));
    }
    return event;
  }

  /**
   * Masks {@code secret} in every event from now on, and in the run's errors and reports: for a
   * secret the run fetched (ECR's push token), or one in another spelling than the one resolved,
   * such as a password percent-encoded in a URL.
   */
  public void mask(String secret) {
    secrets.add(secret);
  }

  /** A redactor for every secret the run knows now: its configuration's and those masked since. */
  public Redactor redactor() {
    return secrets.redactor();
  }

  public void progress(Step step, String message) {
    emit(new ReleaseEvent.Progress(step, message));
  }

  public void warn(String message) {
    emit(new ReleaseEvent.Log(ReleaseEvent.Level.WARN, message));
  }

  public void debug(String message) {
    emit(new ReleaseEvent.Log(ReleaseEvent.Level.DEBUG, message));
  }

  /** Starts timing a step: emits {@code StepStarted} now and its end when closed. */
  public StepTimer start(Step step) {
    return new StepTimer(step);
  }

  /**
   * Times one step. Call {@link #finished} with a summary when it succeeded; closing it without
   * that reports the step as failed with {@link #failed}'s message, or a generic one.
   */
  public final class StepTimer implements AutoCloseable {
    private final Step step;
    private final long startNanos = System.nanoTime();
    private boolean ended;

    private StepTimer(Step step) {
      this.step = step;
      emit(new ReleaseEvent.StepStarted(step));
    }

    public Duration elapsed() {
      return Duration.ofNanos(System.nanoTime() - startNanos);
    }

    public StepResult finished(String summary) {
      ended = true;
      Duration duration = elapsed();
      emit(new ReleaseEvent.StepFinished(step, duration, summary));
      return new StepResult(step, StepResult.Status.SUCCEEDED, duration, summary);
    }

    public StepResult failed(String message) {
      return end(StepResult.Status.FAILED, message);
    }

    /** The step was stopped because another step of the run failed. */
    public StepResult stopped(String message) {
      return end(StepResult.Status.STOPPED, message);
    }

    private StepResult end(StepResult.Status status, String message) {
      ended = true;
      Duration duration = elapsed();
      emit(new ReleaseEvent.StepFailed(step, duration, message));
      return new StepResult(step, status, duration, message);
    }

    @Override
    public void close() {
      if (!ended) {
        failed("interrupted");
      }
    }
  }
}
