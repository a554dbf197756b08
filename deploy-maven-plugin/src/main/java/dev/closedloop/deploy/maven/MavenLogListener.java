package dev.closedloop.deploy.maven;

import dev.closedloop.deploy.ReleaseEvent;
import dev.closedloop.deploy.ReleaseListener;
import dev.closedloop.deploy.report.CiLog;
import java.io.PrintStream;
import java.util.List;
import org.apache.maven.plugin.logging.Log;

/**
 * Lifecycle lines at info, details at debug; under a CI system, its collapsible groups around
 * each step and an annotation for each warning (printed raw: the CI reads them at a line's start).
 */
final class MavenLogListener implements ReleaseListener {

  private final Log log;
  private final CiLog ci;
  private final PrintStream raw;
  private final PrintStream annotations;

  MavenLogListener(Log log, CiLog ci, PrintStream raw, PrintStream annotations) {
    this.log = log;
    this.ci = ci;
    this.raw = raw;
    this.annotations = annotations;
  }

  @Override
  public void on(ReleaseEvent event) {
    // one event's lines stay together: steps side by side emit from two threads
    synchronized (raw) {
      print(raw, ci.before(event));
      if (event instanceof ReleaseEvent.StepStarted e) {
        log.info("--- " + e.step() + " ---");
      } else if (event instanceof ReleaseEvent.StepFinished e) {
        log.info(e.step() + " done in " + seconds(e.duration()) + ": " + e.summary());
      } else if (event instanceof ReleaseEvent.StepFailed e) {
        log.error(e.step() + " failed after " + seconds(e.duration()) + ": " + e.message());
      } else if (event instanceof ReleaseEvent.Progress e) {
        log.info("  [" + e.step() + "] " + e.message()); // build and test-migrate run side by side
      } else if (event instanceof ReleaseEvent.Log e) {
        switch (e.level()) {
          case DEBUG -> log.debug(e.message());
          case INFO -> log.info(e.message());
          case WARN -> {
            log.warn(e.message());
            print(annotations, ci.warning(e.message()));
          }
        }
      }
      print(raw, ci.after(event));
    }
  }

  private static void print(PrintStream out, List<String> lines) {
    if (!lines.isEmpty()) {
      System.out.flush(); // what Maven logged so far goes first
      lines.forEach(out::println);
      out.flush();
    }
  }

  private static String seconds(java.time.Duration d) {
    return String.format("%.1f s", d.toMillis() / 1000.0);
  }
}
