package dev.closedloop.deploy.internal.guard;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.guard.Branch;
import dev.closedloop.deploy.guard.CiEnvironment;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Lets production be touched only from allowed branches (default {@code main} and
 * {@code master}; {@code *} matches within a path segment, {@code **} across). A pull-request
 * build never counts as its target branch, and a build whose branch cannot be told is refused.
 * Turned off, it lets any branch through and says so loudly; the release records that.
 */
public final class BranchGuard {

  public static final List<String> DEFAULT_ALLOWED = List.of("main", "master");

  /** What the guard let through. {@code overridden} is true when it was off. */
  public record Decision(String branch, String source, boolean overridden, String warning) {}

  private final List<String> allowed;
  private final List<Pattern> patterns;
  private final boolean enabled;

  public BranchGuard(List<String> allowed, boolean enabled) {
    this.allowed = List.copyOf(allowed.isEmpty() ? DEFAULT_ALLOWED : allowed);
    this.patterns = this.allowed.stream().map(BranchGuard::glob).toList();
    this.enabled = enabled;
  }

  /**
   * @param explicit the branch named by the {@code branch} setting, or null to ask {@code ci}. A
   *     CI system's word wins: under one, the setting must agree with the branch it builds.
   * @throws DeployException of kind GUARD when the branch may not release
   */
  public Decision check(String explicit, CiEnvironment ci) {
    Branch detected = ci.branch();
    boolean named = explicit != null && !explicit.isBlank();
    Branch branch = named && !detected.fromCi() ? Branch.named(explicit.trim(), "deploy.branch") : detected;
    String what = branch.isKnown() ? (branch.pullRequest() ? "pull request " : "branch ") + "'" + branch.name() + "'"
        : "an unknown branch";
    if (!enabled) {
      String warning = "BRANCH GUARD OFF (deploy.branchGuard=off): releasing to production from " + what
          + " (" + branch.source() + "). This is recorded in the ledger; turn the guard back on after debugging.";
      return new Decision(branch.name(), branch.source(), true, warning);
    }
    if (named && detected.fromCi() && !detected.pullRequest()
        && (!detected.isKnown() || !detected.name().equals(explicit.trim()))) {
      throw refuse("Refusing to release: deploy.branch says '" + explicit.trim() + "' but the CI system builds "
          + what + " (" + branch.source() + "). Under CI, deploy.branch must agree with the CI's branch; to debug"
          + " the deploy path from another branch, set deploy.branchGuard=off");
    }
    if (branch.pullRequest()) {
      throw refuse("Refusing to release from " + what + " (" + branch.source() + "): a pull-request build never"
          + " counts as its target branch. Release from the branch after merging");
    }
    if (!branch.isKnown()) {
      throw refuse("Refusing to release: cannot tell the branch (" + branch.source() + "). Check out the branch,"
          + " or name it with deploy.branch");
    }
    if (patterns.stream().noneMatch(p -> p.matcher(branch.name()).matches())) {
      throw refuse("Refusing to release from " + what + " (" + branch.source() + "): deploy.allowedBranches allows "
          + String.join(", ", allowed) + ". To debug the deploy path from a branch, set deploy.branchGuard=off");
    }
    return new Decision(branch.name(), branch.source(), false, null);
  }

  /** Reads the {@code branchGuard} setting: {@code on} or {@code off}, nothing else. */
  public static boolean enabled(String setting) {
    String value = setting == null ? "on" : setting.trim().toLowerCase(java.util.Locale.ROOT);
    if (!value.equals("on") && !value.equals("off")) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "branchGuard (deploy.branchGuard) is on or off;"
          + " got '" + setting + "'");
    }
    return value.equals("on");
  }

  private static DeployException refuse(String message) {
    return new DeployException(DeployException.Kind.GUARD, message);
  }

  private static Pattern glob(String glob) {
    String regex = Pattern.compile("\\*\\*|\\*|[^*]+").matcher(glob).results()
        .map(m -> switch (m.group()) {
          case "**" -> ".*";
          case "*" -> "[^/]*";
          default -> Pattern.quote(m.group());
        })
        .collect(Collectors.joining());
    return Pattern.compile(regex);
  }
}
