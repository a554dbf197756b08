package dev.closedloop.deploy.internal.flyway;

import dev.closedloop.deploy.database.DatabaseTarget;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.Properties;
import java.util.logging.Logger;
import javax.sql.DataSource;

/**
 * Hands Flyway a target's connections with all of its driver properties: Flyway's own
 * URL-user-password form would drop them (sslmode, targetServerType, …).
 */
final class TargetDataSource implements DataSource {

  private final DatabaseTarget target;

  TargetDataSource(DatabaseTarget target) {
    this.target = target;
  }

  @Override
  public Connection getConnection() throws SQLException {
    return connect(target.driverProperties());
  }

  @Override
  public Connection getConnection(String username, String password) throws SQLException {
    Properties properties = target.driverProperties();
    if (username != null) {
      properties.setProperty("user", username);
    }
    if (password != null) {
      properties.setProperty("password", password);
    }
    return connect(properties);
  }

  /** Straight to pgjdbc: no reliance on what DriverManager has registered in this class loader. */
  private Connection connect(Properties properties) throws SQLException {
    return new org.postgresql.Driver().connect(target.jdbcUrl(), properties);
  }

  @Override
  public PrintWriter getLogWriter() {
    return null;
  }

  @Override
  public void setLogWriter(PrintWriter out) {
    // Flyway's log goes through FlywayLogBridge
  }

  @Override
  public void setLoginTimeout(int seconds) {
    // the target's connectTimeout applies
  }

  @Override
  public int getLoginTimeout() {
    return 0;
  }

  @Override
  public Logger getParentLogger() throws SQLFeatureNotSupportedException {
    throw new SQLFeatureNotSupportedException();
  }

  @Override
  public <T> T unwrap(Class<T> type) throws SQLException {
    throw new SQLException("not a wrapper");
  }

  @Override
  public boolean isWrapperFor(Class<?> type) {
    return false;
  }
}
