package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseEvent;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.hook.HookPoint;
import dev.closedloop.deploy.hook.HookRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hooks as real shell commands around a real release: order, variables, the lock, failures, timeouts. */
class HooksIT {

  @TempDir Path work;

  /** A hook that appends what it was told, and what production's ledger says of its row right now. */
  private String recorder(Path file, RolloutFixture fixture) {
    return "echo \"$DEPLOY_HOOK|$DEPLOY_STEP|$DEPLOY_STATUS|$DEPLOY_SHA|$DEPLOY_DIGEST|$DEPLOY_BRANCH|$DEPLOY_LEDGER_ID|"
        + "$(if [ -n \"$DEPLOY_LEDGER_ID\" ]; then psql -X -qtA -h 127.0.0.1 -p " + fixture.production.port()
        + " -U postgres -d " + fixture.production.database() + " -c \"SELECT status || ',' || (SELECT count(*) FROM"
        + " pg_locks WHERE locktype = 'advisory' AND granted AND classid = " + 0x636C6F6F + " AND objsubid = 2)"
        + " FROM closedloop.release_ledger WHERE id ="
        + " $DEPLOY_LEDGER_ID\"; fi)\" >> " + file;
  }

  @Test
  void everyHookRunsInOrder_withTheRunsVariables_whileTheReleaseHoldsItsLock() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    Path log = work.resolve("hooks.log");
    String hook = recorder(log, fixture);
    String sha = TestServices.randomSha();

    ReleaseResult result = fixture.release(sha, "1", settings -> settings.hooks(List.of("pre-build=" + hook,
        "pre-migrate=" + hook, "post-migrate=" + hook, "post-promote=" + hook, "post-release=" + hook,
        "on-failure=" + hook)).reportFile(work.resolve("release.json")));

