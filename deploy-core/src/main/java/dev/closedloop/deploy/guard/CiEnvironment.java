package dev.closedloop.deploy.guard;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * What the CI system (or, outside CI, git) says about the commit being released. The branch and
 * run URL arrive with the branch guard.
 */
public final class CiEnvironment {

  /** The commit variables of GitHub Actions, GitLab CI, Jenkins, CircleCI, Buildkite,
   * Bitbucket Pipelines, Azure Pipelines and Travis CI, in that order. */
  static final List<String> SHA_VARIABLES = List.of(
      "GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT", "CIRCLE_SHA1", "BUILDKITE_COMMIT",
      "BITBUCKET_COMMIT", "BUILD_SOURCEVERSION", "TRAVIS_COMMIT");

  private final Map<String, String> env;
  private final Path workDir;

  public CiEnvironment(Map<String, String> env, Path workDir) {
    this.env = Map.copyOf(env);
    this.workDir = workDir;
  }

  public static CiEnvironment current(Path workDir) {
    return new CiEnvironment(System.getenv(), workDir);
  }

  /** The commit SHA from the CI variables, else from {@code git rev-parse HEAD}. */
  public Optional<String> sha() {
    return shaFromCi().or(() -> git("rev-parse", "HEAD"));
  }

  private Optional<String> shaFromCi() {
    for (String name : SHA_VARIABLES) {
      String value = env.get(name);
      if (value != null && !value.isBlank()) {
        return Optional.of(value.trim());
      }
    }
    return Optional.empty();
  }

  /**
   * True when the SHA comes from git and tracked files differ from that commit: an image built
   * now would not be what the SHA names.
   */
  public boolean uncommittedChanges() {
    return shaFromCi().isEmpty()
        && git("status", "--porcelain", "--untracked-files=no").isPresent();
  }

  /** The repository's web address from the CI variables (GitHub Actions, GitLab CI), if any. */
  public Optional<String> sourceUrl() {
    String server = env.get("GITHUB_SERVER_URL");
    String repository = env.get("GITHUB_REPOSITORY");
    if (server != null && repository != null) {
      return Optional.of(server + "/" + repository);
    }
    return Optional.ofNullable(env.get("CI_PROJECT_URL"));
  }

  private Optional<String> git(String... args) {
    String[] command = new String[args.length + 3];
    command[0] = "git";
    command[1] = "-C";
    command[2] = workDir.toString();
    System.arraycopy(args, 0, command, 3, args.length);
    try {
      Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
      String out;
      try (InputStream in = process.getInputStream()) {
        out = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
      }
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        return Optional.empty();
      }
      return process.exitValue() == 0 && !out.isEmpty() ? Optional.of(out) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty(); // no git on this machine: same as no repository
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }
}
