package dev.closedloop.deploy.internal.guard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.closedloop.deploy.guard.CiEnvironment;
import dev.closedloop.deploy.internal.guard.CommitOrder.Commit;
import dev.closedloop.deploy.internal.guard.CommitOrder.Verdict;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which of two commits is newer, on real git repositories. */
class CommitOrderTest {

  @TempDir Path dir;

  private String commit(Path repo, String file) throws Exception {
    Files.writeString(repo.resolve(file), file);
    TestGit.git(repo, "add", file);
    TestGit.git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", file);
    return head(repo);
  }

  private static String head(Path repo) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("git", "-C", repo.toString(), "rev-parse", "HEAD").start();
    String sha = new String(p.getInputStream().readAllBytes()).trim();
    p.waitFor();
    return sha;
  }

  @Test
  void gitHistory_decides_whenItHoldsBothCommits() throws Exception {
    TestGit.initWithOneCommit(dir, "main");
    String first = commit(dir, "b.txt");
    String second = commit(dir, "c.txt");
    CommitOrder order = new CommitOrder(new CiEnvironment(Map.of(), dir));

    // run numbers that say the opposite lose to the history
    assertThat(order.compare(new Commit(second, 1L, null, List.of()), new Commit(first, 9L, null, List.of())))
        .isEqualTo(new CommitOrder.Comparison(Verdict.NEWER, "git history"));
    assertThat(order.compare(new Commit(first, null, null, List.of()), new Commit(second, null, null, List.of())).verdict()).isEqualTo(Verdict.OLDER);
    assertThat(order.compare(new Commit(first, null, null, List.of()), new Commit(first, null, null, List.of())).verdict()).isEqualTo(Verdict.SAME);
  }

  @Test
  void runNumbers_decide_whenGitCannot_andNeitherMeansUnknown() throws Exception {
    TestGit.initWithOneCommit(dir, "main");
    String base = head(dir);
    TestGit.git(dir, "checkout", "-q", "-b", "other");
    String left = commit(dir, "left.txt");
    TestGit.git(dir, "checkout", "-q", "main");
    String right = commit(dir, "right.txt"); // diverged: neither is the other's ancestor
    CommitOrder order = new CommitOrder(new CiEnvironment(Map.of(), dir));
    String unknown = "0123456789abcdef0123456789abcdef01234567"; // not in this clone (a shallow one, say)

    assertThat(order.compare(new Commit(left, 12L, "deploy.yml", List.of()), new Commit(right, 11L, "deploy.yml", List.of())))
        .isEqualTo(new CommitOrder.Comparison(Verdict.NEWER, "CI run numbers 12 and 11"));
    assertThat(order.compare(new Commit(left, 12L, "deploy.yml", List.of()), new Commit(right, 11L, "nightly.yml",
        List.of())).verdict()).as("numbers of different counters are not compared").isEqualTo(Verdict.UNKNOWN);
    assertThat(order.compare(new Commit(unknown, 3L, null, List.of()), new Commit(base, 4L, null, List.of())).verdict())
        .isEqualTo(Verdict.OLDER);
    assertThat(order.compare(new Commit(unknown, null, null, List.of()), new Commit(base, 4L, null, List.of())).verdict()).isEqualTo(Verdict.UNKNOWN);
    assertThat(order.compare(new Commit(unknown, null, null, List.of()), new Commit(base, 4L, null, List.of())).basis()).contains("fetch-depth: 0");
  }

  @Test
  void runNumber_comesFromTheCiSystemsVariable() {
    assertThat(new CiEnvironment(Map.of("GITHUB_RUN_NUMBER", "417"), dir).runNumber()).contains(417L);
    assertThat(new CiEnvironment(Map.of("CI_PIPELINE_IID", "12"), dir).runNumber()).contains(12L);
    assertThat(new CiEnvironment(Map.of("BUILD_NUMBER", "not-a-number"), dir).runNumber()).isEmpty();
    assertThat(new CiEnvironment(Map.of(), dir).runNumber()).isEmpty();
  }

  @Test
  void theLedgersRecordedHistory_decides_whenThisClonesHistoryDoesNot() {
    CommitOrder order = new CommitOrder(new CiEnvironment(Map.of(), dir)); // no repository at all here
    String older = "1111111111111111111111111111111111111111";
    String newer = "2222222222222222222222222222222222222222";
    Commit newerAsRecorded = new Commit(newer, null, null, List.of(newer, older));

    assertThat(order.compare(new Commit(older, null, null, List.of(older)), newerAsRecorded))
        .isEqualTo(new CommitOrder.Comparison(Verdict.OLDER, "git history"));
    assertThat(order.compare(newerAsRecorded, new Commit(older.substring(0, 7), null, null, List.of())).verdict())
        .as("an abbreviated SHA is the same commit").isEqualTo(Verdict.NEWER);
  }
}
