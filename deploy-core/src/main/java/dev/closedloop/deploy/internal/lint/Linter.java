package dev.closedloop.deploy.internal.lint;

import dev.closedloop.deploy.CheckLevel;
import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.internal.goose.GooseFile;
import dev.closedloop.deploy.internal.lint.SqlScript.Statement;
import dev.closedloop.deploy.internal.lint.SqlScript.Token;
import dev.closedloop.deploy.lint.Finding;
import dev.closedloop.deploy.lint.LintSettings;
import dev.closedloop.deploy.lint.Rule;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the pending migrations statement by statement, in the order they will run, and reports
 * what each {@link Rule} finds. Whether a table "exists" (a service reads it, it may hold rows)
 * comes from the {@link Schema} production has, followed through the statements before: a table
 * an earlier pending statement created is new, one it renamed keeps its rows.
 */
public final class Linter {

  /** Below this many estimated rows, SET NOT NULL's scan is short enough to pass. */
  public static final long LARGE_TABLE_ROWS = 100_000;
  /** For a table never analysed: below this many bytes, the scan is short enough to pass. */
  public static final long LARGE_TABLE_BYTES = 8L << 20;

  private static final Set<String> SERIAL = Set.of("serial", "bigserial", "smallserial", "serial2", "serial4",
      "serial8");
  /** What else a migration drops, each with an IF EXISTS; longer names first. */
  private static final List<String> DROPPABLE = List.of("materialized view", "foreign table", "type", "domain", "view",
      "sequence", "schema", "function", "procedure", "trigger", "extension");
  /** Words that end a column's DEFAULT expression at the top level. */
  private static final Set<String> COLUMN_CONSTRAINT = Set.of("constraint", "not", "null", "check", "references",
      "unique", "primary", "generated", "collate", "deferrable", "initially");

  /**
   * One migration to read.
   *
   * @param label as the ledger names it, e.g. "V9 index orders by date"
   * @param goose a goose file: only its Up section runs, in a transaction unless it says NO TRANSACTION
   */
  public record Script(String label, String sql, boolean goose) { }

  private final Schema schema;
  private final LintSettings settings;
  private final Map<String, Schema.Table> existing;
  private final Set<String> indexes;
  private final List<Finding> findings = new ArrayList<>();
  /** Functions the pending migrations create, by name: true when volatile (PostgreSQL's default). */
  private final Map<String, Boolean> created = new HashMap<>();
  /** Words followed by a parenthesis that are SQL syntax, not function calls. */
  private static final Set<String> SYNTAX = Set.of("coalesce", "nullif", "greatest", "least", "cast", "array", "row",
      "exists", "extract", "overlay", "position", "substring", "trim", "values", "in", "any", "all", "some", "and",
      "or", "not", "case", "when", "then", "else", "interval", "filter", "over", "within", "treat", "xmlelement",
      "xmlforest", "xmlconcat", "xmlparse", "xmlpi", "xmlroot", "xmlserialize", "normalize", "merge_action",
      "collation", "is", "as", "default");

  /** Whose schema {@link #schema} is, as findings name it: "production", or "the base" at pull-request time. */
  private final String holder;

  private Linter(Schema schema, LintSettings settings, String holder) {
    this.holder = holder;
    this.schema = schema;
    this.settings = settings;
    this.existing = new HashMap<>(schema.tables());
    this.indexes = new HashSet<>(schema.indexes());
  }

  /**
   * What the rules find in {@code scripts}, run in this order against a database with {@code schema}.
   * Rules at level off are not reported, nor statements that allow them.
   *
   * SQL it cannot read (an unclosed string or comment) is one {@code unreadable-sql} finding, at
   * most a warning, and the lint goes on with the next migration.
   */
  public static List<Finding> lint(List<Script> scripts, Schema schema, LintSettings settings) {
    return lint(scripts, schema, settings, "production");
  }

