package dev.closedloop.deploy.internal.lint;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Set;
import org.junit.jupiter.api.Test;

class DefinitionsTest {

  @Test
  void namesWhatARepeatableMigrationDefines_asTheDriftCatalogNamesIt() {
    assertEquals(Set.of("view order_totals", "materialized view report", "function touch(", "function billing.total(",
        "trigger orders_touch on orders", "view Mixed"), Definitions.of("""
        CREATE OR REPLACE VIEW order_totals AS SELECT 1; -- CREATE VIEW not_this AS SELECT 1;
        CREATE MATERIALIZED VIEW IF NOT EXISTS public.report AS SELECT 2;
        CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN CREATE VIEW inner_one; END $$;
        CREATE OR REPLACE PROCEDURE billing.total(int) LANGUAGE sql AS 'SELECT 1';
        CREATE TRIGGER orders_touch BEFORE UPDATE ON public.orders FOR EACH ROW EXECUTE FUNCTION touch();
        CREATE VIEW "Mixed" AS SELECT 3;
        CREATE TABLE not_a_definition (id int);
        """));
  }
}
