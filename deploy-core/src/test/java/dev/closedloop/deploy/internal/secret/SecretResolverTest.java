package dev.closedloop.deploy.internal.secret;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.secret.Redactor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecretResolverTest {

  @TempDir Path dir;

  private final Secrets masked = new Secrets();
  private final SecretResolver secrets = new SecretResolver(
      Map.of("PROD_DB", "postgres://app:hunter2@db.example.com/shop"), masked);

  @Test
  void resolve_readsEnvAndFileReferences_andRegistersEveryValueForRedaction() throws Exception {
    Files.writeString(dir.resolve("password"), "s3cret-from-file\n");

    assertThat(secrets.resolve("env:PROD_DB", "databaseUrl")).isEqualTo("postgres://app:hunter2@db.example.com/shop");
    assertThat(secrets.resolve("file:" + dir.resolve("password"), "databasePassword")).isEqualTo("s3cret-from-file");
    assertThat(secrets.resolve("plain-value", "databaseUser")).isEqualTo("plain-value");

    assertThat(masked.redact("url postgres://app:hunter2@db.example.com/shop, pw s3cret-from-file"))
        .isEqualTo("url ****, pw ****");
  }

  @Test
  void resolve_whenTheReferenceLeadsNowhere_namesTheReferenceAndNeverAValue() {
    assertThatThrownBy(() -> secrets.resolve("env:MISSING_DB", "databaseUrl (deploy.databaseUrl)"))
        .isInstanceOfSatisfying(DeployException.class, e -> {
          assertThat(e.kind()).isEqualTo(DeployException.Kind.CONFIGURATION);
          assertThat(e.getMessage()).isEqualTo("databaseUrl (deploy.databaseUrl) names the environment variable"
              + " MISSING_DB, which is not set: set it (from your CI's secret store) or change databaseUrl"
              + " (deploy.databaseUrl)");
        });
    assertThatThrownBy(() -> secrets.resolve("file:" + dir.resolve("nope"), "databasePassword"))
        .hasMessageStartingWith("databasePassword names the file " + dir.resolve("nope") + ", which cannot be read");
    assertThatThrownBy(() -> secrets.resolve("ssm:", "databaseUrl"))
        .hasMessage("databaseUrl names no SSM parameter: write ssm:/path/name");
  }

  @Test
  void redact_masksTheLongestSecretFirst_andIgnoresTrivialValues() {
    Redactor redactor = Redactor.none().with("hunter2").with("postgres://app:hunter2@db/shop").with("ab");

    assertThat(redactor.redact("connect postgres://app:hunter2@db/shop or hunter2 as ab"))
        .isEqualTo("connect **** or **** as ab");
    assertThat(redactor.secrets()).containsExactly("postgres://app:hunter2@db/shop", "hunter2");
  }

  @Test
  void secretsAddedLater_makeANewRedactor_andAreToldToTheSubscriber_whileEarlierRedactorsStayAsTheyWere() {
    Secrets run = new Secrets(Redactor.none().with("hunter2"));
    Redactor before = run.redactor();
    List<String> told = new ArrayList<>();
    run.onAdd(told::add);

    run.add("ecr-push-token");
    run.add("hunter2");
    run.add("abc");

    assertThat(told).containsExactly("hunter2", "ecr-push-token");
    assertThat(run.redact("token ecr-push-token, password hunter2")).isEqualTo("token ****, password ****");
    assertThat(before.redact("token ecr-push-token")).isEqualTo("token ecr-push-token");
    assertThatThrownBy(() -> run.redactor().secrets().add("more")).isInstanceOf(UnsupportedOperationException.class);
  }
}
