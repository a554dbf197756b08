package dev.closedloop.deploy.internal.database;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.AppliedMigration;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.MigrationOutcome;
import dev.closedloop.deploy.database.MigrationSet;
import dev.closedloop.deploy.database.Migrations;
import dev.closedloop.deploy.database.Migrator;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.image.ImageRunner;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Runs the team's own migration tool from the built image, by digest, as their pipeline did:
 * first against the throwaway database, then against production, with the connection handed
 * over in the variables the tool reads ({@code deploy.migrationEnv}). Its output becomes
 * progress lines, its exit code decides. The set it proves is the image digest and the command:
 * production gets the same digest and command, under the release lock.
 */
public final class ImageMigrator implements Migrator {

  private static final Duration READY_WITHIN = Duration.ofSeconds(30);

  private final Migrations migrations;
  private final Events events;
  private final Step step;
  private final Supplier<ImageRunner> runner;

  public ImageMigrator(Migrations migrations, Events events, Step step, Supplier<ImageRunner> runner) {
    this.migrations = migrations;
    this.events = events;
    this.step = step;
    this.runner = runner;
  }

  @Override
  public void validate() {
    if (migrations.command() == null || migrations.command().isBlank()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "deploy.migrator=image needs migrationCommand"
          + " (deploy.migrationCommand), e.g. goose -dir /migrations up");
    }
  }

  @Override
  public String describe() {
    return "'" + migrations.command() + "' run from the built image (by digest)";
  }

  /** Only the tool in the image knows its migrations, and the image may not be built yet. */
  @Override
  public Inspection inspect(DatabaseTarget target) {
    return new Inspection(null, null);
  }

  @Override
  public MigrationOutcome migrate(DatabaseTarget target, String expectedFingerprint,
      Consumer<List<String>> beforeApplying) {
    validate();
    ImageRunner image = runner.get();
    MigrationSet.Migration run = MigrationSet.Migration.command(migrations.command(), image.image().toString());
    MigrationSet set = MigrationSet.of(List.of(run));
    if (expectedFingerprint != null && !expectedFingerprint.equals(set.fingerprint())) {
      throw new DeployException(DeployException.Kind.MIGRATION, "'" + migrations.command() + "' from "
          + image.image() + " is not what test-migrate proved in this run: the image or the command changed in"
          + " between. Nothing was run; run the release again");
    }
    awaitReady(target);
    List<String> env = env(target);
    String database = target.host() + ":" + target.port() + "/" + target.database();
    if (migrations.checkCommand() != null) {
      command("check", migrations.checkCommand(), image, env, database);
    }
    beforeApplying.accept(List.of(run.label()));
    Instant start = Instant.now();
    command("migrate", migrations.command(), image, env, database);
    Duration took = Duration.between(start, Instant.now());
    if (migrations.checkCommand() != null) {
      try {
        command("check", migrations.checkCommand(), image, env, database);
      } catch (DeployException e) {
        throw new DeployException(DeployException.Kind.MIGRATION, "The migration ran, but the check after it failed: "
            + e.getMessage(), e);
      }
    }
    return new MigrationOutcome(set, List.of(new AppliedMigration(run, took)), took);
  }

  /** Runs one command of the image; its output is progress, a non-zero exit a failure of the step. */
  private void command(String role, String command, ImageRunner image, List<String> env, String database) {
    events.progress(step, "running '" + command + "' from " + image.image());
    // the tool's output goes to the log only: the error reaches the ledger and release.json, and
    // a tool may print what only the log's masking knows to hide
    long code = image.run(role, database, ImageRunner.argv(command), env, line -> events.progress(step, "  " + line));
    if (code != 0) {
      throw new DeployException(DeployException.Kind.MIGRATION, "'" + command + "' from " + image.image()
          + " exited with " + code + "; its output is in the log above");
    }
  }

  /** The database answers before the tool starts: a tool that gives up at once is not told to wait. */
  private static void awaitReady(DatabaseTarget target) {
    Instant deadline = Instant.now().plus(READY_WITHIN);
    while (true) {
      try (Connection c = target.connect(); Statement s = c.createStatement()) {
        s.execute("SELECT 1");
        return;
      } catch (DeployException | SQLException e) {
        if (Instant.now().isAfter(deadline)) {
          throw new DeployException(DeployException.Kind.DATABASE, "The database did not answer within "
              + READY_WITHIN.toSeconds() + "s: " + e.getMessage(), e);
        }
      }
      try {
        Thread.sleep(250);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new DeployException(DeployException.Kind.DATABASE, "Interrupted while waiting for the database", e);
      }
    }
  }

  /** {@code deploy.migrationEnv} with the connection filled in: {dsn}, {url}, {jdbc}, {host}, … (one pass). */
  private List<String> env(DatabaseTarget target) {
    return fill(migrations.commandEnv(), target, events);
  }

  /**
   * {@code NAME=value} entries with {dsn}, {url}, {jdbc}, {host}, {port}, {user}, {password} and
   * {database} filled in for {@code target} (one pass); the spellings that carry its password are
   * masked in {@code events} first, as a tool may print any of them.
   */
  public static List<String> fill(List<String> entries, DatabaseTarget target, Events events) {
    Map<String, String> values = placeholders(target);
    if (target.password() != null && !target.password().isEmpty()) {
      events.mask(values.get("url"));
      events.mask(values.get("dsn"));
      events.mask(encode(target.password()));
    }
    List<String> env = new ArrayList<>();
    for (String entry : entries) {
      java.util.regex.Matcher m = PLACEHOLDER.matcher(entry);
      StringBuilder filled = new StringBuilder();
      while (m.find()) {
        m.appendReplacement(filled, java.util.regex.Matcher.quoteReplacement(m.group(1) != null
            ? "{" + m.group(1) + "}" : values.get(m.group(2))));
      }
      m.appendTail(filled);
      env.add(filled.toString());
    }
    return env;
  }

  /** A placeholder, or {@code {{word}}}: the text {@code {word}} itself, as a tool may need it. */
  private static final java.util.regex.Pattern PLACEHOLDER = java.util.regex.Pattern.compile(
      "\\{\\{([a-z_]+)}}|\\{(dsn|url|jdbc|host|port|user|password|database)}");
  /** What reads as a placeholder: a lowercase word in braces (JSON's {"a": 1} does not); doubled braces escape it. */
  private static final java.util.regex.Pattern ANY_PLACEHOLDER =
      java.util.regex.Pattern.compile("\\{\\{[a-z_]+}}|\\{([a-z_]+)}");

  /**
   * Why {@code entries} cannot be filled in, naming the setting: an entry that is not
   * {@code NAME=value}, or a placeholder that does not exist (passed on literally, it would reach
   * the tool as text); null when they can.
   */
  public static String refusal(List<String> entries, String setting) {
    for (String entry : entries) {
      if (entry == null || !entry.matches("[A-Za-z_][A-Za-z0-9_]*=.*")) {
        return setting + " entries are NAME=value, e.g. DATABASE_URL={url}; got '" + entry + "'";
      }
      java.util.regex.Matcher m = ANY_PLACEHOLDER.matcher(entry);
      while (m.find()) {
        if (m.group(1) != null && !PLACEHOLDER.matcher(m.group()).matches()) {
          return setting + ": " + m.group() + " in " + entry.substring(0, entry.indexOf('=')) + " is no placeholder;"
              + " the placeholders are {dsn}, {url}, {jdbc}, {host}, {port}, {user}, {password}, {database}"
              + " ({{" + m.group(1) + "}} passes " + m.group() + " on as it is)";
        }
      }
    }
    return null;
  }

  /**
   * The connection in each spelling, with its TLS settings: what closedloop checked is what the
   * tool gets ({@code ssl=true} is pgjdbc's verify-full).
   *
   * @throws DeployException for several hosts, which the single-host spellings cannot carry
   */
  static Map<String, String> placeholders(DatabaseTarget target) {
    if (target.jdbcUrl().substring("jdbc:postgresql://".length()).split("/", 2)[0].contains(",")) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, "deploy.migrator=image hands one host to the"
          + " tool; the production URL names several: point it at the primary");
    }
    String user = target.user() == null ? "" : target.user();
    String password = target.password() == null ? "" : target.password();
    String sslmode = target.parameter("sslmode").orElse(target.parameter("ssl").filter("true"::equalsIgnoreCase)
        .isPresent() ? "verify-full" : null);
    Map<String, String> tls = new LinkedHashMap<>();
    if (sslmode != null) {
      tls.put("sslmode", sslmode);
    }
    for (String name : List.of("sslrootcert", "sslcert", "sslkey")) {
      target.parameter(name).ifPresent(value -> tls.put(name, value));
    }
    Map<String, String> values = new LinkedHashMap<>();
    values.put("host", target.host());
    values.put("port", String.valueOf(target.port()));
    values.put("user", user);
    values.put("password", password);
    values.put("database", target.database());
    StringBuilder jdbc = new StringBuilder(target.jdbcUrl());
    String separator = "?";
    for (Map.Entry<String, String> property : target.properties().entrySet()) {
      jdbc.append(separator).append(encode(property.getKey())).append('=').append(encode(property.getValue()));
      separator = "&";
    }
    values.put("jdbc", jdbc.toString());
    String credentials = user.isEmpty() ? "" : encode(user) + (password.isEmpty() ? "" : ":" + encode(password)) + "@";
    StringBuilder url = new StringBuilder("postgres://" + credentials + target.host() + ":" + target.port() + "/"
        + encode(target.database()));
    separator = "?";
    for (Map.Entry<String, String> setting : tls.entrySet()) {
      url.append(separator).append(setting.getKey()).append('=').append(encode(setting.getValue()));
      separator = "&";
    }
    values.put("url", url.toString());
    StringBuilder dsn = new StringBuilder("host=" + quote(target.host()) + " port=" + target.port());
    if (!user.isEmpty()) {
      dsn.append(" user=").append(quote(user));
    }
    if (!password.isEmpty()) {
      dsn.append(" password=").append(quote(password));
    }
    dsn.append(" dbname=").append(quote(target.database()));
    tls.forEach((name, value) -> dsn.append(' ').append(name).append('=').append(quote(value)));
    values.put("dsn", dsn.toString());
    return values;
  }

  private static String encode(String text) {
    return URLEncoder.encode(text, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** A libpq key=value value: quoted when it holds a space or a quote, as libpq reads it. */
  private static String quote(String value) {
    if (!value.isEmpty() && value.chars().noneMatch(ch -> ch == ' ' || ch == '\'' || ch == '\\')) {
      return value;
    }
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }
}
