package dev.closedloop.deploy.database;

import dev.closedloop.deploy.DeployException;
import dev.closedloop.deploy.Loopback;
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
 * A PostgreSQL database to connect to: a JDBC URL and credentials. {@link #parse} takes the
 * forms people paste (JDBC URLs, libpq URIs, key=value DSNs). {@link #toString()} never shows
 * the password.
 */
public record DatabaseTarget(String jdbcUrl, String user, String password) {

  private static final Pattern JDBC = Pattern.compile("jdbc:postgresql://([^/?]*)(?:/([^?]*))?(?:\\?(.*))?");
  private static final Set<String> NO_TLS_MODES = Set.of("disable", "allow", "prefer");
  /** libpq parameter names whose pgjdbc name differs. */
  private static final Map<String, String> LIBPQ_TO_JDBC = Map.of(
      "connect_timeout", "connectTimeout",
      "application_name", "ApplicationName",
      "sslcert", "sslcert",
      "sslkey", "sslkey",
      "sslrootcert", "sslrootcert");

  public DatabaseTarget {
    if (jdbcUrl == null || !JDBC.matcher(jdbcUrl).matches()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION,
          "Unsupported database URL '" + redactUrl(jdbcUrl) + "': use jdbc:postgresql://host:port/database");
    }
  }

  public static DatabaseTarget of(String jdbcUrl, String user, String password) {
    return new DatabaseTarget(jdbcUrl, user, password);
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
        user != null ? user : parsed.user, password != null ? password : parsed.password);
  }

  private static DatabaseTarget fromJdbc(String url, String setting) {
    Matcher m = JDBC.matcher(url);
    if (!m.matches()) {
      throw new DeployException(DeployException.Kind.CONFIGURATION, setting + ": unsupported JDBC URL '"
          + redactUrl(url) + "': use jdbc:postgresql://host:port/database");
    }
    Map<String, String> params = query(m.group(3), false);
    String user = params.remove("user");
    String password = params.remove("password");
    return new DatabaseTarget(jdbc(m.group(1), m.group(2), params), user, password);
  }

  private static DatabaseTarget fromUri(String uri, String setting) {
    String rest = uri.substring(uri.indexOf("://") + 3);
    // The last '@' ends the user info: a pasted password may hold '@' that nobody encoded.
    int at = rest.lastIndexOf('@');
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
    Map<String, String> params = query(query, true);
    user = params.containsKey("user") ? params.remove("user") : user;
    password = params.containsKey("password") ? params.remove("password") : password;
    if (params.containsKey("dbname")) {
      database = params.remove("dbname");
    }
    if (params.containsKey("host")) { // a unix socket directory: pgjdbc cannot use it
      throw new DeployException(DeployException.Kind.CONFIGURATION, setting + " names a unix socket"
          + " (host=" + params.get("host") + "): use a TCP host and port");
    }
    return new DatabaseTarget(jdbc(hosts.isEmpty() ? "localhost" : hosts, database, params), user, password);
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
        throw new DeployException(DeployException.Kind.CONFIGURATION, setting + ": '"
            + dsn.substring(i).split("\\s")[0] + "' has no '=' (key=value connection strings are key=value pairs)");
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
    String hosts = (host != null ? host : hostaddr != null ? hostaddr : "localhost") + (port != null ? ":" + port : "");
    String user = values.remove("user");
    String password = values.remove("password");
    String database = values.remove("dbname");
    return new DatabaseTarget(jdbc(hosts, database, values), user, password);
  }

  private static String jdbc(String hosts, String database, Map<String, String> params) {
    StringBuilder url = new StringBuilder("jdbc:postgresql://").append(hosts).append('/');
    if (database != null) {
      url.append(database);
    }
    String sep = "?";
    for (Map.Entry<String, String> param : params.entrySet()) {
      url.append(sep).append(LIBPQ_TO_JDBC.getOrDefault(param.getKey(), param.getKey()))
          .append('=').append(param.getValue());
      sep = "&";
    }
    return url.toString();
  }

  private static Map<String, String> query(String query, boolean decode) {
    Map<String, String> params = new LinkedHashMap<>();
    if (query == null || query.isEmpty()) {
      return params;
    }
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      String key = eq >= 0 ? pair.substring(0, eq) : pair;
      String value = eq >= 0 ? pair.substring(eq + 1) : "";
      params.put(key, decode ? decode(value, "the URL") : value);
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

  /** A JDBC parameter of the URL. */
  public Optional<String> parameter(String name) {
    Matcher m = JDBC.matcher(jdbcUrl);
    m.matches();
    return Optional.ofNullable(query(m.group(3), false).get(name));
  }

  private String hosts() {
    Matcher m = JDBC.matcher(jdbcUrl);
    m.matches();
    return m.group(1).isEmpty() ? "localhost" : m.group(1);
  }

  public boolean isLoopback() {
    return Loopback.isLoopback(host());
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
    return Optional.of("the connection to " + host() + " does not require TLS (sslmode=" + mode
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

  /** Opens a connection, failing with one line that names the database (never the password). */
  public Connection connect() {
    Properties props = new Properties();
    if (user != null) {
      props.setProperty("user", user);
    }
    if (password != null) {
      props.setProperty("password", password);
    }
    props.setProperty("connectTimeout", "10");
    props.setProperty("ApplicationName", "closedloop");
    try {
      return DriverManager.getConnection(jdbcUrl, props);
    } catch (SQLException e) {
      throw new DeployException(DeployException.Kind.DATABASE,
          "Cannot connect to " + this + ": " + e.getMessage(), e);
    }
  }

  /** The URL with any password parameter masked. */
  static String redactUrl(String url) {
    return url == null ? "null" : url.replaceAll("(?i)(password=)[^&;]*", "$1****");
  }

  @Override
  public String toString() {
    return redactUrl(jdbcUrl) + (user != null ? " as " + user : "");
  }
}
