package dev.closedloop.deploy.internal.step;

import static org.assertj.core.api.Assertions.assertThat;

import dev.closedloop.deploy.ReleaseEvent;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.guard.LedgerKind;
import dev.closedloop.deploy.image.RegistryCredentials;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.secret.Secrets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a run adds to its configuration's secrets stays the run's, and is masked wherever the run shows text. */
class RunContextTest {

  private static final String TOKEN = "ecr-push-token-4f9a2c71";

  @TempDir Path dir;

  @Test
  void aPushTokenTheRegistryHandsOut_isMaskedForTheRun_andTheConfigurationStaysAsLoaded() {
    StepFixture fixture = new StepFixture(dir, builder -> builder.databaseUrl("postgresql://app:hunter2@127.0.0.1:5432/shop",
        null, null));
    fixture.registry.handsOut = new RegistryCredentials("AWS", TOKEN);
    // wired as Release wires a run: its events and the CI's masking share the run's secrets
    Secrets secrets = new Secrets(fixture.config.redactor());
    List<String> told = new CopyOnWriteArrayList<>();
    secrets.onAdd(told::add);

    try (RunContext context = new RunContext(fixture.config, new Events(List.of(fixture.events::add), secrets),
        LedgerKind.RELEASE, fixture.registry, (c, step) -> fixture.production, step -> null)) {
      assertThat(context.registryCredentials().password()).isEqualTo(TOKEN);
      assertThat(context.registryCredentials().password()).as("fetched once for the run").isEqualTo(TOKEN);
      context.events().progress(Step.BUILD, "docker login -p " + TOKEN);

      assertThat(context.redactor().redact("token " + TOKEN + ", password hunter2")).isEqualTo("token ****, password ****");
    }

    assertThat(fixture.progress()).containsExactly("[build] docker login -p ****");
    assertThat(told).as("told once, after what the configuration knew").endsWith(TOKEN).contains("hunter2")
        .containsOnlyOnce(TOKEN);
    assertThat(secrets.redact(TOKEN)).isEqualTo("****");
    assertThat(fixture.config.redactor().redact(TOKEN)).as("the configuration as loaded").isEqualTo(TOKEN);
  }

  @Test
  void aRunWhoseEventsWereMadeApart_stillMasksItsConfigurationsSecrets() {
    StepFixture fixture = new StepFixture(dir, builder -> builder.databaseUrl("postgresql://app:hunter2@127.0.0.1:5432/shop",
        null, null));

    try (RunContext context = fixture.context(null)) {
      context.events().warn("could not connect as app:hunter2");

      assertThat(context.redactor().redact("hunter2")).isEqualTo("****");
    }
    assertThat(fixture.events).containsExactly(new ReleaseEvent.Log(ReleaseEvent.Level.WARN,
        "could not connect as app:****"));
  }
}