  /** As {@link #lint(List, Schema, LintSettings)}, naming {@code holder} as the one whose schema it is. */
  public static List<Finding> lint(List<Script> scripts, Schema schema, LintSettings settings, String holder) {
    Linter linter = new Linter(schema, settings, holder);
    for (Script script : scripts) {
      linter.script(script);
    }
    return List.copyOf(linter.findings);
  }

  private final class Migration {
    final String label;
    boolean inTransaction;
    final boolean fileTransaction;
    boolean lockTimeout;
    boolean statementTimeout;
    boolean timeoutReported;
    final Set<String> notValid = new HashSet<>();
    /** Constraints this migration dropped, as {@code table.constraint}: adding one again after is robust. */
    final Set<String> dropped = new HashSet<>();
    /** The statement of a BEGIN this migration opened itself and has not committed yet. */
    Statement openedBy;

    Migration(String label, boolean fileTransaction) {
      this.label = label;
      this.fileTransaction = fileTransaction;
      this.inTransaction = fileTransaction;
    }
  }

  private void script(Script script) {
    String sql = script.sql();
    int firstLine = 1;
    boolean transaction;
    if (script.goose()) {
      GooseFile.Layout layout;
      try {
        layout = GooseFile.layout(script.label(), sql);
      } catch (DeployException e) {
        return; // goose refuses such a file; test-migrate says so
      }
      // the Up section's lines, lexed with the file's line numbers
      firstLine = layout.upLine() + 1;
      int end = layout.downLine() == 0 ? sql.length() : lineStart(sql, layout.downLine());
      transaction = layout.transactional();
      sql = sql.substring(lineStart(sql, firstLine), end);
    } else {
      transaction = true;
    }
    List<Statement> statements;
    try {
      statements = SqlScript.statements(sql, firstLine);
    } catch (SqlScript.Unreadable e) {
      // the lint is advice: what it cannot read is a warning at most, and PostgreSQL judges the SQL
      CheckLevel level = settings.level(Rule.UNREADABLE_SQL);
      if (level != CheckLevel.OFF) {
        findings.add(new Finding(Rule.UNREADABLE_SQL, CheckLevel.WARN, script.label(), e.line, e.getMessage()));
      }
      return;
    }
    if (!script.goose() && statements.stream().anyMatch(Linter::runsOutsideTransaction)) {
      transaction = false; // Flyway runs such a file outside a transaction, or refuses to mix
    }
    Migration migration = new Migration(script.label(), transaction);
    for (Statement statement : statements) {
      statement(migration, statement);
    }
    if (migration.openedBy != null) {
      report(migration, migration.openedBy, Rule.BAN_UNCOMMITTED_TRANSACTION, "BEGIN with no COMMIT after it in this"
          + " migration");
    }
  }

  /** Where line {@code number} (from 1) of {@code text} starts; its length when there are fewer lines. */
  private static int lineStart(String text, int number) {
    int at = 0;
    for (int line = 1; line < number; line++) {
      int newline = text.indexOf('\n', at);
      if (newline < 0) {
        return text.length();
      }
      at = newline + 1;
    }
    return at;
  }

  /** Statements Flyway will not run in a transaction. */
  private static boolean runsOutsideTransaction(Statement statement) {
    List<Token> t = statement.tokens();
    if (t.isEmpty()) {
      return false;
    }
    boolean concurrently = t.stream().anyMatch(token -> token.is("concurrently"));
    boolean index = t.size() > 1 && (t.get(0).is("create") || t.get(0).is("drop")) && t.stream().limit(3)
        .anyMatch(token -> token.is("index"));
    return (concurrently && (index || t.get(0).is("reindex"))) || t.get(0).is("vacuum");
  }

