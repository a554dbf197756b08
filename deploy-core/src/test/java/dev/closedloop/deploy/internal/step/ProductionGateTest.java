package dev.closedloop.deploy.internal.step;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.ReleaseEvent;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.guard.CiEnvironment;
import dev.closedloop.deploy.internal.Events;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gate's decisions, which release, plan and history share: no database, no Docker. */
class ProductionGateTest {

  @TempDir Path dir;

  private ProductionGate gate(Map<String, String> ci, UnaryOperator<dev.closedloop.deploy.ReleaseBuilder> settings) {
    ReleaseConfig config = settings.apply(Release.configure().buildContext(dir).ciEnvironment(new CiEnvironment(ci,
        dir))).load().config();
    return new ProductionGate(config);
  }

  private static DatabaseTarget target(String url) {
    return DatabaseTarget.parse(url, null, null, "databaseUrl (deploy.databaseUrl)");
  }

  @Test
  void aBuildOfUncommittedChanges_isTaggedAsSuch_andUnderCiNeverGoesLive() throws Exception {
    dev.closedloop.deploy.internal.guard.TestGit.initWithOneCommit(dir, "main");
    java.nio.file.Files.writeString(dir.resolve("a.txt"), "changed, not committed");
    Map<String, String> ci = Map.of("GITHUB_ACTIONS", "true", "GITHUB_REF", "refs/heads/main");

    ReleaseConfig laptop = Release.configure().image("registry.example.com/shop").buildContext(dir)
        .ciEnvironment(new CiEnvironment(Map.of(), dir)).load().config();
    String sha = laptop.buildRequest().sha();
    assertThat(laptop.buildRequest().shaRef().tagValue()).hasValueSatisfying(tag -> assertThat(tag)
        .matches(sha + "-dirty-[0-9a-f]{12}"));
    assertThat(laptop.warnings()).anyMatch(w -> w.startsWith("The working tree has uncommitted changes: an image"
        + " built now is tagged " + sha + "-dirty-"));
    new ProductionGate(laptop).refuseUncommittedUnderCi(); // a developer's own: not refused

    ReleaseConfig underCi = Release.configure().image("registry.example.com/shop").buildContext(dir)
        .ciEnvironment(new CiEnvironment(ci, dir)).load().config();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new ProductionGate(underCi).refuseUncommittedUnderCi())
        .isInstanceOfSatisfying(dev.closedloop.deploy.DeployException.class, e -> {
          assertThat(e.kind()).isEqualTo(dev.closedloop.deploy.DeployException.Kind.GUARD);
          assertThat(e.getMessage()).startsWith("Refusing to put registry.example.com/shop:" + sha + "-dirty-")
              .contains("under CI (GitHub Actions) the working tree differs from commit " + sha);
        });
  }

  @Test
  void branch_onMainUnderCi_passes() {
    ProductionGate.BranchVerdict verdict = gate(Map.of("GITHUB_ACTIONS", "true", "GITHUB_REF", "refs/heads/main"),
        settings -> settings).branch();

    assertThat(verdict.refused()).isFalse();
    assertThat(verdict.orThrow().branch()).isEqualTo("main");
    assertThat(verdict.orThrow().overridden()).isFalse();
  }

  @Test
  void branch_onAFeatureBranch_isRefusedWithTheGuardsOwnMessage_andOrThrowThrowsIt() {
    ProductionGate.BranchVerdict verdict = gate(Map.of("GITHUB_ACTIONS", "true", "GITHUB_REF",
        "refs/heads/feature/x"), settings -> settings).branch();

    assertThat(verdict.refused()).isTrue();
    assertThat(verdict.refusal().kind()).isEqualTo(DeployException.Kind.GUARD);
    assertThat(verdict.refusal().getMessage()).startsWith("Refusing to release from branch 'feature/x'");
    assertThatThrownBy(verdict::orThrow).isSameAs(verdict.refusal());
  }

  @Test
  void branch_withTheGuardOff_passesOverridden_withItsWarning() {
    ProductionGate.BranchVerdict verdict = gate(Map.of("GITHUB_ACTIONS", "true", "GITHUB_REF",
        "refs/heads/feature/x"), settings -> settings.branchGuard("off")).branch();

    assertThat(verdict.refused()).isFalse();
    assertThat(verdict.decision().overridden()).isTrue();
    assertThat(verdict.decision().warning()).startsWith("BRANCH GUARD OFF (deploy.branchGuard=off)");
  }

  @Test
  void allowedBranches_defaultToMainAndMaster_elseAreTheSetting() {
    assertThat(gate(Map.of(), settings -> settings).allowedBranches()).containsExactly("main", "master");
    assertThat(gate(Map.of(), settings -> settings.allowedBranches(List.of("release/*"))).allowedBranches())
        .containsExactly("release/*");
  }

  @Test
  void beforeConnecting_aRemoteHostWithoutTls_isWarnedAbout_andLetThrough() {
    List<ReleaseEvent> events = new ArrayList<>();
    ProductionGate.ConnectionVerdict verdict = gate(Map.of(), settings -> settings)
        .beforeConnecting(target("postgresql://db.example.com:5432/shop"));

    assertThat(verdict.refused()).isFalse();
    verdict.enforce(new Events(List.of(events::add)));

    assertThat(events).singleElement().asString().contains("databaseUrl: the connection to db.example.com does not"
        + " require TLS (sslmode=prefer)");
  }

  @Test
  void beforeConnecting_aRemoteHostWithoutTls_underRequireTls_isRefused() {
    ProductionGate.ConnectionVerdict verdict = gate(Map.of(), settings -> settings.requireTls(true))
        .beforeConnecting(target("postgresql://db.example.com:5432/shop"));

    assertThat(verdict.refused()).isTrue();
    assertThatThrownBy(() -> verdict.enforce(Events.none())).isInstanceOfSatisfying(DeployException.class, e -> {
      assertThat(e.kind()).isEqualTo(DeployException.Kind.CONFIGURATION);
      assertThat(e.getMessage()).isEqualTo("databaseUrl (deploy.databaseUrl): the connection to db.example.com does"
          + " not require TLS (sslmode=prefer): add sslmode=require (or verify-full) to the URL (deploy.requireTls"
          + " is set)");
    });
  }

  @Test
  void beforeConnecting_theTransactionPoolersPort_isRefused_evenWithTls() {
    ProductionGate.ConnectionVerdict verdict = gate(Map.of(), settings -> settings)
        .beforeConnecting(target("postgresql://pooler.example.com:6543/postgres?sslmode=require"));

    assertThat(verdict.tlsProblem()).isEmpty();
    assertThat(verdict.refused()).isTrue();
    assertThatThrownBy(() -> verdict.enforce(Events.none())).isInstanceOfSatisfying(DeployException.class,
        e -> assertThat(e.getMessage()).startsWith("databaseUrl (deploy.databaseUrl): pooler.example.com:6543 is a"
            + " transaction-mode pooler"));
  }

  @Test
  void beforeConnecting_thisMachine_passes() {
    ProductionGate.ConnectionVerdict verdict = gate(Map.of(), settings -> settings.requireTls(true))
        .beforeConnecting(target("postgresql://127.0.0.1:5432/shop"));

    assertThat(verdict.refused()).isFalse();
    assertThat(verdict.tlsProblem()).isEmpty();
    assertThat(verdict.poolerProblem()).isEmpty();
    verdict.enforce(Events.none());
  }
}
