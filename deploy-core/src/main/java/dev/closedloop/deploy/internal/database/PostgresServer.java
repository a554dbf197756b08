package dev.closedloop.deploy.internal.database;

import dev.closedloop.deploy.internal.ExitCleanup;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A PostgreSQL server process of our own on {@code 127.0.0.1}, on a data directory that
 * {@code initdb} made. A throwaway server trades durability for speed (no fsync, no synchronous
 * commit, no full-page writes) and is stopped without a checkpoint; a durable one is stopped
 * cleanly.
 */
public final class PostgresServer implements AutoCloseable {

  private static final Duration READY_WITHIN = Duration.ofSeconds(60);
  private static final Duration STOP_WITHIN = Duration.ofSeconds(30);
  private static final int PORT_ATTEMPTS = 5;

  private final Process process;
  private final int port;
  private final boolean throwaway;
  private final Path log;
  private boolean stopped;
  /** A JVM that exits (Ctrl-C included) stops a server still running first. */
  private ExitCleanup.Handle stopOnExit;

  private PostgresServer(Process process, int port, boolean throwaway, Path log) {
    this.process = process;
    this.port = port;
    this.throwaway = throwaway;
    this.log = log;
  }

  /** Runs {@code initdb} on the empty directory {@code dataDir}. */
  public static void initdb(PostgresBinaries binaries, Path dataDir, Path log, boolean sync, String... options)
      throws IOException {
    List<String> args = new ArrayList<>(List.of("-A", "trust", "-U", "postgres", "-D", dataDir.toString(), "-E", "UTF-8"));
    if (!sync) {
      args.add("--no-sync");
    }
    args.addAll(List.of(options));
    Process initdb = new ProcessBuilder(binaries.command("initdb", args.toArray(String[]::new)))
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    if (waitFor(initdb, Duration.ofMinutes(2)) != 0) {
      throw new IOException("initdb failed; its output is in " + log + ": " + tail(log));
    }
  }

  /**
   * Starts a server on {@code dataDir} and returns once it accepts connections.
   *
   * @throws IOException when it does not start; the reason is in {@code log}
   */
  public static PostgresServer start(PostgresBinaries binaries, Path dataDir, Path log, boolean throwaway) throws IOException {
    IOException last = null;
    for (int attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
      int port = freePort();
      long logStart = Files.exists(log) ? Files.size(log) : 0;
      List<String> args = new ArrayList<>(List.of("-D", dataDir.toString(), "-p", Integer.toString(port),
          "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "timezone=UTC",
          "-c", "lc_messages=C")); // its log is read for "could not bind"
      if (throwaway) { // its data is thrown away: nothing to make durable
        args.addAll(List.of("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "autovacuum=off", "-c", "jit=off"));
      }
      Process process = new ProcessBuilder(binaries.command("postgres", args.toArray(String[]::new)))
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
      PostgresServer server = new PostgresServer(process, port, throwaway, log);
      server.stopOnExit = ExitCleanup.register("stop PostgreSQL on port " + port, server::close);
      try {
        server.awaitReady(dataDir);
        return server;
      } catch (IOException e) {
        server.close();
        last = e;
        if (!logSince(log, logStart).contains("could not bind")) {
          break; // only a port taken between our check and the server's bind is worth another try
        }
      }
    }
    throw last;
  }

  public int port() {
    return port;
  }

  /** Waits for the server to say it is ready: line 8 of {@code postmaster.pid}, as {@code pg_ctl} reads it. */
  private void awaitReady(Path dataDir) throws IOException {
    Path pidFile = dataDir.resolve("postmaster.pid");
    long deadline = System.nanoTime() + READY_WITHIN.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException("PostgreSQL exited with " + process.exitValue() + ": " + tail(log));
      }
      try {
        List<String> lines = Files.readAllLines(pidFile, StandardCharsets.UTF_8);
        if (lines.size() >= 8 && lines.get(7).trim().equals("ready")
            && lines.get(0).trim().equals(Long.toString(process.pid()))) {
          return;
        }
      } catch (NoSuchFileException notYet) {
        // the server has not written it yet
      }
      sleep(Duration.ofMillis(5));
    }
    throw new IOException("PostgreSQL did not get ready within " + READY_WITHIN.toSeconds() + " s: " + tail(log));
  }

  /**
   * Stops the server and waits for its process to end: a throwaway one at once, without a
   * checkpoint (SIGQUIT), a durable one cleanly (SIGINT, PostgreSQL's fast shutdown).
   */
  @Override
  public synchronized void close() {
    if (stopped) {
      return;
    }
    boolean interrupted = Thread.interrupted(); // an interrupted caller still waits for the server to end
    try {
      stop();
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void stop() {
    stopped = true;
    stopOnExit.close();
    if (!process.isAlive()) {
      return;
    }
    try {
      Process kill = new ProcessBuilder("kill", throwaway ? "-QUIT" : "-INT", Long.toString(process.pid()))
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      waitFor(kill, Duration.ofSeconds(10));
    } catch (IOException noKillCommand) {
      process.destroy(); // SIGTERM: PostgreSQL's smart shutdown, slower but as clean
    }
    if (waitFor(process, STOP_WITHIN) == Integer.MIN_VALUE) {
      process.destroyForcibly();
      waitFor(process, STOP_WITHIN);
    }
  }

  /** The exit code, or {@code Integer.MIN_VALUE} when it did not end in time. */
  private static int waitFor(Process process, Duration timeout) {
    try {
      return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : Integer.MIN_VALUE;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Integer.MIN_VALUE;
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  /** What the log got from byte {@code offset} on. */
  private static String logSince(Path log, long offset) {
    try {
      byte[] all = Files.readAllBytes(log);
      return new String(all, (int) Math.min(offset, all.length), (int) Math.max(0, all.length - offset),
          StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  /** The last lines of the server's log, on one line, for an error message. */
  static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join(" | ", lines.subList(Math.max(0, lines.size() - 3), lines.size())).trim();
    } catch (IOException e) {
      return "(no log)";
    }
  }

  private static void sleep(Duration duration) throws IOException {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while PostgreSQL started", e);
    }
  }
}
