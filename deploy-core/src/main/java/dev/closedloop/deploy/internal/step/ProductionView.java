package dev.closedloop.deploy.internal.step;

import dev.closedloop.deploy.CheckLevel;
import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseConfig;
import dev.closedloop.deploy.Step;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.Migrator;
import dev.closedloop.deploy.database.ProductionDatabase;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.drift.Catalog;
import dev.closedloop.deploy.internal.drift.DriftCheck;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * What test-migrate reads of production, read-only, before it starts its throwaway database: the
 * server's version (the throwaway one is started on the same major version when it can be) and
 * its extensions; and, for the drift check, in the background on that connection, the
 * migrations it has applied while the throwaway database starts, and its catalog once it has
 * started (read beside that start, it slowed the start on two cores).
 */
final class ProductionView {

  /**
   * What the drift check needs of production: the migrations it has applied, and its catalog of
   * the same moment, read in the background after them.
   */
  static final class Applied implements DriftCheck.Production {

    private final Migrator.Inspection inspection;
    private final CompletableFuture<Catalog> catalog;
    private final ProductionView view;
    private final DriftCheck drift;

    private Applied(Migrator.Inspection inspection, CompletableFuture<Catalog> catalog, ProductionView view,
        DriftCheck drift) {
      this.inspection = inspection;
      this.catalog = catalog;
      this.view = view;
      this.drift = drift;
    }

    @Override
    public Migrator.Inspection inspection() {
      return inspection;
    }

    /**
     * Production's catalog, waiting for its reading to end.
     *
     * @return null when it could not be read (then warned)
     * @throws DeployException at {@code deploy.driftCheck=fail}, when it could not be read
     */
    @Override
    public Catalog catalog() {
      view.throwawayStarted();
      return view.await(catalog, drift);
    }
  }

  /** {@code server_version}, e.g. "15.8 (Debian 15.8-0+deb12u1)". */
  private final String version;
  private final int major;
  private final Map<String, String> extensions;
  private final CompletableFuture<Migrator.Inspection> inspected;
  private final CompletableFuture<Catalog> catalog;
  /** Lets the catalog's reading begin (true), or ends it unread (false). */
  private final CompletableFuture<Boolean> go;
  /** Done once the reading's connection and session are closed; null without a reading. */
  private final CompletableFuture<Void> finished;
  /** The reading's connection, cut when the reading does not end. */
  private final Connection connection;
  private boolean ended;
  private final Events events;
  private final ReleaseConfig config;

  private ProductionView(String version, int major, Map<String, String> extensions,
      CompletableFuture<Migrator.Inspection> inspected, CompletableFuture<Catalog> catalog,
      CompletableFuture<Boolean> go, CompletableFuture<Void> finished, Connection connection, Events events,
      ReleaseConfig config) {
    this.version = version;
    this.major = major;
    this.extensions = extensions;
    this.inspected = inspected;
    this.catalog = catalog;
    this.go = go;
    this.finished = finished;
    this.connection = connection;
    this.events = events;
    this.config = config;
  }

  int major() {
    return major;
  }

  /**
   * The throwaway database is up: production's catalog is read now, beside the migrations, not
   * beside the server's start, which it slowed on two cores.
   */
  void throwawayStarted() {
    go.complete(true);
  }

