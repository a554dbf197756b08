package dev.closedloop.deploy.guard;

/** What a ledger row records, as its {@code kind} column holds it. */
public enum LedgerKind {
  /** A release: deploy:release or its split goals. */
  RELEASE("release"),
  /** A row of deploy:rollback, which no release is ordered against. */
  ROLLBACK("rollback");

  private final String id;

  LedgerKind(String id) {
    this.id = id;
  }

  /** The column value. */
  public String id() {
    return id;
  }

  /**
   * The kind a column holds; a ledger made before the column reads as releases.
   *
   * @throws IllegalArgumentException for a value no kind has
   */
  public static LedgerKind of(String id) {
    if (id == null) {
      return RELEASE;
    }
    for (LedgerKind kind : values()) {
      if (kind.id.equals(id)) {
        return kind;
      }
    }
    throw new IllegalArgumentException("Unknown ledger row kind '" + id + "' (known: release, rollback)");
  }

  @Override
  public String toString() {
    return id;
  }
}
