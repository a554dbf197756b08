package dev.closedloop.deploy.internal.guard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.guard.Branch;
import dev.closedloop.deploy.guard.CiEnvironment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BranchGuardTest {

  @TempDir Path dir; // no git repository: only the variables speak

  /** Variables as "NAME=value;NAME=value". */
  private CiEnvironment ci(String variables) {
    Map<String, String> env = new LinkedHashMap<>();
    for (String pair : variables.split(";")) {
      if (!pair.isBlank()) {
        env.put(pair.substring(0, pair.indexOf('=')), pair.substring(pair.indexOf('=') + 1));
      }
    }
    return new CiEnvironment(env, dir);
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(delimiter = '|', textBlock = """
      GitHub Actions push            | GITHUB_ACTIONS=true;GITHUB_EVENT_NAME=push;GITHUB_REF=refs/heads/main                                 | main   | GITHUB_REF
      GitHub Actions dispatch        | GITHUB_ACTIONS=true;GITHUB_EVENT_NAME=workflow_dispatch;GITHUB_REF=refs/heads/master                  | master | GITHUB_REF
      GitLab CI branch pipeline      | GITLAB_CI=true;CI_COMMIT_BRANCH=main                                                                  | main   | CI_COMMIT_BRANCH
      Jenkins multibranch            | JENKINS_URL=http://ci;BRANCH_NAME=main                                                                | main   | BRANCH_NAME
      Jenkins Git plugin             | JENKINS_URL=http://ci;GIT_BRANCH=origin/main                                                          | main   | GIT_BRANCH
      CircleCI                       | CIRCLECI=true;CIRCLE_BRANCH=main                                                                      | main   | CIRCLE_BRANCH
      Buildkite                      | BUILDKITE=true;BUILDKITE_BRANCH=main;BUILDKITE_PULL_REQUEST=false                                     | main   | BUILDKITE_BRANCH
      Bitbucket Pipelines            | BITBUCKET_BUILD_NUMBER=7;BITBUCKET_BRANCH=master                                                      | master | BITBUCKET_BRANCH
      Azure Pipelines                | TF_BUILD=True;BUILD_REASON=IndividualCI;BUILD_SOURCEBRANCH=refs/heads/main                            | main   | BUILD_SOURCEBRANCH
      Travis CI push                 | TRAVIS=true;TRAVIS_PULL_REQUEST=false;TRAVIS_BRANCH=main                                              | main   | TRAVIS_BRANCH
      """)
  void check_allowsTheDefaultBranchesInEveryCi(String system, String variables, String branch, String source) {
    BranchGuard.Decision decision = new BranchGuard(List.of(), true).check(null, ci(variables));

    assertThat(decision.branch()).as(system).isEqualTo(branch);
    assertThat(decision.source()).isEqualTo(source);
    assertThat(decision.overridden()).isFalse();
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(delimiter = '|', textBlock = """
      GitHub Actions pull_request    | GITHUB_ACTIONS=true;GITHUB_EVENT_NAME=pull_request;GITHUB_REF=refs/pull/9/merge;GITHUB_HEAD_REF=feature/x;GITHUB_BASE_REF=main | pull request 'feature/x -> main' (GitHub Actions pull_request event)
      GitHub Actions pr target       | GITHUB_ACTIONS=true;GITHUB_EVENT_NAME=pull_request_target;GITHUB_REF=refs/heads/main;GITHUB_HEAD_REF=fork;GITHUB_BASE_REF=main | pull request 'fork -> main' (GitHub Actions pull_request_target event)
      GitLab merge request           | GITLAB_CI=true;CI_MERGE_REQUEST_IID=4;CI_MERGE_REQUEST_SOURCE_BRANCH_NAME=feature/x;CI_MERGE_REQUEST_TARGET_BRANCH_NAME=main | pull request 'feature/x -> main' (GitLab CI merge request pipeline)
      Jenkins change request         | JENKINS_URL=http://ci;CHANGE_ID=12;BRANCH_NAME=PR-12;CHANGE_BRANCH=feature/x;CHANGE_TARGET=main       | pull request 'feature/x -> main' (Jenkins change request (CHANGE_ID))
      CircleCI pull request          | CIRCLECI=true;CIRCLE_BRANCH=feature/x;CIRCLE_PULL_REQUEST=https://github.com/a/b/pull/3              | pull request 'feature/x' (CircleCI pull request)
      Buildkite pull request         | BUILDKITE=true;BUILDKITE_BRANCH=feature/x;BUILDKITE_PULL_REQUEST=5;BUILDKITE_PULL_REQUEST_BASE_BRANCH=main | pull request 'feature/x -> main' (Buildkite pull request 5)
      Bitbucket pull request         | BITBUCKET_BUILD_NUMBER=7;BITBUCKET_BRANCH=feature/x;BITBUCKET_PR_ID=2;BITBUCKET_PR_DESTINATION_BRANCH=main | pull request 'feature/x -> main' (Bitbucket Pipelines pull request)
      Azure pull request             | TF_BUILD=True;BUILD_REASON=PullRequest;BUILD_SOURCEBRANCH=refs/pull/3/merge;SYSTEM_PULLREQUEST_SOURCEBRANCH=refs/heads/feature/x;SYSTEM_PULLREQUEST_TARGETBRANCH=refs/heads/main | pull request 'refs/heads/feature/x -> refs/heads/main' (Azure Pipelines pull request)
      Travis pull request            | TRAVIS=true;TRAVIS_PULL_REQUEST=8;TRAVIS_BRANCH=main;TRAVIS_PULL_REQUEST_BRANCH=feature/x              | pull request 'feature/x -> main' (Travis CI pull request 8)
      """)
  void check_refusesPullRequestBuilds_evenWhenTheyNameTheTargetBranch(String system, String variables, String what) {
    assertThatThrownBy(() -> new BranchGuard(List.of(), true).check(null, ci(variables)))
        .as(system)
        .isInstanceOfSatisfying(DeployException.class, e -> {
          assertThat(e.kind()).isEqualTo(DeployException.Kind.GUARD);
          assertThat(e.getMessage()).isEqualTo("Refusing to release from " + what + ": a pull-request build never"
              + " counts as its target branch. Release from the branch after merging");
        });
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(delimiter = '|', textBlock = """
      GitHub feature branch | GITHUB_ACTIONS=true;GITHUB_EVENT_NAME=push;GITHUB_REF=refs/heads/feature/x | branch 'feature/x' (GITHUB_REF)
      Jenkins origin branch | JENKINS_URL=http://ci;GIT_BRANCH=origin/feature/x                         | branch 'feature/x' (GIT_BRANCH)
      lookalike of main     | GITLAB_CI=true;CI_COMMIT_BRANCH=main-old                                   | branch 'main-old' (CI_COMMIT_BRANCH)
      """)
  void check_refusesOtherBranches_andNamesTheOverride(String name, String variables, String what) {
    assertThatThrownBy(() -> new BranchGuard(List.of(), true).check(null, ci(variables)))
        .hasMessage("Refusing to release from " + what + ": deploy.allowedBranches allows main, master. To debug"
            + " the deploy path from a branch, set deploy.branchGuard=off");
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(delimiter = '|', textBlock = """
      a GitHub tag push          | GITHUB_ACTIONS=true;GITHUB_EVENT_NAME=push;GITHUB_REF=refs/tags/v1.0 | GITHUB_REF=refs/tags/v1.0 (not a branch)
      a GitLab tag pipeline      | GITLAB_CI=true;CI_COMMIT_TAG=v1.0                                    | GitLab CI (no CI_COMMIT_BRANCH: a tag pipeline?)
      no CI, no git repository   | PATH=/usr/bin                                                        | git (detached HEAD, or no repository)
      """)
  void check_refusesWhenTheBranchCannotBeTold(String name, String variables, String source) {
    assertThatThrownBy(() -> new BranchGuard(List.of(), true).check(null, ci(variables)))
        .hasMessage("Refusing to release: cannot tell the branch (" + source + "). Check out the branch, or name"
            + " it with deploy.branch");
  }

  @Test
  void check_patternsMatchWithinAndAcrossPathSegments() {
    BranchGuard guard = new BranchGuard(List.of("main", "release/*", "hotfix/**"), true);
    CiEnvironment none = ci("");

    assertThat(guard.check("release/2026-11", none).branch()).isEqualTo("release/2026-11");
    assertThat(guard.check("hotfix/a/b", none).branch()).isEqualTo("hotfix/a/b");
    assertThatThrownBy(() -> guard.check("release/a/b", none)).hasMessageContaining("allows main, release/*, hotfix/**");
    assertThatThrownBy(() -> guard.check("mainline", none)).isInstanceOf(DeployException.class);
  }

  @Test
  void check_underCi_anExplicitBranchMustAgreeWithTheCi_andNeverTurnsAPullRequestIntoItsTarget() {
    BranchGuard guard = new BranchGuard(List.of(), true);

    assertThatThrownBy(() -> guard.check("main", ci("GITHUB_ACTIONS=true;GITHUB_EVENT_NAME=push;GITHUB_REF=refs/heads/feature/x")))
        .hasMessage("Refusing to release: deploy.branch says 'main' but the CI system builds branch 'feature/x'"
            + " (GITHUB_REF). Under CI, deploy.branch must agree with the CI's branch; to debug the deploy path"
            + " from another branch, set deploy.branchGuard=off");
    assertThatThrownBy(() -> guard.check("main", ci("GITHUB_ACTIONS=true;GITHUB_EVENT_NAME=pull_request;"
            + "GITHUB_HEAD_REF=feature/x;GITHUB_BASE_REF=main")))
        .hasMessage("Refusing to release from pull request 'feature/x -> main' (GitHub Actions pull_request event):"
            + " a pull-request build never counts as its target branch. Release from the branch after merging");
    assertThatThrownBy(() -> guard.check("main", ci("GITLAB_CI=true;CI_COMMIT_TAG=v1.0")))
        .hasMessageStartingWith("Refusing to release: deploy.branch says 'main' but the CI system builds an unknown"
            + " branch (GitLab CI (no CI_COMMIT_BRANCH: a tag pipeline?))");

    BranchGuard.Decision agreeing = guard.check("main", ci("GITLAB_CI=true;CI_COMMIT_BRANCH=main"));
    assertThat(agreeing.branch()).isEqualTo("main");
    assertThat(agreeing.source()).isEqualTo("CI_COMMIT_BRANCH");
  }

  @Test
  void check_outsideCi_anExplicitBranchIsTheBranch() {
    BranchGuard.Decision decision = new BranchGuard(List.of(), true).check("main", ci(""));

    assertThat(decision.branch()).isEqualTo("main");
    assertThat(decision.source()).isEqualTo("deploy.branch");
  }

  @Test
  void check_whenOff_letsAnyBranchThrough_withALoudWarningAndTheOverrideMarked() {
    BranchGuard.Decision decision = new BranchGuard(List.of(), false).check(null,
        ci("GITHUB_ACTIONS=true;GITHUB_EVENT_NAME=pull_request;GITHUB_HEAD_REF=feature/x;GITHUB_BASE_REF=main"));

    assertThat(decision.overridden()).isTrue();
    assertThat(decision.warning()).isEqualTo("BRANCH GUARD OFF (deploy.branchGuard=off): releasing to production"
        + " from pull request 'feature/x -> main' (GitHub Actions pull_request event). This is recorded in the"
        + " ledger; turn the guard back on after debugging.");
  }

  @Test
  void enabled_readsOnAndOff_andNamesTheSettingForAnythingElse() {
    assertThat(BranchGuard.enabled("on")).isTrue();
    assertThat(BranchGuard.enabled(" OFF ")).isFalse();
    assertThatThrownBy(() -> BranchGuard.enabled("of"))
        .hasMessage("branchGuard (deploy.branchGuard) is on or off; got 'of'");
  }

  @Test
  void branch_outsideCi_isGitsCurrentBranch_andDetachedHeadIsUnknown() throws Exception {
    TestGit.initWithOneCommit(dir, "trunk");

    assertThat(ci("").branch()).isEqualTo(Branch.git("trunk"));

    TestGit.git(dir, "checkout", "-q", "--detach");
    assertThat(ci("").branch().isKnown()).isFalse();
  }
}
