package dev.closedloop.deploy;

/** The steps of a release, in the order {@link Release} runs them. */
public enum Step {
  BUILD("build"),
  TEST_MIGRATE("test-migrate"),
  MIGRATE("migrate"),
  PROMOTE("promote"),
  ROLLOUT("rollout"),
  ROLLBACK("rollback"),
  /** Not a step of a release: {@code deploy:lint}'s own work, for its progress lines. */
  LINT("lint");

  private final String id;

  Step(String id) {
    this.id = id;
  }

  /** The name users see: the goal name and the step name in events and reports. */
  public String id() {
    return id;
  }

  @Override
  public String toString() {
    return id;
  }
}
