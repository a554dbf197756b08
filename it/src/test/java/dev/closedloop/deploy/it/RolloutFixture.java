package dev.closedloop.deploy.it;

import dev.closedloop.deploy.Release;
import dev.closedloop.deploy.ReleaseBuilder;
import dev.closedloop.deploy.ReleaseEvent;
import dev.closedloop.deploy.ReleaseResult;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.database.Migrations;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * Whole releases through the embedded API with a rollout after promote: a tiny busybox image, one
 * migration, a production database of its own on a shared embedded server, the local registry.
 */
final class RolloutFixture {

  final String repository = "it/rollout-" + UUID.randomUUID().toString().substring(0, 8);
  final DatabaseTarget production;
  final Path context;
  final List<ReleaseEvent> events = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final Path migrations;

  private static EphemeralDatabase.Instance shared;

  /** One embedded server for every test class of this JVM that needs production databases: each gets a database of its own. */
  static synchronized EphemeralDatabase.Instance sharedServer() {
    if (shared == null) {
      shared = EphemeralDatabase.embedded().start(dev.closedloop.deploy.internal.Events.none());
      EphemeralDatabase.Instance started = shared;
      Runtime.getRuntime().addShutdownHook(new Thread(started::close, "closedloop-test-postgres"));
    }
    return shared;
  }

  RolloutFixture(Path work) throws SQLException, IOException {
    this(sharedServer(), work);
  }

  RolloutFixture(EphemeralDatabase.Instance server, Path work) throws SQLException, IOException {
    String database = "prod_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    ReleaseIT.execute(server.target(), "CREATE DATABASE " + database);
    production = DatabaseTarget.of("jdbc:postgresql://127.0.0.1:" + server.target().port() + "/" + database,
        "postgres", null);
    context = Files.createDirectories(work.resolve("context"));
    Files.copy(TestServices.busybox(), context.resolve("busybox"));
    migrations = Files.createDirectories(work.resolve("migrations"));
    Files.writeString(migrations.resolve("V1__create_notes.sql"), "CREATE TABLE notes (id int PRIMARY KEY);\n");
  }

  /** The directory of the Flyway migrations the releases apply (V1 creates notes). */
  Path migrations() {
    return migrations;
  }

  /** deploy:plan of a new commit, from a checkout with these migrations. */
  dev.closedloop.deploy.report.Plan plan(Consumer<ReleaseBuilder> settings) {
    return configure(TestServices.randomSha(), settings).load().plan();
  }

  /** The image's Dockerfile: busybox with {@code lines} added. */
  void dockerfile(String... lines) throws IOException {
    Files.writeString(context.resolve("Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\n"
        + String.join("\n", lines) + "\n");
  }

  /** A release of a new commit whose image differs by {@code label}; {@code settings} adds the rollout. */
  ReleaseResult release(String label, Consumer<ReleaseBuilder> settings) throws IOException {
    return release(TestServices.randomSha(), label, settings);
  }

  /** A release of commit {@code sha}. */
  ReleaseResult release(String sha, String label, Consumer<ReleaseBuilder> settings) throws IOException {
    String dockerfile = Files.exists(context.resolve("Dockerfile")) ? Files.readString(context.resolve("Dockerfile"))
        : "FROM scratch\nCOPY busybox /bin/busybox\n";
    Files.writeString(context.resolve("Dockerfile"), dockerfile.replaceAll("(?m)^LABEL release=.*\n", "")
        + "LABEL release=" + label + "\n");
    return configure(sha, settings).load().release();
  }

  /** deploy:rollback, run from a checkout of commit {@code sha}, to {@code to} (null: the previous release). */
  ReleaseResult rollback(String to, Consumer<ReleaseBuilder> settings) throws IOException {
    return configure(TestServices.randomSha(), settings).load().rollback(to);
  }

  private ReleaseBuilder configure(String sha, Consumer<ReleaseBuilder> settings) {
    ReleaseBuilder builder = Release.configure()
        .image(TestServices.registry() + "/" + repository)
        .sha(sha)
        .buildContext(context)
        .dockerHost(TestServices.dockerHost())
        .migrations(Migrations.flyway("filesystem:" + migrations))
        .databaseUrl("postgres://postgres@127.0.0.1:" + production.port() + "/" + production.database(), null, null)
        .branch("main")
        .listener(events::add);
    settings.accept(builder);
    return builder;
  }

  /** What the registry says {@code tag} names. */
  String digest(String tag) {
    return TestServices.registryDigest(repository, tag).orElse(null);
  }

  /** Each ledger row's status, rollout deployment, rollout outcome and reverted tags, oldest first. */
  List<List<String>> rollouts() throws SQLException {
    List<List<String>> rows = new java.util.ArrayList<>();
    try (Connection c = production.connect(); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT status, rollout_deployment, rollout_outcome, tags_reverted::text"
             + " FROM closedloop.release_ledger ORDER BY id")) {
      while (rs.next()) {
        rows.add(java.util.Arrays.asList(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)));
      }
    }
    return rows;
  }

  /** Every warning the runs said, in order. */
  List<String> warnings() {
    return events.stream().filter(e -> e instanceof ReleaseEvent.Log l && l.level() == ReleaseEvent.Level.WARN)
        .map(e -> ((ReleaseEvent.Log) e).message()).toList();
  }

  /** Every progress line of the runs, in order. */
  List<String> progress() {
    return events.stream().filter(e -> e instanceof ReleaseEvent.Progress)
        .map(e -> ((ReleaseEvent.Progress) e).message()).toList();
  }

  /** The progress lines of the rollout step. */
  List<String> rolloutLines() {
    return events.stream().filter(e -> e instanceof ReleaseEvent.Progress p && p.step() == dev.closedloop.deploy.Step.ROLLOUT)
        .map(e -> ((ReleaseEvent.Progress) e).message()).toList();
  }

  static Map<String, Object> map(Object... keysAndValues) {
    Map<String, Object> map = new java.util.LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      map.put((String) keysAndValues[i], keysAndValues[i + 1]);
    }
    return map;
  }
}
