package dev.closedloop.deploy.secret;

/**
 * An exception of a cause chain as it was, less its secrets: its message names the original's
 * class, and it carries the original's stack trace. Made by {@link Redactor#redactChain}.
 */
final class RedactedException extends RuntimeException {

  private final String text;

  RedactedException(String text) {
    super(text); // the cause is set afterwards, by initCause
    this.text = text;
  }

  @Override
  public String toString() {
    return text;
  }
}
