package dev.closedloop.deploy.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class ExitCleanupTest {

  private final ExitCleanup cleanup = new ExitCleanup(false);
  private final List<String> ran = new java.util.concurrent.CopyOnWriteArrayList<>();

  @Test
  void runAll_runsWhatIsRegistered_once() {
    cleanup.add("server", () -> ran.add("server"));
    cleanup.add("container", () -> ran.add("container"));
    cleanup.add("process", () -> ran.add("process"));

    cleanup.runAll();
    cleanup.runAll();

    assertEquals(java.util.Set.of("process", "container", "server"), java.util.Set.copyOf(ran));
    assertEquals(3, ran.size());
    assertEquals(List.of(), cleanup.pending());
  }

  @Test
  void close_forgetsTheAction_andOnlyThatOne() {
    ExitCleanup.Handle server = cleanup.add("server", () -> ran.add("server"));
    cleanup.add("container", () -> ran.add("container"));

    server.close();
    server.close();

    assertEquals(List.of("container"), cleanup.pending());
    cleanup.runAll();
    assertEquals(List.of("container"), ran);
  }

  @Test
  void runAll_whenAnActionFails_runsTheOthers() {
    cleanup.add("server", () -> ran.add("server"));
    cleanup.add("broken", () -> {
      throw new IllegalStateException("engine gone");
    });
    cleanup.add("process", () -> ran.add("process"));

    cleanup.runAll();

    assertEquals(java.util.Set.of("process", "server"), java.util.Set.copyOf(ran));
  }

  @Test
  void runAll_whenAnActionClosesItsOwnHandle_doesNotDeadlockOrSkip() {
    ExitCleanup.Handle[] own = new ExitCleanup.Handle[1];
    own[0] = cleanup.add("instance", () -> {
      own[0].close(); // as an instance's close() forgets itself
      ran.add("instance");
    });
    cleanup.add("process", () -> ran.add("process"));

    cleanup.runAll();

    assertEquals(java.util.Set.of("process", "instance"), java.util.Set.copyOf(ran));
  }

  @Test
  void add_sameActionTwice_isTwoRegistrations() {
    Runnable action = () -> ran.add("remove");
    ExitCleanup.Handle first = cleanup.add("remove", action);
    cleanup.add("remove", action);

    first.close();
    cleanup.runAll();

    assertEquals(List.of("remove"), ran);
  }

  @Test
  void runAll_anActionThatHangs_doesNotHoldUpTheOthers() throws Exception {
    java.util.concurrent.CountDownLatch othersRan = new java.util.concurrent.CountDownLatch(1);
    cleanup.add("server", () -> {
      ran.add("server");
      othersRan.countDown();
    });
    cleanup.add("hanging removal", () -> {
      try {
        // ends only once the older action ran: run one after the other, this would wait for ever
        ran.add(othersRan.await(10, java.util.concurrent.TimeUnit.SECONDS) ? "removal" : "removal waited in vain");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });

    cleanup.runAll();

    assertEquals(java.util.Set.of("server", "removal"), java.util.Set.copyOf(ran));
    assertEquals(0, othersRan.getCount());
  }
}
