package dev.closedloop.deploy.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.guard.CiEnvironment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GitHubActionsTest {

  @TempDir Path dir;

  @Test
  void maskCommands_escapeWhatTheRunnerUnescapes_oneCommandPerLine() {
    assertThat(GitHubActions.maskCommands("pa%25ss\nsecond line\n"))
        .containsExactly("::add-mask::pa%2525ss", "::add-mask::second line");
  }

  @Test
  void maskSecrets_underGitHubActions_masksEverySecretTheReleaseKnows_andNothingOutsideIt() {
    List<String> out = new ArrayList<>();
    GitHubActions.maskSecrets(release(true), out::add);
    List<String> elsewhere = new ArrayList<>();
    GitHubActions.maskSecrets(release(false), elsewhere::add);

    assertThat(out).containsExactly("::add-mask::postgres://app:hunter2@127.0.0.1:1/shop", "::add-mask::hunter2");
    assertThat(elsewhere).isEmpty();
  }

  private Release release(boolean underGitHubActions) {
    Map<String, String> variables = new HashMap<>(Map.of("DATABASE_URL", "postgres://app:hunter2@127.0.0.1:1/shop"));
    if (underGitHubActions) {
      variables.put("GITHUB_ACTIONS", "true");
    }
    Release release = Release.configure().buildContext(dir).ciEnvironment(new CiEnvironment(variables, dir)).load();
    assertThat(release.redactor().secrets()).as("the run starts from its configuration's secrets")
        .isEqualTo(release.config().redactor().secrets());
    return release;
  }
}