    String digest = result.image().orElseThrow().digest();
    long id = result.ledgerId().orElseThrow();
    List<String> lines = Files.readAllLines(log);
    assertThat(lines).hasSize(5);
    assertThat(lines.get(0)).isEqualTo("pre-build|build|starting|" + sha + "||main||");
    assertThat(lines.get(1)).startsWith("pre-migrate|migrate|starting|" + sha + "|" + digest + "|main|" + id
        + "|running,");
    assertThat(lines.get(2)).startsWith("post-migrate|migrate|succeeded|" + sha + "|" + digest + "|main|" + id
        + "|migrated,");
    assertThat(lines.get(3)).startsWith("post-promote|promote|succeeded|" + sha + "|" + digest + "|main|" + id
        + "|promoted,");
    assertThat(lines.get(4)).startsWith("post-release|promote|succeeded|" + sha + "|" + digest + "|main|" + id
        + "|succeeded,");
    for (String line : lines.subList(1, 5)) {
      assertThat(Integer.parseInt(line.substring(line.lastIndexOf(',') + 1))).as("the release lock held: " + line)
          .isEqualTo(1);
    }
    assertThat(result.hooks()).extracting(HookRun::point).containsExactly(HookPoint.PRE_BUILD,
        HookPoint.PRE_MIGRATE, HookPoint.POST_MIGRATE, HookPoint.POST_PROMOTE, HookPoint.POST_RELEASE);
    assertThat(result.hooks()).allMatch(HookRun::succeeded);
    assertThat(ledgerHooks(fixture, id)).as("the ledger records those run under its row")
        .containsExactly("pre-migrate:", "post-migrate:", "post-promote:", "post-release:");
    assertThat(Files.readString(work.resolve("release.json"))).contains("\"hook\" : \"pre-build\"");
  }

  @Test
  void aFailingPreMigrateHook_stopsTheReleaseBeforeProductionChanges_withItsOutputInTheLog() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    Path log = work.resolve("hooks.log");

    DeployException failure = catchThrowableOfType(() -> fixture.release("1", settings -> settings.hooks(List.of(
        "pre-migrate=echo smoke test says no; exit 3", "on-failure=" + recorder(log, fixture)))),
        DeployException.class);

    assertThat(failure.kind()).isEqualTo(DeployException.Kind.HOOK);
    assertThat(failure.getMessage()).isEqualTo("The pre-migrate hook failed, so migrate did not run: the hook"
        + " 'echo smoke test says no; exit 3' exited with 3; its output is in the log above");
    assertThat(fixture.events).anyMatch(event -> event instanceof ReleaseEvent.Progress p
        && p.message().equals("[pre-migrate] smoke test says no"));
    try (Connection c = fixture.production.connect(); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT to_regclass('public.notes') IS NULL,"
             + " to_regclass('public.flyway_schema_history') IS NULL")) {
      rs.next();
      assertThat(rs.getBoolean(1) && rs.getBoolean(2)).as("production untouched").isTrue();
    }
    assertThat(fixture.digest("latest")).isNull();
    long id = failure.partialResult().orElseThrow().ledgerId().orElseThrow();
    assertThat(fixture.rollouts().get(0).get(0)).isEqualTo("failed");
    assertThat(ledgerHooks(fixture, id)).containsExactly("pre-migrate:the hook 'echo smoke test says no; exit 3'"
        + " exited with 3; its output is in the log above", "on-failure:");
    assertThat(Files.readString(log)).startsWith("on-failure|migrate|failed|").contains("|" + id + "|failed,");
  }

  @Test
  void aFailingPostPromoteHook_isReportedAndRecorded_andWhatSucceededStays() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);

    ReleaseResult result = fixture.release("1", settings -> settings.hooks(List.of("post-promote=exit 9")));

    assertThat(fixture.digest("latest")).isEqualTo(result.image().orElseThrow().digest());
    assertThat(fixture.rollouts().get(0).get(0)).isEqualTo("succeeded");
    assertThat(result.hooks()).singleElement().satisfies(run -> assertThat(run.error())
        .isEqualTo("the hook 'exit 9' exited with 9; its output is in the log above"));
    assertThat(fixture.events).anyMatch(event -> event instanceof ReleaseEvent.Log l
        && l.level() == ReleaseEvent.Level.WARN && l.message().startsWith("The post-promote hook failed"));
    assertThat(ledgerHooks(fixture, result.ledgerId().orElseThrow()))
        .containsExactly("post-promote:the hook 'exit 9' exited with 9; its output is in the log above");
  }

  @Test
  void aLibraryHook_getsTheSameVariables_andItsFailureAfterMigrateIsRecordedNotFatal() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    java.util.Map<String, String> seen = new java.util.concurrent.ConcurrentHashMap<>();

    ReleaseResult result = fixture.release("1", settings -> settings
        .hook(HookPoint.POST_MIGRATE, new dev.closedloop.deploy.hook.Hook() {
          @Override
          public void run(java.util.Map<String, String> environment, java.util.function.Consumer<String> output) {
            seen.putAll(environment);
            output.accept("cache warmed");
            throw new IllegalStateException("the cache said no");
          }

          @Override
          public String describe() {
            return "warm the cache";
          }
        }));

    assertThat(seen).containsEntry("DEPLOY_HOOK", "post-migrate").containsEntry("DEPLOY_KIND", "release")
        .containsEntry("DEPLOY_STEP", "migrate").containsEntry("DEPLOY_STATUS", "succeeded")
        .containsEntry("DEPLOY_LEDGER_ID", String.valueOf(result.ledgerId().orElseThrow()))
        .containsEntry("DEPLOY_DIGEST", result.image().orElseThrow().digest());
    assertThat(fixture.events).anyMatch(event -> event instanceof ReleaseEvent.Progress p
        && p.message().equals("[post-migrate] cache warmed"));
    assertThat(fixture.digest("latest")).as("promoted all the same").isEqualTo(result.image().orElseThrow().digest());
    assertThat(ledgerHooks(fixture, result.ledgerId().orElseThrow())).containsExactly("post-migrate:the cache said no");
  }

  @Test
  void whatAHookLeavesRunningInTheBackground_endsWithIt() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    String marker = "sleep 27.1828";

    ReleaseResult result = fixture.release("1", settings -> settings.hooks(List.of("post-promote=" + marker
        + " & echo left behind")));

    assertThat(result.hooks()).singleElement().satisfies(run -> assertThat(run.succeeded()).isTrue());
    assertThat(fixture.events).anyMatch(event -> event instanceof ReleaseEvent.Progress p
        && p.message().equals("[post-promote] left behind"));
    assertThat(TestServices.run(work, "pgrep", "-f", marker).exitCode()).as("no sleep left behind").isEqualTo(1);
  }

  @Test
  void aHookThatOutlivesItsTimeout_isKilledWithWhatItStarted_andStopsTheBuild() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    String marker = "sleep 31.4159";
    String sha = TestServices.randomSha();

    DeployException failure = catchThrowableOfType(() -> fixture.release(sha, "1", settings -> settings
        .hooks(List.of("pre-build=" + marker + " & " + marker + "; true")).hookTimeout("1s")), DeployException.class);

    assertThat(failure.kind()).isEqualTo(DeployException.Kind.HOOK);
    assertThat(failure.getMessage()).endsWith("did not end within 1s (deploy.hookTimeout) and was killed");
    assertThat(TestServices.registryDigest(fixture.repository, sha)).as("nothing built").isEmpty();
    Thread.sleep(200);
    assertThat(TestServices.run(work, "pgrep", "-f", marker).exitCode()).as("no sleep left behind").isEqualTo(1);
  }

  @Test
  void aHookSettingThatIsNoHook_isRefusedWithThePointsThereAre() {
    DeployException refused = catchThrowableOfType(() -> Release.configure().buildContext(work)
        .hooks(List.of("pre-deploy=./notify.sh", "post-promote=")).hookTimeout("0s").load(), DeployException.class);

    assertThat(refused.getMessage()).isEqualTo("3 settings are wrong: hookTimeout (deploy.hookTimeout) must be more"
        + " than zero; hooks (deploy.hooks): unknown hook point 'pre-deploy': use pre-build, pre-migrate,"
        + " post-migrate, post-promote, post-release, on-failure; hooks (deploy.hooks): the post-promote hook has no"
        + " command");
  }

  /** Each hook the ledger recorded for row {@code id}: its point and its error (empty when it succeeded). */
  private static List<String> ledgerHooks(RolloutFixture fixture, long id) throws Exception {
    List<String> hooks = new java.util.ArrayList<>();
    try (Connection c = fixture.production.connect(); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT h ->> 'hook', coalesce(h ->> 'error', '') FROM"
             + " closedloop.release_ledger, jsonb_array_elements(hooks) h WHERE id = " + id)) {
      while (rs.next()) {
        hooks.add(rs.getString(1) + ":" + rs.getString(2));
      }
    }
    return hooks;
  }
}