  private void statement(Migration m, Statement s) {
    Cursor c = new Cursor(s.tokens(), schema.defaultSchema());
    if (c.accept("begin") || c.accept("start", "transaction")) {
      if (m.fileTransaction) {
        report(m, s, Rule.TRANSACTION_NESTING, "BEGIN inside the transaction the migration tool runs this file in");
      } else {
        m.openedBy = s;
      }
      m.inTransaction = true;
    } else if (c.accept("commit") || c.accept("end") || c.accept("rollback") || c.accept("abort")) {
      if (m.fileTransaction) {
        report(m, s, Rule.TRANSACTION_NESTING, s.tokens().get(0).text().toUpperCase(java.util.Locale.ROOT)
            + " inside the transaction the migration tool runs this file in");
      }
      m.openedBy = null;
      m.inTransaction = m.fileTransaction;
      m.notValid.clear();
    } else if (c.accept("truncate")) {
      if (s.tokens().get(s.tokens().size() - 1).is("cascade")) {
        report(m, s, Rule.BAN_TRUNCATE_CASCADE, "TRUNCATE … CASCADE");
      }
    } else if (c.accept("reindex")) {
      if (c.accept("(")) {
        while (!c.accept(")") && c.peekWord() != null) {
          c.accept(c.peekWord());
        }
      }
      String kind = c.peekWord();
      if (kind != null && List.of("index", "table", "schema", "database", "system").contains(kind)) {
        c.accept(kind);
        if (!c.accept("concurrently")) {
          report(m, s, Rule.REQUIRE_CONCURRENT_REINDEX, "REINDEX " + kind.toUpperCase(java.util.Locale.ROOT)
              + " without CONCURRENTLY");
        } else if (m.inTransaction) {
          report(m, s, Rule.BAN_CONCURRENT_INDEX_CREATION_IN_TRANSACTION, "REINDEX … CONCURRENTLY in a transaction");
        }
      }
    } else if (c.accept("set")) {
      c.accept("session");
      c.accept("local");
      if (c.accept("lock_timeout")) {
        m.lockTimeout = true;
      } else if (c.accept("statement_timeout")) {
        m.statementTimeout = true;
      }
    } else if (c.peek("select") && (sets(s, "lock_timeout") || sets(s, "statement_timeout"))) {
      m.lockTimeout |= sets(s, "lock_timeout");
      m.statementTimeout |= sets(s, "statement_timeout");
    } else if (c.accept("create")) {
      create(m, s, c);
    } else if (c.accept("drop")) {
      drop(m, s, c);
    } else if (c.accept("alter", "table")) {
      alterTable(m, s, c);
    } else if (c.accept("alter", "type")) {
      c.name();
      if (c.accept("add", "value") && m.inTransaction) {
        report(m, s, Rule.BAN_ALTER_ENUM_ADD_VALUE_IN_TRANSACTION, "ALTER TYPE … ADD VALUE in a transaction");
      }
    } else if (c.accept("vacuum")) {
      if (c.accept("full") || (c.accept("(") && c.containsWord("full"))) {
        report(m, s, Rule.BAN_VACUUM_FULL, "VACUUM FULL");
      }
    }
  }

  /** {@code SELECT set_config('<setting>', …)}. */
  private static boolean sets(Statement s, String setting) {
    List<Token> t = s.tokens();
    for (int i = 0; i + 2 < t.size(); i++) {
      if (t.get(i).is("set_config") && t.get(i + 1).isSymbol("(") && t.get(i + 2).type() == SqlScript.Type.STRING
          && t.get(i + 2).text().equals(setting)) {
        return true;
      }
    }
    return false;
  }

