package dev.closedloop.deploy.maven;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The CI workflows in docs/ci, read as YAML: the classic build, test, deploy pipeline, with
 * test-migrate and the migration lint on every pull request (on GitHub without any secret or role,
 * so forks work), releases on main only (on GitHub to staging, then the same image to production
 * in the production environment), with a timeout, the whole history checked out, AWS reached
 * through OIDC, and one pipeline per change. Only goals that exist are called.
 */
class CiWorkflowsTest {

  private static final Path DOCS = Path.of("../docs/ci");

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object value) {
    assertThat(value).isInstanceOf(Map.class);
    return (Map<String, Object>) value;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Object value) {
    assertThat(value).isInstanceOf(List.class);
    return (List<Object>) value;
  }

  private static Map<String, Object> read(String file) throws Exception {
    return map(new Yaml().load(Files.readString(DOCS.resolve(file))));
  }

  /** The goals a command calls, checked against the goals the plugin has. */
  private static List<String> goals(String command) throws Exception {
    String descriptor = Files.readString(Path.of("target/classes/META-INF/maven/plugin.xml"));
    List<String> goals = java.util.Arrays.stream(command.split("\\s+")).filter(word -> word.startsWith("deploy:"))
        .map(word -> word.substring("deploy:".length())).toList();
    for (String goal : goals) {
      assertThat(descriptor).as("goal deploy:" + goal).contains("<goal>" + goal + "</goal>");
    }
    return goals;
  }

  @Test
  void gitHubActions_provesAndLintsEveryPullRequestWithoutSecrets_releasesMainToStagingThenProduction_throughOidc()
      throws Exception {
    Map<String, Object> workflow = read("github-actions.yml");
    // YAML 1.1 reads the key "on" as true
    Map<String, Object> on = map(workflow.containsKey("on") ? workflow.get("on") : workflow.get(true));
    assertThat(on).containsKeys("push", "pull_request");
    // a push to a branch with a pull request open would otherwise run the workflow twice
    assertThat(list(map(on.get("push")).get("branches"))).containsExactly("main");
    assertThat(map(workflow.get("permissions"))).containsEntry("contents", "read").doesNotContainKey("id-token");
    Map<String, Object> jobs = map(workflow.get("jobs"));

    Map<String, Object> test = map(jobs.get("test-migrate"));
    assertThat(test).doesNotContainKey("if").doesNotContainKey("permissions").containsKey("timeout-minutes");
    assertThat(goals(run(test))).containsExactly("test-migrate");
    checksOutEverything(test);
    assertThat(list(test.get("steps"))).as("a fork's pull request has no role to assume")
        .noneMatch(step -> String.valueOf(map(step).get("uses")).startsWith("aws-actions/"));

    Map<String, Object> lint = map(jobs.get("lint"));
    assertThat((String) lint.get("if")).isEqualTo("github.event_name == 'pull_request'");
    assertThat(lint).doesNotContainKey("permissions").doesNotContainKey("environment").containsKey("timeout-minutes");
    assertThat(goals(run(lint))).containsExactly("lint");
    checksOutEverything(lint); // a shallow clone has no merge base
    assertThat(list(lint.get("steps"))).noneMatch(step -> String.valueOf(map(step).get("uses")).startsWith("aws-actions/"));

    Map<String, Object> staging = map(jobs.get("staging"));
    assertThat(staging.get("needs")).isEqualTo("test-migrate");
    assertThat(staging.get("environment")).isEqualTo("staging");
    assertThat(goals(run(staging))).containsExactly("release");
    assertThat(run(staging)).contains("-Ddeploy.environment=staging");

    Map<String, Object> production = map(jobs.get("production"));
    assertThat(production.get("needs")).as("production after staging, and only then").isEqualTo("staging");
    assertThat(production.get("environment")).isEqualTo("production");
    assertThat(goals(run(production))).as("never rebuilt: what staging runs").containsExactly("promote");
    assertThat(run(production)).contains("-Ddeploy.environment=production", "-Ddeploy.from=staging");

    for (Map<String, Object> release : List.of(staging, production)) {
      assertThat((String) release.get("if")).contains("github.ref == 'refs/heads/main'")
          .contains("github.event_name == 'push'");
      assertThat((Integer) release.get("timeout-minutes")).as("past lockTimeout and rolloutTimeout, 30m each")
          .isGreaterThan(60);
      assertThat(map(release.get("permissions"))).containsEntry("id-token", "write");
      checksOutEverything(release);
      assumesARole(release);
      assertThat(list(release.get("steps"))).anyMatch(step -> "always()".equals(map(step).get("if"))
          && String.valueOf(map(step).get("uses")).startsWith("actions/upload-artifact@")
          && "target/deploy/release.json".equals(map(map(step).get("with")).get("path")));
    }
  }

  private static String run(Map<String, Object> job) {
    return String.join("\n", list(job.get("steps")).stream().map(step -> map(step).get("run"))
        .filter(java.util.Objects::nonNull).map(String::valueOf).toList());
  }

  private static void checksOutEverything(Map<String, Object> job) {
    assertThat(list(job.get("steps"))).anyMatch(step -> String.valueOf(map(step).get("uses"))
        .startsWith("actions/checkout@") && Integer.valueOf(0).equals(map(map(step).get("with")).get("fetch-depth")));
  }

  private static void assumesARole(Map<String, Object> job) {
    assertThat(list(job.get("steps"))).anyMatch(step -> String.valueOf(map(step).get("uses"))
        .startsWith("aws-actions/configure-aws-credentials@")
        && String.valueOf(map(map(step).get("with")).get("role-to-assume")).startsWith("arn:aws:iam::"));
  }

  @Test
  void gitLabCi_buildsAndTestMigratesEverywhere_releasesOnTheDefaultBranchOnly_throughOidc() throws Exception {
    Map<String, Object> pipeline = read("gitlab-ci.yml");
    assertThat(list(pipeline.get("stages"))).containsExactly("build", "release");
    // a merge request's pipeline, or the branch's: never both for one push
    List<Object> workflowRules = list(map(pipeline.get("workflow")).get("rules"));
    assertThat(workflowRules).extracting(rule -> map(rule).get("if")).containsExactly(
        "$CI_PIPELINE_SOURCE == \"merge_request_event\"", "$CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS",
        "$CI_COMMIT_BRANCH");
    assertThat(map(workflowRules.get(1)).get("when")).isEqualTo("never");
    Map<String, Object> cache = map(map(pipeline.get("default")).get("cache"));
    assertThat(list(cache.get("paths"))).containsExactly(".m2/repository");
    assertThat(String.valueOf(map(pipeline.get("variables")).get("MAVEN_OPTS")))
        .contains("-Dmaven.repo.local=$CI_PROJECT_DIR/.m2/repository");
    Map<String, Object> variables = map(pipeline.get("variables"));
    assertThat(variables).containsEntry("GIT_DEPTH", "0").containsKey("AWS_WEB_IDENTITY_TOKEN_FILE");
    assertThat(map(map(pipeline.get("default")).get("id_tokens"))).containsKey("AWS_ID_TOKEN");

    Map<String, Object> build = map(pipeline.get("build-and-test-migrate"));
    assertThat(build.get("stage")).isEqualTo("build");
    assertThat(goals(String.join("\n", list(build.get("script")).stream().map(String::valueOf).toList())))
        .containsExactly("build", "test-migrate");
    assertThat(map(build.get("variables")).get("AWS_ROLE_ARN").toString()).startsWith("arn:aws:iam::");

    Map<String, Object> lint = map(pipeline.get("lint"));
    assertThat(goals(String.join("\n", list(lint.get("script")).stream().map(String::valueOf).toList())))
        .containsExactly("lint");
    assertThat(list(lint.get("rules"))).singleElement().satisfies(rule -> assertThat(map(rule).get("if"))
        .isEqualTo("$CI_PIPELINE_SOURCE == \"merge_request_event\""));
    assertThat(map(map(map(lint.get("artifacts")).get("reports"))).get("codequality"))
        .isEqualTo("target/deploy/gl-code-quality-report.json");
    assertThat(lint).doesNotContainKey("variables"); // no role: it reads no production secret

    Map<String, Object> release = map(pipeline.get("release"));
    assertThat(release.get("stage")).isEqualTo("release");
    assertThat(goals(String.join("\n", list(release.get("script")).stream().map(String::valueOf).toList())))
        .containsExactly("release");
    assertThat(list(release.get("rules"))).singleElement().satisfies(rule -> assertThat(map(rule).get("if"))
        .asString().contains("$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"));
    assertThat(map(release.get("artifacts")).get("when")).isEqualTo("always");
    assertThat(release).containsEntry("environment", "production").containsKey("timeout");
  }
}
