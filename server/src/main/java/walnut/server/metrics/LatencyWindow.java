package walnut.server.metrics;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import org.HdrHistogram.Histogram;
import walnut.core.stats.Latency;
import walnut.core.stats.ProxyStats;

/**
 * Each pool's request latencies over about the last minute, for the status page: the pools'
 * cumulative histograms are sampled every {@link #STEP_MILLIS}, and a window is the latest
 * reading minus the sample taken a minute before it (since start, for the first minute).
 *
 * <p>Runs on the metrics server's threads only: a sample copies each pool's histogram (a few tens
 * of KiB) every ten seconds, and nothing is added to the request path. Thread-safe.
 */
final class LatencyWindow {

  static final long WINDOW_MILLIS = 60_000;
  static final long STEP_MILLIS = 10_000;

  private record Sample(long atMillis, Histogram cumulative) {}

  /** A pool's samples, oldest first, and the histogram they were read from. */
  private static final class Samples {
    final Latency source;
    final ArrayDeque<Sample> kept = new ArrayDeque<>();

    Samples(Latency source) {
      this.source = source;
    }
  }

  private final Map<String, Samples> pools = new HashMap<>();

  /** Takes a reading of every pool (the metrics server's timer). */
  synchronized void sample(ProxyStats stats, long nowMillis) {
    Map<String, Samples> seen = new HashMap<>();
    for (ProxyStats.Pool pool : stats.pools()) {
      Samples s = pools.get(pool.name());
      if (s == null || s.source != pool.latency()) {
        s = new Samples(pool.latency()); // new, or a reload made the pool anew
      }
      s.kept.addLast(new Sample(nowMillis, pool.latency().snapshot()));
      while (s.kept.size() > 1 && s.kept.peekFirst().atMillis() < nowMillis - WINDOW_MILLIS
          - STEP_MILLIS) {
        s.kept.removeFirst();
      }
      seen.put(pool.name(), s);
    }
    pools.clear();
    pools.putAll(seen); // pools a reload removed are forgotten
  }

  /**
   * {@code pool}'s latencies from about a minute before {@code nowMillis} to now, and how many
   * seconds that covers; the whole history when no sample is old enough.
   */
  synchronized Window window(ProxyStats.Pool pool, long nowMillis, long startMillis) {
    Histogram now = pool.latency().snapshot();
    Samples s = pools.get(pool.name());
    Sample base = null;
    if (s != null && s.source == pool.latency()) {
      for (Sample sample : s.kept) {
        if (sample.atMillis() <= nowMillis - WINDOW_MILLIS) {
          base = sample; // the youngest sample a minute old
        }
      }
    }
    if (base == null) { // the whole history: since the pool's histogram began
      long began = Math.max(startMillis, pool.latency().createdMillis());
      return new Window(now, Math.max(1, (nowMillis - began) / 1000));
    }
    now.subtract(base.cumulative());
    return new Window(now, Math.max(1, (nowMillis - base.atMillis()) / 1000));
  }

  /** Latencies in microseconds over {@code seconds}. */
  record Window(Histogram micros, long seconds) {}
}