  private void create(Migration m, Statement s, Cursor c) {
    c.accept("or", "replace");
    if (c.accept("function")) {
      String function = c.name();
      if (function != null) {
        // PostgreSQL's default is VOLATILE: only IMMUTABLE or STABLE, written out, make it otherwise
        created.put(function.substring(function.indexOf('.') + 1),
            !(s.tokens().stream().anyMatch(t -> t.is("immutable") || t.is("stable"))));
      }
      return;
    }
    boolean unique = c.accept("unique");
    if (c.accept("index")) {
      boolean concurrently = c.accept("concurrently");
      boolean ifNotExists = c.accept("if", "not", "exists");
      String index = c.peek("on") ? null : c.name();
      if (!c.accept("on")) {
        return;
      }
      c.accept("only");
      String table = c.name();
      if (index != null) {
        indexes.add(qualify(index, table));
      }
      String what = "CREATE " + (unique ? "UNIQUE " : "") + "INDEX" + (concurrently ? " CONCURRENTLY" : "")
          + (index != null ? " " + index.substring(index.indexOf('.') + 1) : "") + " on " + table;
      if (index != null && !ifNotExists) { // an unnamed one gets a new name each time
        robust(m, s, what + " without IF NOT EXISTS");
      }
      if (concurrently && m.inTransaction) {
        report(m, s, Rule.BAN_CONCURRENT_INDEX_CREATION_IN_TRANSACTION, what + " in a transaction");
      }
      if (!concurrently && existing.containsKey(table)) {
        report(m, s, Rule.REQUIRE_CONCURRENT_INDEX_CREATION, what + ", a table " + holder + " has");
        locks(m, s, what);
      }
      return;
    }
    boolean temporary = false;
    for (String word : List.of("global", "local", "temporary", "temp", "unlogged")) {
      temporary |= c.accept(word) && word.startsWith("temp");
    }
    if (c.accept("table")) {
      boolean ifNotExists = c.accept("if", "not", "exists");
      String table = c.name();
      if (table != null && !(ifNotExists && existing.containsKey(table))) {
        existing.remove(table); // new: nothing reads it yet
      }
      if (table != null && !ifNotExists && !temporary) { // a re-run's session has no temporary table
        robust(m, s, "CREATE TABLE " + table + " without IF NOT EXISTS");
      }
    }
  }

  private void drop(Migration m, Statement s, Cursor c) {
    if (c.accept("database")) {
      report(m, s, Rule.BAN_DROP_DATABASE, "DROP DATABASE");
    } else if (c.accept("table")) {
      boolean ifExists = c.accept("if", "exists");
      List<String> tables = c.names();
      if (!ifExists) {
        robust(m, s, "DROP TABLE " + String.join(", ", tables) + " without IF EXISTS");
      }
      for (String table : tables) {
        if (existing.remove(table) != null) {
          report(m, s, Rule.BAN_DROP_TABLE, "DROP TABLE " + table + ", a table " + holder + " has");
          locks(m, s, "DROP TABLE " + table);
        }
      }
    } else if (c.accept("index")) {
      boolean concurrently = c.accept("concurrently");
      boolean ifExists = c.accept("if", "exists");
      List<String> dropped = c.names();
      if (!ifExists) {
        robust(m, s, "DROP INDEX" + (concurrently ? " CONCURRENTLY " : " ") + String.join(", ", dropped)
            + " without IF EXISTS");
      }
      for (String index : dropped) {
        if (concurrently && m.inTransaction) {
          report(m, s, Rule.BAN_CONCURRENT_INDEX_CREATION_IN_TRANSACTION, "DROP INDEX CONCURRENTLY " + index
              + " in a transaction");
        }
        if (!concurrently && schema.indexes().contains(index) && indexes.contains(index)) {
          report(m, s, Rule.REQUIRE_CONCURRENT_INDEX_DELETION, "DROP INDEX " + index + ", an index " + holder + " has");
          locks(m, s, "DROP INDEX " + index);
        }
        indexes.remove(index);
      }
    } else {
      for (String kind : DROPPABLE) {
        if (c.accept(kind.split(" "))) {
          if (!c.accept("if", "exists")) {
            String name = List.of("schema", "extension", "trigger").contains(kind) ? c.identifier() : c.name();
            robust(m, s, "DROP " + kind.toUpperCase(java.util.Locale.ROOT) + " " + name + " without IF EXISTS");
          }
          return;
        }
      }
    }
  }

