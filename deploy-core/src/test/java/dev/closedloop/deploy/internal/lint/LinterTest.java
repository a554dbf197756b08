package dev.closedloop.deploy.internal.lint;

import dev.closedloop.deploy.CheckLevel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.closedloop.deploy.lint.Finding;
import dev.closedloop.deploy.lint.LintSettings;
import dev.closedloop.deploy.lint.Rule;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LinterTest {

  /** Production has customers (small) and orders (large), and an index on orders. */
  private static final Schema PRODUCTION = new Schema(Map.of("public.customers", Schema.Table.rows(40),
      "public.orders", Schema.Table.rows(2_000_000), "public.events", new Schema.Table(-1, 64L << 20),
      "public.notes", new Schema.Table(-1, 8192), "app.accounts", Schema.Table.rows(10)),
      Set.of("public.orders_customer_idx"), Schema.KNOWN_VOLATILE, "public");

  private static List<String> ids(String sql) {
    return ids(sql, PRODUCTION);
  }

  private static List<String> ids(String sql, Schema schema) {
    return Linter.lint(List.of(new Linter.Script("V9 change", sql, false)), schema, LintSettings.DEFAULT).stream()
        .map(f -> f.rule().id()).toList();
  }

  /** The findings other than require-timeout-settings, which most statements here also trip. */
  private static List<String> rules(String sql) {
    List<String> ids = new ArrayList<>(ids(sql));
    ids.remove(Rule.REQUIRE_TIMEOUT_SETTINGS.id());
    return ids;
  }

  private static final String TIMEOUT = "SET lock_timeout = '5s'; SET statement_timeout = '5min';\n";

  @Test
  void dropTableOfProductionsTableOnly() {
    assertEquals(List.of("ban-drop-table"), rules("DROP TABLE orders;"));
    assertEquals(List.of("ban-drop-table"), rules("drop table if exists public.orders cascade;"));
    assertEquals(List.of(), rules("CREATE TABLE scratch (id int); DROP TABLE scratch;"));
    assertEquals(List.of(), rules("DROP TABLE IF EXISTS never_there;"));
  }

  @Test
  void unqualifiedNamesAreLookedForInTheRolesSchema() {
    Schema app = new Schema(PRODUCTION.tables(), PRODUCTION.indexes(), PRODUCTION.volatileFunctions(), "app");
    assertEquals(List.of("ban-drop-column"), ids(TIMEOUT + "ALTER TABLE accounts DROP COLUMN x;", app));
    assertEquals(List.of(), ids(TIMEOUT + "ALTER TABLE accounts DROP COLUMN x;", PRODUCTION));
  }

  @Test
  void refreshConcurrentlyStaysInFlywaysTransaction() {
    assertEquals(List.of("ban-alter-enum-add-value-in-transaction"),
        rules("REFRESH MATERIALIZED VIEW CONCURRENTLY totals; ALTER TYPE mood ADD VALUE 'x';"));
  }

  @Test
  void dropColumn() {
    assertEquals(List.of("ban-drop-column"), rules("ALTER TABLE customers DROP COLUMN legacy_name;"));
    assertEquals(List.of("ban-drop-column"), rules("ALTER TABLE customers DROP legacy_name;"));
    assertEquals(List.of(), rules("ALTER TABLE customers DROP CONSTRAINT customers_name_check;"));
    assertEquals(List.of(), rules("CREATE TABLE t (a int, b int); ALTER TABLE t DROP COLUMN b;"));
  }

  @Test
  void dropDatabase() {
    assertEquals(List.of("ban-drop-database"), rules("DROP DATABASE shop;"));
    assertEquals(List.of(), rules("DROP SCHEMA scratch;"));
  }

  @Test
  void columnTypeChange() {
    assertEquals(List.of("changing-column-type"), rules("ALTER TABLE customers ALTER COLUMN email TYPE text;"));
    assertEquals(List.of("changing-column-type"), rules("alter table customers alter email set data type varchar(300);"));
    assertEquals(List.of(), rules("ALTER TABLE customers ALTER COLUMN email SET DEFAULT 'x';"));
    assertEquals(List.of(), rules("CREATE TABLE t (a int); ALTER TABLE t ALTER COLUMN a TYPE bigint;"));
  }

  @Test
  void renames() {
    assertEquals(List.of("renaming-column"), rules("ALTER TABLE customers RENAME COLUMN name TO full_name;"));
    assertEquals(List.of("renaming-column"), rules("ALTER TABLE customers RENAME name TO full_name;"));
    assertEquals(List.of("renaming-table"), rules("ALTER TABLE orders RENAME TO purchases;"));
    assertEquals(List.of(), rules("ALTER TABLE customers RENAME CONSTRAINT a TO b;"));
    assertEquals(List.of(), rules("CREATE TABLE t (a int); ALTER TABLE t RENAME a TO b; ALTER TABLE t RENAME TO u;"));
    // a renamed table keeps its rows: what follows on the new name is on an existing table
    assertEquals(List.of("renaming-table", "require-concurrent-index-creation"),
        rules("ALTER TABLE orders RENAME TO purchases; CREATE INDEX p_idx ON purchases (id);"));
  }

  @Test
  void indexCreation() {
    assertEquals(List.of("require-concurrent-index-creation"), rules("CREATE INDEX orders_tmp_idx ON orders (total);"));
    assertEquals(List.of("require-concurrent-index-creation"), rules("create unique index on only public.orders (x);"));
    assertEquals(List.of(), rules("CREATE INDEX CONCURRENTLY orders_tmp_idx ON orders (total);"));
    assertEquals(List.of(), rules("CREATE TABLE t (a int);\nCREATE INDEX t_a ON t (a);"));
    // the schema the earlier migrations built decides: on an empty production every table is new
    assertEquals(List.of(), ids("CREATE INDEX orders_tmp_idx ON orders (total);", Schema.empty()));
  }

  @Test
  void indexDeletion() {
    assertEquals(List.of("require-concurrent-index-deletion"), rules("DROP INDEX orders_customer_idx;"));
    assertEquals(List.of(), rules("DROP INDEX CONCURRENTLY orders_customer_idx;"));
    assertEquals(List.of(), rules("CREATE INDEX CONCURRENTLY n_idx ON orders (x); DROP INDEX IF EXISTS n_idx;"));
  }

  @Test
  void requiredField() {
    assertEquals(List.of("adding-required-field"), rules("ALTER TABLE customers ADD COLUMN tier text NOT NULL;"));
    assertEquals(List.of(), rules("ALTER TABLE customers ADD COLUMN tier text NOT NULL DEFAULT 'basic';"));
    assertEquals(List.of(), rules("ALTER TABLE customers ADD COLUMN tier text;"));
    assertEquals(List.of(), rules("ALTER TABLE customers ADD COLUMN tier text CHECK (tier IS NOT NULL);"));
    assertEquals(List.of(), rules("CREATE TABLE t (a int); ALTER TABLE t ADD COLUMN b int NOT NULL;"));
  }

  @Test
  void setNotNullOnALargeTable() {
    assertEquals(List.of("adding-not-nullable-field"), rules("ALTER TABLE orders ALTER COLUMN total SET NOT NULL;"));
    assertEquals(List.of("adding-not-nullable-field"), rules("ALTER TABLE events ALTER COLUMN kind SET NOT NULL;"));
    assertEquals(List.of(), rules("ALTER TABLE customers ALTER COLUMN email SET NOT NULL;")); // 40 rows
    assertEquals(List.of(), rules("ALTER TABLE notes ALTER COLUMN body SET NOT NULL;")); // one page, not analysed
    assertEquals(List.of(), rules("ALTER TABLE orders ALTER COLUMN total DROP NOT NULL;"));
  }

  @Test
  void volatileDefaults() {
    assertEquals(List.of("adding-field-with-default"),
        rules("ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();"));
    assertEquals(List.of("adding-field-with-default"), rules("ALTER TABLE orders ADD COLUMN n bigserial;"));
    assertEquals(List.of("adding-field-with-default"),
        rules("ALTER TABLE orders ADD COLUMN doubled int GENERATED ALWAYS AS (total * 2) STORED;"));
    assertEquals(List.of(), rules("ALTER TABLE orders ADD COLUMN seen timestamptz DEFAULT now();"));
    assertEquals(List.of(), rules("ALTER TABLE orders ADD COLUMN note text DEFAULT 'random()';"));
  }

  @Test
  void constraintsWithoutNotValid() {
    assertEquals(List.of("constraint-missing-not-valid"),
        rules("ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total > 0);"));
    assertEquals(List.of(), rules("ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total > 0) NOT VALID;"));
    // validated in the same transaction: the lock is held through the scan
    assertEquals(List.of("constraint-missing-not-valid"),
        rules("ALTER TABLE orders ADD CONSTRAINT c CHECK (total > 0) NOT VALID;\n"
            + "ALTER TABLE orders VALIDATE CONSTRAINT c;"));
    assertEquals(List.of(), rules("ALTER TABLE orders VALIDATE CONSTRAINT c;"));
  }

  @Test
  void foreignKeyOnProductionsTable_withoutNotValid_isAddingForeignKeyConstraint_once() {
    // ALTER TABLE … ADD FOREIGN KEY: SHARE ROW EXCLUSIVE on orders and on customers, then a scan of orders; the
    // missing NOT VALID is this rule's to say, not constraint-missing-not-valid's too
    List<Finding> fk = Linter.lint(List.of(new Linter.Script("V9 fk", TIMEOUT + "ALTER TABLE orders ADD CONSTRAINT"
        + " orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);", false)), PRODUCTION,
        LintSettings.DEFAULT);
    assertEquals(List.of("V9 fk (line 2): adding-foreign-key-constraint: ADD CONSTRAINT orders_customer_fk FOREIGN KEY"
        + " on public.orders referencing public.customers without NOT VALID"),
        fk.stream().map(f -> f.migration() + " (line " + f.line() + "): " + f.rule().id() + ": " + f.statement())
            .toList());
    assertEquals(List.of("adding-foreign-key-constraint"),
        rules("ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE;"));
    // a new column's REFERENCES: ACCESS EXCLUSIVE on orders for ADD COLUMN, SHARE ROW EXCLUSIVE on accounts
    assertEquals(List.of("adding-foreign-key-constraint"),
        rules("ALTER TABLE orders ADD COLUMN account_id bigint REFERENCES app.accounts (id);"));
    assertEquals(List.of("adding-foreign-key-constraint"),
        rules("alter table orders add account_id bigint constraint orders_account_fk references app.accounts;"));
    // referencing a table a pending migration creates still scans orders
    assertEquals(List.of("adding-foreign-key-constraint"), rules("CREATE TABLE regions (id int PRIMARY KEY);\n"
        + "ALTER TABLE orders ADD FOREIGN KEY (region_id) REFERENCES regions (id);"));
  }

  @Test
  void foreignKey_notValidOrOnANewTableOrAllowed_staysQuiet() {
    assertEquals(List.of(), rules("ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id)"
        + " REFERENCES customers (id) NOT VALID;"));
    assertEquals(List.of(), rules("CREATE TABLE invoices (id bigint PRIMARY KEY,"
        + " order_id bigint REFERENCES orders (id),"
        + " CONSTRAINT invoices_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id));"));
    assertEquals(List.of(), rules("CREATE TABLE invoices (id bigint, order_id bigint);\n"
        + "ALTER TABLE invoices ADD FOREIGN KEY (order_id) REFERENCES orders (id);\n"
        + "ALTER TABLE invoices ADD COLUMN customer_id bigint REFERENCES customers;"));
    // created by an earlier pending migration: nothing reads it yet either
    assertEquals(List.of(), Linter.lint(List.of(
        new Linter.Script("V9 create", "CREATE TABLE invoices (id bigint, order_id bigint);\n", false),
        new Linter.Script("V10 fk", "ALTER TABLE invoices ADD FOREIGN KEY (order_id) REFERENCES orders (id);\n",
            false)), PRODUCTION, LintSettings.DEFAULT));
    assertEquals(List.of(), ids(TIMEOUT + "-- closedloop:allow adding-foreign-key-constraint: customers has 40 rows\n"
        + "ALTER TABLE customers ADD FOREIGN KEY (account_id) REFERENCES app.accounts (id);"));
    // NOT VALID then VALIDATE in the transaction that added it: the scan under the lock, said once, by the other rule
    assertEquals(List.of("constraint-missing-not-valid"), rules("ALTER TABLE orders ADD CONSTRAINT orders_customer_fk"
        + " FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;\n"
        + "ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;"));
  }

  @Test
  void primaryKeyAddedToProductionsTable_isAddingSerialPrimaryKeyField_once() {
    // ADD COLUMN … PRIMARY KEY: the table rewritten to fill the sequence, then the unique index built, all under
    // ACCESS EXCLUSIVE; one finding, neither adding-field-with-default nor disallowed-unique-constraint beside it
    List<Finding> serial = Linter.lint(List.of(new Linter.Script("V9 key", TIMEOUT
        + "ALTER TABLE events ADD COLUMN id bigserial PRIMARY KEY;", false)), PRODUCTION, LintSettings.DEFAULT);
    assertEquals(List.of("adding-serial-primary-key-field@2: ADD COLUMN public.events.id bigserial PRIMARY KEY"),
        serial.stream().map(f -> f.rule().id() + "@" + f.line() + ": " + f.statement()).toList());
    assertEquals(List.of("adding-serial-primary-key-field"),
        rules("ALTER TABLE events ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;"));
    assertEquals(List.of("adding-serial-primary-key-field"),
        rules("ALTER TABLE events ADD COLUMN id uuid DEFAULT gen_random_uuid() CONSTRAINT events_pkey PRIMARY KEY;"));
    // ADD PRIMARY KEY (cols) builds the index under ACCESS EXCLUSIVE too
    assertEquals(List.of("adding-serial-primary-key-field"), rules("ALTER TABLE notes ADD PRIMARY KEY (id);"));
    assertEquals(List.of("adding-serial-primary-key-field"),
        rules("ALTER TABLE notes ADD CONSTRAINT notes_pkey PRIMARY KEY (id);"));
    // a plain key column without a default also fails on a table with rows: that is another finding
    assertEquals(List.of("adding-required-field", "adding-serial-primary-key-field"),
        rules("ALTER TABLE notes ADD COLUMN code text PRIMARY KEY;"));
    // UNIQUE stays disallowed-unique-constraint's; a serial column that is no key is a rewrite only
    assertEquals(List.of("disallowed-unique-constraint"), rules("ALTER TABLE customers ADD COLUMN code text UNIQUE;"));
    assertEquals(List.of("adding-field-with-default"), rules("ALTER TABLE events ADD COLUMN seq bigserial;"));
  }

  @Test
  void primaryKey_usingIndexOrOnANewTableOrAllowed_staysQuiet() {
    assertEquals(List.of(), rules("CREATE UNIQUE INDEX CONCURRENTLY notes_id_idx ON notes (id);"));
    assertEquals(List.of(), rules("ALTER TABLE notes ADD CONSTRAINT notes_pkey PRIMARY KEY USING INDEX notes_id_idx;"));
    assertEquals(List.of(), rules("CREATE TABLE invoices (id bigserial PRIMARY KEY);"));
    assertEquals(List.of(), rules("CREATE TABLE invoices (note text);\n"
        + "ALTER TABLE invoices ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;\n"
        + "ALTER TABLE invoices ADD PRIMARY KEY (id);"));
    assertEquals(List.of(), ids(TIMEOUT + "-- closedloop:allow adding-serial-primary-key-field: notes has one page\n"
        + "ALTER TABLE notes ADD COLUMN id bigserial PRIMARY KEY;"));
  }

  /** Every rule at deploy.lint's level warn, prefer-robust-stmts named. */
  private static final LintSettings ROBUST = new LintSettings(CheckLevel.WARN,
      Map.of(Rule.PREFER_ROBUST_STMTS, CheckLevel.WARN));

  /** What prefer-robust-stmts finds, each finding's statement. */
  private static List<String> robust(String sql, boolean goose) {
    return Linter.lint(List.of(new Linter.Script("1 x", sql, goose)), PRODUCTION, ROBUST).stream()
        .filter(f -> f.rule() == Rule.PREFER_ROBUST_STMTS).map(Finding::statement).toList();
  }

  private static final String NO_TRANSACTION = "-- +goose NO TRANSACTION\n-- +goose Up\n" + TIMEOUT;

  @Test
  void preferRobustStmts_isOffUnlessLintRulesNamesIt_evenAtFail() {
    List<String> problems = new ArrayList<>();
    assertEquals(CheckLevel.OFF, LintSettings.DEFAULT.level(Rule.PREFER_ROBUST_STMTS));
    assertEquals(CheckLevel.WARN, LintSettings.DEFAULT.level(Rule.BAN_DROP_TABLE));
    assertEquals(CheckLevel.OFF, LintSettings.parse("warn", List.of(), problems).level(Rule.PREFER_ROBUST_STMTS));
    assertEquals(CheckLevel.OFF, LintSettings.parse("fail", List.of(), problems).level(Rule.PREFER_ROBUST_STMTS));
    assertEquals(CheckLevel.WARN, LintSettings.parse("fail", List.of("prefer-robust-stmts=warn"), problems)
        .level(Rule.PREFER_ROBUST_STMTS));
    assertEquals(CheckLevel.FAIL, LintSettings.parse(null, List.of("prefer-robust-stmts=fail"), problems)
        .level(Rule.PREFER_ROBUST_STMTS));
    assertEquals(List.of(), problems);
    assertEquals(List.of(Rule.PREFER_ROBUST_STMTS), java.util.Arrays.stream(Rule.values())
        .filter(rule -> !rule.onByDefault()).toList());

    String sql = NO_TRANSACTION + "CREATE TABLE invoices (id bigint);\n";
    assertEquals(List.of(), Linter.lint(List.of(new Linter.Script("1 x", sql, true)), PRODUCTION,
        LintSettings.DEFAULT));
    assertEquals(List.of(), Linter.lint(List.of(new Linter.Script("1 x", sql, true)), PRODUCTION,
        LintSettings.parse("fail", List.of(), problems)));
    assertEquals(List.of("prefer-robust-stmts@4:warn"), Linter.lint(List.of(new Linter.Script("1 x", sql, true)),
        PRODUCTION, LintSettings.parse("warn", List.of("prefer-robust-stmts=warn"), problems)).stream()
        .map(f -> f.rule().id() + "@" + f.line() + ":" + f.level()).toList());
  }

  @Test
  void lintOff_readsNothing_unlessLintRulesNamesARule_preferRobustStmtsToo() {
    List<String> problems = new ArrayList<>();
    assertTrue(LintSettings.parse("off", List.of(), problems).off());
    assertTrue(!LintSettings.DEFAULT.off());
    assertTrue(!LintSettings.parse("fail", List.of(), problems).off());
    assertTrue(!LintSettings.parse("off", List.of("prefer-robust-stmts=warn"), problems).off());
    assertTrue(!LintSettings.parse("off", List.of("ban-drop-table=fail"), problems).off());
    // every rule but prefer-robust-stmts turned off one by one, at warn: nothing left to look for
    Map<Rule, CheckLevel> allOff = new java.util.EnumMap<>(Rule.class);
    java.util.Arrays.stream(Rule.values()).filter(Rule::onByDefault).forEach(rule -> allOff.put(rule, CheckLevel.OFF));
    assertTrue(new LintSettings(CheckLevel.WARN, allOff).off());
    assertEquals(List.of(), problems);
  }

  @Test
  void preferRobustStmts_outsideATransaction_firesOnWhatARerunTripsOver() {
    assertEquals(List.of(
        "CREATE TABLE public.invoices without IF NOT EXISTS, outside a transaction",
        "CREATE INDEX CONCURRENTLY orders_total_idx on public.orders without IF NOT EXISTS, outside a transaction",
        "ADD COLUMN public.invoices.note without IF NOT EXISTS, outside a transaction",
        "DROP COLUMN public.invoices.note without IF EXISTS, outside a transaction",
        "DROP INDEX CONCURRENTLY public.orders_customer_idx without IF EXISTS, outside a transaction",
        "DROP TABLE public.invoices without IF EXISTS, outside a transaction",
        "DROP TYPE public.mood without IF EXISTS, outside a transaction",
        "ADD CONSTRAINT orders_total_check on public.orders without DROP CONSTRAINT IF EXISTS orders_total_check"
            + " before it, outside a transaction",
        "DROP CONSTRAINT orders_total_check on public.orders without IF EXISTS, outside a transaction",
        "ADD CONSTRAINT on public.orders without a name to drop first, outside a transaction"),
        robust(NO_TRANSACTION
            + "CREATE TABLE invoices (id bigint);\n"
            + "CREATE INDEX CONCURRENTLY orders_total_idx ON orders (total);\n"
            + "ALTER TABLE invoices ADD COLUMN note text;\n"
            + "ALTER TABLE invoices DROP COLUMN note;\n"
            + "DROP INDEX CONCURRENTLY orders_customer_idx;\n"
            + "DROP TABLE invoices;\n"
            + "DROP TYPE mood;\n"
            + "ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total > 0) NOT VALID;\n"
            + "ALTER TABLE orders DROP CONSTRAINT orders_total_check;\n"
            + "ALTER TABLE orders ADD CHECK (total > 0) NOT VALID;\n", true));
    // Flyway runs a file with CREATE INDEX CONCURRENTLY outside a transaction: what came before stays done
    assertEquals(List.of("CREATE TABLE public.invoices without IF NOT EXISTS, outside a transaction",
        "CREATE INDEX CONCURRENTLY invoices_id on public.invoices without IF NOT EXISTS, outside a transaction"),
        robust("CREATE TABLE invoices (id bigint);\nCREATE INDEX CONCURRENTLY invoices_id ON invoices (id);\n", false));
  }

  @Test
  void preferRobustStmts_robustFormsOrATransactionOrAnAllow_staysQuiet() {
    assertEquals(List.of(), robust(NO_TRANSACTION
        + "CREATE TABLE IF NOT EXISTS invoices (id bigint);\n"
        + "CREATE TEMP TABLE scratch (id int);\n"
        + "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_total_idx ON orders (total);\n"
        + "CREATE INDEX CONCURRENTLY ON orders (placed_at);\n" // unnamed: a re-run makes another, never fails
        + "ALTER TABLE invoices ADD COLUMN IF NOT EXISTS note text;\n"
        + "ALTER TABLE invoices DROP COLUMN IF EXISTS note;\n"
        + "DROP INDEX CONCURRENTLY IF EXISTS orders_customer_idx;\n"
        + "ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_total_check;\n"
        + "ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total > 0) NOT VALID;\n"
        + "ALTER TABLE orders VALIDATE CONSTRAINT orders_total_check;\n"
        + "DROP TABLE IF EXISTS invoices;\n"
        + "DROP TYPE IF EXISTS mood;\n"
        + "-- closedloop:allow prefer-robust-stmts: nothing before it in this file\n"
        + "CREATE TABLE archive (id bigint);\n", true));
    // a second ADD after the one DROP … IF EXISTS fails on a re-run again
    assertEquals(List.of("ADD CONSTRAINT c on public.orders without DROP CONSTRAINT IF EXISTS c before it, outside a"
        + " transaction"), robust(NO_TRANSACTION + "ALTER TABLE orders DROP CONSTRAINT IF EXISTS c;\n"
        + "ALTER TABLE orders ADD CONSTRAINT c CHECK (total > 0) NOT VALID;\n"
        + "ALTER TABLE orders ADD CONSTRAINT c CHECK (total > 0) NOT VALID;\n", true));
    // in a transaction a failure undoes it all, and the re-run starts clean
    String fragile = "CREATE TABLE invoices (id bigint);\nALTER TABLE invoices ADD COLUMN note text;\n"
        + "DROP TYPE mood;\n";
    assertEquals(List.of(), robust(fragile, false));
    assertEquals(List.of(), robust("-- +goose Up\n" + fragile, true));
    assertEquals(List.of(), robust(NO_TRANSACTION + "BEGIN;\n" + fragile + "COMMIT;\n", true));
  }

  @Test
  void uniqueConstraints() {
    assertEquals(List.of("disallowed-unique-constraint"), rules("ALTER TABLE customers ADD CONSTRAINT u UNIQUE (email);"));
    assertEquals(List.of("disallowed-unique-constraint"), rules("ALTER TABLE customers ADD UNIQUE (email);"));
    assertEquals(List.of(), rules("ALTER TABLE customers ADD CONSTRAINT u UNIQUE USING INDEX customers_email_idx;"));
    assertEquals(List.of(), rules("CREATE TABLE t (a int); ALTER TABLE t ADD PRIMARY KEY (a);"));
  }

  @Test
  void vacuumFull() {
    assertEquals(List.of("ban-vacuum-full"), rules("VACUUM FULL orders;"));
    assertEquals(List.of("ban-vacuum-full"), rules("VACUUM (FULL, ANALYZE) orders;"));
    assertEquals(List.of(), rules("VACUUM ANALYZE orders;"));
  }

  @Test
  void concurrentlyInsideATransaction() {
    assertEquals(List.of("ban-concurrent-index-creation-in-transaction"),
        rules("BEGIN; CREATE INDEX CONCURRENTLY i ON orders (x); COMMIT;"));
    assertEquals(List.of(), rules("CREATE INDEX CONCURRENTLY i ON orders (x);")); // Flyway runs it outside one
    // goose runs a file in a transaction unless it says otherwise
    String goose = "-- +goose Up\nCREATE INDEX CONCURRENTLY i ON orders (x);\n";
    assertEquals(List.of("ban-concurrent-index-creation-in-transaction"), goose(goose));
    assertEquals(List.of(), goose("-- +goose NO TRANSACTION\n" + goose));
  }

  @Test
  void enumValueInsideATransaction() {
    assertEquals(List.of("ban-alter-enum-add-value-in-transaction"), rules("ALTER TYPE order_status ADD VALUE 'held';"));
    assertEquals(List.of(), goose("-- +goose Up\n-- +goose NO TRANSACTION\nALTER TYPE order_status ADD VALUE 'held';\n"));
    assertEquals(List.of(), rules("ALTER TYPE order_status RENAME VALUE 'a' TO 'b';"));
  }

  @Test
  void timeoutSettings() {
    assertEquals(List.of("require-timeout-settings"), ids("ALTER TABLE customers ADD COLUMN nickname text;"));
    assertEquals(List.of(), ids(TIMEOUT + "ALTER TABLE customers ADD COLUMN nickname text;"));
    assertEquals(List.of(), ids("SELECT set_config('lock_timeout', '5s', true), set_config('statement_timeout',"
        + " '5min', true);\nALTER TABLE customers ADD COLUMN nickname text;"));
    // a lock_timeout alone is not enough: once the statement holds its lock, nothing bounds how long
    List<dev.closedloop.deploy.lint.Finding> onlyLock = Linter.lint(List.of(new Linter.Script("V9 change",
        "SET lock_timeout = '5s';\nALTER TABLE customers ADD COLUMN nickname text;", false)), PRODUCTION,
        LintSettings.DEFAULT);
    assertEquals(1, onlyLock.size());
    assertEquals("ALTER TABLE public.customers with no statement_timeout set before it in this migration",
        onlyLock.get(0).statement());
    assertEquals(List.of("require-timeout-settings"), ids("SET statement_timeout = '5min';\n"
        + "ALTER TABLE customers ADD COLUMN nickname text;"));
    assertEquals(List.of(), ids("CREATE TABLE t (a int); ALTER TABLE t ADD COLUMN b int;"));
    // once per migration, at the first statement that waits for a lock
    assertEquals(1, ids("ALTER TABLE customers ADD COLUMN a text; ALTER TABLE orders ADD COLUMN b text;").size());
  }

  @Test
  void allowCommentSilencesOneStatement() {
    String sql = TIMEOUT + "-- closedloop:allow ban-drop-column (nothing reads it since release 41)\n"
        + "ALTER TABLE customers DROP COLUMN legacy_name;\n"
        + "ALTER TABLE customers DROP COLUMN other;\n";
    List<Finding> findings = Linter.lint(List.of(new Linter.Script("V9 drop", sql, false)), PRODUCTION,
        LintSettings.DEFAULT);
    assertEquals(1, findings.size());
    assertEquals(4, findings.get(0).line());
    assertTrue(findings.get(0).statement().contains("other"), findings.toString());
    // a comment on the line a statement ends on is that statement's
    assertEquals(List.of(), ids(TIMEOUT + "DROP TABLE orders; -- closedloop:allow ban-drop-table"));
    assertEquals(List.of(), ids(TIMEOUT + "DROP TABLE orders /* closedloop:allow ban-drop-table, renaming-table */;"));
  }

  @Test
  void stringsCommentsAndBodiesAreNotCode() {
    assertEquals(List.of(), ids("INSERT INTO notes VALUES ('DROP TABLE orders; ALTER TABLE customers DROP x');"));
    assertEquals(List.of(), ids("-- DROP TABLE orders;\n/* DROP TABLE orders; /* nested */ still a comment; */ SELECT 1;"));
    assertEquals(List.of(), ids("CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $body$\n"
        + "BEGIN DROP TABLE orders; END $body$;"));
    assertEquals(List.of(), ids("CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC\n"
        + "SELECT CASE WHEN true THEN 1 END; SELECT 2; END;"));
    assertEquals(List.of(), ids("SELECT E'it\\'s; DROP TABLE orders';"));
    assertEquals(List.of("ban-drop-table"), rules("SELECT 'a;b'; DROP TABLE \"orders\";"));
    assertEquals(List.of(), rules("DROP TABLE \"Orders\";")); // a quoted name keeps its case: another table
  }

  @Test
  void levelsAndLines() {
    List<String> problems = new ArrayList<>();
    LintSettings settings = LintSettings.parse("fail", List.of("ban-drop-column=off", "renaming-column=warn"), problems);
    assertEquals(List.of(), problems);
    String sql = TIMEOUT + "ALTER TABLE customers DROP COLUMN a;\n\nALTER TABLE customers RENAME b TO c;\nDROP TABLE orders;";
    List<Finding> findings = Linter.lint(List.of(new Linter.Script("V9 x", sql, false)), PRODUCTION, settings);
    assertEquals(List.of("renaming-column@4:warn", "ban-drop-table@5:fail"),
        findings.stream().map(f -> f.rule().id() + "@" + f.line() + ":" + f.level()).toList());
    assertTrue(findings.get(1).toString().startsWith("V9 x (line 5): ban-drop-table: DROP TABLE public.orders"),
        findings.get(1).toString());
  }

  @Test
  void gooseReadsTheUpSectionOnlyWithFileLines() {
    String sql = "-- +goose Up\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS void AS $$ BEGIN END $$"
        + " LANGUAGE plpgsql;\n-- +goose StatementEnd\nDROP TABLE orders;\n-- +goose Down\nDROP TABLE customers;\n";
    List<Finding> findings = Linter.lint(List.of(new Linter.Script("1 x", sql, true)), PRODUCTION,
        LintSettings.DEFAULT);
    assertEquals(List.of("ban-drop-table@5"), findings.stream()
        .filter(f -> f.rule() != Rule.REQUIRE_TIMEOUT_SETTINGS).map(f -> f.rule().id() + "@" + f.line()).toList());
  }

  @Test
  void gooseNoTransaction_afterTheUpAnnotation_countsWithFileLines() {
    String sql = "-- header\n\n-- +goose Up\n-- +goose NO TRANSACTION\nCREATE INDEX CONCURRENTLY i ON orders (id);\n"
        + "DROP TABLE orders; -- +goose Down is no annotation here\n-- +goose Down\nDROP TABLE customers;\n";
    List<Finding> findings = Linter.lint(List.of(new Linter.Script("1 x", sql, true)), PRODUCTION,
        LintSettings.DEFAULT);
    assertEquals(List.of("ban-drop-table@6"), findings.stream()
        .filter(f -> f.rule() != Rule.REQUIRE_TIMEOUT_SETTINGS).map(f -> f.rule().id() + "@" + f.line()).toList());
  }

  @Test
  void badSettingsAreNamed() {
    List<String> problems = new ArrayList<>();
    LintSettings.parse("loud", List.of("no-such-rule=warn", "ban-drop-table=maybe"), problems);
    assertEquals(3, problems.size(), problems.toString());
    assertTrue(problems.get(1).contains("ban-drop-column"), problems.get(1)); // lists the rules
  }

  @Test
  void unreadableSql_isOneWarningNamingTheMigrationAndLine_evenAtFail_andTheNextMigrationIsStillRead() {
    LintSettings fail = new LintSettings(CheckLevel.FAIL, Map.of());
    List<dev.closedloop.deploy.lint.Finding> findings = Linter.lint(List.of(
        new Linter.Script("V9 change", TIMEOUT + "SELECT 1;\nSELECT 'open;\n", false),
        new Linter.Script("V10 next", TIMEOUT + "DROP TABLE customers;\n", false)), PRODUCTION, fail);

    assertEquals(2, findings.size(), findings.toString());
    assertEquals(Rule.UNREADABLE_SQL, findings.get(0).rule());
    assertEquals(CheckLevel.WARN, findings.get(0).level());
    assertEquals("V9 change", findings.get(0).migration());
    assertEquals(3, findings.get(0).line());
    assertEquals("a string opened on line 3 is not closed", findings.get(0).statement());
    assertEquals(Rule.BAN_DROP_TABLE, findings.get(1).rule());
    assertEquals(CheckLevel.FAIL, findings.get(1).level());
    assertEquals(List.of(), Linter.lint(List.of(new Linter.Script("V9 change", "SELECT 'open;", false)), PRODUCTION,
        new LintSettings(CheckLevel.WARN, Map.of(Rule.UNREADABLE_SQL, CheckLevel.OFF))));
  }

  @Test
  void statementsSplitAsPostgresqlDoes_parenthesesCopyDataAndAtomicBodies() {
    List<SqlScript.Statement> rule = SqlScript.statements("CREATE RULE log AS ON INSERT TO customers DO ALSO (\n"
        + "  INSERT INTO audit VALUES (1); INSERT INTO audit VALUES (2)\n);\nDROP TABLE customers;\n", 1);
    assertEquals(2, rule.size(), rule.toString());
    assertEquals(4, rule.get(1).line());

    List<SqlScript.Statement> copy = SqlScript.statements("COPY customers (id, email) FROM stdin;\n"
        + "1\tsemi;colon@example.com\n2\t'quote@example.com\n\\.\nDROP TABLE customers;\n", 1);
    assertEquals(2, copy.size(), copy.toString());
    assertTrue(copy.get(1).tokens().get(0).is("drop"));
    assertEquals(5, copy.get(1).line());

    List<SqlScript.Statement> atomic = SqlScript.statements("CREATE FUNCTION f() RETURNS int LANGUAGE sql\n"
        + "BEGIN ATOMIC\n  SELECT 1;\n  SELECT CASE WHEN true THEN 2 END;\nEND;\nSELECT 3;\n", 1);
    assertEquals(2, atomic.size(), atomic.toString());
    assertEquals(6, atomic.get(1).line());

    SqlScript.Unreadable open = assertThrows(SqlScript.Unreadable.class, () -> SqlScript.statements(
        "SELECT 1;\nCOPY customers FROM stdin;\n1\n", 1));
    assertEquals(2, open.line);
  }

  @Test
  void truncateCascade_fires_plainTruncateStaysQuiet() {
    assertEquals(List.of("ban-truncate-cascade"), rules("TRUNCATE orders CASCADE;"));
    assertEquals(List.of("ban-truncate-cascade"), rules("TRUNCATE TABLE ONLY orders, customers RESTART IDENTITY CASCADE;"));
    assertEquals(List.of(), rules("TRUNCATE orders;"));
    assertEquals(List.of(), rules("TRUNCATE orders RESTRICT;"));
  }

  @Test
  void reindexWithoutConcurrently_fires_concurrentlyOutsideATransactionStaysQuiet() {
    assertEquals(List.of("require-concurrent-reindex"), rules("REINDEX INDEX orders_customer_idx;"));
    assertEquals(List.of("require-concurrent-reindex"), rules("REINDEX (VERBOSE) TABLE orders;"));
    // Flyway runs a file with REINDEX CONCURRENTLY outside a transaction: nothing to say
    assertEquals(List.of(), rules("REINDEX TABLE CONCURRENTLY orders;"));
    assertEquals(List.of("ban-concurrent-index-creation-in-transaction"),
        goose("-- +goose Up\nREINDEX INDEX CONCURRENTLY orders_customer_idx;\n"));
  }

  @Test
  void detachPartitionWithoutConcurrently_fires_concurrentlyOrFinalizeStaysQuiet() {
    assertEquals(List.of("require-concurrent-partition-detach"),
        rules("ALTER TABLE events DETACH PARTITION events_2024;"));
    assertEquals(List.of(), goose("-- +goose NO TRANSACTION\n-- +goose Up\n"
        + "ALTER TABLE events DETACH PARTITION events_2024 CONCURRENTLY;\n"));
    assertEquals(List.of("ban-concurrent-index-creation-in-transaction"),
        goose("-- +goose Up\nALTER TABLE events DETACH PARTITION events_2024 CONCURRENTLY;\n"));
    assertEquals(List.of(), goose("-- +goose NO TRANSACTION\n-- +goose Up\n"
        + "ALTER TABLE events DETACH PARTITION events_2024 FINALIZE;\n"));
  }

  @Test
  void beginOrCommit_insideTheToolsTransaction_isNesting_andABeginLeftOpenIsUncommitted() {
    // Flyway and goose run these files in a transaction of their own
    assertEquals(List.of("transaction-nesting", "transaction-nesting"),
        rules("BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n"));
    assertEquals(List.of("transaction-nesting"), goose("-- +goose Up\nCREATE TABLE t (id int);\nCOMMIT;\n"));
    // outside one, a file may run its own, but must end it
    assertEquals(List.of(), goose("-- +goose NO TRANSACTION\n-- +goose Up\nBEGIN;\nCREATE TABLE t (id int);\n"
        + "COMMIT;\n"));
    List<dev.closedloop.deploy.lint.Finding> open = Linter.lint(List.of(new Linter.Script("1 open",
        "-- +goose NO TRANSACTION\n-- +goose Up\nSET lock_timeout = '5s';\nBEGIN;\nCREATE TABLE t (id int);\n", true)),
        PRODUCTION, LintSettings.DEFAULT);
    assertEquals(1, open.size(), open.toString());
    assertEquals(Rule.BAN_UNCOMMITTED_TRANSACTION, open.get(0).rule());
    assertEquals(4, open.get(0).line());
  }

  @Test
  void aDefaultCallingAFunction_theMigrationCreates_isVolatileUnlessItSaysImmutableOrStable() {
    assertEquals(List.of("adding-field-with-default"), rules("CREATE FUNCTION next_code() RETURNS text"
        + " LANGUAGE sql AS $$ SELECT md5(random()::text) $$;\nALTER TABLE orders ADD COLUMN code text DEFAULT"
        + " next_code();"));
    assertEquals(List.of(), rules("CREATE OR REPLACE FUNCTION app.region() RETURNS text LANGUAGE sql IMMUTABLE"
        + " AS $$ SELECT 'eu' $$;\nALTER TABLE orders ADD COLUMN region text DEFAULT app.region();"));
    assertEquals(List.of(), rules("CREATE FUNCTION tenant() RETURNS text STABLE LANGUAGE sql AS $$ SELECT"
        + " current_setting('app.tenant') $$;\nALTER TABLE orders ADD COLUMN tenant text DEFAULT tenant();"));
  }

  @Test
  void aDefaultCallingAFunctionNeitherProductionNorTheMigrationsKnow_isVolatile() {
    Schema read = new Schema(PRODUCTION.tables(), PRODUCTION.indexes(), PRODUCTION.volatileFunctions(), "public",
        Set.of("now", "lower", "numeric", "timezone", "random"));
    assertEquals(List.of("adding-field-with-default"), ruleIds("ALTER TABLE orders ADD COLUMN code text DEFAULT"
        + " mystery_code();", read));
    assertEquals(List.of(), ruleIds("ALTER TABLE orders ADD COLUMN at timestamptz DEFAULT timezone('utc', now());",
        read));
    assertEquals(List.of(), ruleIds("ALTER TABLE orders ADD COLUMN n numeric DEFAULT coalesce(NULL, '1'::numeric(10,"
        + " 2));", read));
    // without production's function list (no catalog read), only the known volatile ones count
    assertEquals(List.of(), rules("ALTER TABLE orders ADD COLUMN code text DEFAULT mystery_code();"));
  }

  private static List<String> ruleIds(String sql, Schema schema) {
    List<String> ids = new ArrayList<>(ids(sql, schema));
    ids.remove(Rule.REQUIRE_TIMEOUT_SETTINGS.id());
    return ids;
  }

  @Test
  void everyRuleHasAnIdExplanationAndAlternative() {
    for (Rule rule : Rule.values()) {
      assertTrue(rule.id().matches("[a-z]+(-[a-z]+)+"), rule.id());
      assertTrue(!rule.explanation().isBlank() && !rule.alternative().isBlank(), rule.id());
      assertEquals(rule, Rule.byId(rule.id().toUpperCase()).orElseThrow());
    }
  }

  private static List<String> goose(String sql) {
    List<String> ids = new ArrayList<>(Linter.lint(List.of(new Linter.Script("1 x", sql, true)), PRODUCTION,
        LintSettings.DEFAULT).stream().map(f -> f.rule().id()).toList());
    ids.remove(Rule.REQUIRE_TIMEOUT_SETTINGS.id());
    return ids;
  }
}
