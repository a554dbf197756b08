package dev.closedloop.deploy.guard;

/**
 * What the build says it is building: a branch, or a pull (merge) request, or nothing it can
 * tell. {@code source} names where that came from (a CI variable, git, a setting), for messages;
 * {@code fromCi} is true when a CI system's variables said it, which no setting can overrule.
 */
public record Branch(String name, boolean pullRequest, String source, boolean fromCi) {

  /** A branch named by a CI system's variable. */
  public static Branch of(String name, String source) {
    return new Branch(name, false, source, true);
  }

  /** A pull or merge request, as a CI system reports it. */
  public static Branch pullRequest(String description, String source) {
    return new Branch(description, true, source, true);
  }

  /** A CI build that is of no branch (a tag pipeline, say). */
  public static Branch unknown(String source) {
    return new Branch(null, false, source, true);
  }

  /** git's current branch, outside any CI system; null {@code name} for a detached HEAD. */
  public static Branch git(String name) {
    return new Branch(name, false, name != null ? "git" : "git (detached HEAD, or no repository)", false);
  }

  /** A branch named by a setting. */
  public static Branch named(String name, String setting) {
    return new Branch(name, false, setting, false);
  }

  public boolean isKnown() {
    return name != null && !name.isBlank();
  }
}
