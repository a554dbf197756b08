package dev.closedloop.deploy.guard;

/**
 * What the build says it is building: a branch, or a pull (merge) request, or nothing it can
 * tell. {@code source} names where that came from (a CI variable, git), for messages.
 */
public record Branch(String name, boolean pullRequest, String source) {

  public static Branch of(String name, String source) {
    return new Branch(name, false, source);
  }

  public static Branch pullRequest(String description, String source) {
    return new Branch(description, true, source);
  }

  public static Branch unknown(String source) {
    return new Branch(null, false, source);
  }

  public boolean isKnown() {
    return name != null && !name.isBlank();
  }
}
