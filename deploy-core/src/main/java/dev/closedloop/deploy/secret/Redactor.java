package dev.closedloop.deploy.secret;

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
    if (secret != null && secret.length() >= MIN_LENGTH && !secrets.contains(secret)) {
      secrets.add(secret);
      secrets.sort(Comparator.comparingInt(String::length).reversed()); // longest first: a URL before its password
    }
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
