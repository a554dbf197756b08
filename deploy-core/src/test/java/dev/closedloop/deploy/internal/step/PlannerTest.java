package dev.closedloop.deploy.internal.step;

import static org.assertj.core.api.Assertions.assertThat;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.guard.CiEnvironment;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.report.Plan;
import dev.closedloop.deploy.report.PlanGuard;
import dev.closedloop.deploy.report.PlanImage;
import dev.closedloop.deploy.report.PlanProduction;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The plan assembled from the steps' parts when nothing can be reached: every gap named, none fatal. */
class PlannerTest {

  @TempDir Path dir;

  @Test
  void plan_whenNeitherRegistryNorProductionIsReachable_namesWhatIsNotKnownAndGoesOn() throws Exception {
    Files.writeString(dir.resolve("Dockerfile"), "FROM scratch\n");
    ReleaseConfig config = Release.configure().buildContext(dir).ciEnvironment(new CiEnvironment(Map.of(), dir))
        .image("127.0.0.1:1/shop").sha("0123456789abcdef0123456789abcdef01234567").branch("main")
        .promoteTags(List.of("latest")).migrations(Migrations.image("./migrate up", List.of(), null))
        .compatibilityCommand("./check.sh").forPlan(true).load().config();

    Plan plan = Planner.plan(config, Events.none(), List.of("build: build it", "promote: move latest"));

    assertThat(plan.guards()).extracting(PlanGuard::guard, PlanGuard::verdict).containsExactly(
        org.assertj.core.groups.Tuple.tuple(PlanGuard.Kind.BRANCH, PlanGuard.Verdict.PASS),
        org.assertj.core.groups.Tuple.tuple(PlanGuard.Kind.COMMIT_ORDER, PlanGuard.Verdict.UNKNOWN));
    assertThat(plan.image().action()).isEqualTo(PlanImage.Action.UNKNOWN);
    assertThat(plan.production()).isEqualTo(PlanProduction.notRead(null,
        "databaseUrl (deploy.databaseUrl, or under CI the DATABASE_URL variable) is not set"));
    assertThat(plan.lock().known()).isFalse();
    assertThat(plan.migrations().list()).isNull();
    assertThat(plan.lint()).as("the set is not known: no lint section").isNull();
    assertThat(plan.drift().checked()).isFalse();
    assertThat(plan.tagMoves()).singleElement().satisfies(move -> {
      assertThat(move.known()).isFalse();
      assertThat(move.newDigest()).isNull();
    });
    assertThat(plan.compatibility().known()).isFalse();
    assertThat(plan.rollout()).isNull();
    assertThat(plan.steps()).extracting(Plan.StepLine::step).containsExactly("build", "promote");
    assertThat(plan.blockers()).isEmpty();
    assertThat(plan.unknowns()).hasSize(3);
    assertThat(plan.unknowns().get(0)).startsWith("registry not reachable: Cannot reach the registry 127.0.0.1:1");
    assertThat(plan.unknowns().subList(1, 3)).containsExactly(
        "production not reachable: databaseUrl (deploy.databaseUrl, or under CI the DATABASE_URL variable) is not set",
        "compatibility check: which image production runs is not known (the registry was not read)");
  }
}
