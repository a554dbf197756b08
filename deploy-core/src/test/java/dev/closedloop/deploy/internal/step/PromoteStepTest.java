package dev.closedloop.deploy.internal.step;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.image.BuiltImage;
import dev.closedloop.deploy.image.ImageRef;
import dev.closedloop.deploy.image.TagMove;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Promote's contract over an in-memory registry and production: each tag's previous digest before its move. */
class PromoteStepTest {

  @TempDir Path dir;

  private static final ImageRef REPOSITORY = ImageRef.parse("registry.example.com/shop");

  @Test
  void promote_inARelease_movesLatestToTheBuiltDigest_recordingThePreviousDigestFirst() {
    StepFixture fixture = new StepFixture(dir);
    String live = fixture.registry.push("the image live now");
    fixture.registry.putManifest(REPOSITORY, "latest", fixture.registry.manifests.get(live));
    String built = fixture.registry.push("the image this release built");
    try (RunContext context = fixture.context(null)) {
      context.state().put(BuildStep.IMAGE, new BuiltImage(REPOSITORY.withTag(StepFixture.SHA), built, List.of(), false));
      context.lockProduction(Step.MIGRATE); // migrate ran in this process: not a split job

      PromoteStep.Promotion promotion = new PromoteStep().run(context);

      assertThat(fixture.registry.tags.get(REPOSITORY.name() + ":latest")).isEqualTo(built);
      assertThat(promotion.moves()).containsExactly(new TagMove("latest", live, built, true));
      assertThat(promotion.image().digest()).isEqualTo(built);
      assertThat(fixture.production.journal).containsExactly("verify lock", "previous latest " + live,
          "moved latest");
      assertThat(fixture.progress()).contains("[promote] " + REPOSITORY.withTag("latest") + ": " + live + " -> "
          + built);
    }
  }

  @Test
  void promote_inASplitJob_withoutASuccessfulMigrateOfThisCommit_refuses_andMovesNoTag() {
    StepFixture fixture = new StepFixture(dir);
    String live = fixture.registry.push("the image live now");
    fixture.registry.putManifest(REPOSITORY, "latest", fixture.registry.manifests.get(live));
    fixture.registry.putManifest(REPOSITORY, StepFixture.SHA, fixture.registry.manifests.get(
        fixture.registry.push("this commit's image")));
    try (RunContext context = fixture.context(null)) {
      assertThatThrownBy(() -> new PromoteStep().run(context)).isInstanceOfSatisfying(DeployException.class, e -> {
        assertThat(e.kind()).isEqualTo(DeployException.Kind.GUARD);
        assertThat(e.getMessage()).isEqualTo("Refusing to promote " + StepFixture.SHA + ": the ledger has no"
            + " successful migrate for this commit. Run deploy:migrate first");
      });
      assertThat(fixture.registry.tags.get(REPOSITORY.name() + ":latest")).isEqualTo(live);
      assertThat(fixture.production.journal).isEmpty();
    }
  }

  @Test
  void promote_inASplitJob_afterANewerReleaseMigrated_refuses_andMovesNoTag() {
    StepFixture fixture = new StepFixture(dir);
    String mine = fixture.registry.push("this commit's image");
    fixture.registry.putManifest(REPOSITORY, StepFixture.SHA, fixture.registry.manifests.get(mine));
    fixture.production.rows.add(InMemoryProduction.row(3, StepFixture.SHA, mine, "migrated"));
    fixture.production.rows.add(InMemoryProduction.row(5, "fedcba9876543210fedcba9876543210fedcba98", "sha256:"
        + "f".repeat(64), "migrated"));
    try (RunContext context = fixture.context(null)) {
      assertThatThrownBy(() -> new PromoteStep().run(context)).isInstanceOfSatisfying(DeployException.class,
          e -> assertThat(e.getMessage()).startsWith("Refusing to promote " + StepFixture.SHA + ": release #5 of"
              + " fedcba9876543210fedcba9876543210fedcba98 migrated production after it"));
      assertThat(fixture.registry.tags).doesNotContainKey(REPOSITORY.name() + ":latest");
      assertThat(fixture.production.journal).isEmpty();
    }
  }

  @Test
  void promote_inASplitJob_promotesTheDigestMigrateRecorded_evenWhenTheShaTagWasRebuiltSince() {
    StepFixture fixture = new StepFixture(dir);
    String migrated = fixture.registry.push("the image whose migrations were applied");
    String rebuilt = fixture.registry.push("a forced rebuild of the same commit");
    fixture.registry.putManifest(REPOSITORY, StepFixture.SHA, fixture.registry.manifests.get(rebuilt));
    fixture.production.rows.add(InMemoryProduction.row(3, StepFixture.SHA, migrated, "migrated"));
    try (RunContext context = fixture.context(null)) {
      PromoteStep.Promotion promotion = new PromoteStep().run(context);

      assertThat(fixture.registry.tags.get(REPOSITORY.name() + ":latest")).isEqualTo(migrated);
      assertThat(promotion.image().digest()).isEqualTo(migrated);
      assertThat(fixture.production.journal).containsExactly("image " + migrated, "verify lock",
          "previous latest null", "moved latest", "row 3 migrated -> succeeded");
    }
  }

  @Test
  void promote_inASplitJob_failingToMoveTheTag_stillNamesTheDigestItWasPuttingLive() {
    StepFixture fixture = new StepFixture(dir);
    String migrated = fixture.registry.push("the image whose migrations were applied");
    String rebuilt = fixture.registry.push("a forced rebuild of the same commit");
    fixture.registry.putManifest(REPOSITORY, StepFixture.SHA, fixture.registry.manifests.get(rebuilt));
    fixture.registry.refusePuts = true;
    fixture.production.rows.add(InMemoryProduction.row(3, StepFixture.SHA, migrated, "migrated"));
    try (RunContext context = fixture.context(null)) {
      assertThatThrownBy(() -> new PromoteStep().run(context)).isInstanceOf(DeployException.class);

      assertThat(context.knownImage().orElseThrow().digest()).as("what the partial result and hooks name")
          .isEqualTo(migrated);
    }
  }
}
