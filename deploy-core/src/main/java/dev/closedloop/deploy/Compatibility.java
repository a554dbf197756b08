package dev.closedloop.deploy;

import java.net.URI;
import java.time.Duration;
import java.util.List;

/**
 * The backward-compatibility proof: the image production runs now, against the migrated
 * throwaway database, with {@code env} ({@code NAME=value}, the connection's placeholders
 * filled in). It is started as a service until {@code healthUrl} answers 2xx, or runs
 * {@code command} to its end, or both (the command while the service runs); each wait ends
 * after {@code timeout}. Either of {@code command} and {@code healthUrl} may be null, not both.
 */
public record Compatibility(String command, List<String> env, URI healthUrl, Duration timeout) {

  public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);

  public Compatibility {
    env = List.copyOf(env);
    timeout = timeout == null ? DEFAULT_TIMEOUT : timeout;
    if (command == null && healthUrl == null) {
      throw new IllegalArgumentException("a compatibility check needs a command or a health URL");
    }
  }

  /** What the check does, for progress lines and the plan. */
  public String describe() {
    return describe(command, healthUrl == null ? null : healthUrl.toString());
  }

  /** What a check of {@code command} and {@code healthUrl}, either null, does. */
  public static String describe(String command, String healthUrl) {
    String service = healthUrl == null ? null : "start it and wait for " + healthUrl + " to answer 2xx";
    String run = command == null ? null : "run '" + command + "'" + (service == null ? "" : " while it serves");
    return service == null ? run : run == null ? service : service + ", then " + run;
  }
}
