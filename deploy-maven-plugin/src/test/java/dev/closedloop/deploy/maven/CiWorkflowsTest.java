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
 * build and test-migrate on every branch and pull request, the release on main only, the whole
 * history checked out, and AWS reached through OIDC. Only goals that exist are called.
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
  void gitHubActions_buildsAndTestMigratesEverywhere_releasesOnMainOnly_throughOidc() throws Exception {
    Map<String, Object> workflow = read("github-actions.yml");
    // YAML 1.1 reads the key "on" as true
    Map<String, Object> on = map(workflow.containsKey("on") ? workflow.get("on") : workflow.get(true));
    assertThat(on).containsKeys("push", "pull_request");
    assertThat(map(workflow.get("permissions"))).containsEntry("id-token", "write");
    Map<String, Object> jobs = map(workflow.get("jobs"));

    Map<String, Object> build = map(jobs.get("build-and-test-migrate"));
    assertThat(build).doesNotContainKey("if");
    assertThat(goals(run(build))).containsExactly("build", "test-migrate");
    checksOutEverything(build);
    assumesARole(build);

    Map<String, Object> release = map(jobs.get("release"));
    assertThat(release.get("needs")).isEqualTo("build-and-test-migrate");
    assertThat((String) release.get("if")).contains("github.ref == 'refs/heads/main'")
        .contains("github.event_name == 'push'");
    assertThat(goals(run(release))).containsExactly("release");
    checksOutEverything(release);
    assumesARole(release);
    assertThat(list(release.get("steps"))).anyMatch(step -> "always()".equals(map(step).get("if"))
        && String.valueOf(map(step).get("uses")).startsWith("actions/upload-artifact@")
        && "target/deploy/release.json".equals(map(map(step).get("with")).get("path")));
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
    Map<String, Object> variables = map(pipeline.get("variables"));
    assertThat(variables).containsEntry("GIT_DEPTH", "0").containsKey("AWS_WEB_IDENTITY_TOKEN_FILE");
    assertThat(map(map(pipeline.get("default")).get("id_tokens"))).containsKey("AWS_ID_TOKEN");

    Map<String, Object> build = map(pipeline.get("build-and-test-migrate"));
    assertThat(build.get("stage")).isEqualTo("build");
    assertThat(goals(String.join("\n", list(build.get("script")).stream().map(String::valueOf).toList())))
        .containsExactly("build", "test-migrate");
    assertThat(list(build.get("rules"))).extracting(rule -> map(rule).get("if"))
        .contains("$CI_PIPELINE_SOURCE == \"merge_request_event\"", "$CI_COMMIT_BRANCH");
    assertThat(map(build.get("variables")).get("AWS_ROLE_ARN").toString()).startsWith("arn:aws:iam::");

    Map<String, Object> release = map(pipeline.get("release"));
    assertThat(release.get("stage")).isEqualTo("release");
    assertThat(goals(String.join("\n", list(release.get("script")).stream().map(String::valueOf).toList())))
        .containsExactly("release");
    assertThat(list(release.get("rules"))).singleElement().satisfies(rule -> assertThat(map(rule).get("if"))
        .asString().contains("$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"));
    assertThat(map(release.get("artifacts")).get("when")).isEqualTo("always");
  }
}
