package walnut.server.config;

/**
 * A {@code nutcracker.yml} that twemproxy 0.5.0 would refuse, or one Walnut cannot read.
 *
 * <p>The message is one line a person can act on: the file, the line, the pool and the directive
 * when they are known, then twemproxy's own reason text, e.g. {@code conf/nutcracker.yml:7: pool
 * 'alpha': directive "timeout": '-1' is not a number}. Unchecked so that callers which only print
 * the message and exit need no ceremony.
 */
public final class ConfigException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public ConfigException(String message) {
    super(oneLine(message));
  }

  public ConfigException(String message, Throwable cause) {
    super(oneLine(message), cause);
  }

  /** {@code file:line: message}; a line below 1 means "no particular line". */
  static ConfigException at(String fileName, int line, String message) {
    return new ConfigException(where(fileName, line) + message);
  }

  static ConfigException at(String fileName, int line, String message, Throwable cause) {
    return new ConfigException(where(fileName, line) + message, cause);
  }

  private static String where(String fileName, int line) {
    return line > 0 ? fileName + ":" + line + ": " : fileName + ": ";
  }

  // Values quoted in messages come from the file and may hold line breaks or control characters;
  // one logical error must stay one log line.
  private static String oneLine(String message) {
    StringBuilder out = new StringBuilder(message.length());
    for (int i = 0; i < message.length(); i++) {
      char c = message.charAt(i);
      if (c == '\n') {
        out.append("\\n");
      } else if (c == '\r') {
        out.append("\\r");
      } else if (c == '\t') {
        out.append("\\t");
      } else if (c < 0x20 || c == 0x7f) {
        out.append(String.format("\\x%02x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }
}
