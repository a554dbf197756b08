package dev.closedloop.deploy;

import java.time.Duration;

/** What the engine tells its listeners. The core never prints; listeners decide where it goes. */
public sealed interface ReleaseEvent {

  /** The level a log line would have. */
  enum Level {
    DEBUG,
    INFO,
    WARN
  }

  record StepStarted(Step step) implements ReleaseEvent {}

  record StepFinished(Step step, Duration duration, String summary) implements ReleaseEvent {}

  record StepFailed(Step step, Duration duration, String message) implements ReleaseEvent {}

  /** One line of progress of long work (a build step, a pushed layer, an applied migration). */
  record Progress(Step step, String message) implements ReleaseEvent {}

  record Log(Level level, String message) implements ReleaseEvent {}
}