  private void alterTable(Migration m, Statement s, Cursor c) {
    c.accept("if", "exists");
    c.accept("only");
    String table = c.name();
    if (table == null) {
      return;
    }
    c.accept("*");
    boolean has = existing.containsKey(table);
    for (Cursor action : c.actions()) { // each reads names as the statement does
      if (action.accept("rename")) {
        if (action.accept("to")) {
          String renamed = qualify(action.name(), table);
          Schema.Table rows = existing.remove(table);
          if (rows != null) {
            existing.put(renamed, rows);
            report(m, s, Rule.RENAMING_TABLE, "ALTER TABLE " + table + " RENAME TO " + renamed
                + ", a table " + holder + " has");
          }
        } else if (!action.peek("constraint")) {
          action.accept("column");
          String column = action.identifier();
          if (has && action.accept("to")) {
            report(m, s, Rule.RENAMING_COLUMN, "RENAME COLUMN " + table + "." + column + " TO " + action.identifier());
          }
        }
      } else if (action.accept("add")) {
        if (action.peekAny("constraint", "check", "foreign", "unique", "primary", "exclude")) {
          addConstraint(m, s, action, table, has);
        } else {
          action.accept("column");
          addColumn(m, s, action, table, has, action.accept("if", "not", "exists"));
        }
      } else if (action.accept("drop")) {
        if (action.accept("constraint")) {
          boolean ifExists = action.accept("if", "exists");
          String constraint = action.identifier();
          m.dropped.add(table + "." + constraint);
          if (!ifExists) {
            robust(m, s, "DROP CONSTRAINT " + constraint + " on " + table + " without IF EXISTS");
          }
        } else {
          action.accept("column");
          boolean ifExists = action.accept("if", "exists");
          String column = action.identifier();
          if (!ifExists) {
            robust(m, s, "DROP COLUMN " + table + "." + column + " without IF EXISTS");
          }
          if (has && column != null) {
            report(m, s, Rule.BAN_DROP_COLUMN, "DROP COLUMN " + table + "." + column);
          }
        }
      } else if (action.accept("alter")) {
        action.accept("column");
        String column = action.identifier();
        if (action.accept("type") || action.accept("set", "data", "type")) {
          if (has) {
            report(m, s, Rule.CHANGING_COLUMN_TYPE, "ALTER COLUMN " + table + "." + column + " TYPE");
          }
        } else if (action.accept("set", "not", "null") && has) {
          Schema.Table size = existing.get(table);
          if (size.rows() >= LARGE_TABLE_ROWS || (size.rows() < 0 && size.bytes() >= LARGE_TABLE_BYTES)) {
            report(m, s, Rule.ADDING_NOT_NULLABLE_FIELD, "SET NOT NULL on " + table + "." + column + ", "
                + (size.rows() >= 0 ? "about " + size.rows() + " rows" : size.bytes() / (1 << 20) + " MB") + " in " + holder);
          }
        }
      } else if (action.accept("detach", "partition")) {
        String partition = action.name();
        if (action.accept("concurrently")) {
          if (m.inTransaction) {
            report(m, s, Rule.BAN_CONCURRENT_INDEX_CREATION_IN_TRANSACTION, "DETACH PARTITION " + partition
                + " CONCURRENTLY in a transaction");
          }
        } else if (!action.accept("finalize")) {
          report(m, s, Rule.REQUIRE_CONCURRENT_PARTITION_DETACH, "DETACH PARTITION " + partition + " from " + table
              + " without CONCURRENTLY");
        }
      } else if (action.accept("validate", "constraint")) {
        String constraint = action.identifier();
        if (m.inTransaction && m.notValid.contains(constraint)) {
          report(m, s, Rule.CONSTRAINT_MISSING_NOT_VALID, "VALIDATE CONSTRAINT " + constraint
              + " in the transaction that added it NOT VALID, which keeps the lock through the scan");
        }
      }
    }
    if (has) {
      locks(m, s, "ALTER TABLE " + table);
    }
  }

