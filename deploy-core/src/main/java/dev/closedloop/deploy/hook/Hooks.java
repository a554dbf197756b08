package dev.closedloop.deploy.hook;

import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** The hooks of a run, by point, in the order they were configured. Immutable: built when the configuration is loaded. */
public final class Hooks {

  public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);

  private static final Hooks NONE = new Hooks(Map.of(), DEFAULT_TIMEOUT);

  private final Map<HookPoint, List<Hook>> byPoint;
  private final Duration timeout;

  /**
   * @param byPoint the hooks of each point, in the order they run; copied
   * @param timeout how long each hook may run ({@code deploy.hookTimeout})
   */
  public Hooks(Map<HookPoint, List<Hook>> byPoint, Duration timeout) {
    Map<HookPoint, List<Hook>> copy = new EnumMap<>(HookPoint.class);
    byPoint.forEach((point, hooks) -> {
      if (!hooks.isEmpty()) { // a point with none is no hook: isEmpty() says so
        copy.put(Objects.requireNonNull(point, "point"), List.copyOf(hooks));
      }
    });
    this.byPoint = java.util.Collections.unmodifiableMap(copy);
    this.timeout = Objects.requireNonNull(timeout, "timeout");
  }

  /** No hooks. */
  public static Hooks none() {
    return NONE;
  }

  /** How long each hook may run ({@code deploy.hookTimeout}). */
  public Duration timeout() {
    return timeout;
  }

  public List<Hook> at(HookPoint point) {
    return byPoint.getOrDefault(point, List.of());
  }

  public boolean isEmpty() {
    return byPoint.isEmpty();
  }
}
