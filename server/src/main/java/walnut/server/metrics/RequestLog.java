package walnut.server.metrics;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.proxy.RequestObserver;

/**
 * What {@code --command-metrics} and {@code --slowlog-threshold} record of each forwarded
 * request: its latency in the histogram of its pool and command, and, past the threshold, a line
 * in the slow log (logger {@code walnut.slowlog}, so it can be sent elsewhere) and a count.
 *
 * <p>The commands are the protocol's fixed set plus {@code other}, so the label stays bounded.
 * Recording is a map lookup and two {@link LongAdder} increments on the client's event loop;
 * only a slow request takes a lock, to keep the log within {@code linesPerSecond} (a token
 * bucket holding one second of lines): the lines left out are counted, and the next line says
 * how many there were. The counter counts every slow request. Thread-safe.
 */
public final class RequestLog implements RequestObserver {

  static final String OTHER = "other";
  private static final Logger slowlog = LoggerFactory.getLogger("walnut.slowlog");

  /** One pool's counts. */
  static final class PoolCounts {
    final Map<String, CommandLatency> commands = new ConcurrentHashMap<>();
    final LongAdder slow = new LongAdder();
  }

  /** One command's latencies in {@link LatencyBuckets#BOUNDS_SECONDS}, exact to the µs. */
  static final class CommandLatency {
    final LongAdder[] buckets = new LongAdder[LatencyBuckets.BOUNDS_SECONDS.length + 1];
    final LongAdder sumMicros = new LongAdder();

    CommandLatency() {
      for (int i = 0; i < buckets.length; i++) {
        buckets[i] = new LongAdder();
      }
    }

    void record(long micros) {
      buckets[LatencyBuckets.bucketOf(micros)].increment();
      sumMicros.add(micros);
    }
  }

  private final boolean commandMetrics;
  private final long thresholdNanos;
  private final int linesPerSecond;
  private final Map<String, PoolCounts> pools = new ConcurrentHashMap<>();
  /** The slow log's token bucket and the lines it left out (guarded by this). */
  private double tokens;
  private long refilledAt = System.nanoTime();
  private long leftOut;

  /**
   * {@code thresholdMillis}: log requests at least this slow (0: no slow log);
   * {@code linesPerSecond}: the most slow-log lines a second.
   */
  public RequestLog(boolean commandMetrics, long thresholdMillis, int linesPerSecond) {
    this.commandMetrics = commandMetrics;
    this.thresholdNanos = thresholdMillis <= 0 ? Long.MAX_VALUE
        : TimeUnit.MILLISECONDS.toNanos(thresholdMillis);
    this.linesPerSecond = linesPerSecond;
    this.tokens = linesPerSecond;
  }

  boolean commandMetrics() {
    return commandMetrics;
  }

  boolean slowlog() {
    return thresholdNanos != Long.MAX_VALUE;
  }

  /** The counts of {@code pool}, made on first use. */
  PoolCounts pool(String pool) {
    return pools.computeIfAbsent(pool, p -> new PoolCounts());
  }

  @Override
  public boolean wantsKeys() {
    return slowlog();
  }

  @Override
  public void completed(String pool, String server, String command, byte[] key, long nanos,
      int requestBytes, long replyBytes) {
    PoolCounts counts = pool(pool);
    if (commandMetrics) {
      counts.commands.computeIfAbsent(command == null ? OTHER : command,
          c -> new CommandLatency()).record(TimeUnit.NANOSECONDS.toMicros(Math.max(0, nanos)));
    }
    if (nanos >= thresholdNanos) {
      counts.slow.increment();
      long skipped = take();
      if (skipped >= 0) {
        slowlog.warn("slow request: pool '{}' server '{}' command {} key {} {} ms, request {}"
            + " bytes, reply {} bytes{}", pool, server, command == null ? OTHER : command,
            quote(key), String.format("%.1f", nanos / 1e6), requestBytes, replyBytes,
            skipped == 0 ? "" : " (" + skipped + " more slow requests were not logged before"
                + " this one: --slowlog-rate)");
      }
    }
  }

  /**
   * Takes a line from the bucket: -1 when there is none (the line is left out), else how many
   * lines were left out since the last one logged.
   */
  private synchronized long take() {
    long now = System.nanoTime();
    tokens = Math.min(linesPerSecond, tokens + (now - refilledAt) * linesPerSecond / 1e9);
    refilledAt = now;
    if (tokens < 1) {
      leftOut++;
      return -1;
    }
    tokens -= 1;
    long skipped = leftOut;
    leftOut = 0;
    return skipped;
  }

  /**
   * A key for a log line: quoted, printable ASCII as is, other bytes as {@code \xNN}; cut to
   * {@link #KEY_BYTES} bytes, with {@code ...} after the quote when it was longer.
   */
  static String quote(byte[] key) {
    if (key == null) {
      return "-";
    }
    int n = Math.min(key.length, KEY_BYTES);
    StringBuilder b = new StringBuilder(n + 5).append('\'');
    for (int i = 0; i < n; i++) {
      int c = key[i] & 0xff;
      if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
        b.append((char) c);
      } else {
        b.append(String.format("\\x%02x", c));
      }
    }
    return b.append(key.length > KEY_BYTES ? "'..." : "'").toString();
  }
}
