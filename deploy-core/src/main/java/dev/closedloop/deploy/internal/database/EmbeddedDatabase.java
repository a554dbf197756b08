package dev.closedloop.deploy.internal.database;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.ReleaseListener;
import dev.closedloop.deploy.database.DatabaseTarget;
import dev.closedloop.deploy.database.EphemeralDatabase;
import dev.closedloop.deploy.internal.Events;
import dev.closedloop.deploy.internal.ExitCleanup;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A PostgreSQL server of its own for each run. {@code initdb} is most of a server's start, so its
 * result is kept once per PostgreSQL build (a template data directory in the user's private
 * cache directory) and copied for each run. The data is thrown away, so the server runs without
 * durability, is stopped without a checkpoint, and its directory is removed in the background.
 */
public final class EmbeddedDatabase implements EphemeralDatabase {

  /** Left behind by a server that ran; never copied into a fresh data directory. */
  private static final Set<String> RUNTIME_FILES = Set.of("epg-lock", "postmaster.pid", "postmaster.opts");

  private static final String RUN_PREFIX = "closedloop-postgres-";
  private static final String OWNER_LOCK = "owner.lock";

  /** Room a throwaway database may need in shared memory (a container's default is only 64 MB). */
  private static final long MIN_MEMORY_SPACE = 512L * 1024 * 1024;

  /** The major version asked for (production's), or null for the classpath's binaries. */
  private final Integer major;

  public EmbeddedDatabase() {
    this(null);
  }

  private EmbeddedDatabase(Integer major) {
    this.major = major;
  }

  @Override
  public EphemeralDatabase matching(int major) {
    return new EmbeddedDatabase(major);
  }

  @Override
  public Instance start(ReleaseListener listener) {
    Events events = Events.of(listener);
    PostgresBinaries binaries = major == null ? PostgresBinaries.current()
        : PostgresBinaries.forMajor(major).orElseGet(PostgresBinaries::current);
    Path run = createRunDirectory();
    FileChannel owner = own(run);
    Path data = run.resolve("data");
    Path log = run.resolve("postgres.log");
    PostgresServer server;
    try {
      server = startFromTemplate(binaries, data, log, events).orElse(null);
      if (server == null) {
        Trees.delete(data);
        PostgresServer.initdb(binaries, data, log, false, "--wal-segsize=1");
        server = PostgresServer.start(binaries, data, log, true);
      }
    } catch (IOException | RuntimeException e) {
      Trees.delete(data); // the log stays, for the reason
      closeQuietly(owner);
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot start embedded PostgreSQL (" + e.getMessage()
          + "; its log is " + log + "). Or point deploy.testDatabaseUrl at a server to test on", e);
    }
    events.debug("embedded PostgreSQL on port " + server.port() + ", data " + data + ", log " + log);
    DatabaseTarget target = DatabaseTarget.of("jdbc:postgresql://127.0.0.1:" + server.port() + "/postgres",
        "postgres", null);
    PostgresServer running = server;
    Instance instance = new Instance() {
      private boolean closed;
      /** Not closed yet: a JVM that exits (Ctrl-C included) stops it and deletes its data. */
      private final ExitCleanup.Handle closeOnExit = ExitCleanup.register("close the embedded PostgreSQL in " + run,
          this::close);

      @Override
      public DatabaseTarget target() {
        return target;
      }

      @Override
      public synchronized void close() {
        if (!closed) {
          closed = true;
          closeOnExit.close();
          running.close();
          closeQuietly(owner);
          Trees.deleteLater(run);
        }
      }
    };
    return instance;
  }

  @Override
  public String describe() {
    if (major == null) {
      return "embedded PostgreSQL";
    }
    return PostgresBinaries.forMajor(major).map(found -> "embedded PostgreSQL " + major + ", production's version"
        + (found.major() == PostgresBinaries.current().major() ? "" : ", from " + found.bin())).orElse(
        "embedded PostgreSQL " + PostgresBinaries.current().major() + " (no PostgreSQL " + major + " binaries here)");
  }

