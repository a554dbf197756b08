package dev.closedloop.deploy.internal;

import dev.closedloop.deploy.DeployException;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as people write them in settings. */
public final class Durations {

  private static final Pattern SHORT = Pattern.compile("(\\d+)\\s*(ms|s|m|h)");

  private Durations() {}

  /**
   * Reads {@code 30m}, {@code 90s}, {@code 1h}, {@code 500ms}, or ISO-8601 ({@code PT30M}).
   *
   * @param setting the setting it came from, named in the message when it is no duration
   * @throws DeployException of kind CONFIGURATION
   */
  public static Duration parse(String text, String setting) {
    Matcher m = SHORT.matcher(text == null ? "" : text.trim());
    try {
      if (m.matches()) {
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
          case "ms" -> Duration.ofMillis(n);
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          default -> Duration.ofHours(n);
        };
      }
      return Duration.parse(text.trim());
    } catch (RuntimeException e) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, setting + " '" + text
          + "' is not a duration: write e.g. 30m, 90s or 1h");
    }
  }

  /** Minutes and seconds for a message: "2m 05s", "40s", "350ms". */
  public static String format(Duration duration) {
    long millis = duration.toMillis();
    if (millis < 1000) {
      return millis + "ms";
    }
    long seconds = duration.toSeconds();
    return seconds < 60 ? seconds + "s" : String.format("%dm %02ds", seconds / 60, seconds % 60);
  }
}
