package dev.closedloop.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.guard.CiEnvironment;
import dev.closedloop.deploy.hook.Hook;
import dev.closedloop.deploy.hook.HookPoint;
import dev.closedloop.deploy.hook.Hooks;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReleaseConfigTest {

  @TempDir Path dir;

  private CiEnvironment noCi() {
    return new CiEnvironment(Map.of(), dir); // a temp dir is no git repository
  }

  @Test
  void load_whenSeveralSettingsAreWrong_namesEveryOneInOneMessage() {
    assertThatThrownBy(() -> Release.configure()
            .image("Team/App:latest")
            .sha("not-a-sha")
            .buildContext(dir)
            .ciEnvironment(noCi())
            .load())
        .isInstanceOfSatisfying(DeployException.class, e -> {
          assertThat(e.kind()).isEqualTo(DeployException.Kind.CONFIGURATION);
          assertThat(e.getMessage())
              .startsWith("2 settings are wrong: ")
              .contains("image (deploy.image): Invalid image reference 'Team/App:latest'")
              .contains("sha (deploy.sha) must be a commit SHA");
        });
  }

  @Test
  void buildArgsAndLabels_fromNameEqualsValueEntries_keepEqualsSignsInValues() {
    Release release = Release.configure().image("localhost:5000/app").sha("abcdef1").buildContext(dir)
        .buildArgs(List.of("GREETING=hi", "QUERY=a=b")).labels(List.of("team=shop")).sourceUrl("https://example.com/shop")
        .load();

    assertThat(release.config().buildRequest().buildArgs()).containsOnly(
        Map.entry("GREETING", "hi"), Map.entry("QUERY", "a=b"));
    assertThat(release.config().buildRequest().labels()).containsOnly(
        Map.entry("team", "shop"), Map.entry("org.opencontainers.image.source", "https://example.com/shop"));
    assertThatThrownBy(() -> Release.configure().buildArgs(List.of("NOVALUE")))
        .hasMessage("buildArgs (deploy.buildArgs) takes NAME=value entries; got 'NOVALUE'");
  }

  @Test
  void aDatabaseUrlVariable_outsideCi_isNoProduction_butNamedItIs() {
    Map<String, String> laptop = Map.of("DATABASE_URL", "postgres://app:hunter2@127.0.0.1:1/shop");

    Release stray = Release.configure().buildContext(dir).ciEnvironment(new CiEnvironment(laptop, dir)).load();
    assertThat(stray.config().production().database()).isNull();
    assertThat(stray.config().warnings()).containsExactly("DATABASE_URL is set, but outside CI it is not taken as"
        + " production: set deploy.databaseUrl=env:DATABASE_URL to use it");

    Release named = Release.configure().buildContext(dir).ciEnvironment(new CiEnvironment(laptop, dir))
        .databaseUrl("env:DATABASE_URL", null, null).load();
    assertThat(named.config().production().database().describe()).isEqualTo("jdbc:postgresql://127.0.0.1:1/shop as"
        + " app");
    assertThat(named.config().warnings()).isEmpty();
  }

  @Test
  void load_takesTheProductionDatabaseFromDatabaseUrl_andHidesItsPasswordFromEveryEvent() {
    List<ReleaseEvent> events = new java.util.ArrayList<>();
    Release release = Release.configure().buildContext(dir)
        .ciEnvironment(new CiEnvironment(Map.of("DATABASE_URL", "postgres://app:hunter2@127.0.0.1:1/shop",
            "GITHUB_ACTIONS", "true"), dir))
        .listener(events::add)
        .load();

    assertThat(release.config().production().database().describe()).isEqualTo("jdbc:postgresql://127.0.0.1:1/shop as app");
    assertThat(release.config().redactor().redact("postgres://app:hunter2@127.0.0.1:1/shop and hunter2"))
        .isEqualTo("**** and ****");
  }

  @Test
  void load_whenDatabaseUrlIsMalformed_saysSoWithoutThePassword() {
    assertThatThrownBy(() -> Release.configure().buildContext(dir).ciEnvironment(noCi())
            .databaseUrl("postgres://app:hunt%zz@db/shop", null, null).load())
        .hasMessage("databaseUrl (deploy.databaseUrl) has a '%' that is not followed by two hex digits: encode '%'"
            + " itself as %25");
  }

  @Test
  void load_whenImageHasATag_explainsThatTheTagIsTheSha() {
    assertThatThrownBy(() -> Release.configure().image("localhost:5000/app:latest").sha("abcdef1")
            .buildContext(dir).load())
        .hasMessageContaining("names a repository without tag or digest (the tag is the commit SHA)");
  }

  @Test
  void load_takesTheShaFromTheCiSystem() {
    Release release = Release.configure()
        .image("localhost:5000/app")
        .buildContext(dir)
        .ciEnvironment(new CiEnvironment(Map.of("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"), dir))
        .load();

    assertThat(release.config().buildRequest().sha()).isEqualTo("0123456789abcdef0123456789abcdef01234567");
    assertThat(release.config().buildRequest().shaRef().toString())
        .isEqualTo("localhost:5000/app:0123456789abcdef0123456789abcdef01234567");
    assertThat(release.config().buildRequest().dockerfile()).isEqualTo(dir.toAbsolutePath().resolve("Dockerfile"));
  }

  @Test
  void build_whenNoShaCanBeFound_namesTheMissingSettingAndRunsNothing() {
    java.util.List<ReleaseEvent> events = new java.util.ArrayList<>();
    Release release = Release.configure().image("localhost:5000/app").buildContext(dir)
        .ciEnvironment(noCi()).listener(events::add).load();

    assertThatThrownBy(release::build)
        .hasMessage("sha (deploy.sha; no CI variable or git repository gave one) is required by [build] but not set");
    assertThat(events).isEmpty();
  }

  @Test
  void load_namesEveryBadGuardAndTestDatabaseSetting_inOneMessage() {
    assertThatThrownBy(() -> Release.configure().buildContext(dir).ciEnvironment(noCi())
            .lockMode("sometimes").lockTimeout("soon").branchGuard("maybe").ledger("Closed-Loop", "ledger")
            .testDatabaseUrl("postgres://ci:s3cret%zz@db.example.com:5432/ci", null, null)
            .load())
        .isInstanceOfSatisfying(DeployException.class, e -> assertThat(e.getMessage())
            .startsWith("5 settings are wrong: ")
            .contains("Unknown lock mode 'sometimes' (deploy.lockMode)")
            .contains("lockTimeout (deploy.lockTimeout) 'soon' is not a duration")
            .contains("branchGuard (deploy.branchGuard) is on or off; got 'maybe'")
            .contains("Invalid ledger name 'Closed-Loop'")
            .contains("testDatabaseUrl (deploy.testDatabaseUrl) has a '%' that is not followed by two hex digits")
            .doesNotContain("s3cret"));
  }

  @Test
  void anUnknownPlaceholder_inMigrationEnvOrCompatibilityEnv_isRefused_namingThePlaceholders() {
    assertThatThrownBy(() -> Release.configure().buildContext(dir).ciEnvironment(noCi())
            .migrations(dev.closedloop.deploy.database.Migrations.image("goose up", List.of("GOOSE_DBSTRING={dsn}",
                "X={passwd}"), null)).load())
        .isInstanceOfSatisfying(DeployException.class, e -> assertThat(e.getMessage()).isEqualTo("migrationEnv"
            + " (deploy.migrationEnv): {passwd} in X is no placeholder; the placeholders are {dsn}, {url}, {jdbc},"
            + " {host}, {port}, {user}, {password}, {database} ({{passwd}} passes {passwd} on as it is)"));
    assertThatThrownBy(() -> Release.configure().buildContext(dir).ciEnvironment(noCi())
            .compatibilityCommand("/smoke").compatibilityEnv(List.of("URL={url}", "TOKEN={tokn}")).load())
        .hasMessageContaining("compatibilityEnv (deploy.compatibilityEnv): {tokn} in TOKEN is no placeholder");
    // JSON is not a placeholder
    assertThat(dev.closedloop.deploy.database.Migrations.image("tool", List.of("CONFIG={\"a\": 1}"), null)
        .commandEnv()).containsExactly("CONFIG={\"a\": 1}");
    // doubled braces are the text itself, refused by no check and filled by no value
    Release.configure().buildContext(dir).ciEnvironment(noCi()).migrations(dev.closedloop.deploy.database.Migrations
        .image("tool", List.of("TEMPLATE=prefix-{{user}}-{{tenant}}", "URL={url}"), null)).load();
    assertThat(dev.closedloop.deploy.internal.database.ImageMigrator.fill(List.of("TEMPLATE=prefix-{{user}}-{{tenant}}",
        "WHO={user}"), dev.closedloop.deploy.database.DatabaseTarget.parse("postgres://app@db.example.com/shop", null,
        null, "test"), dev.closedloop.deploy.internal.Events.none()))
        .containsExactly("TEMPLATE=prefix-{user}-{tenant}", "WHO=app");
  }

  @Test
  void load_namesEveryBadCompatibilitySetting_andDescribesWhatTheCheckDoes() {
    assertThatThrownBy(() -> Release.configure().buildContext(dir).ciEnvironment(noCi())
            .compatibilityHealthUrl("localhost:8080/health").compatibilityTimeout("0s")
            .compatibilityEnv(List.of("not an entry")).load())
        .isInstanceOfSatisfying(DeployException.class, e -> assertThat(e.getMessage())
            .startsWith("3 settings are wrong: ")
            .contains("compatibilityHealthUrl (deploy.compatibilityHealthUrl) must be an http(s) URL such as"
                + " http://127.0.0.1:8080/health; got 'localhost:8080/health'")
            .contains("compatibilityTimeout (deploy.compatibilityTimeout) must be more than zero and at most 24h")
            .contains("compatibilityEnv (deploy.compatibilityEnv) entries are NAME=value"));
    assertThatThrownBy(() -> Release.configure().buildContext(dir).ciEnvironment(noCi())
            .compatibilityHealthUrl("http://ops:s3cret@127.0.0.1:8080/health").compatibilityTimeout("1000h").load())
        .isInstanceOfSatisfying(DeployException.class, e -> assertThat(e.getMessage())
            .startsWith("2 settings are wrong: ")
            .contains("compatibilityHealthUrl (deploy.compatibilityHealthUrl) must not hold a user or password")
            .contains("at most 24h")
            .doesNotContain("s3cret"));
    assertThatThrownBy(() -> Release.configure().buildContext(dir).ciEnvironment(noCi())
            .compatibilityHealthUrl("http://ops:s3cret@127.0.0.1:99999/health").load())
        .hasMessageContaining("must be an http(s) URL such as http://127.0.0.1:8080/health; got one with an '@'")
        .hasMessageNotContaining("s3cret");
    assertThatThrownBy(() -> Release.configure().buildContext(dir).ciEnvironment(noCi())
            .compatibilityCommand("/smoke").compatibilityTimeout("0s").compatibilityEnv(List.of("not an entry")).load())
        .isInstanceOfSatisfying(DeployException.class, e -> assertThat(e.getMessage())
            .startsWith("2 settings are wrong: ")
            .contains("compatibilityTimeout (deploy.compatibilityTimeout) must be more than zero")
            .contains("compatibilityEnv (deploy.compatibilityEnv) entries are NAME=value"));
    assertThatThrownBy(() -> Release.configure().buildContext(dir).ciEnvironment(noCi())
            .compatibilityTimeout("2m").load())
        .hasMessageContaining("compatibilityTimeout (deploy.compatibilityTimeout) is set but neither"
            + " compatibilityCommand (deploy.compatibilityCommand) nor compatibilityHealthUrl");

    ReleaseConfig both = Release.configure().buildContext(dir).ciEnvironment(noCi())
        .compatibilityHealthUrl(" http://127.0.0.1:8080/health ").compatibilityCommand("/smoke").load().config();
    assertThat(both.testMigrate().compatibility().timeout()).isEqualTo(java.time.Duration.ofMinutes(10));
    assertThat(both.testMigrate().compatibility().describe()).isEqualTo("start it and wait for http://127.0.0.1:8080/health to"
        + " answer 2xx, then run '/smoke' while it serves");
  }

  @Test
  void promote_withoutADatabase_namesTheMissingSettingAndRunsNothing() {
    List<ReleaseEvent> events = new java.util.ArrayList<>();
    Release release = Release.configure().image("localhost:5000/app").sha("abcdef1").buildContext(dir)
        .ciEnvironment(noCi()).listener(events::add).load();

    assertThatThrownBy(release::promote)
        .hasMessage("databaseUrl (deploy.databaseUrl, or under CI the DATABASE_URL variable) is required by [promote] but not set");
    assertThat(events).isEmpty();
  }

  @Test
  void migrate_withoutAnImage_namesTheSetting_forTheLedgerRecordsWhatItMigratesFor() {
    Release release = Release.configure().buildContext(dir).databaseUrl("embedded:" + dir.resolve("prod"), null, null)
        .migrations(dev.closedloop.deploy.database.Migrations.flyway("filesystem:" + dir)).lockName("app")
        .sha("abcdef1").ciEnvironment(noCi()).load();

    assertThatThrownBy(release::migrate).hasMessage("image (deploy.image) is required by [test-migrate, migrate] but"
        + " not set");
  }

  @Test
  void promoteAndRollback_withoutAPromoteTag_nameTheSetting() {
    Release release = Release.configure().image("localhost:5000/app").sha("abcdef1").buildContext(dir)
        .databaseUrl("embedded:" + dir.resolve("prod"), null, null).promoteTags(List.of()).ciEnvironment(noCi()).load();

    assertThatThrownBy(release::promote).hasMessage("promoteTags (deploy.promoteTags) is required by [promote] but not set");
    assertThatThrownBy(() -> release.rollback(null))
        .hasMessage("promoteTags (deploy.promoteTags) is required by [rollback] but not set");
  }

  @Test
  void history_ofALocalStandInNoReleaseMadeYet_isEmpty_andCreatesNothing() {
    Path production = dir.resolve("prod");
    Release release = Release.configure().image("localhost:5000/app").sha("abcdef1").buildContext(dir)
        .databaseUrl("embedded:" + production, null, null).ciEnvironment(noCi()).load();

    assertThat(release.history(5).entries()).isEmpty();
    assertThat(production).doesNotExist();
  }

  @Test
  void describe_saysWhatEachStepWouldDo_withoutThePassword() {
    Release release = Release.configure().image("localhost:5000/shop").sha("abcdef1").buildContext(dir)
        .ciEnvironment(noCi()).tags(List.of("v1"))
        .migrations(dev.closedloop.deploy.database.Migrations.flyway("classpath:db/migration"))
        .databaseUrl("postgres://app:hunter2@db.example.com:5432/shop", null, null)
        .promoteTags(List.of("latest", "stable"))
        .load();

    assertThat(release.describe()).containsExactly(
        "build: build " + dir.toAbsolutePath().resolve("Dockerfile") + " in " + dir.toAbsolutePath()
            + " and push it as localhost:5000/shop:abcdef1, localhost:5000/shop:v1, unless"
            + " localhost:5000/shop:abcdef1 is in the registry already (then it is reused)",
        "test-migrate: apply Flyway migrations in classpath:db/migration to a fresh embedded PostgreSQL,"
            + " first up to production's version to compare the schemas (drift check, warn), record the set's"
            + " fingerprint, then remove it",
        "migrate: on an allowed branch (main, master) and holding the release lock of shop (supersede mode),"
            + " apply the set test-migrate proved to jdbc:postgresql://db.example.com:5432/shop as app, recorded in"
            + " the ledger closedloop.release_ledger",
        "promote: move localhost:5000/shop:latest, localhost:5000/shop:stable to the digest of"
            + " localhost:5000/shop:abcdef1 (manifest only, no layers), recording each tag's previous digest in the ledger");
  }

  @Test
  void toString_namesTheSettings_butNoBuildArgValueCredentialOrPassword() {
    Release release = Release.configure().image("localhost:5000/app").sha("abcdef1").buildContext(dir)
        .ciEnvironment(noCi()).buildArg("NPM_TOKEN", "npm-s3cret-token")
        .registryCredentials(new dev.closedloop.deploy.image.RegistryCredentials("ci", "registry-s3cret"))
        .databaseUrl("postgres://app:db-s3cret@db.example.com/shop?sslmode=require", null, null)
        .load();

    assertThat(release.config().toString()).contains("NPM_TOKEN", "localhost:5000/app", "db.example.com")
        .doesNotContain("npm-s3cret-token").doesNotContain("registry-s3cret").doesNotContain("db-s3cret");
    assertThat(release.config().buildRequest().toString()).contains("NPM_TOKEN").doesNotContain("npm-s3cret-token");
  }

  @Test
  void groups_holdOnlyImmutableCollections_thatTheBuilderNoLongerReaches() {
    ReleaseBuilder builder = Release.configure().image("localhost:5000/app").sha("abcdef1").buildContext(dir)
        .ciEnvironment(noCi()).buildArg("NPM_TOKEN", "t").labels(List.of("team=shop")).tags(List.of("v1"))
        .driftIgnore(List.of("index *_tmp_idx")).allowedBranches(List.of("main")).promoteTags(List.of("latest"))
        .compatibilityCommand("/smoke").compatibilityEnv(List.of("DATABASE_URL={url}")).rollout("local")
        .rolloutService("shop").localPorts(List.of("18080:8080")).localEnv(List.of("MODE=test")).healthCommand("true")
        .lintRules(List.of("ban-drop-table=fail")).listener(event -> { });
    ReleaseConfig config = builder.load().config();

    List<Runnable> changes = List.of(
        () -> config.buildRequest().buildArgs().put("MORE", "x"),
        () -> config.buildRequest().labels().put("more", "x"),
        () -> config.buildRequest().extraTags().add("v2"),
        () -> config.testMigrate().driftIgnore().add("*"),
        () -> config.testMigrate().compatibility().env().add("MORE=x"),
        () -> config.testMigrate().lint().levels().clear(),
        () -> config.production().guards().allowedBranches().add("*"),
        () -> config.registry().promoteTags().add("stable"),
        () -> config.rollout().ports().clear(),
        () -> config.rollout().env().put("MORE", "x"),
        () -> config.listeners().clear(),
        () -> config.warnings().add("more"),
        () -> config.unresolved().add("more"));
    for (Runnable change : changes) {
      assertThatThrownBy(change::run).isInstanceOf(UnsupportedOperationException.class);
    }
    builder.promoteTags(List.of("stable")).allowedBranches(List.of("release/*")).driftIgnore(List.of("*"));
    assertThat(config.registry().promoteTags()).containsExactly("latest");
    assertThat(config.production().guards().allowedBranches()).containsExactly("main");
    assertThat(config.testMigrate().driftIgnore()).containsExactly("index *_tmp_idx");
  }

  @Test
  void hooks_configuredCommandsFirstThenTheLibrarysOwn_andTheBuilderNoLongerReachesThem() {
    Hook own = new Hook() {
      @Override
      public void run(Map<String, String> environment, java.util.function.Consumer<String> output) { }

      @Override
      public String describe() {
        return "notify chat";
      }
    };
    ReleaseBuilder builder = Release.configure().buildContext(dir).ciEnvironment(noCi())
        .hook(HookPoint.POST_PROMOTE, own).hooks(List.of("post-promote=./notify.sh")).hookTimeout("2m");
    Hooks hooks = builder.load().config().hooks();

    assertThat(hooks.at(HookPoint.POST_PROMOTE)).extracting(Hook::describe)
        .containsExactly("./notify.sh", "notify chat");
    assertThat(hooks.at(HookPoint.PRE_BUILD)).isEmpty();
    assertThat(hooks.timeout()).isEqualTo(java.time.Duration.ofMinutes(2));
    assertThatThrownBy(() -> hooks.at(HookPoint.POST_PROMOTE).add(own))
        .isInstanceOf(UnsupportedOperationException.class);
    builder.hook(HookPoint.PRE_BUILD, own).hooks(List.of("pre-build=./more.sh"));
    assertThat(hooks.at(HookPoint.PRE_BUILD)).isEmpty();
    assertThat(hooks.at(HookPoint.POST_PROMOTE)).hasSize(2);
  }

  @Test
  void load_whenASettingIsRefused_writesTheRefusalToTheReportFile_inPlaceOfAStaleOne() throws Exception {
    Path report = dir.resolve("release.json");
    java.nio.file.Files.writeString(report, "{\"goal\":\"release\",\"outcome\":\"succeeded\"}");

    assertThatThrownBy(() -> Release.configure().buildContext(dir).ciEnvironment(noCi()).sha("not-a-sha")
            .databaseUrl("postgres://app:hunter2@db.example.com/shop", null, null).reportFile(report).load())
        .hasMessage("sha (deploy.sha) must be a commit SHA of 7 to 64 lowercase hex digits; got 'not-a-sha'");

    com.fasterxml.jackson.databind.JsonNode json = new com.fasterxml.jackson.databind.ObjectMapper()
        .readTree(report.toFile());
    assertThat(json.get("goal").isNull()).isTrue();
    assertThat(json.get("outcome").asText()).isEqualTo("failed");
    assertThat(json.get("error").get("kind").asText()).isEqualTo("configuration");
    assertThat(json.get("error").get("message").asText())
        .isEqualTo("sha (deploy.sha) must be a commit SHA of 7 to 64 lowercase hex digits; got 'not-a-sha'");
    assertThat(json.toString()).doesNotContain("hunter2");

    Release.configure().buildContext(dir).ciEnvironment(noCi()).reportFile(report).load();
    assertThat(report).doesNotExist(); // a report is a run's, written when it ends
  }

  /** An embedder's own target, as little as the interface asks. */
  private static final dev.closedloop.deploy.rollout.Rollout OWN = new dev.closedloop.deploy.rollout.Rollout() {
    @Override
    public String target() {
      return "pool 7";
    }

    @Override
    public String check() {
      return "fine";
    }

    @Override
    public Deployment start(Request request) {
      return new Deployment("d", "d");
    }

    @Override
    public Observation observe(Deployment deployment) {
      return new Observation(State.SUCCEEDED, "DONE", null);
    }
  };

  @Test
  void ownRollout_isTheTarget_withTheRolloutTimeout() {
    ReleaseConfig config = Release.configure().buildContext(dir).ciEnvironment(noCi()).rollout(OWN)
        .rolloutTimeout("5m").load().config();

    assertThat(config.rollout().enabled()).isTrue();
    assertThat(config.rollout().kind()).isEqualTo(dev.closedloop.deploy.rollout.RolloutSettings.Kind.OWN);
    assertThat(config.rollout().own()).isSameAs(OWN);
    assertThat(config.rollout().service()).isEqualTo("pool 7");
    assertThat(config.rollout().timeout()).isEqualTo(java.time.Duration.ofMinutes(5));
  }

  @Test
  void ownRollout_besideDeployRollout_isRefused_andOwnIsNoDeployRolloutValue() {
    assertThatThrownBy(() -> Release.configure().buildContext(dir).ciEnvironment(noCi()).rollout(OWN)
        .rollout("ecs").rolloutService("prod/shop").awsRegion("us-east-1").load())
        .hasMessage("rollout (deploy.rollout) is ecs, and a Rollout of your own was given to the builder too: set one");
    assertThatThrownBy(() -> Release.configure().buildContext(dir).ciEnvironment(noCi()).rollout("own").load())
        .hasMessageContaining("rollout (deploy.rollout) must be one of none, local, apprunner, ecs, ecs-express; got"
            + " 'own'");
  }
}
