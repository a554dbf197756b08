package dev.closedloop.deploy.report;

import dev.closedloop.deploy.ReleaseEvent;
import dev.closedloop.deploy.Step;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * What a CI system's log understands besides plain lines: under GitHub Actions a collapsible
 * {@code ::group::} per step and {@code ::warning::} / {@code ::error::} annotations, under GitLab
 * CI a collapsible section per step. Elsewhere nothing. The caller prints {@link #before} lines
 * ahead of an event's own line and {@link #after} lines behind it, at the start of a line.
 *
 * <p>Groups cannot overlap: build and test-migrate run side by side, so a group opens when a step
 * starts with none open, and when its step ends while another still runs, the next one opens for
 * that step.
 */
public final class CiLog {

  /** Which log syntax, by the CI system's marker variable. */
  public enum Kind { GITHUB_ACTIONS, GITLAB_CI, NONE }

  private final Kind kind;
  private final LongSupplier clock;
  private final Set<Step> running = new LinkedHashSet<>();
  private Step open;

  CiLog(Kind kind, LongSupplier epochSeconds) {
    this.kind = kind;
    this.clock = epochSeconds;
  }

  /** For the CI system that {@code env} names; one that prints nothing outside CI. */
  public static CiLog of(Map<String, String> env) {
    Kind kind = "true".equals(env.get("GITHUB_ACTIONS")) ? Kind.GITHUB_ACTIONS
        : "true".equals(env.get("GITLAB_CI")) ? Kind.GITLAB_CI : Kind.NONE;
    return new CiLog(kind, () -> System.currentTimeMillis() / 1000);
  }

  public Kind kind() {
    return kind;
  }

  /** Lines to print before the event's own line: a group or section that opens. */
  public synchronized List<String> before(ReleaseEvent event) {
    List<String> lines = new ArrayList<>();
    if (event instanceof ReleaseEvent.StepStarted started) {
      running.add(started.step());
      if (open == null) {
        lines.addAll(open(started.step(), false));
      }
    }
    return lines;
  }

  /** Lines to print after the event's own line: a group that closes, and the next that opens. */
  public synchronized List<String> after(ReleaseEvent event) {
    List<String> lines = new ArrayList<>();
    Step ended = event instanceof ReleaseEvent.StepFinished finished ? finished.step()
        : event instanceof ReleaseEvent.StepFailed failed ? failed.step() : null;
    if (ended != null) {
      running.remove(ended);
      if (ended == open) {
        lines.addAll(close());
        if (!running.isEmpty()) {
          lines.addAll(open(running.iterator().next(), true));
        }
      }
    }
    return lines;
  }

  /**
   * An annotation for a warning (GitHub Actions shows it on the run's page); nothing elsewhere.
   * It may go to standard error: the runner reads commands there too, and order does not matter.
   */
  public List<String> warning(String message) {
    return annotation("warning", message);
  }

  /** An annotation for the failure that ended the goal. */
  public List<String> error(String message) {
    return annotation("error", message);
  }

  private List<String> annotation(String level, String message) {
    if (kind != Kind.GITHUB_ACTIONS || message == null) {
      return List.of();
    }
    return List.of("::" + level + " title=closedloop::" + escape(message));
  }

  private List<String> open(Step step, boolean continued) {
    open = step;
    String title = "closedloop " + step + (continued ? " (continued)" : "");
    return switch (kind) {
      case GITHUB_ACTIONS -> List.of("::group::" + escape(title));
      // ESC[0K clears what GitLab's runner drew; the section name may hold only [a-z0-9_.-]
      case GITLAB_CI -> List.of("\u001b[0Ksection_start:" + clock.getAsLong() + ":" + section(step)
          + "[collapsed=false]\r\u001b[0K" + title);
      case NONE -> List.of();
    };
  }

  private List<String> close() {
    Step step = open;
    open = null;
    return switch (kind) {
      case GITHUB_ACTIONS -> List.of("::endgroup::");
      case GITLAB_CI -> List.of("\u001b[0Ksection_end:" + clock.getAsLong() + ":" + section(step) + "\r\u001b[0K");
      case NONE -> List.of();
    };
  }

  private static String section(Step step) {
    return "closedloop_" + step.id().replace('-', '_');
  }

  /** Command data as the runner unescapes it: one line. */
  static String escape(String data) {
    return data.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A");
  }
}