  private void addConstraint(Migration m, Statement s, Cursor action, String table, boolean has) {
    String constraint = action.accept("constraint") ? action.identifier() : null;
    String named = constraint != null ? " " + constraint : "";
    boolean notValid = action.containsSequence("not", "valid");
    boolean usingIndex = action.containsSequence("using", "index");
    if (constraint == null || !m.dropped.remove(table + "." + constraint)) {
      robust(m, s, "ADD CONSTRAINT" + named + " on " + table + (constraint == null ? " without a name to drop first"
          : " without DROP CONSTRAINT IF EXISTS " + constraint + " before it"));
    }
    if ((action.peek("check") || action.peek("foreign")) && notValid && constraint != null) {
      m.notValid.add(constraint);
    }
    if (!has) {
      return; // a table the pending migrations create: nothing reads it yet
    }
    if (action.peek("check") && !notValid) {
      report(m, s, Rule.CONSTRAINT_MISSING_NOT_VALID, "ADD CONSTRAINT" + named + " CHECK on " + table
          + " without NOT VALID");
    } else if (action.peek("foreign") && !notValid) {
      report(m, s, Rule.ADDING_FOREIGN_KEY_CONSTRAINT, "ADD CONSTRAINT" + named + " FOREIGN KEY on " + table
          + " referencing " + action.nameAfter("references") + " without NOT VALID");
    } else if (action.peek("primary") && !usingIndex) {
      report(m, s, Rule.ADDING_SERIAL_PRIMARY_KEY_FIELD, "ADD CONSTRAINT" + named + " PRIMARY KEY on " + table
          + " without USING INDEX");
    } else if (action.peek("unique") && !usingIndex) {
      report(m, s, Rule.DISALLOWED_UNIQUE_CONSTRAINT, "ADD CONSTRAINT" + named + " UNIQUE on " + table);
    }
  }

  private void addColumn(Migration m, Statement s, Cursor action, String table, boolean has, boolean ifNotExists) {
    String column = action.identifier();
    if (!ifNotExists) {
      robust(m, s, "ADD COLUMN " + table + "." + column + " without IF NOT EXISTS");
    }
    if (!has || column == null) {
      return;
    }
    String type = action.peekWord();
    boolean serial = type != null && SERIAL.contains(type);
    boolean notNull = action.containsSequence("not", "null") || action.containsSequence("primary", "key");
    boolean generated = action.containsWord("generated");
    boolean stored = generated && action.containsWord("stored");
    boolean identity = generated && action.containsWord("identity");
    List<Token> defaultExpression = action.after("default", COLUMN_CONSTRAINT);
    String what = "ADD COLUMN " + table + "." + column;
    if (notNull && defaultExpression == null && !generated && !serial) {
      report(m, s, Rule.ADDING_REQUIRED_FIELD, what + " NOT NULL without a default");
    }
    String volatileCall = defaultExpression == null ? null : volatileCall(defaultExpression);
    String rewrite = volatileCall != null ? " DEFAULT " + volatileCall + "(…)" : stored ? " GENERATED … STORED"
        : identity ? " GENERATED … AS IDENTITY" : serial ? " " + type : null;
    if (action.containsSequence("primary", "key")) { // its own rule tells both the rewrite and the index build
      report(m, s, Rule.ADDING_SERIAL_PRIMARY_KEY_FIELD, what + (rewrite != null ? rewrite : "") + " PRIMARY KEY");
    } else if (rewrite != null) {
      report(m, s, Rule.ADDING_FIELD_WITH_DEFAULT, what + rewrite);
    }
    if (action.containsWord("unique")) {
      report(m, s, Rule.DISALLOWED_UNIQUE_CONSTRAINT, what + " UNIQUE");
    }
    if (action.containsWord("references")) {
      report(m, s, Rule.ADDING_FOREIGN_KEY_CONSTRAINT, what + " REFERENCES " + action.nameAfter("references"));
    }
  }

