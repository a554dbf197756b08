package dev.closedloop.deploy.rollout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.guard.CiEnvironment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RolloutSettingsTest {

  private static final String APP_RUNNER = "arn:aws:apprunner:eu-west-1:123456789012:service/shop/8fe1e10304f84fd2b0df550fe98a71fa";

  @TempDir Path dir;

  private static RolloutSettings parse(String kind, String service, String timeout, List<String> ports, String url,
      String command) {
    return RolloutSettings.parse(kind, service, timeout, ports, Map.of(), url, command);
  }

  private static void assertRefused(Runnable parse, String message) {
    assertThatThrownBy(parse::run).isInstanceOfSatisfying(DeployException.class, e -> {
      assertThat(e.kind()).isEqualTo(DeployException.Kind.CONFIGURATION);
      assertThat(e.getMessage()).isEqualTo(message);
    });
  }

  @Test
  void none_isTheDefault_andNeedsNothingElse() {
    assertThat(parse(null, null, null, List.of(), null, null).enabled()).isFalse();
    assertThat(parse("NONE", null, null, List.of(), null, null).timeout()).isEqualTo(Duration.ofMinutes(30));
  }

  @Test
  void eachTarget_takesItsOwnServiceForm_andAnArnNamesTheRegion() {
    RolloutSettings appRunner = parse("apprunner", APP_RUNNER, "15m", List.of(), null, null);
    assertThat(appRunner.serviceRegion()).isEqualTo("eu-west-1");
    assertThat(appRunner.timeout()).isEqualTo(Duration.ofMinutes(15));
    RolloutSettings ecs = parse("ecs", "prod/shop", null, List.of(), null, null);
    assertThat(ecs.serviceRegion()).isNull();
    assertThat(ecs.ecsClusterAndService()).containsExactly("prod", "shop");
    RolloutSettings ecsArn = parse("ecs", "arn:aws:ecs:us-east-2:123456789012:service/prod/shop", null, List.of(),
        null, null);
    assertThat(ecsArn.serviceRegion()).isEqualTo("us-east-2");
    assertThat(ecsArn.ecsClusterAndService()).containsExactly("prod", "shop");
    assertThat(parse("ecs-express", "arn:aws:ecs:us-east-1:123456789012:service/default/shop", null, List.of(), null,
        null).serviceRegion()).isEqualTo("us-east-1");
  }

  @Test
  void aCloudTarget_takesThePublicAddressToAsk_andTextItMustServe() {
    RolloutSettings appRunner = RolloutSettings.parse("apprunner", APP_RUNNER, null, List.of(), Map.of(),
        "https://shop.example.com/version", null, "0123abc", false);
    assertThat(appRunner.healthUrl()).hasToString("https://shop.example.com/version");
    assertThat(appRunner.healthExpect()).isEqualTo("0123abc");
    RolloutSettings ecs = RolloutSettings.parse("ecs", "prod/shop", null, List.of(), Map.of(),
        "https://shop.example.com/health", null, null, true);
    assertThat(ecs.ecsWithoutRollback()).isTrue();
  }

  @Test
  void healthExpect_andEcsWithoutRollback_needWhatTheyJudgeBy() {
    assertRefused(() -> RolloutSettings.parse("apprunner", APP_RUNNER, null, List.of(), Map.of(), null, null,
        "0123abc", false), "healthExpect (deploy.healthExpect) is looked for in what deploy.healthUrl answers: set"
        + " deploy.healthUrl too");
    assertRefused(() -> RolloutSettings.parse("ecs", "prod/shop", null, List.of(), Map.of(), null, null, null, true),
        "ecsWithoutRollback (deploy.ecsWithoutRollback) judges the deployment by deploy.healthUrl instead of ECS's"
        + " circuit breaker: set deploy.healthUrl to the service's public health address");
    assertRefused(() -> RolloutSettings.parse("apprunner", APP_RUNNER, null, List.of(), Map.of(),
        "https://shop.example.com/health", null, null, true), "ecsWithoutRollback (deploy.ecsWithoutRollback) is for"
        + " deploy.rollout=ecs only");
    assertRefused(() -> RolloutSettings.parse("apprunner", APP_RUNNER, null, List.of(), Map.of(),
        "https://ops:s3cret@shop.example.com/version", null, null, false), "healthUrl (deploy.healthUrl) must not hold"
        + " a user or password: the address a release is checked at is asked without credentials");
    assertRefused(() -> RolloutSettings.parse("apprunner", APP_RUNNER, null, List.of(), Map.of(), "shop.example.com",
        null, null, false), "healthUrl (deploy.healthUrl) must be an http(s) URL such as"
        + " https://shop.example.com/version; got 'shop.example.com'");
  }

  @Test
  void badSettings_areNamedWithTheFormExpected() {
    assertRefused(() -> parse("kubernetes", "x", null, List.of(), null, null), "rollout (deploy.rollout) must be one"
        + " of none, local, apprunner, ecs, ecs-express; got 'kubernetes'");
    assertRefused(() -> parse("ecs", null, null, List.of(), null, null), "rolloutService (deploy.rolloutService) is"
        + " required by deploy.rollout=ecs: CLUSTER/SERVICE, or the ECS service ARN");
    assertRefused(() -> parse("apprunner", "shop", null, List.of(), null, null), "rolloutService"
        + " (deploy.rolloutService) 'shop' is not the App Runner service ARN,"
        + " arn:aws:apprunner:REGION:ACCOUNT:service/NAME/ID");
    assertRefused(() -> parse("ecs-express", "prod/shop", null, List.of(), null, null), "rolloutService"
        + " (deploy.rolloutService) 'prod/shop' is not the Express service ARN,"
        + " arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME");
    assertRefused(() -> parse("ecs", "prod/shop", "soon", List.of(), null, null), "rolloutTimeout"
        + " (deploy.rolloutTimeout) 'soon' is not a duration: write e.g. 30m, 90s or 1h");
    assertRefused(() -> parse("ecs", "prod/shop", "0s", List.of(), null, null), "rolloutTimeout"
        + " (deploy.rolloutTimeout) must be more than zero");
  }

  @Test
  void local_needsAHealthCheck_onAPublishedPort() {
    RolloutSettings local = parse("local", "shop", "2m", List.of("127.0.0.1:18080:8080", "9090:9090/udp"),
        "http://127.0.0.1:18080/health", null);
    assertThat(local.ports()).extracting(Object::toString).containsExactly("127.0.0.1:18080:8080", "9090:9090/udp");
    assertThat(parse("local", "shop", null, List.of(), null, "wget -q -O- localhost:8080/health").healthCommand())
        .isEqualTo("wget -q -O- localhost:8080/health");

    assertRefused(() -> parse("local", "shop", null, List.of("18080:8080"), null, null), "deploy.rollout=local needs"
        + " a health check: set healthUrl (deploy.healthUrl, answering 2xx) or healthCommand (deploy.healthCommand,"
        + " run in the container, exiting 0)");
    assertRefused(() -> parse("local", "shop", null, List.of("18080:8080"), "http://127.0.0.1:9999/health", null),
        "healthUrl (deploy.healthUrl) http://127.0.0.1:9999/health must use one of the host ports of"
            + " deploy.localPorts [18080:8080]: the new container is checked on a spare port of its own before it"
            + " takes the old one's place");
    assertRefused(() -> parse("local", "shop", null, List.of("80808:8080"), null, "true"), "localPorts"
        + " (deploy.localPorts) takes HOSTPORT:CONTAINERPORT entries such as 18080:8080 (optionally IP: before and"
        + " /udp after); got '80808:8080'");
    assertRefused(() -> parse("local", "-shop", null, List.of(), null, "true"), "rolloutService"
        + " (deploy.rolloutService) '-shop' is not the container name, e.g. shop-service");
  }

  @Test
  void localEnv_resolvesSecretReferences_andMasksThem_butNotPlainValues() throws Exception {
    Path token = Files.writeString(dir.resolve("token"), "s3cret-token-value\n");
    Release release = Release.configure().image("localhost:5000/shop").sha("abcdef1").buildContext(dir)
        .ciEnvironment(new CiEnvironment(Map.of(), dir))
        .migrations(dev.closedloop.deploy.database.Migrations.flyway("classpath:db/migration"))
        .databaseUrl("postgres://app@db.example.com/shop", null, null)
        .rollout("local").rolloutService("shop").healthCommand("true")
        .localEnv(List.of("MODE=production", "TOKEN=file:" + token))
        .load();

    assertThat(release.config().rollout().env()).containsEntry("MODE", "production")
        .containsEntry("TOKEN", "s3cret-token-value");
    assertThat(release.config().redactor().redact("token s3cret-token-value in production"))
        .isEqualTo("token **** in production");
    assertThat(release.describe()).last().asString().startsWith("rollout: run the image as container shop (no"
        + " ports), checked by 'true' on spare ports before it replaces the old one; wait up to 30m 00s in all;");
  }
}
