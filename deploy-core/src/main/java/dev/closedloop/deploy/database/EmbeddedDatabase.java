package dev.closedloop.deploy.database;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Events;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A PostgreSQL server of its own for each run, in a temporary directory. {@code initdb} is most
 * of a server's start, so its result is kept once per machine and PostgreSQL build (a template
 * data directory under the temporary directory) and copied for each run.
 */
final class EmbeddedDatabase implements EphemeralDatabase {

  /** Left behind by a server that ran; never copied into a fresh data directory. */
  private static final Set<String> RUNTIME_FILES = Set.of("epg-lock", "postmaster.pid", "postmaster.opts");

  @Override
  public Instance start(Events events) {
    Path log = createTemp(() -> Files.createTempFile("closedloop-postgres-", ".log"));
    Path dataDir = createTemp(() -> Files.createTempDirectory("closedloop-postgres-"));
    EmbeddedPostgres postgres = null;
    Optional<Path> template = template(events, log);
    if (template.isPresent()) {
      try {
        copy(template.get(), dataDir);
        postgres = start(dataDir, log);
      } catch (IOException | RuntimeException e) {
        events.debug("the PostgreSQL template " + template.get() + " did not start (" + e.getMessage()
            + "); starting from initdb");
        delete(template.get());
        delete(dataDir);
        dataDir = createTemp(() -> Files.createTempDirectory("closedloop-postgres-"));
      }
    }
    try {
      if (postgres == null) {
        postgres = start(dataDir, log);
      }
    } catch (IOException | RuntimeException e) {
      delete(dataDir);
      throw new DeployException(DeployException.Kind.DATABASE,
          "Cannot start embedded PostgreSQL (" + e.getMessage() + "); its log is " + log
              + ". Or point deploy.testDatabaseUrl at a server to test on", e);
    }
    events.debug("embedded PostgreSQL on port " + postgres.getPort() + ", data " + dataDir + ", log " + log);
    DatabaseTarget target = DatabaseTarget.of(postgres.getJdbcUrl("postgres", "postgres"), "postgres", null);
    EmbeddedPostgres running = postgres;
    Path data = dataDir;
    return new Instance() {
      @Override
      public DatabaseTarget target() {
        return target;
      }

      @Override
      public void close() {
        try {
          running.close();
          Files.deleteIfExists(log);
        } catch (IOException e) {
          events.warn("embedded PostgreSQL did not stop cleanly: " + e.getMessage());
        } finally {
          delete(data);
        }
      }
    };
  }

  @Override
  public String describe() {
    return "embedded PostgreSQL";
  }

  /** A server on {@code dataDir}, initdb'ed first when it holds no database yet; its output goes to {@code log}. */
  static EmbeddedPostgres start(Path dataDir, Path log) throws IOException {
    return EmbeddedPostgres.builder()
        .setDataDirectory(dataDir)
        .setCleanDataDirectory(false) // an initdb'ed copy is used as it is; close() deletes it
        .setOutputRedirector(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .setErrorRedirector(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
  }

  /**
   * The initdb'ed data directory for this PostgreSQL build, made on first use. Empty when the
   * build cannot be told apart (then every run does its own initdb).
   */
  private static Optional<Path> template(Events events, Path log) {
    Optional<String> key = binariesKey();
    if (key.isEmpty()) {
      return Optional.empty();
    }
    Path template = Path.of(System.getProperty("java.io.tmpdir"), "closedloop-postgres-template-" + key.get());
    if (isDataDirectory(template)) {
      return Optional.of(template);
    }
    delete(template); // damaged (say, a cleaner emptied part of the temporary directory): made anew
    Path fresh = null;
    try {
      fresh = Files.createTempDirectory(template.getParent(), template.getFileName() + ".new-");
      start(fresh, log).close(); // initdb, then a clean shutdown
      try {
        Files.move(fresh, template, StandardCopyOption.ATOMIC_MOVE);
        events.debug("kept an initdb'ed PostgreSQL data directory at " + template + " for later runs");
      } catch (IOException e) {
        // another process made it first, or this file system cannot swap it in whole
      }
    } catch (IOException | RuntimeException e) {
      events.debug("no PostgreSQL template (" + e.getMessage() + "); every run does its own initdb");
    } finally {
      delete(fresh); // nothing left to delete once moved
    }
    return isDataDirectory(template) ? Optional.of(template) : Optional.empty();
  }

  private static boolean isDataDirectory(Path dir) {
    return Stream.of("postgresql.conf", "PG_VERSION", "global/pg_control")
        .allMatch(file -> Files.isRegularFile(dir.resolve(file)));
  }

  /** Names the PostgreSQL build by where its binaries archive is, which holds its version. */
  private static Optional<String> binariesKey() {
    String osName = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String os = osName.startsWith("linux") ? "linux" : osName.startsWith("mac") ? "darwin"
        : osName.startsWith("windows") ? "windows" : null;
    String arch = switch (System.getProperty("os.arch", "")) {
      case "amd64", "x86_64" -> "x86_64";
      case "aarch64", "arm64" -> "arm_64";
      default -> System.getProperty("os.arch");
    };
    URL binaries = os == null ? null
        : EmbeddedPostgres.class.getClassLoader().getResource("postgres-" + os + "-" + arch + ".txz");
    if (binaries == null) {
      return Optional.empty();
    }
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(binaries.toString().getBytes(StandardCharsets.UTF_8));
      return Optional.of(HexFormat.of().formatHex(hash, 0, 8));
    } catch (NoSuchAlgorithmException e) {
      return Optional.empty();
    }
  }

  private static void copy(Path from, Path to) throws IOException {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        if (RUNTIME_FILES.contains(file.getFileName().toString())) {
          continue;
        }
        Path target = to.resolve(from.relativize(file).toString());
        if (Files.isDirectory(file)) {
          Files.createDirectories(target);
        } else {
          Files.copy(file, target, StandardCopyOption.COPY_ATTRIBUTES);
        }
      }
    }
  }

  private static void delete(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path file : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(file);
      }
    } catch (IOException e) {
      // a leftover temporary directory is not worth failing a release for
    }
  }

  private interface IoSupplier<T> {
    T get() throws IOException;
  }

  private static <T> T createTemp(IoSupplier<T> create) {
    try {
      return create.get();
    } catch (IOException e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot create a temporary file: " + e.getMessage(), e);
    }
  }
}
