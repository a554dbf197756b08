package dev.closedloop.deploy.internal.lint;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.database.Migrations;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The migrations' source directories in the git repository, and their files as a base commit has
 * them: what {@code deploy:lint} compares, with no production at hand. A {@code classpath:P}
 * location is the repository's directory whose path ends with {@code P} (under the project first),
 * so the files linted are the ones the pull request changed, not what a build last copied.
 */
public final class MigrationSources {

  private static final long GIT_TIMEOUT_SECONDS = 60;

  private final Path root;
  /** The work tree's directories, in the order of the locations; absolute. */
  private final List<Path> directories;

  private MigrationSources(Path root, List<Path> directories) {
    this.root = root;
    this.directories = List.copyOf(directories);
  }

  /**
   * The source directories of {@code migrations}, found from {@code workDir}'s repository.
   *
   * @return empty when {@code workDir} is in no git repository (or git is not installed)
   * @throws DeployException of kind CONFIGURATION when a location has no directory, or several
   */
  public static Optional<MigrationSources> locate(Path workDir, Migrations migrations) {
    Path start = realPath(workDir.toAbsolutePath().normalize());
    Optional<String> top = gitText(start, "rev-parse", "--show-toplevel").map(String::strip)
        .filter(dir -> !dir.isEmpty());
    if (top.isEmpty()) {
      return Optional.empty();
    }
    Path root = realPath(Path.of(top.get()).toAbsolutePath().normalize());
    List<String> files = null;
    Set<Path> directories = new LinkedHashSet<>();
    for (String location : migrations.locations()) {
      if (location.startsWith("filesystem:")) {
        Path dir = Path.of(location.substring("filesystem:".length())).toAbsolutePath().normalize();
        Path real = realPath(dir);
        if (!real.startsWith(root)) {
          throw new DeployException(DeployException.Kind.CONFIGURATION, "deploy:lint reads the migrations' files"
              + " from git, and the location " + location + " (deploy.migrations) is outside the repository at " + root);
        }
        directories.add(real); // as git names the repository's top: a path through a symlink would not be under it
        continue;
      }
      String wanted = location.substring(location.indexOf(':') + 1).replaceAll("^/+|/+$", "");
      if (files == null) {
        files = git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").map(out ->
            List.of(out.split("\0"))).orElseThrow(() -> new DeployException(DeployException.Kind.CONFIGURATION,
                "Cannot list the files of the repository at " + root + " with git"));
      }
      directories.add(classpathDirectory(root, start, location, wanted, files));
    }
    return Optional.of(new MigrationSources(root, new ArrayList<>(directories)));
  }

  /** The one directory of {@code files} that ends with {@code wanted}: under the project's directory when any is. */
  private static Path classpathDirectory(Path root, Path project, String location, String wanted, List<String> files) {
    Set<Path> candidates = new LinkedHashSet<>();
    for (String file : files) {
      int slash = file.lastIndexOf('/');
      String dir = slash < 0 ? "" : file.substring(0, slash);
      if (dir.equals(wanted) || dir.endsWith("/" + wanted)) {
        candidates.add(root.resolve(dir).normalize());
      }
    }
    List<Path> inProject = candidates.stream().filter(dir -> dir.startsWith(project)).toList();
    List<Path> found = inProject.isEmpty() ? List.copyOf(candidates) : inProject;
    if (found.isEmpty()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "deploy:lint reads the migrations' files from"
          + " git, and no directory in the repository at " + root + " ends with " + wanted + " (deploy.migrations="
          + location + "). Migrations that come from a dependency are linted in the repository that has their files");
    }
    if (found.size() > 1) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "deploy:lint cannot tell which directory holds"
          + " the migrations of " + location + ": " + found.stream().map(dir -> root.relativize(dir).toString()).sorted().toList()
          + " all end with " + wanted + ". Run it in the module that has them, or name one with"
          + " -Ddeploy.migrations=filesystem:<dir>");
    }
    return found.get(0);
  }

  private static Path realPath(Path path) {
    try {
      return path.toRealPath();
    } catch (IOException e) {
      return path;
    }
  }

  /** The repository's top directory. */
  public Path root() {
    return root;
  }

  /** The source directories, absolute, in the order of the locations. */
  public List<Path> directories() {
    return directories;
  }

  /** The migrations as the work tree has them: the same tool and settings, read from the source directories. */
  public Migrations workTree(Migrations migrations) {
    return migrations.at(directories.stream().map(dir -> "filesystem:" + dir).toList());
  }

  /**
   * The path, from the repository's top, of migration {@code script} (relative to its location) in
   * the work tree; {@code script} itself when no directory has it.
   */
  public String pathOf(String script) {
    for (Path dir : directories) {
      Path file = dir.resolve(script);
      if (Files.isRegularFile(file)) {
        return root.relativize(file.normalize()).toString().replace('\\', '/');
      }
    }
    return script;
  }

  /**
   * The commit to lint against: {@code requested} when given, else where HEAD branched from the
   * default branch (the pull request's target branch under GitHub Actions and GitLab CI).
   *
   * @param env the CI variables ({@code GITHUB_BASE_REF}, {@code CI_MERGE_REQUEST_DIFF_BASE_SHA}…)
   * @return the commit's full SHA and how it was found
   * @throws DeployException of kind CONFIGURATION when no commit is found, naming a shallow clone when it is one
   */
  public Base base(String requested, Map<String, String> env) {
    if (requested != null && !requested.isBlank()) {
      String ref = requested.trim();
      return new Base(commit(ref).orElseThrow(() -> notFound("lintBase (deploy.lintBase) names no commit in this"
          + " repository: '" + ref + "'")), ref);
    }
    String mergeRequestBase = env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA");
    if (mergeRequestBase != null && !mergeRequestBase.isBlank()) {
      String sha = mergeRequestBase.trim();
      return new Base(commit(sha).orElseThrow(() -> notFound("The merge request's base " + sha
          + " (CI_MERGE_REQUEST_DIFF_BASE_SHA) is not in this clone")), "the merge request's base");
    }
    List<String> branches = new ArrayList<>();
    for (String variable : List.of("GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME")) {
      String branch = env.get(variable);
      if (branch != null && !branch.isBlank()) {
        branches.add("origin/" + branch.trim());
        branches.add(branch.trim());
      }
    }
    git(root, "symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD").map(String::strip).ifPresent(branches::add);
    String defaultBranch = env.get("CI_DEFAULT_BRANCH");
    if (defaultBranch != null && !defaultBranch.isBlank()) {
      branches.add("origin/" + defaultBranch.trim());
    }
    branches.addAll(List.of("origin/main", "origin/master", "main", "master"));
    for (String branch : branches) {
      if (commit(branch).isPresent()) {
        String mergeBase = git(root, "merge-base", "HEAD", branch).map(String::strip).orElseThrow(() -> notFound(
            "Cannot find where HEAD branched from " + branch));
        return new Base(mergeBase, "the merge base with " + branch);
      }
    }
    throw notFound("Cannot find the default branch to lint against (tried " + String.join(", ", new LinkedHashSet<>(
        branches)) + ")");
  }

  /** The commit to lint against, and how it was found ("the merge base with origin/main"). */
  public record Base(String sha, String source) {

    public String shortSha() {
      return sha.length() > 12 ? sha.substring(0, 12) : sha;
    }
  }

  private Optional<String> commit(String ref) {
    if (ref.startsWith("-")) { // an option, not a ref
      return Optional.empty();
    }
    return git(root, "rev-parse", "--verify", "--quiet", ref + "^{commit}").map(String::strip);
  }

  private DeployException notFound(String message) {
    boolean shallow = git(root, "rev-parse", "--is-shallow-repository").map(String::strip).orElse("")
        .equals("true");
    return new DeployException(DeployException.Kind.CONFIGURATION, message + (shallow ? ". This clone is shallow:"
        + " fetch the history (actions/checkout with fetch-depth: 0; GIT_DEPTH: 0 on GitLab)" : "")
        + ". Name the base with -Ddeploy.lintBase=<ref>");
  }

  /**
   * Writes the files of the source directories as commit {@code base} has them under {@code into},
   * one directory per location, and returns the migrations read from there.
   */
  public Migrations atCommit(Migrations migrations, Base base, Path into) {
    List<String> locations = new ArrayList<>();
    try {
      for (int i = 0; i < directories.size(); i++) {
        String dir = root.relativize(directories.get(i)).toString().replace('\\', '/');
        Path target = Files.createDirectories(into.resolve(String.valueOf(i)));
        // a directory the base does not have lists nothing; a failure is no empty base
        List<String> paths = git(root, "ls-tree", "-r", "-z", "--name-only", base.sha(), "--", dir.isEmpty() ? "."
            : dir).map(out -> List.of(out.split("\0"))).orElseThrow(() -> new DeployException(
                DeployException.Kind.CONFIGURATION, "Cannot list " + dir + " at " + base.shortSha() + " with git"));
        for (String path : paths) {
          if (path.isEmpty()) {
            continue;
          }
          String relative = dir.isEmpty() ? path : path.substring(dir.length() + 1);
          Path file = target.resolve(relative).normalize();
          if (!file.startsWith(target)) {
            continue; // git never names such a path; nothing is written outside
          }
          Files.createDirectories(file.getParent());
          Files.write(file, blob(base.sha() + ":" + path));
        }
        locations.add("filesystem:" + target);
      }
    } catch (IOException e) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "Cannot write the base's migrations to " + into
          + ": " + e.getMessage(), e);
    }
    return migrations.at(locations);
  }

  private byte[] blob(String object) {
    return gitBytes(root, "cat-file", "blob", object).orElseThrow(() -> new DeployException(
        DeployException.Kind.CONFIGURATION, "Cannot read " + object + " from git"));
  }

  private static Optional<String> git(Path dir, String... args) {
    return gitText(dir, args);
  }

  private static Optional<String> gitText(Path dir, String... args) {
    return gitBytes(dir, args).map(bytes -> new String(bytes, StandardCharsets.UTF_8));
  }

  /**
   * git's standard output when it exits 0; empty when it fails, is not installed, or takes longer
   * than a minute (it is stopped then).
   */
  private static Optional<byte[]> gitBytes(Path dir, String... args) {
    List<String> command = new ArrayList<>(List.of("git", "-C", dir.toString()));
    command.addAll(List.of(args));
    Process process;
    try {
      ProcessBuilder builder = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD);
      // a partial clone's fetch never waits on a terminal: not for a password, not for ssh
      builder.environment().put("GIT_TERMINAL_PROMPT", "0");
      builder.environment().putIfAbsent("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
      builder.environment().put("GCM_INTERACTIVE", "never");
      process = builder.start();
    } catch (IOException e) {
      return Optional.empty();
    }
    // read beside the wait, so that a git that hangs is stopped, not waited on forever
    CompletableFuture<byte[]> out = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try (InputStream stdout = process.getInputStream()) {
        out.complete(stdout.readAllBytes());
      } catch (IOException e) {
        out.complete(null);
      }
    }, "closedloop-git");
    reader.setDaemon(true);
    reader.start();
    try {
      process.getOutputStream().close(); // git reads nothing
      if (!process.waitFor(GIT_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        return Optional.empty();
      }
      byte[] bytes = out.get(GIT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      return process.exitValue() == 0 && bytes != null ? Optional.of(bytes) : Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    } catch (IOException | ExecutionException | TimeoutException e) {
      return Optional.empty();
    } finally {
      // gone already when it exited; stopped when it did not, with what it started (a fetch, ssh)
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
    }
  }
}