  /** A server on a copy of the template; empty when there is no template or its copy does not start. */
  private static Optional<PostgresServer> startFromTemplate(PostgresBinaries binaries, Path data, Path log,
      Events events) {
    Optional<Path> template = template(binaries, events);
    if (template.isEmpty()) {
      return Optional.empty();
    }
    try {
      Files.createDirectory(data, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      Trees.copy(template.get(), data, RUNTIME_FILES);
      return Optional.of(PostgresServer.start(binaries, data, log, true));
    } catch (IOException | RuntimeException e) {
      // a port, a full disk or a template another process is discarding: this run does its own initdb
      events.debug("a copy of the PostgreSQL template " + template.get() + " did not start (" + e.getMessage()
          + "); this run does its own initdb");
      if (!isDataDirectory(template.get())) {
        Trees.discard(template.get());
      }
      return Optional.empty();
    }
  }

  /**
   * The initdb'ed data directory of this PostgreSQL build, made on first use. Never changed once
   * in place, so any number of processes may copy it at once; a damaged one is moved aside
   * whole before it is deleted. Empty when none can be made (then every run does its own initdb).
   */
  private static Optional<Path> template(PostgresBinaries binaries, Events events) {
    Path cache = PostgresBinaries.cacheDirectory();
    Path template = cache.resolve("template-" + binaries.key() + "-" + localeKey());
    if (isDataDirectory(template)) {
      return Optional.of(template);
    }
    if (Files.exists(template) && !isDataDirectory(template)) { // damaged, and not just made by another process
      Trees.discard(template);
    }
    Path fresh = null;
    Path log = null;
    try {
      fresh = Files.createTempDirectory(cache, template.getFileName() + ".new-");
      log = Files.createTempFile(cache, "initdb-", ".log");
      PostgresServer.initdb(binaries, fresh, log, false, "--wal-segsize=1"); // 1 MB, not 16 MB, to copy
      try {
        Files.move(fresh, template, StandardCopyOption.ATOMIC_MOVE);
        events.debug("kept an initdb'ed PostgreSQL data directory at " + template + " for later runs");
      } catch (IOException raced) {
        // another process made it first
      }
    } catch (IOException | RuntimeException e) {
      events.debug("no PostgreSQL template (" + e.getMessage() + "); every run does its own initdb");
    } finally {
      Trees.delete(fresh); // nothing left to delete once moved
      Trees.delete(log);
    }
    return isDataDirectory(template) ? Optional.of(template) : Optional.empty();
  }

  /** initdb takes the collation from the environment: a template is kept per locale too. */
  private static String localeKey() {
    String locale = Stream.of("LC_ALL", "LC_COLLATE", "LANG").map(System::getenv)
        .filter(value -> value != null && !value.isBlank()).findFirst().orElse("C");
    return Integer.toHexString(locale.hashCode());
  }

  /**
   * Holds {@code run}'s owner lock for as long as the run lives: the operating system frees it
   * when the process ends however it ends, so a sweep can tell a leftover from a live run, in
   * this process, another, or another container sharing /dev/shm.
   */
  private static FileChannel own(Path run) {
    try {
      FileChannel channel = FileChannel.open(run.resolve(OWNER_LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      channel.lock();
      return channel;
    } catch (IOException e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot lock " + run.resolve(OWNER_LOCK) + ": "
          + e.getMessage(), e);
    }
  }

  private static void closeQuietly(FileChannel channel) {
    try {
      channel.close();
    } catch (IOException e) {
      // the lock goes with the process anyway
    }
  }

  /**
   * Removes run directories that a killed JVM left behind (shared memory is RAM): older than an
   * hour and with nobody holding their owner lock; a server still running there (an orphan) is
   * stopped first. A run whose owner lives is never touched.
   */
  private static void sweepLeftovers(Path base) {
    long hourAgo = System.currentTimeMillis() - 3_600_000L;
    try (Stream<Path> runs = Files.list(base)) {
      for (Path run : (Iterable<Path>) runs::iterator) {
        if (!run.getFileName().toString().startsWith(RUN_PREFIX) || !Files.isDirectory(run)
            || Files.getLastModifiedTime(run).toMillis() > hourAgo || !Files.isWritable(run)) {
          continue;
        }
        try (FileChannel channel = FileChannel.open(run.resolve(OWNER_LOCK), StandardOpenOption.WRITE)) {
          java.nio.channels.FileLock lock = channel.tryLock();
          if (lock == null) {
            continue; // another process owns it
          }
          serverOf(run.resolve("data")).ifPresent(server -> {
            server.destroy(); // SIGTERM: PostgreSQL's smart shutdown
            server.onExit().orTimeout(10, java.util.concurrent.TimeUnit.SECONDS).exceptionally(e -> null).join();
          });
          Trees.discard(run);
        } catch (java.nio.channels.OverlappingFileLockException mine) {
          // this process owns it
        } catch (java.nio.file.NoSuchFileException noOwnerLock) {
          // made before owner locks, or removed meanwhile: not ours to judge
        }
      }
    } catch (IOException | RuntimeException e) {
      // a leftover is not worth failing a release for
    }
  }

  /** The live postmaster of {@code data}, from its postmaster.pid. */
  private static Optional<ProcessHandle> serverOf(Path data) {
    try {
      String pid = Files.readAllLines(data.resolve("postmaster.pid")).get(0).trim();
      return ProcessHandle.of(Long.parseLong(pid)).filter(ProcessHandle::isAlive)
          .filter(p -> p.info().commandLine().map(line -> line.contains(data.toString())).orElse(false));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  private static boolean isDataDirectory(Path dir) {
    return Stream.of("postgresql.conf", "PG_VERSION", "global/pg_control")
        .allMatch(file -> Files.isRegularFile(dir.resolve(file)));
  }

  /**
   * A private directory for one run's data and log: in shared memory ({@code /dev/shm}) when it
   * has room, since writing the data to a disk only to delete it is most of a start; else in the
   * temporary directory.
   */
  private static Path createRunDirectory() {
    try {
      Path memory = Path.of("/dev/shm");
      Path base = Files.isDirectory(memory) && Files.isWritable(memory)
          && Files.getFileStore(memory).getUsableSpace() >= MIN_MEMORY_SPACE
          ? memory : Path.of(System.getProperty("java.io.tmpdir"));
      sweepLeftovers(base);
      return Files.createTempDirectory(base, RUN_PREFIX);
    } catch (IOException e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot create a temporary directory for embedded"
          + " PostgreSQL: " + e.getMessage() + ". Check java.io.tmpdir, or point deploy.testDatabaseUrl at a server", e);
    }
  }
}
