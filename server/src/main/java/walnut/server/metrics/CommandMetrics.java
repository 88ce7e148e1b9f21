package walnut.server.metrics;

import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import walnut.core.stats.ProxyStats;

/**
 * The families a {@link RequestLog} adds to a scrape: the latency histogram labelled by
 * {@code pool} and {@code command} ({@code --command-metrics}, in place of the per-pool one), and
 * {@code walnut_slow_requests_total} ({@code --slowlog-threshold}).
 */
final class CommandMetrics {

  private CommandMetrics() {}

  static MetricSnapshot latency(List<ProxyStats.Pool> pools, RequestLog requests) {
    HistogramSnapshot.Builder b = HistogramSnapshot.builder()
        .name("walnut_pool_request_duration_seconds")
        .help("Time from a request's arrival to its reply being ready, per pool and command")
        .unit(Unit.SECONDS);
    double[] bounds = new double[LatencyBuckets.BOUNDS_SECONDS.length + 1];
    System.arraycopy(LatencyBuckets.BOUNDS_SECONDS, 0, bounds, 0, bounds.length - 1);
    bounds[bounds.length - 1] = Double.POSITIVE_INFINITY;
    for (ProxyStats.Pool pool : pools) {
      Map<String, RequestLog.CommandLatency> sorted =
          new TreeMap<>(requests.pool(pool.name()).commands);
      for (Map.Entry<String, RequestLog.CommandLatency> e : sorted.entrySet()) {
        RequestLog.CommandLatency c = e.getValue();
        long[] counts = new long[bounds.length];
        for (int i = 0; i < counts.length; i++) {
          counts[i] = c.buckets[i].sum();
        }
        b.dataPoint(HistogramDataPointSnapshot.builder()
            .labels(Labels.of("pool", pool.name(), "command", e.getKey()))
            .classicHistogramBuckets(ClassicHistogramBuckets.of(bounds, counts))
            .sum(c.sumMicros.sum() / 1e6)
            .build());
      }
    }
    return b.build();
  }

  static MetricSnapshot slow(List<ProxyStats.Pool> pools, RequestLog requests) {
    CounterSnapshot.Builder b = CounterSnapshot.builder().name("walnut_slow_requests")
        .help("Requests slower than --slowlog-threshold, logged or not (--slowlog-rate)");
    for (ProxyStats.Pool pool : pools) {
      b.dataPoint(CounterDataPointSnapshot.builder().labels(Labels.of("pool", pool.name()))
          .value(requests.pool(pool.name()).slow.sum()).build());
    }
    return b.build();
  }
}
