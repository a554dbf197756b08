package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.StepResult;
import dev.closedloop.deploy.hook.HookRun;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the steps of one run produced, each value under its step's typed key: a step returns its
 * value and the {@link StepRunner} stores it here; later steps read it. Steps never write here.
 * Also the ordered results of the steps and of the hooks, which the runner records.
 */
public final class RunState {

  /**
   * The name of a value a step produces, typed: {@code BuildStep.IMAGE} holds a {@code BuiltImage}.
   * Keys are compared by identity: each is one constant.
   *
   * @param <T> the value's type
   */
  public static final class Key<T> {
    private final String name;

    public Key(String name) {
      this.name = name;
    }

    @Override
    public String toString() {
      return name;
    }
  }

  private final Map<Key<?>, Object> values = new ConcurrentHashMap<>();
  private final List<StepResult> results = new ArrayList<>();
  private final List<HookRun> hookRuns = new ArrayList<>();

  /** The value under {@code key}, once the step that produces it returned it. */
  @SuppressWarnings("unchecked") // put() takes only a T for a Key<T>
  public <T> Optional<T> get(Key<T> key) {
    return Optional.ofNullable((T) values.get(key));
  }

  <T> void put(Key<T> key, T value) {
    if (value != null) {
      values.put(key, value);
    }
  }

  /** Every step's result so far, in the order they ended. */
  public synchronized List<StepResult> results() {
    return List.copyOf(results);
  }

  synchronized void add(StepResult result) {
    results.add(result);
  }

  /** The hooks that ran so far, in order. */
  public synchronized List<HookRun> hookRuns() {
    return List.copyOf(hookRuns);
  }

  synchronized void add(HookRun run) {
    hookRuns.add(run);
  }
}
