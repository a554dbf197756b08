package dev.closedloop.deploy.secret;

import dev.closedloop.deploy.internal.secret.RedactedException;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Masks every secret a release resolved in any text it is about to show: events, errors,
 * reports. A secret is registered before its first use.
 */
public final class Redactor {

  /** Shorter values would mask ordinary words and digits; they are not secrets worth the name. */
  private static final int MIN_LENGTH = 4;

  private final List<String> secrets = new CopyOnWriteArrayList<>();

  public void register(String secret) {
    java.util.function.Consumer<String> tell;
    synchronized (this) {
      if (secret == null || secret.length() < MIN_LENGTH || secrets.contains(secret)) {
        return;
      }
      secrets.add(secret);
      secrets.sort(Comparator.comparingInt(String::length).reversed()); // longest first: a URL before its password
      tell = onRegister;
    }
    if (tell != null) {
      tell.accept(secret);
    }
  }

  private java.util.function.Consumer<String> onRegister;

  /**
   * Tells {@code consumer} every secret registered so far, then each one as it is registered (a
   * registry token fetched in the middle of a build, say): for a CI system that masks secrets.
   */
  public void onRegister(java.util.function.Consumer<String> consumer) {
    List<String> known;
    synchronized (this) {
      onRegister = consumer;
      known = List.copyOf(secrets);
    }
    known.forEach(consumer);
  }

  /** The secrets registered so far, longest first: for a CI system that masks them itself. */
  public List<String> secrets() {
    return List.copyOf(secrets);
  }

  /**
   * A copy of {@code cause} and every cause and suppressed exception below it, with each message
   * redacted; class names and stack traces are kept, so a {@code -X} stack trace reads as the
   * original. Null for null.
   */
  public Throwable redactChain(Throwable cause) {
    return cause == null ? null : copy(cause, new java.util.IdentityHashMap<>());
  }

  private Throwable copy(Throwable original, java.util.Map<Throwable, Throwable> done) {
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
