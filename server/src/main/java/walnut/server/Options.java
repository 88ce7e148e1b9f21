package walnut.server;

import java.time.Duration;
import java.util.List;
import walnut.core.tls.TlsEngine;

/**
 * The command line after twemproxy's validation rules (docs/compatibility.md#command-line): plain
 * decimal digits only, the same ranges and the same messages.
 */
record Options(int logLevel, int statsPort, String statsAddr, int statsIntervalMillis,
    int mbufSize, int threads, String transport, Duration shutdownGrace, long clientPendingLimit,
    int metricsPort, String metricsAddr, boolean watchConfig, int maxServerConnections,
    Duration slowReaderLimit, TlsEngine tlsEngine, Duration tlsHandshakeTimeout,
    Observability observability, List<String> args) {

  /**
   * What the proxy shows of its requests beyond the counters (docs/observability.md): the
   * {@code command} label on the latency histogram, and the slow-request log's threshold (0: off)
   * and its lines per second.
   */
  record Observability(boolean commandMetrics, long slowlogThresholdMillis, int slowlogRate) {
    static final Observability OFF = new Observability(false, 0, 10);

    /** Whether anything is observed per request (else the request path is as without). */
    boolean any() {
      return commandMetrics || slowlogThresholdMillis > 0;
    }
  }

  static final int MIN_MBUF = 512;
  /** The smallest --client-pending-limit: twice the least high water mark of a client socket. */
  static final long MIN_CLIENT_PENDING_LIMIT = 128 << 10;
  static final int MAX_MBUF = 16 * 1024 * 1024;

  static Options from(Main main, List<String> args) {
    int level = Math.min(11, number(main.verbose, "option -v requires a number"));
    int port = number(main.statsPort, "option -s requires a number");
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("option -s value " + port + " is not a valid port");
    }
    int interval = number(main.statsInterval, "option -i requires a number");
    int mbuf = number(main.mbufSize, "option -m requires a non-zero number");
    if (mbuf == 0) {
      throw new IllegalArgumentException("option -m requires a non-zero number");
    }
    if (mbuf < MIN_MBUF || mbuf > MAX_MBUF) {
      throw new IllegalArgumentException(
          "mbuf chunk size must be between " + MIN_MBUF + " and " + MAX_MBUF + " bytes");
    }
    int threads = main.threads == null ? Runtime.getRuntime().availableProcessors() : main.threads;
    if (threads < 1) {
      throw new IllegalArgumentException("option --threads value " + threads
          + " is not valid (expected: >= 1)");
    }
    if (main.shutdownGraceMillis < 0) {
      throw new IllegalArgumentException("option --shutdown-grace requires a number >= 0");
    }
    long clientPendingLimit = size(main.clientPendingLimit,
        "option --client-pending-limit requires a size (digits, optionally followed by k, m or g)");
    if (clientPendingLimit < MIN_CLIENT_PENDING_LIMIT) {
      // Below it a client's socket would count as full before a few replies are in it.
      throw new IllegalArgumentException(
          "option --client-pending-limit requires a size of at least 128k");
    }
    int metricsPort = 0;
    if (main.metricsPort != null) {
      metricsPort = number(main.metricsPort, "option --metrics-port requires a number");
      if (metricsPort < 1 || metricsPort > 65535) {
        throw new IllegalArgumentException(
            "option --metrics-port value " + metricsPort + " is not a valid port");
      }
    }
    if (main.slowReaderLimitMillis <= 0) {
      throw new IllegalArgumentException("option --slow-reader-limit requires a number > 0");
    }
    TlsEngine tlsEngine = TlsEngine.named(main.tlsProvider);
    if (main.tlsHandshakeTimeoutMillis <= 0) {
      throw new IllegalArgumentException("option --tls-handshake-timeout requires a number > 0");
    }
    long slowlog = 0;
    if (main.slowlogThreshold != null) {
      slowlog = number(main.slowlogThreshold, "option --slowlog-threshold requires a number");
      if (slowlog < 1) {
        throw new IllegalArgumentException("option --slowlog-threshold requires a number > 0");
      }
    }
    int slowlogRate = Observability.OFF.slowlogRate();
    if (main.slowlogRate != null) {
      if (slowlog == 0) {
        throw new IllegalArgumentException("option --slowlog-rate requires --slowlog-threshold");
      }
      slowlogRate = number(main.slowlogRate, "option --slowlog-rate requires a number");
      if (slowlogRate < 1) {
        throw new IllegalArgumentException("option --slowlog-rate requires a number > 0");
      }
    }
    if (main.commandMetrics && main.metricsPort == null) {
      throw new IllegalArgumentException("option --command-metrics requires --metrics-port");
    }
    int maxServerConnections = main.maxServerConnections == null ? 0
        : number(main.maxServerConnections, "option --max-server-connections requires a number");
    return new Options(level, port, main.statsAddr, interval, mbuf, threads, main.transport,
        Duration.ofMillis(main.shutdownGraceMillis), clientPendingLimit, metricsPort,
        main.metricsAddr, main.watchConfig, maxServerConnections,
        Duration.ofMillis(main.slowReaderLimitMillis), tlsEngine,
        Duration.ofMillis(main.tlsHandshakeTimeoutMillis),
        new Observability(main.commandMetrics, slowlog, slowlogRate), List.copyOf(args));
  }

  /** A positive size in bytes: digits, optionally followed by k, m or g (KiB, MiB, GiB). */
  static long size(String text, String message) {
    if (text == null || text.isEmpty()) {
      throw new IllegalArgumentException(message);
    }
    long unit = switch (Character.toLowerCase(text.charAt(text.length() - 1))) {
      case 'k' -> 1L << 10;
      case 'm' -> 1L << 20;
      case 'g' -> 1L << 30;
      default -> 1;
    };
    String digits = unit == 1 ? text : text.substring(0, text.length() - 1);
    if (digits.isEmpty() || digits.length() > 12
        || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw new IllegalArgumentException(message);
    }
    long value = Long.parseLong(digits) * unit;
    if (value <= 0) {
      throw new IllegalArgumentException(message);
    }
    return value;
  }

  /** twemproxy's {@code nc_atoi}: digits only, no sign, no suffix. */
  private static int number(String text, String message) {
    if (text == null || text.isEmpty() || text.length() > 9 || !text.chars().allMatch(
        c -> c >= '0' && c <= '9')) {
      throw new IllegalArgumentException(message);
    }
    return Integer.parseInt(text);
  }
}
