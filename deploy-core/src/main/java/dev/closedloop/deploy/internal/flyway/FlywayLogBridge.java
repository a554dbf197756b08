package dev.closedloop.deploy.internal.flyway;

import dev.closedloop.deploy.internal.Events;
import org.flywaydb.core.api.logging.Log;
import org.flywaydb.core.api.logging.LogCreator;

/**
 * Sends Flyway's log to the events of the migration running on the current thread, so Flyway
 * never prints on its own. Flyway instantiates this class by name (its {@code loggers} setting);
 * its lines go to debug, as {@link FlywayMigrator} reports each migration itself, and its
 * warnings and errors stay warnings.
 */
public final class FlywayLogBridge implements LogCreator {

  private static final ThreadLocal<Events> CURRENT = new ThreadLocal<>();

  /** Routes Flyway's log on this thread to {@code events} until the returned scope closes. */
  static AutoCloseableScope route(Events events) {
    CURRENT.set(events);
    return CURRENT::remove;
  }

  /** A scope whose close throws nothing. */
  interface AutoCloseableScope extends AutoCloseable {
    @Override
    void close();
  }

  @Override
  public Log createLogger(Class<?> clazz) {
    return new Log() {
      @Override
      public boolean isDebugEnabled() {
        return true;
      }

      @Override
      public void debug(String message) {
        emit(false, message);
      }

      @Override
      public void info(String message) {
        emit(false, message);
      }

      @Override
      public void notice(String message) {
        emit(false, message);
      }

      @Override
      public void warn(String message) {
        emit(true, message);
      }

      @Override
      public void error(String message) {
        emit(true, message);
      }

      @Override
      public void error(String message, Exception e) {
        emit(true, message);
      }
    };
  }

  private static void emit(boolean warn, String message) {
    Events events = CURRENT.get();
    if (events == null || message == null) {
      return; // Flyway used outside a migration of ours (an embedder's own Flyway): stay quiet
    }
    if (warn) {
      events.warn("Flyway: " + message);
    } else {
      events.debug("Flyway: " + message);
    }
  }
}
