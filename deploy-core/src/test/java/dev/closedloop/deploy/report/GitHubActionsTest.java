package dev.closedloop.deploy.report;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class GitHubActionsTest {

  @Test
  void maskCommands_escapeWhatTheRunnerUnescapes_oneCommandPerLine() {
    assertThat(GitHubActions.maskCommands("pa%25ss\nsecond line\n"))
        .containsExactly("::add-mask::pa%2525ss", "::add-mask::second line");
  }
}
