package walnut.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * Logback's configuration until {@link Logging} applies the command line, and for code that runs
 * Walnut in-process (tests, embedders): twemproxy's default level 5 (info), on standard error, in
 * Walnut's line format. Found by Logback through {@code META-INF/services}; steps aside when the
 * JVM names its own configuration file or one is on the class path.
 */
public final class LogbackDefaults extends ContextAwareBase implements Configurator {

  public LogbackDefaults() {}

  @Override
  public ExecutionStatus configure(LoggerContext context) {
    if (userConfigured()) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.INFO);
    root.addAppender(stderr(context));
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }

  /** Whether Logback is configured by a file of the user's rather than by Walnut. */
  static boolean userConfigured() {
    ClassLoader loader = LogbackDefaults.class.getClassLoader();
    return System.getProperty("logback.configurationFile") != null
        || loader.getResource("logback-test.xml") != null
        || loader.getResource("logback.xml") != null;
  }

  static ConsoleAppender<ILoggingEvent> stderr(LoggerContext context) {
    ConsoleAppender<ILoggingEvent> appender = new ConsoleAppender<>();
    appender.setContext(context);
    appender.setName("stderr");
    appender.setTarget("System.err");
    appender.setEncoder(encoder(context));
    appender.start();
    return appender;
  }

  static PatternLayoutEncoder encoder(LoggerContext context) {
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern(Logging.PATTERN);
    encoder.start();
    return encoder;
  }
}
