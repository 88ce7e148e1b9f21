package walnut.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.FileAppender;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.slf4j.LoggerFactory;

/**
 * twemproxy's logging controls on Logback: the {@code -v} level (0..11), the {@code -o} file,
 * SIGHUP's reopen and SIGTTIN/SIGTTOU's level steps
 * (docs/compatibility.md#signals-logging-and-reload).
 *
 * <p>Levels: 0 (emerg) logs nothing but signal lines; 1..3 (alert, crit, err) errors; 4 (warn)
 * warnings; 5..6 (notice, info) info, the default; 7 (debug) debug; 8..11 (verb … pverb) trace.
 * Lines saying that a signal arrived are always written, as twemproxy writes them with
 * {@code log_safe} whatever the level.
 *
 * <p>When the JVM is given its own Logback configuration ({@code -Dlogback.configurationFile=…}),
 * that configuration owns the appenders: {@code -v} and SIGTTIN/SIGTTOU still set the root
 * level, {@code -o} and SIGHUP do nothing (use Logback's rolling appenders there).
 *
 * <p>Thread-safe: signals arrive on their own threads; every change holds the class lock.
 */
final class Logging {

  static final int MIN_LEVEL = 0;
  static final int MAX_LEVEL = 11;
  static final String PATTERN = "[%d{yyyy-MM-dd HH:mm:ss.SSS}] %-5level %logger{0} [%thread] %msg%n";
  /** The logger of lines that are written whatever the level (signals). */
  static final String ALWAYS = "walnut.signals";

  private static final String[] NAMES = {"emerg", "alert", "crit", "err", "warn", "notice",
      "info", "debug", "verb", "vverb", "vvverb", "pverb"};

  // Guarded by the class lock.
  private static int level = 5;
  private static Path output;
  private static FileAppender<ILoggingEvent> file;

  private Logging() {}

  /** The Logback level for twemproxy's level {@code n}. */
  static Level levelFor(int n) {
    if (n <= 0) {
      return Level.OFF;
    } else if (n <= 3) {
      return Level.ERROR;
    } else if (n == 4) {
      return Level.WARN;
    } else if (n <= 6) {
      return Level.INFO;
    } else if (n == 7) {
      return Level.DEBUG;
    }
    return Level.TRACE;
  }

  /** twemproxy's name of level {@code n}: {@code notice} for 5. */
  static String name(int n) {
    return NAMES[Math.max(MIN_LEVEL, Math.min(MAX_LEVEL, n))];
  }

  /**
   * Sends every log line to {@code output} (appending), or to standard error when it is null, at
   * twemproxy level {@code n}. Throws {@link IllegalArgumentException} with twemproxy's words
   * when the file cannot be opened, before anything changes.
   */
  static synchronized void configure(int n, Path output) {
    if (output != null) {
      try {
        // Opened and closed here so a bad path fails the start; the appender opens it again.
        Files.newOutputStream(output, StandardOpenOption.CREATE, StandardOpenOption.APPEND)
            .close();
      } catch (IOException | RuntimeException e) {
        throw new IllegalArgumentException("opening log file '" + output + "' failed: "
            + reason(e));
      }
    }
    LoggerContext context = context();
    level = Math.max(MIN_LEVEL, Math.min(MAX_LEVEL, n));
    Logging.output = output;
    if (LogbackDefaults.userConfigured()) {
      file = null;
      context.getLogger(Logger.ROOT_LOGGER_NAME).setLevel(levelFor(level));
      return;
    }
    context.reset();
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(levelFor(level));
    if (output == null) {
      file = null;
      root.addAppender(LogbackDefaults.stderr(context));
    } else {
      FileAppender<ILoggingEvent> appender = new FileAppender<>();
      appender.setContext(context);
      appender.setName("file");
      appender.setFile(output.toString());
      appender.setAppend(true);
      appender.setEncoder(LogbackDefaults.encoder(context));
      appender.start();
      file = appender;
      root.addAppender(appender);
    }
    context.getLogger(ALWAYS).setLevel(Level.INFO);
  }

  /** The current twemproxy level. */
  static synchronized int level() {
    return level;
  }

  /** SIGTTIN: one level more verbose, at most 11; returns the new level. */
  static synchronized int raise() {
    return set(level + 1);
  }

  /** SIGTTOU: one level quieter, at least 0; returns the new level. */
  static synchronized int lower() {
    return set(level - 1);
  }

  private static int set(int n) {
    level = Math.max(MIN_LEVEL, Math.min(MAX_LEVEL, n));
    context().getLogger(Logger.ROOT_LOGGER_NAME).setLevel(levelFor(level));
    return level;
  }

  /**
   * SIGHUP: reopens the {@code -o} file by its name, so after logrotate renamed it the next line
   * goes to a new file. Lines being written meanwhile wait for the appender's lock and none is
   * lost. Returns the file reopened, or null when the log goes to standard error.
   */
  static synchronized Path reopen() throws IOException {
    if (file == null) {
      return null;
    }
    file.openFile(output.toString());
    return output;
  }

  private static LoggerContext context() {
    return (LoggerContext) LoggerFactory.getILoggerFactory();
  }

  private static String reason(Exception e) {
    if (e instanceof java.nio.file.AccessDeniedException) {
      return "Permission denied";
    }
    if (e instanceof java.nio.file.NoSuchFileException) {
      return "No such file or directory";
    }
    return e.getMessage() == null ? e.toString() : e.getMessage();
  }
}
