package dev.closedloop.deploy.guard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.closedloop.deploy.internal.guard.TestGit;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CiEnvironmentTest {

  @TempDir Path dir;

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "GITHUB_SHA, GitHub Actions",
      "CI_COMMIT_SHA, GitLab CI",
      "GIT_COMMIT, Jenkins",
      "CIRCLE_SHA1, CircleCI",
      "BUILDKITE_COMMIT, Buildkite",
      "BITBUCKET_COMMIT, Bitbucket Pipelines",
      "BUILD_SOURCEVERSION, Azure Pipelines",
      "TRAVIS_COMMIT, Travis CI"})
  void sha_comesFromTheCiSystemsCommitVariable(String variable, String system) {
    CiEnvironment ci = new CiEnvironment(Map.of(variable, "abc1234"), dir);

    assertThat(ci.sha()).as(system).contains("abc1234");
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource({
      "GITHUB_ACTIONS=true, GitHub Actions",
      "GITLAB_CI=true, GitLab CI",
      "JENKINS_URL=https://ci.example.com/, Jenkins",
      "CIRCLECI=true, CircleCI",
      "BUILDKITE=true, Buildkite",
      "BITBUCKET_BUILD_NUMBER=7, Bitbucket Pipelines",
      "TF_BUILD=True, Azure Pipelines",
      "TRAVIS=true, Travis CI",
      "CI=true, a CI system (CI=true)"})
  void system_isNamedByItsOwnMarkerVariable(String variable, String system) {
    String[] pair = variable.split("=", 2);

    assertThat(new CiEnvironment(Map.of(pair[0], pair[1]), dir).system()).contains(system);
    assertThat(new CiEnvironment(Map.of(), dir).system()).as("a local run").isEmpty();
  }

  @org.junit.jupiter.api.Test
  void sourceUrl_comesFromGitHubOrGitLab() {
    assertThat(new CiEnvironment(Map.of("GITHUB_SERVER_URL", "https://github.com", "GITHUB_REPOSITORY", "acme/shop"),
        dir).sourceUrl()).contains("https://github.com/acme/shop");
    assertThat(new CiEnvironment(Map.of("CI_PROJECT_URL", "https://gitlab.com/acme/shop"), dir).sourceUrl())
        .contains("https://gitlab.com/acme/shop");
    assertThat(new CiEnvironment(Map.of(), dir).sourceUrl()).isEmpty();
  }

  @org.junit.jupiter.api.Test
  void uncommittedChanges_areNamedByAHashOfTheDifference_underCiToo() throws Exception {
    TestGit.initWithOneCommit(dir, "main");
    CiEnvironment local = new CiEnvironment(Map.of(), dir);
    assertThat(local.sha()).hasValueSatisfying(sha -> assertThat(sha).matches("[0-9a-f]{40}"));
    assertThat(local.uncommittedDiff()).isEmpty();

    java.nio.file.Files.writeString(dir.resolve("a.txt"), "two");
    String first = local.uncommittedDiff().orElseThrow();
    java.nio.file.Files.writeString(dir.resolve("a.txt"), "three");

    assertThat(first).matches("[0-9a-f]{12}");
    assertThat(local.uncommittedDiff()).as("another difference, another name").isPresent().get()
        .isNotEqualTo(first);
    assertThat(new CiEnvironment(Map.of("GITHUB_SHA", "abc1234"), dir).uncommittedDiff())
        .as("a build step that rewrote a tracked file, under CI").isPresent();
  }

  @org.junit.jupiter.api.Test
  void sha_outsideCiAndGit_isEmpty() {
    assertThat(new CiEnvironment(Map.of(), dir).sha()).isEmpty();
  }
}