  /**
   * The step is over: a catalog not yet read is not read at all, and the reading's connection
   * and session are closed before this returns (closing a local stand-in's session stops its
   * server, which migrate starts again).
   */
  synchronized void done() {
    go.complete(false);
    if (finished == null || ended) {
      return;
    }
    ended = true;
    boolean interrupted = Thread.interrupted(); // a stopped step still closes what it opened
    try {
      if (!finished(CLOSE_WITHIN)) { // a connection gone silent: cut it, and the reading ends
        try {
          connection.abort(Runnable::run);
        } catch (SQLException | RuntimeException e) {
          events.debug("cutting production's reading: " + e);
        }
        if (!finished(CLOSE_WITHIN)) {
          events.warn("production's reading (drift check) did not end; its connection was cut");
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private boolean finished(java.time.Duration within) {
    try {
      finished.get(within.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      return finished.isDone();
    }
  }

  /**
   * The migrations production has applied, waiting for their reading to end; its catalog
   * follows ({@link Applied#catalog}).
   *
   * @return null when the drift check is not made, or production could not be read (then warned)
   * @throws DeployException at {@code deploy.driftCheck=fail}, when they could not be read; and when
   *     production's history disagrees with the files (which migrate refuses too)
   */
  Applied applied(DriftCheck drift) {
    if (inspected == null) {
      return null;
    }
    Migrator.Inspection inspection = await(inspected, drift);
    return inspection == null ? null : new Applied(inspection, catalog, this, drift);
  }

  private <T> T await(CompletableFuture<T> reading, DriftCheck drift) {
    String why;
    try {
      return reading.get(READ_WITHIN.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DeployException(DeployException.Kind.DATABASE, "Stopped while reading production's catalog", e);
    } catch (java.util.concurrent.TimeoutException e) {
      why = "no answer within " + READ_WITHIN.toMinutes() + " minutes";
    } catch (java.util.concurrent.CancellationException e) {
      why = "its reading was called off";
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof DeployException d && (d.kind() == DeployException.Kind.MIGRATION
          || d.kind() == DeployException.Kind.CONFIGURATION)) {
        throw d; // production answered: its history disagrees with the files, which migrate refuses too
      }
      why = events.redactor().redact(String.valueOf(e.getCause() != null ? e.getCause().getMessage()
          : e.getMessage()));
    }
    if (config.testMigrate().driftCheck() == CheckLevel.FAIL) {
      throw drift.unchecked("production's history and catalog could not be read: " + why);
    }
    events.warn("drift check skipped: production's history and catalog could not be read: " + why);
    return null;
  }

  /**
   * Reads production when it is set, reachable, and this branch may release.
   *
   * @param drift the drift check, or null when it is not made (then neither history nor catalog is read)
   * @return null, with a progress line or warning saying why, when production is not read
   */
  static ProductionView read(ReleaseConfig config, Events events, Step step, Migrator migrator, DriftCheck drift) {
    ProductionDatabase database = config.production().database();
    if (database == null || !database.exists()) {
      return null;
    }
    ProductionGate gate = new ProductionGate(config);
    if (gate.branch().refused()) { // a branch that may not release never reaches production, not even to read it
      events.progress(step, "production not read (no drift check, no version match): the branch guard refuses"
          + " this branch");
      return null;
    }
    ProductionDatabase.Session session = null;
    try {
      session = database.open(events);
      DatabaseTarget target = session.target();
      var tls = gate.beforeConnecting(target).tlsProblem();
      if (tls.isPresent()) { // the release decides at migrate, with its own message; nothing is sent before
        if (drift != null && config.testMigrate().driftCheck() == CheckLevel.FAIL) {
          throw drift.unchecked("production's connection " + tls.get());
        }
        events.warn("production not read before test-migrate (no drift check, no version match): its connection "
            + tls.get());
        return null;
      }
      DatabaseTarget reading = target.readOnly();
      ServerVersion server;
      Map<String, String> extensions = new LinkedHashMap<>();
      Connection connection = reading.connect();
      try (Statement s = connection.createStatement()) {
        server = ServerVersion.of(s);
        try (ResultSet rs = s.executeQuery("SELECT extname, extversion FROM pg_catalog.pg_extension ORDER BY 1")) {
          while (rs.next()) {
            extensions.put(rs.getString(1), rs.getString(2));
          }
        }
      } catch (SQLException | RuntimeException e) {
        connection.close();
        throw e;
      }
      CompletableFuture<Migrator.Inspection> inspected = null;
      CompletableFuture<Catalog> catalog = null;
      CompletableFuture<Boolean> go = new CompletableFuture<>();
      CompletableFuture<Void> finished = null;
      if (drift == null) {
        connection.close();
      } else { // on the same connection: the applied migrations while the throwaway database starts, then the catalog
        ProductionDatabase.Session open = session;
        CompletableFuture<Migrator.Inspection> inspecting = inspected = new CompletableFuture<>();
        CompletableFuture<Catalog> catalogReading = catalog = new CompletableFuture<>();
        CompletableFuture<Void> closed = finished = new CompletableFuture<>();
        background(() -> {
          Catalog read = null;
          Throwable failure = null;
          try (open; Connection c = connection) {
            Inspected applied = inspect(c, migrator, reading, drift);
            inspecting.complete(applied.inspection());
            if (awaitGo(go)) {
              read = readCatalog(c, drift);
              // history and catalog of one moment: the history is read again after the catalog
              if (!applied.historyMark().equals(historyMark(c, drift))) {
                throw new DeployException(DeployException.Kind.DATABASE, "production was migrated while its"
                    + " catalog was read");
              }
            }
          } catch (Throwable e) { // whatever ends the reading, who waits for it hears of it
            failure = e instanceof DeployException ? e : new DeployException(DeployException.Kind.DATABASE,
                String.valueOf(e.getMessage()), e);
          }
          // only now, with the connection and the session closed
          if (failure != null) {
            inspecting.completeExceptionally(failure); // the first failure counts; a completed reading stays
            catalogReading.completeExceptionally(failure);
          } else if (read == null) {
            catalogReading.cancel(false);
          } else {
            catalogReading.complete(read);
          }
          closed.complete(null);
        });
        session = null; // the reading closes it
      }
      return new ProductionView(server.version(), server.major(), extensions, inspected, catalog, go, finished,
          drift == null ? null : connection, events, config);
    } catch (SQLException | DeployException e) {
      if (e instanceof DriftCheck.Unchecked d) {
        throw d;
      }
      String why = events.redactor().redact(String.valueOf(e.getMessage()));
      if (drift != null && config.testMigrate().driftCheck() == CheckLevel.FAIL) {
        throw drift.unchecked("production could not be read: " + why);
      }
      events.warn("production could not be read before test-migrate (no drift check, no version match): " + why);
      return null;
    } finally {
      if (session != null) {
        session.close();
      }
    }
  }

  /** How long the end of a step waits for production's reading to close, before and after cutting its connection. */
  private static final java.time.Duration CLOSE_WITHIN = java.time.Duration.ofSeconds(30);

  /** How long a step waits for production's reading at most: a connection that went silent never answers. */
  private static final java.time.Duration READ_WITHIN = java.time.Duration.ofMinutes(5);

  /** How long the catalog's reading waits for the throwaway database to start before it reads anyway. */
  private static final java.time.Duration GO_WITHIN = java.time.Duration.ofSeconds(60);

  /** The migrations production has applied, and the mark of the history they were read from. */
  private record Inspected(Migrator.Inspection inspection, String historyMark) { }

  /** The migrations production has applied, with an unchanged history before and after: none applied meanwhile. */
  private static Inspected inspect(Connection c, Migrator migrator, DatabaseTarget reading, DriftCheck drift) {
    for (int attempt = 1; ; attempt++) {
      String before = historyMark(c, drift);
      Migrator.Inspection inspection = migrator.inspect(reading);
      if (before.equals(historyMark(c, drift))) {
        return new Inspected(inspection, before);
      }
      if (attempt == 3) {
        throw new DeployException(DeployException.Kind.DATABASE, "production was being migrated while it was read,"
            + " three times");
      }
    }
  }

  /** Whether to read the catalog: yes once the throwaway database is up, or after a minute without word. */
  private static boolean awaitGo(CompletableFuture<Boolean> go) {
    try {
      return go.get(GO_WITHIN.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      return true;
    } catch (InterruptedException | java.util.concurrent.ExecutionException e) {
      return false;
    }
  }

  /** The catalog, read again when a migration holds a lock on what it reads (after a pause). */
  private static Catalog readCatalog(Connection c, DriftCheck drift) throws SQLException {
    for (int attempt = 1; ; attempt++) {
      try {
        return Catalog.read(c, drift.ignored(), true);
      } catch (SQLException e) {
        if (!"55P03".equals(e.getSQLState()) || attempt == 3) { // lock_not_available: a migration holds it
          throw e;
        }
      }
      try {
        Thread.sleep(1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new DeployException(DeployException.Kind.DATABASE, "Stopped while reading production's catalog", e);
      }
    }
  }

  /** A server's {@code server_version} and its major version. */
  private record ServerVersion(String version, int major) {
    static ServerVersion of(Statement s) throws SQLException {
      try (ResultSet rs = s.executeQuery("SELECT current_setting('server_version'),"
          + " current_setting('server_version_num')::int / 10000")) {
        rs.next();
        return new ServerVersion(rs.getString(1), rs.getInt(2));
      }
    }
  }

  /** How many rows the history table has and its newest: "none" without one. */
  private static String historyMark(Connection c, DriftCheck drift) {
    String table = drift.historyTable();
    boolean goose = !drift.flywayHistory();
    String[] name = table.split("\\.", 2);
    // Flyway's table is in the role's first schema, as Flyway finds it
    String from = name[0].equals("*") ? "\"" + name[1] + "\"" : "\"" + name[0] + "\".\"" + name[1] + "\"";
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) || '/' || coalesce(max("
        + (goose ? "id" : "installed_rank") + "), 0) FROM " + from)) {
      rs.next();
      return rs.getString(1);
    } catch (SQLException e) {
      return "none"; // no history yet (autocommit: nothing to roll back)
    }
  }

  private static void background(Runnable task) {
    Thread thread = new Thread(task, "closedloop-read-production");
    thread.setDaemon(true);
    thread.start();
  }

  /**
   * Warns, before any migration runs there, when the throwaway database is not production's
   * major version, or cannot install an extension production has.
   */
  void compareWith(DatabaseTarget throwaway, String described, Events events) {
    ServerVersion test;
    List<String> missing = new ArrayList<>();
    try (Connection c = throwaway.connect(); Statement s = c.createStatement()) {
      test = ServerVersion.of(s);
      java.util.Set<String> available = new java.util.HashSet<>();
      try (ResultSet rs = s.executeQuery("SELECT name FROM pg_catalog.pg_available_extensions")) {
        while (rs.next()) {
          available.add(rs.getString(1));
        }
      }
      extensions.forEach((name, extVersion) -> {
        if (!available.contains(name)) {
          missing.add(name + " " + extVersion);
        }
      });
    } catch (SQLException e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot read the version of " + described + ": "
          + e.getMessage(), e);
    }
    if (test.major() != major) {
      events.warn("production runs PostgreSQL " + version + ", " + described + " " + test.version() + ": a migration"
          + " may behave differently on production. Install PostgreSQL " + major + "'s server (its binaries in"
          + " /usr/lib/postgresql/" + major + "/bin make the embedded one match), or set deploy.testDatabaseImage"
          + " to postgres:" + major);
    }
    if (!missing.isEmpty()) {
      events.warn("production has extension" + (missing.size() == 1 ? " " : "s ") + String.join(", ", missing)
          + ", which " + described + " cannot install: a migration that creates or uses " + (missing.size() == 1
          ? "it" : "them") + " fails here first. Set deploy.testDatabaseImage to an image that has "
          + (missing.size() == 1 ? "it" : "them"));
    }
  }
}