  /**
   * The first function the expression calls that counts as volatile, or null: one the database
   * calls volatile, one a pending migration creates without IMMUTABLE or STABLE, or one neither
   * the database (when its functions were read) nor the migrations know, which cannot be
   * shown to be safe.
   */
  private String volatileCall(List<Token> expression) {
    for (int i = 0; i + 1 < expression.size(); i++) {
      Token token = expression.get(i);
      if (!token.isName() || !expression.get(i + 1).isSymbol("(") || (i > 0 && expression.get(i - 1).isSymbol("::"))
          || (token.type() == SqlScript.Type.WORD && SYNTAX.contains(token.text()))) {
        continue; // syntax, or a type's modifier ('1'::numeric(10, 2))
      }
      String name = token.text();
      Boolean createdVolatile = created.get(name);
      if (createdVolatile != null ? createdVolatile : schema.volatileFunctions().contains(name)
          || (!schema.functions().isEmpty() && !schema.functions().contains(name))) {
        return name;
      }
    }
    return null;
  }

  /**
   * A statement that fails when run again after a failure halfway: it matters only outside a
   * transaction, where the statements before the failure stay done.
   */
  private void robust(Migration m, Statement s, String what) {
    if (!m.inTransaction) {
      report(m, s, Rule.PREFER_ROBUST_STMTS, what + ", outside a transaction");
    }
  }

  /**
   * A statement that waits for a lock on a table production has: without lock_timeout it may
   * queue everyone behind it, and without statement_timeout, once it holds the lock, hold it for
   * as long as it runs.
   */
  private void locks(Migration m, Statement s, String what) {
    if ((!m.lockTimeout || !m.statementTimeout) && !m.timeoutReported) {
      m.timeoutReported = true;
      String missing = !m.lockTimeout && !m.statementTimeout ? "neither lock_timeout nor statement_timeout"
          : !m.lockTimeout ? "no lock_timeout" : "no statement_timeout";
      report(m, s, Rule.REQUIRE_TIMEOUT_SETTINGS, what + " with " + missing + " set before it in this migration");
    }
  }

  private void report(Migration m, Statement s, Rule rule, String what) {
    CheckLevel level = settings.level(rule);
    if (level == CheckLevel.OFF || s.allowed().contains(rule.id())) {
      return;
    }
    findings.add(new Finding(rule, level, m.label, s.line(), what));
  }

  /** A name in the schema of {@code like}, when it has none: an index or a renamed table lives beside its table. */
  private static String qualify(String name, String like) {
    if (name == null) {
      return null;
    }
    String bare = name.substring(name.indexOf('.') + 1);
    return like.substring(0, like.indexOf('.') + 1) + bare;
  }

  /** Reads a statement's tokens left to right. */
  private static final class Cursor {
    private final List<Token> tokens;
    private final String defaultSchema;
    private int at;

    Cursor(List<Token> tokens, String defaultSchema) {
      this.tokens = tokens;
      this.defaultSchema = defaultSchema;
    }

    boolean peek(String word) {
      return at < tokens.size() && (tokens.get(at).is(word) || tokens.get(at).isSymbol(word));
    }

    boolean peekAny(String... words) {
      for (String word : words) {
        if (peek(word)) {
          return true;
        }
      }
      return false;
    }

    String peekWord() {
      return at < tokens.size() && tokens.get(at).type() == SqlScript.Type.WORD ? tokens.get(at).text() : null;
    }

    /** Moves past {@code words} when the tokens here are exactly them. */
    boolean accept(String... words) {
      if (at + words.length > tokens.size()) {
        return false;
      }
      for (int i = 0; i < words.length; i++) {
        Token token = tokens.get(at + i);
        if (!token.is(words[i]) && !token.isSymbol(words[i])) {
          return false;
        }
      }
      at += words.length;
      return true;
    }

