package dev.closedloop.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.guard.CiEnvironment;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Environments as the settings see them: what each replaces, its own lock, and what is refused. */
class EnvironmentTest {

  @TempDir Path dir;

  private ReleaseBuilder twoEnvironments() {
    return Release.configure().image("localhost:5000/shop").sha("abcdef1").buildContext(dir)
        .ciEnvironment(new CiEnvironment(Map.of(), dir))
        .databaseUrl("postgres://app@db.internal/top", null, null)
        .allowedBranches(List.of("main"))
        .hooks(List.of("post-release=./top.sh"))
        .rolloutService("top-service")
        .environments(List.of(
            Environment.named("staging").databaseUrl("postgres://app@staging.internal/shop", null, null)
                .promoteTags(List.of("staging")).hooks(List.of("post-release=./staging.sh")),
            Environment.named("production").lockName("shop-live").promoteTags(List.of("latest"))
                .allowedBranches(List.of("release/*"))));
  }

  @Test
  void anEnvironment_replacesWhatItGives_andKeepsTheRest_withALockOfItsOwn() {
    ReleaseBuilder builder = twoEnvironments();

    ReleaseConfig staging = builder.environment("staging").load().config();
    ReleaseConfig production = builder.environment("production").load().config();
    ReleaseConfig none = builder.environment(null).load().config();

    assertThat(staging.production().database().describe()).contains("staging.internal");
    assertThat(staging.registry().promoteTags()).containsExactly("staging");
    assertThat(staging.production().guards().lockName()).isEqualTo("shop/staging");
    assertThat(staging.production().guards().allowedBranches()).containsExactly("main");
    assertThat(staging.hooks().at(dev.closedloop.deploy.hook.HookPoint.POST_RELEASE))
        .extracting(dev.closedloop.deploy.hook.Hook::describe).singleElement().asString().contains("staging.sh");
    assertThat(staging.rollout().service()).isEqualTo("top-service");
    assertThat(staging.production().environment()).isEqualTo("staging");

    assertThat(production.production().database().describe()).contains("db.internal/top");
    assertThat(production.production().guards().lockName()).as("named: kept as it is").isEqualTo("shop-live");
    assertThat(production.production().guards().allowedBranches()).containsExactly("release/*");
    assertThat(production.hooks().at(dev.closedloop.deploy.hook.HookPoint.POST_RELEASE))
        .extracting(dev.closedloop.deploy.hook.Hook::describe).singleElement().asString().contains("top.sh");

    assertThat(none.production().environment()).isNull();
    assertThat(none.production().environments()).containsExactly("staging", "production");
    assertThat(none.production().guards().lockName()).isEqualTo("shop");
    assertThat(none.registry().promoteTags()).containsExactly("latest");
  }

  @Test
  void anEnvironmentNotDefined_orTwoMovingOneTag_orABadName_isRefusedInOneMessage() {
    assertThatThrownBy(() -> twoEnvironments().environment("prod").load()).isInstanceOf(DeployException.class)
        .hasMessageContaining("environment (deploy.environment): 'prod' is not defined; the environments are staging,"
            + " production");
    assertThatThrownBy(() -> Release.configure().image("localhost:5000/shop").sha("abcdef1").buildContext(dir)
        .ciEnvironment(new CiEnvironment(Map.of(), dir)).environment("staging").load())
        .hasMessageContaining("'staging' is not defined; the POM defines no <environments>");
    assertThatThrownBy(() -> Release.configure().image("localhost:5000/shop").sha("abcdef1").buildContext(dir)
        .ciEnvironment(new CiEnvironment(Map.of(), dir))
        .environments(List.of(Environment.named("staging"), Environment.named("production"),
            Environment.named("Prod Env"), Environment.named("staging")))
        .environment("staging").load())
        .isInstanceOf(DeployException.class)
        .hasMessageContaining("environments staging and production both move the tag 'latest'")
        .hasMessageContaining("'Prod Env' is not an environment's name")
        .hasMessageContaining("'staging' is defined twice");
    assertThatThrownBy(() -> Release.configure().image("localhost:5000/shop").sha("abcdef1").buildContext(dir)
        .ciEnvironment(new CiEnvironment(Map.of(), dir))
        .environments(List.of(Environment.named("staging").lockName("shop").promoteTags(List.of("staging")),
            Environment.named("production").lockName("shop")))
        .environment("staging").load())
        .hasMessageContaining("environments staging and production both use the lock 'shop'");
    assertThatThrownBy(() -> Release.configure().image("localhost:5000/shop").sha("abcdef1").buildContext(dir)
        .ciEnvironment(new CiEnvironment(Map.of(), dir))
        .environments(List.of(Environment.named("staging").promoteTags(List.of("staging")),
            Environment.named("production").lockName("shop/staging")))
        .environment("production").load())
        .as("a name given against one derived").hasMessageContaining("both use the lock 'shop/staging'");
  }

  @Test
  void loadingOneEnvironment_leavesTheBuilderAsItWas() {
    ReleaseBuilder builder = twoEnvironments();
    builder.environment("staging").load();

    assertThat(builder.promoteTags).containsExactly("latest");
    assertThat(builder.hookEntries).containsExactly("post-release=./top.sh");
    assertThat(builder.databaseUrl).contains("db.internal/top");
  }

  @Test
  void promotingFrom_needsAnEnvironmentToPromoteTo_andAnotherToPromoteFrom() {
    Release none = twoEnvironments().load();
    Release staging = twoEnvironments().environment("staging").load();

    assertThatThrownBy(() -> none.promoteFrom("staging")).isInstanceOf(DeployException.class)
        .hasMessageStartingWith("from (deploy.from) promotes between environments: name the one to promote to with"
            + " deploy.environment");
    assertThatThrownBy(() -> staging.promoteFrom("staging")).isInstanceOf(DeployException.class)
        .hasMessageStartingWith("from (deploy.from) must name another environment than staging");
    assertThatThrownBy(() -> staging.promoteFrom("qa")).isInstanceOf(DeployException.class)
        .hasMessageContaining("'qa' is not defined");
  }
}
