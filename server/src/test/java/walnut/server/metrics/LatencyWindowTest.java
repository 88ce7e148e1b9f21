package walnut.server.metrics;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import walnut.core.stats.Counters;
import walnut.core.stats.Latency;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ProxyStats;

/**
 * The status page's "last window_s seconds": a pool a reload added (or made anew, with a new
 * histogram) ten minutes after the proxy started has latencies of its last few seconds only, but
 * for its first minute the window says it covers the proxy's whole uptime.
 */
class LatencyWindowTest {

  @Test
  void aPoolAddedByAReloadIsNotSaidToCoverTheProxysUptime() {
    long start = 1_000_000;
    ProxyStats.Pool late = new ProxyStats.Pool("late", new Counters<>(PoolStat.class), List.of(),
        new Latency());
    ProxyStats stats = new ProxyStats(List.of(late));
    LatencyWindow window = new LatencyWindow();
    long added = start + 600_000; // ten minutes of uptime before the reload
    window.sample(stats, added);
    late.latency().newRecorder().record(5_000_000);
    LatencyWindow.Window w = window.window(late, added + 10_000, start);
    assertTrue(w.seconds() <= 60, "the histogram holds at most ten seconds of requests, the page"
        + " says 'last " + w.seconds() + " s'");
  }
}
