package dev.closedloop.deploy.secret;

import dev.closedloop.deploy.internal.secret.RedactedException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Masks secrets in any text about to be shown: events, errors, reports. Immutable: a
 * configuration's redactor masks the secrets resolved when it was loaded, and a run masks those
 * and what it adds later (ECR's push token) with a redactor of its own ({@code Release.redactor()}).
 */
public final class Redactor {

  /** Shorter values would mask ordinary words and digits; they are not secrets worth the name. */
  private static final int MIN_LENGTH = 4;

  private static final Redactor NONE = new Redactor(List.of());

  /** Longest first: a URL is masked before the password inside it. */
  private final List<String> secrets;

  private Redactor(List<String> secrets) {
    this.secrets = secrets;
  }

  /** Masks nothing. */
  public static Redactor none() {
    return NONE;
  }

  /**
   * This redactor's secrets and {@code secret}; this one when {@code secret} is null, shorter than
   * four characters or known already.
   */
  public Redactor with(String secret) {
    if (secret == null || secret.length() < MIN_LENGTH || secrets.contains(secret)) {
      return this;
    }
    List<String> more = new ArrayList<>(secrets);
    more.add(secret);
    more.sort(Comparator.comparingInt(String::length).reversed());
    return new Redactor(List.copyOf(more));
  }

  /** The secrets it masks, longest first: for a CI system that masks them itself. */
  public List<String> secrets() {
    return secrets;
  }

  /**
   * A copy of {@code cause} and every cause and suppressed exception below it, with each message
   * redacted; class names and stack traces are kept, so a {@code -X} stack trace reads as the
   * original. Null for null.
   */
  public Throwable redactChain(Throwable cause) {
    return cause == null ? null : copy(cause, new IdentityHashMap<>());
  }

  private Throwable copy(Throwable original, Map<Throwable, Throwable> done) {
    Throwable known = done.get(original);
    if (known != null) {
      return known; // a cycle in the chain
    }
    String text = original.getClass().getName()
        + (original.getMessage() != null ? ": " + redact(original.getMessage()) : "");
    RedactedException copy = new RedactedException(text);
    done.put(original, copy);
    copy.setStackTrace(original.getStackTrace());
    if (original.getCause() != null && original.getCause() != original) {
      copy.initCause(copy(original.getCause(), done));
    }
    for (Throwable suppressed : original.getSuppressed()) {
      copy.addSuppressed(copy(suppressed, done));
    }
    return copy;
  }

  public String redact(String text) {
    if (text == null) {
      return null;
    }
    String result = text;
    for (String secret : secrets) {
      result = result.replace(secret, "****");
    }
    return result;
  }
}
