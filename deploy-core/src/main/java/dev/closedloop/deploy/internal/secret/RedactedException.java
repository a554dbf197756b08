package dev.closedloop.deploy.internal.secret;

import dev.closedloop.deploy.secret.Redactor;

/**
 * An exception of a cause chain as it was, less its secrets: its message names the original's
 * class, and it carries the original's stack trace. Made by {@link Redactor#redactChain}.
 */
public final class RedactedException extends RuntimeException {

  private final String text;

  public RedactedException(String text) {
    super(text); // the cause is set afterwards, by initCause
    this.text = text;
  }

  @Override
  public String toString() {
    return text;
  }
}
