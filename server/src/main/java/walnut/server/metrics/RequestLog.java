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
 * Recording is a map lookup and two {@link LongAdder} increments on the client's event loop; a
 * slow request also takes a line from a lock-free bucket holding one second of lines
 * ({@code linesPerSecond}): the lines left out are counted, and the next line says how many
 * there were. The counter counts every slow request, blocking commands excepted (they wait as
 * long as their client asked). Thread-safe.
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
  private final Map<String, PoolCounts> pools = new ConcurrentHashMap<>();
  /**
   * The slow log's limit, lock-free (the generic cell rate algorithm): the time, on
   * {@link System#nanoTime}, at which the bucket would be empty again; a line may go out while
   * that is less than a second ahead. And the lines left out since the last one logged.
   */
  private final java.util.concurrent.atomic.AtomicLong fullAt;
  private final long nanosPerLine;
  private final LongAdder leftOut = new LongAdder();

  /**
   * {@code thresholdMillis}: log requests at least this slow (0: no slow log);
   * {@code linesPerSecond}: the most slow-log lines a second.
   */
  public RequestLog(boolean commandMetrics, long thresholdMillis, int linesPerSecond) {
    this.commandMetrics = commandMetrics;
    this.thresholdNanos = thresholdMillis <= 0 ? Long.MAX_VALUE
        : TimeUnit.MILLISECONDS.toNanos(thresholdMillis);
    this.nanosPerLine = TimeUnit.SECONDS.toNanos(1) / linesPerSecond;
    this.fullAt = new java.util.concurrent.atomic.AtomicLong(System.nanoTime());
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
      int requestBytes, long replyBytes, boolean waits) {
    PoolCounts counts = pool(pool);
    if (commandMetrics) {
      counts.commands.computeIfAbsent(command == null ? OTHER : command,
          c -> new CommandLatency()).record(TimeUnit.NANOSECONDS.toMicros(Math.max(0, nanos)));
    }
    if (nanos >= thresholdNanos && !waits) { // a blocking command waits as long as asked
      counts.slow.increment();
      long skipped = take();
      if (skipped >= 0) {
        slowlog.warn("slow request: pool '{}' server '{}' command {} key {} {} ms, request {}"
            + " bytes, reply {} bytes{}", pool, server, command == null ? OTHER : command,
            quote(key), String.format(java.util.Locale.ROOT, "%.1f", nanos / 1e6), requestBytes,
            replyBytes,
            skipped == 0 ? "" : " (" + skipped + " more slow requests were not logged before"
                + " this one: --slowlog-rate)");
      }
    }
  }

  /**
   * Takes a line from the bucket (a second's worth of lines, refilled at the rate): -1 when there
   * is none (the line is left out), else how many were left out since the last one logged. No
   * lock: a flood of slow requests on every loop costs a read and a counter each.
   */
  private long take() {
    long now = System.nanoTime();
    long second = TimeUnit.SECONDS.toNanos(1);
    while (true) {
      long at = fullAt.get();
      long from = at - now > 0 ? at : now; // an idle bucket holds a second's lines, no more
      if (from - now + nanosPerLine > second) { // differences: nanoTime may wrap
        leftOut.increment();
        return -1;
      }
      if (fullAt.compareAndSet(at, from + nanosPerLine)) {
        return leftOut.sumThenReset();
      }
    }
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
