package dev.closedloop.deploy.internal.guard;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A real git repository in a test's directory. */
public final class TestGit {

  private TestGit() {}

  /** A repository on {@code branch} with one commit of a.txt. */
  public static void initWithOneCommit(Path dir, String branch) throws Exception {
    git(dir, "init", "-q", "-b", branch);
    Files.writeString(dir.resolve("a.txt"), "one");
    git(dir, "add", "a.txt");
    git(dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "one");
  }

  public static void git(Path dir, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("git", "-C", dir.toString()));
    command.addAll(List.of(args));
    assertThat(new ProcessBuilder(command).inheritIO().start().waitFor()).isZero();
  }
}
