package walnut.server;

import java.nio.file.Path;

/**
 * Maps twemproxy's log levels (0 emerg … 5 notice … 7 debug … 11) and {@code -o} onto the SLF4J
 * simple backend. Must run before the first logger is created, which is why {@link Main} calls it
 * before touching any other class that logs.
 */
final class Logging {

  private Logging() {}

  static void configure(int level, Path output) {
    String name;
    if (level <= 3) {
      name = "error";
    } else if (level == 4) {
      name = "warn";
    } else if (level <= 6) {
      name = "info";
    } else if (level == 7) {
      name = "debug";
    } else {
      name = "trace";
    }
    setIfAbsent("org.slf4j.simpleLogger.defaultLogLevel", name);
    setIfAbsent("org.slf4j.simpleLogger.showDateTime", "true");
    setIfAbsent("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd HH:mm:ss.SSS");
    setIfAbsent("org.slf4j.simpleLogger.showShortLogName", "true");
    if (output != null) {
      System.setProperty("org.slf4j.simpleLogger.logFile", output.toString());
    }
  }

  private static void setIfAbsent(String key, String value) {
    if (System.getProperty(key) == null) {
      System.setProperty(key, value);
    }
  }
}
