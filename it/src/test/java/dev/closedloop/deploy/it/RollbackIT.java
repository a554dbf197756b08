package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseEvent;
import dev.closedloop.deploy.ReleaseResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** deploy:rollback on the real registry and production: the tag really moves back, the ledger says so. */
class RollbackIT {

  @TempDir Path work;

  private List<String> warnings(RolloutFixture fixture) {
    return fixture.events.stream().filter(e -> e instanceof ReleaseEvent.Log l && l.level() == ReleaseEvent.Level.WARN)
        .map(e -> ((ReleaseEvent.Log) e).message()).toList();
  }

  /** Each row: id, kind, sha, status, image digest, previous digests, tags moved. */
  private static List<List<String>> ledger(RolloutFixture fixture) throws Exception {
    List<List<String>> rows = new ArrayList<>();
    try (Connection c = fixture.production.connect(); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT id, kind, sha, status, image_digest, previous_digests::text,"
             + " tags_moved::text FROM closedloop.release_ledger ORDER BY id")) {
      while (rs.next()) {
        rows.add(java.util.Arrays.asList(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
            rs.getString(5), rs.getString(6), rs.getString(7)));
      }
    }
    return rows;
  }

  @Test
  void rollback_movesLatestBackToThePreviousRelease_recordsItAsARollback_andSaysWhatMigrationsStay() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    ReleaseResult first = fixture.release("1", settings -> { });
    Files.writeString(work.resolve("migrations/V2__add_body.sql"), "ALTER TABLE notes ADD COLUMN body text;\n");
    ReleaseResult second = fixture.release("2", settings -> { });
    String firstDigest = first.image().orElseThrow().digest();
    String secondDigest = second.image().orElseThrow().digest();
    assertThat(fixture.digest("latest")).isEqualTo(secondDigest);
    // a re-run of the second finds latest there already: its row replaced nothing
    fixture.release(second.image().orElseThrow().image().tagValue().orElseThrow(), "2", settings -> { });

    Path hookLog = work.resolve("hook.log");
    ReleaseResult rolledBack = fixture.rollback(null, settings -> settings.hooks(java.util.List.of(
        "post-promote=echo \"$DEPLOY_KIND $DEPLOY_STEP $DEPLOY_SHA $DEPLOY_DIGEST\" >> " + hookLog)));

    assertThat(fixture.digest("latest")).as("the registry's latest").isEqualTo(firstDigest);
    String firstSha = first.image().orElseThrow().image().tagValue().orElseThrow();
    assertThat(Files.readString(hookLog)).as("the hook hears what went live")
        .isEqualTo("rollback rollback " + firstSha + " " + firstDigest + "\n");
    assertThat(rolledBack.promotion().orElseThrow()).singleElement().satisfies(move -> {
      assertThat(move.previousDigest()).isEqualTo(secondDigest);
      assertThat(move.digest()).isEqualTo(firstDigest);
    });
    List<String> row = ledger(fixture).get(3);
    assertThat(row.subList(1, 5)).containsExactly("rollback", firstSha, "succeeded", firstDigest);
    assertThat(row.get(5)).contains(secondDigest);
    assertThat(row.get(6)).isEqualTo("[\"latest\"]");
    assertThat(warnings(fixture)).contains("Database migrations are not reverted: production keeps 1 migration"
        + " applied after release #" + first.ledgerId().orElseThrow() + " of " + firstSha + ": V2 add body");

    // a later release renames and drops: rolling back to the first names what its image may miss
    Files.writeString(work.resolve("migrations/V3__rename_body.sql"), "-- DROP TABLE notes; is only a comment\n"
        + "ALTER TABLE notes RENAME COLUMN body TO content;\nCREATE TABLE old_stuff (id int);\nDROP TABLE IF EXISTS"
        + " old_stuff;\n");
    fixture.release("3", settings -> { });
    fixture.events.clear();

    fixture.rollback(firstSha.substring(0, 12), settings -> { });

    assertThat(fixture.digest("latest")).isEqualTo(firstDigest);
    assertThat(warnings(fixture)).contains(
        "Database migrations are not reverted: production keeps 2 migrations applied after release #"
            + first.ledgerId().orElseThrow() + " of " + firstSha + ": V2 add body, V3 rename body",
        "V3 rename body renames column body to content: the image of " + firstSha + " may still read it, and fail",
        "V3 rename body drops table old_stuff: the image of " + firstSha + " may still read it, and fail");
    assertThat(warnings(fixture)).noneMatch(line -> line.contains("drops table notes"));
  }

  /** CI run number {@code run} of one workflow: how commit order is told without git history. */
  private dev.closedloop.deploy.guard.CiEnvironment run(int run) {
    return new dev.closedloop.deploy.guard.CiEnvironment(java.util.Map.of("GITHUB_RUN_NUMBER", String.valueOf(run),
        "GITHUB_WORKFLOW_REF", "acme/shop/.github/workflows/release.yml@refs/heads/main"), work);
  }

  @Test
  void aReleaseKilledAfterItsTagMoved_beforeItSaidPromoted_isStillTheLiveOneARollbackUndoes() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    ReleaseResult first = fixture.release("1", settings -> { });
    ReleaseResult second = fixture.release("2", settings -> { });
    long id = second.ledgerId().orElseThrow();
    // what a kill -9 between the tag's move (recorded) and the status update leaves behind
    ReleaseIT.execute(fixture.production, "UPDATE closedloop.release_ledger SET status = 'failed', status_history ="
        + " (SELECT jsonb_agg(e) FROM jsonb_array_elements(status_history) e WHERE e ->> 'status' NOT IN"
        + " ('promoted', 'succeeded')) WHERE id = " + id);

    fixture.rollback(null, settings -> { });

    assertThat(fixture.digest("latest")).isEqualTo(first.image().orElseThrow().digest());
  }

  @Test
  void aRollbackThatDiedAfterMovingTheTag_isFinishedWhenRunAgain_notTakenOneReleaseFurtherBack() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    fixture.release("1", settings -> { });
    ReleaseResult second = fixture.release("2", settings -> { });
    fixture.release("3", settings -> { });
    ReleaseResult died = fixture.rollback(null, settings -> { });
    assertThat(fixture.digest("latest")).isEqualTo(second.image().orElseThrow().digest());
    // what a kill -9 after the move leaves once the next run marks it (or a rollout that failed, its revert too)
    ReleaseIT.execute(fixture.production, "UPDATE closedloop.release_ledger SET status = 'failed' WHERE id = "
        + died.ledgerId().orElseThrow());
    // and a release that failed before it moved anything ran since: it changes nothing about what is live
    ReleaseIT.execute(fixture.production, "INSERT INTO closedloop.release_ledger (service, sha, branch, status,"
        + " status_history) VALUES ('" + fixture.repository + "', 'abcdef1', 'main', 'failed', '[]')");

    fixture.rollback(null, settings -> { });

    assertThat(fixture.digest("latest")).as("still the release the first attempt restored")
        .isEqualTo(second.image().orElseThrow().digest());
    assertThat(fixture.events).anyMatch(event -> event instanceof dev.closedloop.deploy.ReleaseEvent.Progress p
        && p.message().equals("rollback #" + died.ledgerId().orElseThrow() + " moved latest to release #"
            + second.ledgerId().orElseThrow() + " and ended failed: finishing it"));
  }

  @Test
  void aReleaseWhoseRolloutRolledBack_isPassedOver_itNeverServed() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    ReleaseResult first = fixture.release("1", settings -> { });
    ReleaseResult failed = fixture.release("2", settings -> { });
    fixture.release("3", settings -> { });
    // the platform rolled the second back, and moving latest back failed: it stayed named, never served
    ReleaseIT.execute(fixture.production, "UPDATE closedloop.release_ledger SET rollout_outcome = 'rolled_back',"
        + " status = 'failed' WHERE id = " + failed.ledgerId().orElseThrow());

    fixture.rollback(null, settings -> { });

    assertThat(fixture.digest("latest")).isEqualTo(first.image().orElseThrow().digest());
  }

  @Test
  void aReleaseWhoseRolloutTimedOut_isNotPassedOver_itWasLeftToFinish() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    fixture.release("1", settings -> { });
    ReleaseResult timedOut = fixture.release("2", settings -> { });
    fixture.release("3", settings -> { });
    ReleaseIT.execute(fixture.production, "UPDATE closedloop.release_ledger SET rollout_outcome = 'timed_out'"
        + " WHERE id = " + timedOut.ledgerId().orElseThrow());

    fixture.rollback(null, settings -> { });

    assertThat(fixture.digest("latest")).isEqualTo(timedOut.image().orElseThrow().digest());
  }

  @Test
  void afterARollback_aNewerReleaseGoesLive_andASecondRollbackGoesFurtherBackNeverForward() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    ReleaseResult a = fixture.release("a", settings -> settings.ciEnvironment(run(1)));
    ReleaseResult b = fixture.release("b", settings -> settings.ciEnvironment(run(2)));
    // run from a checkout further ahead than any release so far: its run number says nothing of what it restores
    fixture.rollback(null, settings -> settings.ciEnvironment(run(9)));
    assertThat(fixture.digest("latest")).isEqualTo(a.image().orElseThrow().digest());

    DeployException further = catchThrowableOfType(() -> fixture.rollback(null, settings -> settings
        .ciEnvironment(run(9))), DeployException.class);
    assertThat(further.getMessage()).startsWith("Nothing to roll back to: release #" + a.ledgerId().orElseThrow()
        + " of " + a.image().orElseThrow().image().tagValue().orElseThrow() + ", live now, was the first to move");
    assertThat(fixture.digest("latest")).as("never forward to the release rolled back from")
        .isEqualTo(a.image().orElseThrow().digest()).isNotEqualTo(b.image().orElseThrow().digest());

    ReleaseResult c = fixture.release("c", settings -> settings.ciEnvironment(run(3)));
    assertThat(c.outcome()).as("newer than b; the rollback row does not count").isEqualTo(ReleaseResult.Outcome.COMPLETED);
    assertThat(fixture.digest("latest")).isEqualTo(c.image().orElseThrow().digest());

    // c replaced a: rolling c back restores a, never b, which the first rollback took away
    fixture.rollback(null, settings -> settings.ciEnvironment(run(9)));
    assertThat(fixture.digest("latest")).isEqualTo(a.image().orElseThrow().digest());
  }

  @Test
  void aRollbackThatWaitedWhileAReleaseWentLive_refusesToUndoWhatItNeverSaw() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    fixture.release("a", settings -> { });
    ReleaseResult b = fixture.release("b", settings -> { });
    Path holding = work.resolve("holding");
    var release = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try { // holds the lock for a while before it promotes
        return fixture.release("c", settings -> settings.hooks(java.util.List.of("pre-migrate=touch " + holding
            + "; sleep 3")));
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    while (!Files.exists(holding)) {
      Thread.sleep(50);
    }

    DeployException moved = catchThrowableOfType(() -> fixture.rollback(null, settings -> settings
        .lockTimeout("60s")), DeployException.class);

    ReleaseResult c = release.get();
    assertThat(moved.getMessage()).isEqualTo(TestServices.registry() + "/" + fixture.repository + ":latest moved from "
        + b.image().orElseThrow().digest() + " to " + c.image().orElseThrow().digest() + " while this rollback waited"
        + " for the release lock (a release went live): nothing was rolled back. Run deploy:rollback again to undo"
        + " that one, or name the target with deploy.to");
    assertThat(fixture.digest("latest")).isEqualTo(c.image().orElseThrow().digest());
  }

  @Test
  void rollback_refusesWhatWasNeverReleased_aBadTarget_andABranchOtherThanMain_changingNothing() throws Exception {
    RolloutFixture fixture = new RolloutFixture(work);
    ReleaseResult only = fixture.release("1", settings -> { });
    String digest = only.image().orElseThrow().digest();

    DeployException nothing = catchThrowableOfType(() -> fixture.rollback(null, settings -> { }),
        DeployException.class);
    assertThat(nothing.kind()).isEqualTo(DeployException.Kind.GUARD);
    assertThat(nothing.getMessage()).startsWith("Nothing to roll back to: release #" + only.ledgerId().orElseThrow()
        + " of " + only.image().orElseThrow().image().tagValue().orElseThrow() + ", live now, was the first to move"
        + " latest");

    DeployException unknown = catchThrowableOfType(() -> fixture.rollback("abcdef1234", settings -> { }),
        DeployException.class);
    assertThat(unknown.getMessage()).startsWith("Cannot roll back to abcdef1234 (deploy.to): no release of "
        + fixture.repository + " in the ledger closedloop.release_ledger ever promoted that commit");

    int rows = ledger(fixture).size();
    DeployException malformed = catchThrowableOfType(() -> fixture.rollback("yesterday", settings -> { }),
        DeployException.class);
    assertThat(malformed.kind()).isEqualTo(DeployException.Kind.CONFIGURATION);
    assertThat(malformed.getMessage()).startsWith("to (deploy.to) must be a commit SHA");

    DeployException branch = catchThrowableOfType(() -> fixture.rollback(digest, settings -> settings
        .branch("feature/x")), DeployException.class);
    assertThat(branch.kind()).isEqualTo(DeployException.Kind.GUARD);
    assertThat(branch.getMessage()).startsWith("Refusing to release from branch 'feature/x'");

    assertThat(ledger(fixture)).as("no row for a refusal before the lock").hasSize(rows);
    assertThat(ledger(fixture).subList(1, rows)).allMatch(row -> row.get(1).equals("rollback")
        && row.get(3).equals("failed"));
    assertThat(fixture.digest("latest")).isEqualTo(digest);
  }
}