    /** A possibly qualified name, as {@code schema.name} (the default schema when it has none); null when none is here. */
    String name() {
      if (at >= tokens.size() || !tokens.get(at).isName()) {
        return null;
      }
      List<String> parts = new ArrayList<>();
      parts.add(tokens.get(at++).text());
      while (at + 1 < tokens.size() && tokens.get(at).isSymbol(".") && tokens.get(at + 1).isName()) {
        parts.add(tokens.get(at + 1).text());
        at += 2;
      }
      int n = parts.size();
      return (n >= 2 ? parts.get(n - 2) : defaultSchema) + "." + parts.get(n - 1);
    }

    /** A column's or constraint's name as PostgreSQL folds it; null when none is here. */
    String identifier() {
      return at < tokens.size() && tokens.get(at).isName() ? tokens.get(at++).text() : null;
    }

    /** Comma-separated names, up to the first token that is not one (CASCADE, RESTRICT). */
    List<String> names() {
      List<String> names = new ArrayList<>();
      for (String name = name(); name != null; name = accept(",") ? name() : null) {
        names.add(name);
      }
      return names;
    }

    /** The rest, split at the commas outside parentheses: an ALTER TABLE's actions. */
    List<Cursor> actions() {
      List<Cursor> actions = new ArrayList<>();
      int depth = 0;
      int start = at;
      for (int i = at; i <= tokens.size(); i++) {
        if (i == tokens.size() || (depth == 0 && tokens.get(i).isSymbol(","))) {
          if (i > start) {
            actions.add(new Cursor(tokens.subList(start, i), defaultSchema));
          }
          start = i + 1;
        } else if (tokens.get(i).isSymbol("(") || tokens.get(i).isSymbol("[")) {
          depth++;
        } else if (tokens.get(i).isSymbol(")") || tokens.get(i).isSymbol("]")) {
          depth--;
        }
      }
      at = tokens.size();
      return actions;
    }

    /**
     * Whether {@code word} is among the remaining tokens outside parentheses (a CHECK's
     * {@code IS NOT NULL} is not the column's; strings and quoted names never count).
     */
    boolean containsWord(String word) {
      return containsSequence(word, null);
    }

    /** Whether {@code first} followed by {@code second} (when not null) is among the remaining tokens outside parentheses. */
    boolean containsSequence(String first, String second) {
      return indexOf(first, second) >= 0;
    }

    /** The name right after {@code word} outside parentheses, as {@link #name()} reads it; null when there is none. */
    String nameAfter(String word) {
      int i = indexOf(word, null);
      return i < 0 ? null : new Cursor(tokens.subList(i + 1, tokens.size()), defaultSchema).name();
    }

    /** Where {@code first} followed by {@code second} (when not null) is among the remaining tokens outside parentheses; -1 when not. */
    private int indexOf(String first, String second) {
      int depth = 0;
      for (int i = at; i < tokens.size(); i++) {
        Token t = tokens.get(i);
        if (t.isSymbol("(")) {
          depth++;
        } else if (t.isSymbol(")")) {
          depth--;
        } else if (depth == 0 && t.is(first)
            && (second == null || (i + 1 < tokens.size() && tokens.get(i + 1).is(second)))) {
          return i;
        }
      }
      return -1;
    }

    /** The tokens after {@code word} up to one of {@code stop} outside parentheses; null when {@code word} is absent. */
    List<Token> after(String word, Set<String> stop) {
      for (int i = at; i < tokens.size(); i++) {
        if (tokens.get(i).is(word)) {
          int depth = 0;
          int j = i + 1;
          for (; j < tokens.size(); j++) {
            Token t = tokens.get(j);
            if (t.isSymbol("(")) {
              depth++;
            } else if (t.isSymbol(")")) {
              depth--;
            } else if (depth == 0 && t.type() == SqlScript.Type.WORD && stop.contains(t.text())) {
              break;
            }
          }
          return tokens.subList(i + 1, j);
        }
      }
      return null;
    }
  }
}
