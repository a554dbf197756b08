package dev.closedloop.deploy.hook;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.internal.hook.CommandHook;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/** The hooks of a run, by point, in the order they were configured. */
public final class Hooks {

  public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);

  private final Map<HookPoint, List<Hook>> byPoint = new EnumMap<>(HookPoint.class);
  private Duration timeout = DEFAULT_TIMEOUT;

  /** How long each hook may run ({@code deploy.hookTimeout}). */
  public Duration timeout() {
    return timeout;
  }

  public Hooks add(HookPoint point, Hook hook) {
    byPoint.computeIfAbsent(point, p -> new ArrayList<>()).add(hook);
    return this;
  }

  public List<Hook> at(HookPoint point) {
    return List.copyOf(byPoint.getOrDefault(point, List.of()));
  }

  public boolean isEmpty() {
    return byPoint.isEmpty();
  }

  /**
   * Reads {@code deploy.hooks} entries, each {@code <point>=<command>}, e.g.
   * {@code post-promote=./notify.sh}; problems are added to {@code problems}, one line each.
   */
  public static Hooks parse(List<String> entries, Duration timeout, Path directory, List<String> problems) {
    Hooks hooks = new Hooks();
    hooks.timeout = timeout;
    for (String entry : entries) {
      if (entry == null || entry.isBlank()) {
        continue;
      }
      int equals = entry.indexOf('=');
      String setting = "hooks (deploy.hooks)";
      if (equals < 0) {
        problems.add(setting + ": '" + entry + "' is not <point>=<command>, e.g. post-promote=./notify.sh");
        continue;
      }
      String command = entry.substring(equals + 1).trim();
      try {
        HookPoint point = HookPoint.parse(entry.substring(0, equals), setting);
        if (command.isEmpty()) {
          problems.add(setting + ": the " + point + " hook has no command");
          continue;
        }
        hooks.add(point, new CommandHook(command, directory, timeout));
      } catch (DeployException e) {
        problems.add(e.getMessage());
      }
    }
    return hooks;
  }
}
