package dev.closedloop.deploy.lint;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * What the migration lint looks for: operations that lock a table a running service uses, or
 * break the image still running while (and after) production migrates. The ids are squawk's
 * where squawk has the rule; strong_migrations' checks are the other reference. Every rule takes
 * {@code deploy.lint}'s level unless {@code deploy.lintRules} names it, except
 * {@link #PREFER_ROBUST_STMTS}, which is off unless named.
 */
public enum Rule {
  BAN_DROP_TABLE("ban-drop-table",
      "dropping a table breaks the running image, which still reads it",
      "stop using the table in a release first, then drop it in a later one"),
  BAN_DROP_COLUMN("ban-drop-column",
      "dropping a column breaks the running image, which still reads it",
      "stop using the column in a release first, then drop it in a later one"),
  BAN_DROP_DATABASE("ban-drop-database",
      "dropping a database in a migration loses everything in it",
      "drop databases by hand, never from a migration"),
  CHANGING_COLUMN_TYPE("changing-column-type",
      "changing a column's type rewrites the table under an ACCESS EXCLUSIVE lock, and may break the running image",
      "add a column of the new type, backfill it in batches, switch readers, then drop the old one"),
  RENAMING_COLUMN("renaming-column",
      "renaming a column breaks the running image, which still uses the old name",
      "add the new column, write both, backfill, switch readers, then drop the old one"),
  RENAMING_TABLE("renaming-table",
      "renaming a table breaks the running image, which still uses the old name",
      "create the new table (or a view with the old name) and move readers over before dropping the old"),
  REQUIRE_CONCURRENT_INDEX_CREATION("require-concurrent-index-creation",
      "CREATE INDEX without CONCURRENTLY blocks writes to the table while the index builds",
      "CREATE INDEX CONCURRENTLY, in a migration that runs outside a transaction"),
  REQUIRE_CONCURRENT_INDEX_DELETION("require-concurrent-index-deletion",
      "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the index's table",
      "DROP INDEX CONCURRENTLY, in a migration that runs outside a transaction"),
  ADDING_REQUIRED_FIELD("adding-required-field",
      "adding a NOT NULL column without a default fails on a table with rows, and breaks the running image's inserts",
      "add the column nullable or with a non-volatile DEFAULT"),
  ADDING_NOT_NULLABLE_FIELD("adding-not-nullable-field",
      "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock",
      "add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in a later migration, then SET NOT NULL (PostgreSQL 12+"
          + " skips the scan)"),
  ADDING_FIELD_WITH_DEFAULT("adding-field-with-default",
      "a column with a volatile default (or a stored generated one) rewrites the table under an ACCESS EXCLUSIVE lock",
      "add the column without the default, set the default, then backfill in batches"),
  CONSTRAINT_MISSING_NOT_VALID("constraint-missing-not-valid",
      "adding a CHECK constraint, or validating any constraint in the transaction that added it NOT VALID, scans the"
          + " table while holding a lock that blocks writes",
      "ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT in a separate migration (transaction)"),
  ADDING_FOREIGN_KEY_CONSTRAINT("adding-foreign-key-constraint",
      "adding a FOREIGN KEY locks both the table and the one it references (SHARE ROW EXCLUSIVE at least), blocking"
          + " writes to both while it scans the table to validate every row",
      "ADD CONSTRAINT … FOREIGN KEY … NOT VALID (for a new column, after ADD COLUMN without REFERENCES), then"
          + " VALIDATE CONSTRAINT in a later migration"),
  DISALLOWED_UNIQUE_CONSTRAINT("disallowed-unique-constraint",
      "adding a UNIQUE constraint builds its index under an ACCESS EXCLUSIVE lock",
      "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … UNIQUE USING INDEX"),
  ADDING_SERIAL_PRIMARY_KEY_FIELD("adding-serial-primary-key-field",
      "adding a PRIMARY KEY builds its unique index under an ACCESS EXCLUSIVE lock, blocking reads and writes (after"
          + " rewriting the table, for a new serial or identity column)",
      "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … PRIMARY KEY USING INDEX; a new key column: add it"
          + " plain and nullable, and backfill it in batches first"),
  BAN_VACUUM_FULL("ban-vacuum-full",
      "VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock, blocking reads and writes",
      "plain VACUUM, or pg_repack outside the release"),
  BAN_CONCURRENT_INDEX_CREATION_IN_TRANSACTION("ban-concurrent-index-creation-in-transaction",
      "CONCURRENTLY cannot run inside a transaction block: the migration fails",
      "put it in a migration of its own that runs outside a transaction (goose: -- +goose NO TRANSACTION)"),
  BAN_ALTER_ENUM_ADD_VALUE_IN_TRANSACTION("ban-alter-enum-add-value-in-transaction",
      "ALTER TYPE … ADD VALUE inside a transaction fails before PostgreSQL 12, and from 12 the value cannot be used"
          + " until it commits",
      "add the value in a migration of its own (goose: -- +goose NO TRANSACTION) and use it in a later one"),
  REQUIRE_TIMEOUT_SETTINGS("require-timeout-settings",
      "without lock_timeout, a statement waiting for its lock queues every query on the table behind it; without"
          + " statement_timeout, one holding it keeps everyone waiting for as long as it runs",
      "SET lock_timeout = '5s' and SET statement_timeout = '5min' at the top of the migration, and retry when one"
          + " times out"),
  BAN_TRUNCATE_CASCADE("ban-truncate-cascade",
      "TRUNCATE … CASCADE empties every table with a foreign key to it, recursively, which the statement does not name",
      "TRUNCATE the tables by name, each one you mean, without CASCADE"),
  REQUIRE_CONCURRENT_REINDEX("require-concurrent-reindex",
      "REINDEX without CONCURRENTLY locks out writes to the table (and reads through that index) while it rebuilds",
      "REINDEX … CONCURRENTLY (PostgreSQL 12+), in a migration that runs outside a transaction"),
  REQUIRE_CONCURRENT_PARTITION_DETACH("require-concurrent-partition-detach",
      "DETACH PARTITION without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the partitioned table",
      "DETACH PARTITION … CONCURRENTLY (PostgreSQL 14+), in a migration that runs outside a transaction"),
  TRANSACTION_NESTING("transaction-nesting",
      "BEGIN or COMMIT inside the migration tool's own transaction: BEGIN only warns, and COMMIT ends the tool's"
          + " transaction halfway, so what follows is no longer rolled back with the rest",
      "leave the transaction to the tool, or run the file outside one (goose: -- +goose NO TRANSACTION)"),
  BAN_UNCOMMITTED_TRANSACTION("ban-uncommitted-transaction",
      "a BEGIN without COMMIT leaves its transaction open when the migration ends, and the tool's session aborts it",
      "end every BEGIN with a COMMIT in the same migration"),
  UNREADABLE_SQL("unreadable-sql",
      "the lint cannot read this SQL, so no rule looked at this migration from here on (never more than a warning:"
          + " test-migrate runs it on PostgreSQL, which decides)",
      "close what is open there; the rest of the release is not held up by the lint"),
  /**
   * Off unless {@code deploy.lintRules} names it ({@code prefer-robust-stmts=warn} or {@code =fail}):
   * {@code deploy.lint} sets every other rule's level, never this one's.
   */
  PREFER_ROBUST_STMTS("prefer-robust-stmts",
      "outside a transaction, a migration that fails halfway keeps the statements it ran, and running it again fails"
          + " on the first of them",
      "IF NOT EXISTS on CREATE and ADD COLUMN, IF EXISTS on DROP, DROP CONSTRAINT IF EXISTS before ADD CONSTRAINT (and"
          + " drop the INVALID index a failed CONCURRENTLY leaves)", false);

  private final String id;
  private final String explanation;
  private final String alternative;
  private final boolean onByDefault;

  Rule(String id, String explanation, String alternative) {
    this(id, explanation, alternative, true);
  }

  Rule(String id, String explanation, String alternative, boolean onByDefault) {
    this.id = id;
    this.explanation = explanation;
    this.alternative = alternative;
    this.onByDefault = onByDefault;
  }

  /** The id used in {@code deploy.lintRules} and {@code -- closedloop:allow}. */
  public String id() {
    return id;
  }

  /** One line: what goes wrong. */
  public String explanation() {
    return explanation;
  }

  /** One line: the safe way to do it. */
  public String alternative() {
    return alternative;
  }

  /**
   * False for a rule that is off unless {@code deploy.lintRules} names it ({@code prefer-robust-stmts}):
   * {@code deploy.lint} (warn by default, or fail) does not turn it on.
   */
  public boolean onByDefault() {
    return onByDefault;
  }

  /** The rule with this id, in any letter case. */
  public static Optional<Rule> byId(String id) {
    String wanted = id == null ? "" : id.trim().toLowerCase(Locale.ROOT);
    return Arrays.stream(values()).filter(r -> r.id.equals(wanted)).findFirst();
  }

}
