package dev.closedloop.deploy.guard;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** What the CI system (or, outside CI, git) says about the commit being released. */
public final class CiEnvironment {

  /** The commit variables of GitHub Actions, GitLab CI, Jenkins, CircleCI, Buildkite,
   * Bitbucket Pipelines, Azure Pipelines and Travis CI, in that order. */
  static final List<String> SHA_VARIABLES = List.of(
      "GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT", "CIRCLE_SHA1", "BUILDKITE_COMMIT",
      "BITBUCKET_COMMIT", "BUILD_SOURCEVERSION", "TRAVIS_COMMIT");

  /** The run-number variables of the same CI systems, in the same order. */
  static final List<String> RUN_NUMBER_VARIABLES = List.of(
      "GITHUB_RUN_NUMBER", "CI_PIPELINE_IID", "BUILD_NUMBER", "CIRCLE_BUILD_NUM", "BUILDKITE_BUILD_NUMBER",
      "BITBUCKET_BUILD_NUMBER", "BUILD_BUILDID", "TRAVIS_BUILD_NUMBER");

  /** Per system (in the order above), the variables that name what its run number counts within. */
  private static final String[][] RUN_SCOPES = {
      {"GITHUB_WORKFLOW_REF"}, {"CI_PROJECT_ID"}, {"JOB_NAME"}, {"CIRCLE_PROJECT_USERNAME", "CIRCLE_PROJECT_REPONAME"},
      {"BUILDKITE_PIPELINE_SLUG"}, {"BITBUCKET_REPO_FULL_NAME"}, {"SYSTEM_DEFINITIONID"}, {"TRAVIS_REPO_SLUG"}};

  private final Map<String, String> env;
  private final Path workDir;

  public CiEnvironment(Map<String, String> env, Path workDir) {
    this.env = Map.copyOf(env);
    this.workDir = workDir;
  }

  public static CiEnvironment current(Path workDir) {
    return new CiEnvironment(System.getenv(), workDir);
  }

