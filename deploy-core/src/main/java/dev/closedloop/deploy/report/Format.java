package dev.closedloop.deploy.report;

import dev.closedloop.deploy.DeployException;
import java.util.Locale;

/** How a goal that only reads prints what it found: {@code text} for a terminal, {@code json} for tools. */
public enum Format {
  TEXT, JSON;

  /**
   * Reads {@code text} or {@code json}; blank is text.
   *
   * @param setting the setting it came from, e.g. {@code historyFormat (deploy.historyFormat)}
   */
  public static Format parse(String text, String setting) {
    String value = text == null || text.isBlank() ? "text" : text.trim().toLowerCase(Locale.ROOT);
    return switch (value) {
      case "text" -> TEXT;
      case "json" -> JSON;
      default -> throw new DeployException(DeployException.Kind.CONFIGURATION, setting + " must be text or json;"
          + " got '" + text + "'");
    };
  }
}
