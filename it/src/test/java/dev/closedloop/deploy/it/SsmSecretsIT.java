package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.guard.LedgerEntry;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.guard.ReleaseLedger;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ssm.SsmClient;
import software.amazon.awssdk.services.ssm.model.ParameterType;

/**
 * The production URL kept in SSM Parameter Store, as the pipelines closedloop replaces keep it,
 * read through moto by real Maven runs against a production PostgreSQL that checks passwords.
 */
class SsmSecretsIT {

  private static final String REGION = "us-west-2";
  /** A password as people paste them into a URI: '@', ':', '/' and '+' unencoded. */
  private static final String PASSWORD = "p@ss:w/rd+" + UUID.randomUUID().toString().substring(0, 8);
  private static final String ADMIN_PASSWORD = "admin-" + UUID.randomUUID();
  private static final Map<String, String> AWS = Map.of("AWS_ACCESS_KEY_ID", "testing",
      "AWS_SECRET_ACCESS_KEY", "testing", "AWS_REGION", REGION);

  @TempDir static Path state;
  @TempDir Path work;

  private static TestServices.Moto moto;
  private static EphemeralDatabase.Instance server;
  private static DatabaseTarget admin;
  private static String databaseUrl;

  @BeforeAll
  static void start() throws Exception {
    moto = TestServices.startMoto(state);
    server = EphemeralDatabase.embedded().start(Events.none());
    try (Connection c = server.target().connect(); Statement s = c.createStatement()) {
      s.execute("CREATE ROLE app LOGIN PASSWORD '" + PASSWORD + "'");
      s.execute("ALTER ROLE postgres PASSWORD '" + ADMIN_PASSWORD + "'");
      s.execute("CREATE DATABASE shop OWNER app");
      String dataDirectory;
      try (ResultSet rs = s.executeQuery("SHOW data_directory")) {
        rs.next();
        dataDirectory = rs.getString(1);
      }
      // from now on the server checks passwords, as a production server does
      s.execute("COPY (SELECT 'host all all 127.0.0.1/32 scram-sha-256') TO '" + dataDirectory + "/pg_hba.conf'");
      s.execute("SELECT pg_reload_conf()");
    }
    admin = DatabaseTarget.of(server.target().jdbcUrl().replace("/postgres", "/shop"), "postgres", ADMIN_PASSWORD);
    databaseUrl = "postgres://app:" + PASSWORD + "@127.0.0.1:" + server.target().port() + "/shop";
    try (SsmClient ssm = SsmClient.builder().region(Region.of(REGION)).endpointOverride(URI.create(moto.endpoint()))
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("testing", "testing")))
        .httpClient(UrlConnectionHttpClient.create()).build()) {
      ssm.putParameter(put -> put.name("/shop/database-url").type(ParameterType.SECURE_STRING).value(databaseUrl));
      ssm.putParameter(put -> put.name("/shop/wrong-url").type(ParameterType.SECURE_STRING)
          .value(databaseUrl.replace(PASSWORD, "wr@ng:pw/+" + PASSWORD.substring(10))));
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) {
      server.close();
    }
    if (moto != null) {
      moto.close();
    }
  }

  private TestServices.Run mvn(Path project, String... args) {
    List<String> all = new ArrayList<>(List.of("-Ddeploy.awsEndpoint=" + moto.endpoint(), "-Ddeploy.branch=main",
        "-Ddeploy.image=" + TestServices.registry() + "/it/ssm"));
    all.addAll(List.of(args));
    return TestServices.run(project, AWS, TestServices.mvnw(all.toArray(String[]::new)).toArray(String[]::new));
  }

  @Test
  void release_withTheProductionUrlInSsm_releases_andItsPasswordNeverShows() throws Exception {
    Path project = TestServices.copyProject("consumer", work);
    String sha = TestServices.randomSha();

    TestServices.Run run = mvn(project, "-Ddeploy.sha=" + sha, "-Ddeploy.databaseUrl=ssm:/shop/database-url",
        "deploy:release");

    assertThat(run.exitCode()).as(run.output()).isZero();
    assertThat(TestServices.registryDigest("it/ssm", "latest")).isEqualTo(TestServices.registryDigest("it/ssm", sha));
    try (Connection c = admin.connect()) {
      assertThat(new ReleaseLedger("closedloop", "release_ledger").history(c, "it/ssm"))
          .extracting(LedgerEntry::sha, (LedgerEntry r) -> r.status().id()).contains(
              org.assertj.core.groups.Tuple.tuple(sha, "succeeded"));
    }
    assertNowhere(run, project, PASSWORD);
    assertNowhere(run, project, databaseUrl);
  }

  /**
   * GitHub Actions OIDC: no keys, a web identity token file and a role. The chain's STS call goes
   * to deploy.awsEndpoint too (moto's STS hands out temporary keys for any token), then SSM is
   * read with those keys; AWS itself is out of reach here, so only that path can succeed.
   */
  @Test
  void release_withAWebIdentityToken_assumesTheRoleThroughTheEndpointsSts() throws Exception {
    Path project = TestServices.copyProject("consumer", work);
    Path token = Files.writeString(work.resolve("oidc-token"), "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmV4YW1wbGUifQ.c2ln");
    String sha = TestServices.randomSha();
    Map<String, String> oidc = Map.of("AWS_ACCESS_KEY_ID", "", "AWS_SECRET_ACCESS_KEY", "", "AWS_REGION", REGION,
        "AWS_WEB_IDENTITY_TOKEN_FILE", token.toString(), "AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/deploy");

    TestServices.Run run = TestServices.run(project, oidc, TestServices.mvnw("-Ddeploy.awsEndpoint=" + moto.endpoint(),
        "-Ddeploy.branch=main", "-Ddeploy.image=" + TestServices.registry() + "/it/ssm-oidc", "-Ddeploy.sha=" + sha,
        "-Ddeploy.databaseUrl=ssm:/shop/database-url", "deploy:release").toArray(String[]::new));

    assertThat(run.exitCode()).as(run.output()).isZero();
    assertThat(TestServices.registryDigest("it/ssm-oidc", "latest")).isEqualTo(
        TestServices.registryDigest("it/ssm-oidc", sha));
    assertNowhere(run, project, PASSWORD);
  }

  @Test
  void failures_withSecretsFromSsm_sayWhatFailed_withoutTheSecret() throws Exception {
    Path project = TestServices.copyProject("consumer", work);

    TestServices.Run wrongPassword = mvn(project, "-Ddeploy.sha=" + TestServices.randomSha(),
        "-Ddeploy.databaseUrl=ssm:/shop/wrong-url", "deploy:release");
    assertOneLine(wrongPassword, "password authentication failed for user \"app\"");
    assertNowhere(wrongPassword, project, "wr@ng:pw/+");

    Path broken = Files.createDirectories(project.resolve("broken"));
    Files.writeString(broken.resolve("V1__broken.sql"), "CREATE TABLE people (id int PRIMARY KEY;\n");
    TestServices.Run failingMigration = mvn(project, "-Ddeploy.sha=" + TestServices.randomSha(),
        "-Ddeploy.databaseUrl=ssm:/shop/database-url", "-Ddeploy.migrations=filesystem:broken", "-X", "deploy:release");
    assertOneLine(failingMigration, "Migration V1__broken.sql failed at line 1");
    assertNowhere(failingMigration, project, PASSWORD);

    assertOneLine(mvn(project, "-Ddeploy.databaseUrl=ssm:/shop/nope", "deploy:migrate"),
        "databaseUrl (deploy.databaseUrl) names ssm:/shop/nope, which does not exist in us-west-2: create it (aws ssm"
            + " put-parameter --type SecureString), correct the name, or set deploy.awsRegion to the region that holds it");
    assertOneLine(mvn(project, "-Ddeploy.databaseUrl=ssm:/shop/database-url", "-Ddeploy.awsRegion=eu-west-1",
        "deploy:migrate"), "names ssm:/shop/database-url, which does not exist in eu-west-1");
    assertOneLine(mvn(project, "-Ddeploy.databaseUrl=ssm:/shop/database-url", "-Ddeploy.awsEndpoint=moto:5000",
        "deploy:migrate"), "awsEndpoint (deploy.awsEndpoint) must be an http(s) URL such as http://127.0.0.1:4566;"
            + " got 'moto:5000'");
    assertOneLine(mvn(project, "-Ddeploy.databaseUrl=ssm:/shop/database-url", "-Ddeploy.awsRegion=mars-north-1x",
        "deploy:migrate"), "awsRegion (deploy.awsRegion) is not an AWS region such as us-west-2; got 'mars-north-1x'");
    try (Connection c = admin.connect(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM information_schema.tables WHERE table_name = 'people'")) {
      rs.next();
      assertThat(rs.getInt(1)).as("nothing was migrated by a refused run").isZero();
    }
  }

  private static void assertOneLine(TestServices.Run run, String message) {
    assertThat(run.exitCode()).as(run.output()).isEqualTo(1);
    List<String> errors = run.output().lines().filter(l -> l.startsWith("[ERROR] Failed to execute goal")).toList();
    assertThat(errors).as(run.output()).hasSize(1);
    assertThat(errors.get(0)).contains(message);
  }

  /** Not in what the run printed, nor in any file it left in the project. */
  private static void assertNowhere(TestServices.Run run, Path project, String secret) throws IOException {
    assertThat(run.output()).doesNotContain(secret);
    try (Stream<Path> files = Files.walk(project)) {
      for (Path file : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
        if (Files.size(file) < 50_000_000) {
          assertThat(new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1)).as(file.toString())
              .doesNotContain(secret);
        }
      }
    }
  }
}
