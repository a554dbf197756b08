package dev.closedloop.deploy;

/**
 * Receives the engine's events, in the order they happen. Listeners are called in the order
 * they were added, on the thread that runs the step, and must be thread-safe.
 */
@FunctionalInterface
public interface ReleaseListener {
  void on(ReleaseEvent event);
}
