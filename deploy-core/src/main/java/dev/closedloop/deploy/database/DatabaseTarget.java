package dev.closedloop.deploy.database;

import dev.closedloop.deploy.DeployException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/**
 * A PostgreSQL database to connect to: a JDBC URL and credentials. {@link #toString()} never
 * shows the password.
 */
public record DatabaseTarget(String jdbcUrl, String user, String password) {

  public DatabaseTarget {
    if (jdbcUrl == null || !jdbcUrl.startsWith("jdbc:postgresql:")) {
      throw new DeployException(DeployException.Kind.CONFIGURATION,
          "Unsupported database URL '" + redactUrl(jdbcUrl) + "': use jdbc:postgresql://host:port/database");
    }
  }

  public static DatabaseTarget of(String jdbcUrl, String user, String password) {
    return new DatabaseTarget(jdbcUrl, user, password);
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