  /** The directory git is asked about: the build context, in the project. */
  public Path workDir() {
    return workDir;
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
   * When tracked files differ from the commit checked out (under CI too: a build step that
   * rewrote one), a short hash of that difference, which names a build of it apart from the
   * commit's own; empty for a clean tree or outside a git repository.
   */
  public Optional<String> uncommittedDiff() {
    if (git("status", "--porcelain", "--untracked-files=no").isEmpty()) {
      return Optional.empty();
    }
    String diff = git("diff", "HEAD", "--binary").orElse("");
    try {
      byte[] hash = java.security.MessageDigest.getInstance("SHA-256").digest(diff.getBytes(StandardCharsets.UTF_8));
      return Optional.of(java.util.HexFormat.of().formatHex(hash).substring(0, 12));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The branch being built: from the CI system's variables (GitHub Actions, GitLab CI, Jenkins,
   * CircleCI, Buildkite, Bitbucket Pipelines, Azure Pipelines, Travis CI), else git's current
   * branch. A pull-request build is reported as one, never as its target branch.
   */
  public Branch branch() {
    if ("true".equals(env.get("GITHUB_ACTIONS"))) {
      String event = env.getOrDefault("GITHUB_EVENT_NAME", "");
      if (event.startsWith("pull_request")) {
        return Branch.pullRequest(env.getOrDefault("GITHUB_HEAD_REF", "?") + " -> "
            + env.getOrDefault("GITHUB_BASE_REF", "?"), "GitHub Actions " + event + " event");
      }
      return headsRef(env.get("GITHUB_REF"), "GITHUB_REF");
    }
    if ("true".equals(env.get("GITLAB_CI"))) {
      if (present("CI_MERGE_REQUEST_IID")) {
        return Branch.pullRequest(env.getOrDefault("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "?") + " -> "
            + env.getOrDefault("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "?"), "GitLab CI merge request pipeline");
      }
      return present("CI_COMMIT_BRANCH") ? Branch.of(env.get("CI_COMMIT_BRANCH"), "CI_COMMIT_BRANCH")
          : Branch.unknown("GitLab CI (no CI_COMMIT_BRANCH: a tag pipeline?)");
    }
    if (present("JENKINS_URL")) {
      if (present("CHANGE_ID")) {
        return Branch.pullRequest(env.getOrDefault("CHANGE_BRANCH", "?") + " -> "
            + env.getOrDefault("CHANGE_TARGET", "?"), "Jenkins change request (CHANGE_ID)");
      }
      if (present("BRANCH_NAME")) {
        return Branch.of(env.get("BRANCH_NAME"), "BRANCH_NAME");
      }
      if (present("GIT_BRANCH")) { // the Git plugin names the remote: origin/main
        String branch = env.get("GIT_BRANCH").replaceFirst("^refs/heads/", "").replaceFirst("^(refs/remotes/)?[^/]+/", "");
        return Branch.of(branch, "GIT_BRANCH");
      }
    }
    if ("true".equals(env.get("CIRCLECI"))) {
      if (present("CIRCLE_PULL_REQUEST") || present("CIRCLE_PR_NUMBER")) {
        return Branch.pullRequest(env.getOrDefault("CIRCLE_BRANCH", "?"), "CircleCI pull request");
      }
      return present("CIRCLE_BRANCH") ? Branch.of(env.get("CIRCLE_BRANCH"), "CIRCLE_BRANCH")
          : Branch.unknown("CircleCI (no CIRCLE_BRANCH: a tag build?)");
    }
    if ("true".equals(env.get("BUILDKITE"))) {
      String pr = env.getOrDefault("BUILDKITE_PULL_REQUEST", "false");
      if (!pr.isBlank() && !pr.equals("false")) {
        return Branch.pullRequest(env.getOrDefault("BUILDKITE_BRANCH", "?") + " -> "
            + env.getOrDefault("BUILDKITE_PULL_REQUEST_BASE_BRANCH", "?"), "Buildkite pull request " + pr);
      }
      return present("BUILDKITE_BRANCH") ? Branch.of(env.get("BUILDKITE_BRANCH"), "BUILDKITE_BRANCH")
          : Branch.unknown("Buildkite");
    }
    if (present("BITBUCKET_BUILD_NUMBER")) {
      if (present("BITBUCKET_PR_ID")) {
        return Branch.pullRequest(env.getOrDefault("BITBUCKET_BRANCH", "?") + " -> "
            + env.getOrDefault("BITBUCKET_PR_DESTINATION_BRANCH", "?"), "Bitbucket Pipelines pull request");
      }
      return present("BITBUCKET_BRANCH") ? Branch.of(env.get("BITBUCKET_BRANCH"), "BITBUCKET_BRANCH")
          : Branch.unknown("Bitbucket Pipelines (no BITBUCKET_BRANCH: a tag build?)");
    }
    if ("True".equalsIgnoreCase(env.get("TF_BUILD"))) {
      if ("PullRequest".equals(env.get("BUILD_REASON"))) {
        return Branch.pullRequest(env.getOrDefault("SYSTEM_PULLREQUEST_SOURCEBRANCH", "?") + " -> "
            + env.getOrDefault("SYSTEM_PULLREQUEST_TARGETBRANCH", "?"), "Azure Pipelines pull request");
      }
      return headsRef(env.get("BUILD_SOURCEBRANCH"), "BUILD_SOURCEBRANCH");
    }
    if ("true".equals(env.get("TRAVIS"))) {
      // On a pull request TRAVIS_BRANCH is the target branch: exactly what must not count.
      String pr = env.getOrDefault("TRAVIS_PULL_REQUEST", "false");
      if (!pr.equals("false")) {
        return Branch.pullRequest(env.getOrDefault("TRAVIS_PULL_REQUEST_BRANCH", "?") + " -> "
            + env.getOrDefault("TRAVIS_BRANCH", "?"), "Travis CI pull request " + pr);
      }
      return present("TRAVIS_BRANCH") ? Branch.of(env.get("TRAVIS_BRANCH"), "TRAVIS_BRANCH") : Branch.unknown("Travis CI");
    }
    return Branch.git(git("symbolic-ref", "--short", "-q", "HEAD").orElse(null));
  }

  private static Branch headsRef(String ref, String variable) {
    if (ref != null && ref.startsWith("refs/heads/")) {
      return Branch.of(ref.substring("refs/heads/".length()), variable);
    }
    return Branch.unknown(variable + "=" + ref + " (not a branch)");
  }

  private boolean present(String name) {
    String value = env.get(name);
    return value != null && !value.isBlank();
  }

  /** The CI system this runs under, by its own marker variable; empty outside CI. */
  public Optional<String> system() {
    if ("true".equals(env.get("GITHUB_ACTIONS"))) {
      return Optional.of("GitHub Actions");
    }
    if ("true".equals(env.get("GITLAB_CI"))) {
      return Optional.of("GitLab CI");
    }
    if (present("JENKINS_URL")) {
      return Optional.of("Jenkins");
    }
    if ("true".equals(env.get("CIRCLECI"))) {
      return Optional.of("CircleCI");
    }
    if ("true".equals(env.get("BUILDKITE"))) {
      return Optional.of("Buildkite");
    }
    if (present("BITBUCKET_BUILD_NUMBER")) {
      return Optional.of("Bitbucket Pipelines");
    }
    if ("True".equalsIgnoreCase(env.get("TF_BUILD"))) {
      return Optional.of("Azure Pipelines");
    }
    if ("true".equals(env.get("TRAVIS"))) {
      return Optional.of("Travis CI");
    }
    return "true".equalsIgnoreCase(env.get("CI")) ? Optional.of("a CI system (CI=true)") : Optional.empty();
  }

  /** The address of this CI run, for the ledger: where to read what happened. */
  public Optional<String> runUrl() {
    if (present("GITHUB_RUN_ID") && present("GITHUB_REPOSITORY")) {
      return Optional.of(env.getOrDefault("GITHUB_SERVER_URL", "https://github.com") + "/"
          + env.get("GITHUB_REPOSITORY") + "/actions/runs/" + env.get("GITHUB_RUN_ID"));
    }
    for (String name : List.of("CI_JOB_URL", "BUILD_URL", "CIRCLE_BUILD_URL", "BUILDKITE_BUILD_URL",
        "TRAVIS_BUILD_WEB_URL")) {
      if (present(name)) {
        return Optional.of(env.get(name));
      }
    }
    if (present("SYSTEM_COLLECTIONURI") && present("SYSTEM_TEAMPROJECT") && present("BUILD_BUILDID")) {
      return Optional.of(env.get("SYSTEM_COLLECTIONURI") + env.get("SYSTEM_TEAMPROJECT")
          + "/_build/results?buildId=" + env.get("BUILD_BUILDID"));
    }
    if (present("BITBUCKET_GIT_HTTP_ORIGIN") && present("BITBUCKET_BUILD_NUMBER")) {
      return Optional.of(env.get("BITBUCKET_GIT_HTTP_ORIGIN") + "/addon/pipelines/home#!/results/"
          + env.get("BITBUCKET_BUILD_NUMBER"));
    }
    return Optional.empty();
  }

  /** The environment's variables, for settings that default to one (DATABASE_URL) or name one (env:). */
  public Map<String, String> variables() {
    return env;
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

  /**
   * The CI system's run number, which grows with every run of the pipeline: GitHub Actions,
   * GitLab CI, Jenkins, CircleCI, Buildkite, Bitbucket Pipelines, Azure Pipelines, Travis CI.
   * Orders releases when git history cannot.
   */
  public Optional<Long> runNumber() {
    return runCounter().map(i -> Long.parseLong(env.get(RUN_NUMBER_VARIABLES.get(i)).trim()));
  }

  /**
   * What the run number counts within (the workflow, job, project or pipeline of the same CI
   * system), so that numbers of different counters are never compared.
   */
  public Optional<String> runScope() {
    return runCounter().map(i -> {
      StringBuilder value = new StringBuilder();
      for (String name : RUN_SCOPES[i]) {
        value.append(value.length() > 0 ? "/" : "").append(env.getOrDefault(name, ""));
      }
      // GitHub counts runs per workflow, whatever ref started them: the ref is no part of it
      return value.toString().replaceFirst("@.*$", "");
    });
  }

  /** Which CI system's run number this is: its index in {@link #RUN_NUMBER_VARIABLES}. */
  private Optional<Integer> runCounter() {
    for (int i = 0; i < RUN_NUMBER_VARIABLES.size(); i++) {
      String value = env.get(RUN_NUMBER_VARIABLES.get(i));
      if (value != null && value.trim().matches("\\d{1,18}")) {
        return Optional.of(i);
      }
    }
    return Optional.empty();
  }

  /**
   * The commits before {@code sha} (itself first) that the local history holds, newest first, at
   * most {@code max}; empty without a repository. A shallow clone holds only its depth.
   */
  public List<String> ancestry(String sha, int max) {
    return git("rev-list", "--max-count=" + max, sha)
        .map(out -> List.of(out.split("\\s+"))).orElse(List.of());
  }

  /**
   * Whether {@code ancestor} is an ancestor of (or equal to) {@code descendant} in the local git
   * history; empty when git cannot tell: no repository, or a commit it does not have (a shallow
   * clone holds only the newest commits).
   */
  public Optional<Boolean> isAncestor(String ancestor, String descendant) {
    int exit = gitExit("merge-base", "--is-ancestor", ancestor, descendant);
    return exit == 0 ? Optional.of(true) : exit == 1 ? Optional.of(false) : Optional.empty();
  }

  /** git's exit code, or -1 when it could not run. */
  private int gitExit(String... args) {
    try {
      Process process = new ProcessBuilder(gitCommand(args)).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        return -1;
      }
      return process.exitValue();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private String[] gitCommand(String... args) {
    String[] command = new String[args.length + 3];
    command[0] = "git";
    command[1] = "-C";
    command[2] = workDir.toString();
    System.arraycopy(args, 0, command, 3, args.length);
    return command;
  }

  private Optional<String> git(String... args) {
    String[] command = gitCommand(args);
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
