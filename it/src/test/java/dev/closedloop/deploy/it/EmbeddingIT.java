package dev.closedloop.deploy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.MigrationOutcome;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.image.BuiltImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The README's "Embed the engine" snippet, run for real; the README must show it verbatim. */
class EmbeddingIT {

  @Test
  void readmeSnippet_buildsTheExampleAndProvesItsMigrations() throws IOException {
    String registry = TestServices.registry();
    String sha = TestServices.randomSha();
    packageExample(); // the jar and runtime its Dockerfile copies; the tests run in the repository root

    // README:start
    ReleaseResult result = Release.configure()
        .image(registry + "/shop-service")
        .sha(sha)
        .buildContext(Path.of("examples/shop-service"))
        .migrations(Migrations.flyway("classpath:db/migration"))
        .testDatabase(EphemeralDatabase.embedded())
        .listener(event -> System.out.println(event))
        .load()
        .buildAndTestMigrate();

    BuiltImage image = result.image().orElseThrow();                // <image>:<sha> and its digest
    MigrationOutcome proven = result.testMigration().orElseThrow();  // versions, checksums, fingerprint
    // README:end

    assertThat(TestServices.registryDigest("shop-service", sha)).contains(image.digest());
    assertThat(proven.applied()).hasSize(9);
  }

  @Test
  void readme_showsTheSnippetAsTested() throws IOException {
    List<String> test = Files.readAllLines(TestServices.root()
        .resolve("it/src/test/java/dev/closedloop/deploy/it/EmbeddingIT.java"));
    List<String> snippet = test.subList(test.indexOf("    // README:start") + 1, test.indexOf("    // README:end"))
        .stream().map(line -> line.length() >= 4 ? line.substring(4) : line).toList();
    String readme = Files.readString(TestServices.root().resolve("README.md"));

    assertThat(readme).contains("```java\n" + String.join("\n", snippet) + "\n```");
  }

  private static void packageExample() {
    TestServices.Run run = TestServices.run(TestServices.root().resolve("examples/shop-service"),
        TestServices.root().resolve("mvnw").toString(), "-B", "-q", "-ntp",
        "-Dclosedloop.version=" + TestServices.version(), "-Ddeploy.skip=true", "package");
    assertThat(run.exitCode()).as(run.output()).isZero();
  }
}
