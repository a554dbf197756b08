package dev.closedloop.deploy.internal.step;

import java.util.ArrayList;
import java.util.List;

/**
 * What the plan found would stop the release, and what it could not find out, each in one line
 * and in the order found. Every line is redacted before it is noted.
 */
final class PlanNotes {

  private final List<String> blockers = new ArrayList<>();
  private final List<String> unknowns = new ArrayList<>();

  void blocker(String line) {
    blockers.add(line);
  }

  void unknown(String line) {
    unknowns.add(line);
  }

  List<String> blockers() {
    return List.copyOf(blockers);
  }

  List<String> unknowns() {
    return List.copyOf(unknowns);
  }
}
