package dev.closedloop.deploy.report;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/**
 * One guard of the plan and what it would say of this release.
 *
 * @param detail why, in one line, already redacted
 */
public record PlanGuard(Kind guard, Verdict verdict, String detail) {

  /** The guards a release passes before it reaches production, as the plan names them. */
  public enum Kind {
    BRANCH("branch"),
    DATABASE_TLS("database TLS"),
    POOLER("pooler"),
    COMMIT_ORDER("commit order");

    private final String id;

    Kind(String id) {
      this.id = id;
    }

    @JsonValue
    public String id() {
      return id;
    }
  }

  /** {@code refuse} stops the release; {@code unknown} when the plan could not tell. */
  public enum Verdict {
    PASS, WARN, REFUSE, UNKNOWN;

    @JsonValue
    public String id() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  String line() {
    return String.format("  %-13s %-7s %s", guard.id(), verdict.id(), detail);
  }
}
