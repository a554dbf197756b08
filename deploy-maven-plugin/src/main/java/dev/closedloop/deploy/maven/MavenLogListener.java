package dev.closedloop.deploy.maven;

import dev.closedloop.deploy.ReleaseEvent;
import dev.closedloop.deploy.ReleaseListener;
import org.apache.maven.plugin.logging.Log;

/** Lifecycle lines at info, details at debug. */
final class MavenLogListener implements ReleaseListener {

  private final Log log;

  MavenLogListener(Log log) {
    this.log = log;
  }

  @Override
  public void on(ReleaseEvent event) {
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
        case WARN -> log.warn(e.message());
      }
    }
  }

  private static String seconds(java.time.Duration d) {
    return String.format("%.1f s", d.toMillis() / 1000.0);
  }
}
