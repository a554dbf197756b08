package dev.closedloop.deploy.internal;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What a JVM that exits (Ctrl-C, a CI's cancel) must still clean up: servers, containers and
 * processes this run started and has not closed yet. One shutdown hook, created on the first
 * registration, runs them all side by side, as separate hooks would, and waits for each.
 */
public final class ExitCleanup {

  /** A registration; closing it forgets the action, which then no longer runs at exit. */
  public interface Handle extends AutoCloseable {
    @Override
    void close();
  }

  private static final ExitCleanup JVM = new ExitCleanup(true);

  private final boolean hookOnFirstUse;
  private final Set<Entry> registered = new LinkedHashSet<>();
  private boolean hooked;

  ExitCleanup(boolean hookOnFirstUse) {
    this.hookOnFirstUse = hookOnFirstUse;
  }

  /**
   * Runs {@code action} when the JVM exits, unless the returned handle is closed first.
   *
   * @param what what the action cleans up, for a reader of a thread dump (never a secret)
   */
  public static Handle register(String what, Runnable action) {
    return JVM.add(what, action);
  }

  synchronized Handle add(String what, Runnable action) {
    Entry entry = new Entry(what, action);
    registered.add(entry);
    if (hookOnFirstUse && !hooked) {
      hooked = true;
      Runtime.getRuntime().addShutdownHook(new Thread(this::runAll, "closedloop-exit-cleanup"));
    }
    return () -> forget(entry);
  }

  private synchronized void forget(Entry entry) {
    registered.remove(entry);
  }

  /** What is still registered, oldest first. */
  synchronized List<String> pending() {
    return registered.stream().map(Entry::what).toList();
  }

  /**
   * Runs what is still registered, each on a thread of its own (as the JVM runs separate shutdown
   * hooks: a container removal that hangs does not hold up a server's stop), started newest first,
   * and waits for all of them; forgets them. An action that fails does not stop the others. Not
   * under the lock: an action closes its own handle.
   */
  void runAll() {
    List<Entry> newestFirst;
    synchronized (this) {
      newestFirst = new ArrayList<>(registered);
      registered.clear();
    }
    java.util.Collections.reverse(newestFirst);
    List<Thread> running = new ArrayList<>();
    for (Entry entry : newestFirst) {
      Thread thread = new Thread(() -> {
        try {
          entry.action().run();
        } catch (Throwable e) { // the JVM is exiting: nobody is left to tell, and the rest must still run
          // swallowed
        }
      }, "closedloop-exit: " + entry.what());
      thread.start();
      running.add(thread);
    }
    for (Thread thread : running) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** Identity, not equality: the same action registered twice is two registrations. */
  private static final class Entry {
    private final String what;
    private final Runnable action;

    Entry(String what, Runnable action) {
      this.what = what;
      this.action = action;
    }

    String what() {
      return what;
    }

    Runnable action() {
      return action;
    }
  }
}
