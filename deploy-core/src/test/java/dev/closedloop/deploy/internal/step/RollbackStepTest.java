package dev.closedloop.deploy.internal.step;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RollbackStepTest {

  @Test
  void destructive_namesWhatAMigrationTakesAway_notWhatItOnlyMentionsInAComment() {
    assertThat(RollbackStep.destructive("""
        -- DROP TABLE customers; was the old way
        /* ALTER TABLE orders RENAME TO purchases */
        ALTER TABLE orders DROP COLUMN IF EXISTS legacy_name;
        alter table orders rename column total to amount;
        ALTER TABLE items RENAME TO line_items;
        ALTER TABLE orders ALTER COLUMN amount TYPE numeric(12, 2);
        DROP MATERIALIZED VIEW order_totals;
        CREATE INDEX orders_by_customer ON orders (customer_id);
        """)).containsExactly("drops column legacy_name", "drops materialized view order_totals",
        "renames column total to amount", "renames a table to line_items", "changes the type of column amount");
    assertThat(RollbackStep.destructive("CREATE TABLE notes (id int PRIMARY KEY);")).isEmpty();
  }

  @Test
  void destructive_whenDropIsInACommentOrAString_namesNothing() {
    assertThat(RollbackStep.destructive("""
        /* DROP TABLE customers; /* nested: RENAME TO x */ still a comment */
        INSERT INTO notes (body) VALUES ('DROP TABLE customers; ALTER TABLE t RENAME TO x');
        COMMENT ON TABLE orders IS $$ALTER TABLE orders ALTER COLUMN id TYPE bigint$$;
        """)).isEmpty();
  }

  @Test
  void destructive_whenAStatementSpansLines_namesWhatItTakesAway() {
    assertThat(RollbackStep.destructive("""
        drop
          table if exists
          public.customers;
        ALTER TABLE "Orders"
          RENAME
          COLUMN "Total" TO amount;
        ALTER TABLE orders ALTER COLUMN amount
          SET DATA TYPE numeric;
        """)).containsExactly("drops table public.customers", "renames column \"Total\" to amount",
        "changes the type of column amount");
  }
}
