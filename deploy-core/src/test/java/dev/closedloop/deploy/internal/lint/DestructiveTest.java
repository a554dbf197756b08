package dev.closedloop.deploy.internal.lint;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DestructiveTest {

  @Test
  void changes_whenADropNamesSeveralObjects_namesEach() {
    assertThat(Destructive.changes("DROP FUNCTION f(int, text), g(); DROP TABLE a, b CASCADE;"))
        .containsExactly("drops function f", "drops function g", "drops table a", "drops table b");
  }

  @Test
  void changes_whenAnAlterTableDropsTwoColumns_namesBoth() {
    assertThat(Destructive.changes("ALTER TABLE t DROP COLUMN a, DROP COLUMN IF EXISTS b;"))
        .containsExactly("drops column a", "drops column b");
  }

  @Test
  void changes_whenATableOrAColumnIsRenamed_namesOldAndNew() {
    assertThat(Destructive.changes("ALTER TABLE t RENAME orders TO purchases; ALTER TABLE t RENAME TO x;"
        + " ALTER TABLE t RENAME CONSTRAINT a TO b;"))
        .containsExactly("renames orders to purchases", "renames a table to x");
  }

  @Test
  void changes_whenTheScriptCannotBeRead_namesNothing() {
    assertThat(Destructive.changes("DROP TABLE a; SELECT 'unclosed")).isEmpty();
  }

  @Test
  void changes_whenNothingIsTakenAway_isEmpty() {
    assertThat(Destructive.changes("CREATE TABLE drop_log (id int); ALTER TABLE t ADD COLUMN type text;"
        + " DROP INDEX orders_by_customer;")).isEmpty();
  }
}
