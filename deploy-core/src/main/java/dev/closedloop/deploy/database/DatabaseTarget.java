package dev.closedloop.deploy.database;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.internal.Loopback;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PostgreSQL database to connect to: a JDBC URL of hosts and database, the driver's properties
 * (handed to pgjdbc as properties, never encoded into the URL) and credentials. {@link #parse}
 * takes the forms people paste (JDBC URLs, libpq URIs, key=value DSNs). {@link #toString()}
 * never shows the password.
 */
public record DatabaseTarget(String jdbcUrl, String user, String password, Map<String, String> properties) {

  private static final Pattern JDBC = Pattern.compile("jdbc:postgresql://([^/?]*)(?:/([^?]*))?(?:\\?(.*))?");
  /** libpq's target_session_attrs as pgjdbc's targetServerType. */
  private static final Map<String, String> SESSION_ATTRS = Map.of(
      "any", "any", "read-write", "primary", "primary", "primary", "read-only", "secondary",
      "standby", "secondary", "prefer-standby", "preferSecondary");
  private static final Set<String> NO_TLS_MODES = Set.of("disable", "allow", "prefer");
  /** libpq parameter names whose pgjdbc name differs. */
  private static final Map<String, String> LIBPQ_TO_JDBC = Map.of(
      "connect_timeout", "connectTimeout",
      "application_name", "ApplicationName",
      "sslcert", "sslcert",
      "sslkey", "sslkey",
      "sslrootcert", "sslrootcert");

  /**
   * A URL with a query is split here: its parameters become properties (decoded as pgjdbc decodes
   * them), its user and password credentials unless given; properties given win over the URL's.
   */
  public DatabaseTarget {
    Matcher m = jdbcUrl == null ? null : JDBC.matcher(jdbcUrl);
    if (m == null || !m.matches()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION,
          "Unsupported database URL '" + redactUrl(jdbcUrl) + "': use jdbc:postgresql://host:port/database");
    }
    if (m.group(1).contains("@")) { // pgjdbc would take user:password@host for a host name
      throw new DeployException(DeployException.Kind.CONFIGURATION, "A JDBC URL takes no user:password@ before the"
          + " host: give them as ?user=…&password=… or in deploy.databaseUser and deploy.databasePassword, or write"
          + " the URL as postgres://user:password@host/database");
    }
    Map<String, String> merged = new LinkedHashMap<>(jdbcQuery(m.group(3)));
    user = user != null ? user : merged.get("user");
    password = password != null ? password : merged.get("password");
    merged.remove("user");
    merged.remove("password");
    if (properties != null) {
      merged.putAll(properties);
    }
    for (Map.Entry<String, String> libpq : LIBPQ_TO_JDBC.entrySet()) { // libpq's names, pasted into a JDBC URL
      String value = merged.remove(libpq.getKey());
      if (value != null) {
        merged.putIfAbsent(libpq.getValue(), value);
      }
    }
    if (m.group(1).contains(",")) {
      // the lock's session and the migrations' must reach one server, and it must take writes
      merged.putIfAbsent("targetServerType", "primary");
    }
    jdbcUrl = "jdbc:postgresql://" + m.group(1) + "/" + (m.group(2) != null ? m.group(2) : "");
    properties = java.util.Collections.unmodifiableMap(merged);
  }

  public DatabaseTarget(String jdbcUrl, String user, String password) {
    this(jdbcUrl, user, password, Map.of());
  }

  public static DatabaseTarget of(String jdbcUrl, String user, String password) {
    return new DatabaseTarget(jdbcUrl, user, password);
  }

  /** The same server and settings, another database on it. */
  public DatabaseTarget withDatabase(String database) {
    return new DatabaseTarget("jdbc:postgresql://" + hosts() + "/" + database, user, password, properties);
  }

  /**
   * The same database, every connection of it read-only, also in autocommit (pgjdbc sends
   * {@code SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY}, which poolers pass on): a
   * write fails instead of happening.
   */
  public DatabaseTarget readOnly() {
    Map<String, String> readOnly = new LinkedHashMap<>(properties);
    readOnly.put("readOnly", "true");
    readOnly.put("readOnlyMode", "always");
    return new DatabaseTarget(jdbcUrl, user, password, readOnly);
  }

  /** Query parameters of a JDBC URL, decoded the way pgjdbc decodes them ('+' is a space). */
  private static Map<String, String> jdbcQuery(String query) {
    return query(query, value -> {
      try {
        return java.net.URLDecoder.decode(value, StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        return value; // pgjdbc keeps what it cannot decode as it is
      }
    });
  }


  /**
   * Reads a connection string in any of the forms people keep: a JDBC URL
   * ({@code jdbc:postgresql://host:5432/db?sslmode=require}), a libpq URI
   * ({@code postgres://user:p%40ss@host:5432/db?sslmode=require}, user and password
   * percent-decoded) or a key=value DSN ({@code host=… port=… user=… password=… dbname=…
   * sslmode=…}, as goose's {@code GOOSE_DBSTRING}). User and password given here win over those
   * in the string.
   *
   * @param setting the setting it came from, for messages, e.g. "databaseUrl (deploy.databaseUrl)"
   */
  public static DatabaseTarget parse(String connection, String user, String password, String setting) {
    if (connection == null || connection.isBlank()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, setting + " is empty");
    }
    String text = connection.strip();
    DatabaseTarget parsed;
    if (text.startsWith("jdbc:")) {
      parsed = fromJdbc(text, setting);
    } else if (text.startsWith("postgres://") || text.startsWith("postgresql://")) {
      parsed = fromUri(text, setting);
    } else if (text.contains("=")) {
      parsed = fromKeyValues(text, setting);
    } else {
      throw new DeployException(DeployException.Kind.CONFIGURATION, setting + " is not a database URL: use"
          + " jdbc:postgresql://host:5432/db, postgres://user:password@host:5432/db or host=… dbname=…");
    }
    return new DatabaseTarget(parsed.jdbcUrl,
        user != null ? user : parsed.user, password != null ? password : parsed.password, parsed.properties);
  }

  private static DatabaseTarget fromJdbc(String url, String setting) {
    Matcher m = JDBC.matcher(url);
    if (!m.matches()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, setting + ": unsupported JDBC URL '"
          + redactUrl(url) + "': use jdbc:postgresql://host:port/database");
    }
    return new DatabaseTarget(url, null, null);
  }

  private static DatabaseTarget fromUri(String uri, String setting) {
    String rest = uri.substring(uri.indexOf("://") + 3);
    // The last '@' before the query ends the user info: a pasted password may hold '@' that
    // nobody encoded, and a query value may hold one too.
    // (A '?' in a password must be percent-encoded, as libpq wants it.)
    int query0 = rest.indexOf('?');
    int at = (query0 >= 0 ? rest.substring(0, query0) : rest).lastIndexOf('@');
    String userInfo = at >= 0 ? rest.substring(0, at) : null;
    String afterUser = at >= 0 ? rest.substring(at + 1) : rest;
    int hostEnd = indexOfAny(afterUser, "/?");
    String hosts = hostEnd >= 0 ? afterUser.substring(0, hostEnd) : afterUser;
    String database = null;
    String query = null;
    if (hostEnd >= 0) {
      String tail = afterUser.substring(hostEnd);
      int q = tail.indexOf('?');
      String path = q >= 0 ? tail.substring(0, q) : tail;
      query = q >= 0 ? tail.substring(q + 1) : null;
      database = path.startsWith("/") ? decode(path.substring(1), setting) : null;
    }
    String user = null;
    String password = null;
    if (userInfo != null) {
      int colon = userInfo.indexOf(':');
      user = decode(colon >= 0 ? userInfo.substring(0, colon) : userInfo, setting);
      password = colon >= 0 ? decode(userInfo.substring(colon + 1), setting) : null;
    }
    Map<String, String> params = query(query, value -> decode(value, "the URL"));
    user = params.containsKey("user") ? params.remove("user") : user;
    password = params.containsKey("password") ? params.remove("password") : password;
    if (params.containsKey("dbname")) {
      database = params.remove("dbname");
    }
    if (params.containsKey("host")) { // a unix socket directory: pgjdbc cannot use it
      throw new DeployException(DeployException.Kind.CONFIGURATION, setting + " names a unix socket"
          + " (host=" + params.get("host") + "): use a TCP host and port");
    }
    return target(hosts.isEmpty() ? "localhost" : hosts, database, params, user, password);
  }

  private static DatabaseTarget fromKeyValues(String dsn, String setting) {
    Map<String, String> values = new LinkedHashMap<>();
    int i = 0;
    while (i < dsn.length()) {
      while (i < dsn.length() && Character.isWhitespace(dsn.charAt(i))) {
        i++;
      }
      if (i >= dsn.length()) {
        break;
      }
      int eq = dsn.indexOf('=', i);
      if (eq < 0) {
        // the word itself is not shown: it may be a password written without its key
        throw new DeployException(DeployException.Kind.CONFIGURATION, setting + ": the word at character " + (i + 1)
            + " has no '=' (key=value connection strings are key=value pairs, e.g. host=db port=5432 dbname=shop)");
      }
      String key = dsn.substring(i, eq).trim();
      i = eq + 1;
      while (i < dsn.length() && Character.isWhitespace(dsn.charAt(i))) {
        i++;
      }
      StringBuilder value = new StringBuilder();
      if (i < dsn.length() && dsn.charAt(i) == '\'') {
        i++;
        while (i < dsn.length() && dsn.charAt(i) != '\'') {
          if (dsn.charAt(i) == '\\' && i + 1 < dsn.length()) {
            i++;
          }
          value.append(dsn.charAt(i++));
        }
        if (i >= dsn.length()) {
          throw new DeployException(DeployException.Kind.CONFIGURATION, setting + ": the quoted value of "
              + key + " is not closed");
        }
        i++;
      } else {
        while (i < dsn.length() && !Character.isWhitespace(dsn.charAt(i))) {
          if (dsn.charAt(i) == '\\' && i + 1 < dsn.length()) {
            i++;
          }
          value.append(dsn.charAt(i++));
        }
      }
      values.put(key, value.toString());
    }
    String host = values.remove("host");
    if (host != null && host.startsWith("/")) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, setting + " names a unix socket"
          + " (host=" + host + "): use a TCP host and port");
    }
    String hostaddr = values.remove("hostaddr");
    String port = values.remove("port");
    String user = values.remove("user");
    String password = values.remove("password");
    String database = values.remove("dbname");
    return target(hostList(host != null ? host : hostaddr != null ? hostaddr : "localhost", port, setting), database,
        values, user, password);
  }

  /** libpq's comma-separated hosts and ports ({@code host=a,b port=5432,5433}) as a JDBC host list. */
  private static String hostList(String hosts, String ports, String setting) {
    String[] names = hosts.split(",");
    String[] numbers = ports == null ? new String[0] : ports.split(",");
    if (numbers.length > 1 && numbers.length != names.length) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, setting + " names " + names.length + " hosts but "
          + numbers.length + " ports: give one port, or one for each host");
    }
    StringBuilder list = new StringBuilder();
    for (int i = 0; i < names.length; i++) {
      String name = names[i].trim();
      list.append(i > 0 ? "," : "").append(name.contains(":") && !name.startsWith("[") ? "[" + name + "]" : name);
      String number = numbers.length == 0 ? null : numbers[numbers.length == 1 ? 0 : i].trim();
      if (number != null && !number.isEmpty()) {
        list.append(':').append(number);
      }
    }
    return list.toString();
  }

  /** A target from libpq's parts: its parameter names become pgjdbc's, as properties. */
  private static DatabaseTarget target(String hosts, String database, Map<String, String> libpq, String user,
      String password) {
    Map<String, String> properties = new LinkedHashMap<>();
    libpq.forEach((name, value) -> {
      if (name.equals("target_session_attrs")) {
        properties.put("targetServerType", SESSION_ATTRS.getOrDefault(value, value));
      } else {
        properties.put(LIBPQ_TO_JDBC.getOrDefault(name, name), value);
      }
    });
    return new DatabaseTarget("jdbc:postgresql://" + hosts + "/" + (database != null ? database : ""), user, password,
        properties);
  }

  private static Map<String, String> query(String query, java.util.function.UnaryOperator<String> decode) {
    Map<String, String> params = new LinkedHashMap<>();
    if (query == null || query.isEmpty()) {
      return params;
    }
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      String key = eq >= 0 ? pair.substring(0, eq) : pair;
      String value = eq >= 0 ? pair.substring(eq + 1) : "";
      params.put(key, decode.apply(value));
    }
    return params;
  }

  /** Percent-decoding as in URIs: unlike form decoding, '+' stays '+'. */
  private static String decode(String text, String setting) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '%') {
        if (i + 2 >= text.length()) {
          throw new DeployException(DeployException.Kind.CONFIGURATION, setting + " has a '%' that is not"
              + " followed by two hex digits: encode '%' itself as %25");
        }
        try {
          out.write(Integer.parseInt(text.substring(i + 1, i + 3), 16));
        } catch (NumberFormatException e) {
          throw new DeployException(DeployException.Kind.CONFIGURATION, setting + " has a '%' that is not"
              + " followed by two hex digits: encode '%' itself as %25");
        }
        i += 2;
      } else {
        byte[] bytes = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
        out.write(bytes, 0, bytes.length);
      }
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  private static int indexOfAny(String text, String chars) {
    for (int i = 0; i < text.length(); i++) {
      if (chars.indexOf(text.charAt(i)) >= 0) {
        return i;
      }
    }
    return -1;
  }

  /** The first host of the URL. */
  public String host() {
    String hosts = hosts();
    String first = hosts.split(",")[0];
    if (first.startsWith("[")) {
      return first.substring(0, first.indexOf(']') + 1);
    }
    int colon = first.lastIndexOf(':');
    return colon >= 0 ? first.substring(0, colon) : first;
  }

  /** The first host's port; 5432 when the URL names none. */
  public int port() {
    String first = hosts().split(",")[0];
    int colon = first.lastIndexOf(':');
    if (colon < 0 || first.endsWith("]")) {
      return 5432;
    }
    return Integer.parseInt(first.substring(colon + 1));
  }

  /** The database name, empty for the server's default (the user's name). */
  public String database() {
    Matcher m = JDBC.matcher(jdbcUrl);
    m.matches();
    return m.group(2) != null ? m.group(2) : "";
  }

  /** A driver property ({@code sslmode}, {@code targetServerType}, …). */
  public Optional<String> parameter(String name) {
    return Optional.ofNullable(properties.get(name));
  }

  /** Every host of the URL, without ports. */
  public java.util.List<String> hostNames() {
    java.util.List<String> names = new java.util.ArrayList<>();
    for (String entry : hosts().split(",")) {
      names.add(entry.startsWith("[") ? entry.substring(0, entry.indexOf(']') + 1)
          : entry.contains(":") ? entry.substring(0, entry.lastIndexOf(':')) : entry);
    }
    return names;
  }

  private String hosts() {
    Matcher m = JDBC.matcher(jdbcUrl);
    m.matches();
    return m.group(1).isEmpty() ? "localhost" : m.group(1);
  }

  /** True when every host of the URL is this machine. */
  public boolean isLoopback() {
    return hostNames().stream().allMatch(Loopback::isLoopback);
  }

  /**
   * Why the connection is not sure to be encrypted, for a remote host whose {@code sslmode} lets
   * it fall back to plain text (disable, allow, prefer, or unset: pgjdbc's default is prefer).
   */
  public Optional<String> tlsProblem() {
    if (isLoopback()) {
      return Optional.empty();
    }
    // pgjdbc's ssl=true without an sslmode means verify-full
    String mode = parameter("sslmode").orElse(parameter("ssl").filter("true"::equalsIgnoreCase).isPresent()
        ? "verify-full" : "prefer");
    if (!NO_TLS_MODES.contains(mode)) {
      return Optional.empty();
    }
    String remote = hostNames().stream().filter(name -> !Loopback.isLoopback(name)).findFirst().orElse(host());
    return Optional.of("the connection to " + remote + " does not require TLS (sslmode=" + mode
        + "): add sslmode=require (or verify-full) to the URL");
  }

  /**
   * Why this looks like a transaction-mode pooler, which can hold neither the release lock (a
   * session advisory lock) nor a migration's session state: Supabase's pooler on port 6543.
   */
  public Optional<String> poolerProblem() {
    if (port() == 6543) {
      return Optional.of(host() + ":6543 is a transaction-mode pooler (Supabase's Supavisor, or PgBouncer"
          + " set up like it), which cannot hold the release lock or run migrations safely: use the"
          + " session-mode pooler (port 5432) or the direct connection string (db.<project>.supabase.co:5432)");
    }
    return Optional.empty();
  }

  /**
   * Asks the server whether it is really a transaction-mode pooler: two sessions of our own get
   * the same backend only when something multiplexes them over shared server connections
   * (PgBouncer's pool_mode=transaction on any port). A session-mode pooler or a direct
   * connection never does, so this never refuses a safe URL; a busy pool may hide one.
   */
  public Optional<String> sharedBackendProblem() {
    try (Connection first = connect(); Connection second = connect()) {
      int a = backendPid(first);
      int b = backendPid(second);
      if (a == b) {
        return Optional.of(host() + ":" + port() + " runs two separate sessions on one server backend (pid " + a
            + "): it is a transaction-mode pooler (such as PgBouncer with pool_mode=transaction), which cannot"
            + " hold the release lock or run migrations safely: use a session-mode pooler or the direct"
            + " connection string");
      }
      return Optional.empty();
    } catch (SQLException e) {
      throw new DeployException(DeployException.Kind.DATABASE, "Cannot query " + this + ": " + e.getMessage(), e);
    }
  }

  private static int backendPid(Connection c) throws SQLException {
    try (var s = c.createStatement(); var rs = s.executeQuery("SELECT pg_backend_pid()")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  /** What pgjdbc is handed besides the URL: the properties, the credentials, and our defaults. */
  public Properties driverProperties() {
    Properties props = new Properties();
    props.setProperty("connectTimeout", "10");
    props.setProperty("ApplicationName", "closedloop");
    props.putAll(properties);
    if (user != null) {
      props.setProperty("user", user);
    }
    if (password != null) {
      props.setProperty("password", password);
    }
    return props;
  }

  /** Opens a connection, failing with one line that names the database (never the password). */
  public Connection connect() {
    Properties props = driverProperties();
    try {
      return DriverManager.getConnection(jdbcUrl, props);
    } catch (SQLException e) {
      throw new DeployException(DeployException.Kind.DATABASE,
          "Cannot connect to " + this + ": " + e.getMessage() + hint(e.getSQLState()), e);
    }
  }

  /** What to check, by the server's SQLSTATE, when pgjdbc's own words do not say. */
  private static String hint(String state) {
    if ("28P01".equals(state) || "28000".equals(state)) {
      return ": check the user and password (in the URL, or deploy.databaseUser and deploy.databasePassword)";
    }
    if ("3D000".equals(state)) {
      return ": check the database name at the end of the URL";
    }
    return "";
  }

  /** The URL with any password parameter masked. */
  static String redactUrl(String url) {
    return url == null ? "null" : url.replaceAll("(?i)(password=)[^&;]*", "$1****");
  }

  @Override
  public String toString() {
    StringBuilder text = new StringBuilder(jdbcUrl);
    String separator = "?";
    for (Map.Entry<String, String> property : properties.entrySet()) {
      boolean secret = property.getKey().toLowerCase(java.util.Locale.ROOT).contains("password");
      text.append(separator).append(property.getKey()).append('=').append(secret ? "****" : property.getValue());
      separator = "&";
    }
    return text + (user != null ? " as " + user : "");
  }
}
