package dev.closedloop.deploy.internal.database;

import dev.closedloop.deploy.internal.ExitCleanup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Set;
import java.util.stream.Stream;

/** Copying and deleting directory trees. */
public final class Trees {

  /** Deletes in the background, so no release waits for it; the JVM's exit waits for it (a while). */
  private static final java.util.concurrent.ExecutorService DELETER =
      java.util.concurrent.Executors.newSingleThreadExecutor(task -> {
        Thread thread = new Thread(task, "closedloop-delete");
        thread.setDaemon(true);
        return thread;
      });

  static {
    ExitCleanup.register("waiting for background deletes", () -> {
      DELETER.shutdown();
      try {
        DELETER.awaitTermination(20, java.util.concurrent.TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
  }

  private Trees() {}

  /**
   * Moves {@code dir} aside in one step, then deletes it, so nobody ever copies or runs half of
   * it; another process that discarded it first is no error.
   */
  static void discard(Path dir) {
    if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Path aside = dir.resolveSibling(dir.getFileName() + ".discarded-" + java.util.UUID.randomUUID());
    try {
      Files.move(dir, aside, StandardCopyOption.ATOMIC_MOVE);
      delete(aside);
    } catch (IOException e) {
      // another process discarded it first
    }
  }

  /** Deletes {@code dir} on a background thread. */
  static void deleteLater(Path dir) {
    try {
      DELETER.execute(() -> delete(dir));
    } catch (java.util.concurrent.RejectedExecutionException exiting) {
      delete(dir);
    }
  }

  /** Copies {@code from} into the existing directory {@code to}, leaving out files named in {@code skip}. */
  static void copy(Path from, Path to, Set<String> skip) throws IOException {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        if (skip.contains(file.getFileName().toString())) {
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

  /** Deletes {@code dir} and everything in it; what cannot be deleted is left (never worth failing for). */
  public static void delete(Path dir) {
    if (dir == null || !Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path file : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(file);
      }
    } catch (IOException | java.io.UncheckedIOException e) {
      // a leftover temporary directory is not worth failing a release for
    }
  }
}
