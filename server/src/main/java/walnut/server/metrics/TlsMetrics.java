package walnut.server.metrics;

import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.List;
import walnut.core.stats.TlsStats;

/**
 * Walnut's TLS metrics (docs/compatibility.md#tls), for the pools and sides that use TLS: failed
 * handshakes by reason, certificate reloads and refused reloads, and when Walnut's own
 * certificate expires. No family at all while no pool uses TLS.
 */
final class TlsMetrics {

  private TlsMetrics() {}

  static void write(MetricSnapshots.Builder out, TlsStats tls) {
    List<TlsStats.Counters> sides = tls.active();
    if (sides.isEmpty()) {
      return;
    }
    CounterSnapshot.Builder failures = CounterSnapshot.builder()
        .name("walnut_tls_handshake_failures")
        .help("TLS handshakes that failed (reason=failed) or did not finish in time"
            + " (reason=timeout); side=client: clients of the listener, side=server: Walnut's"
            + " connections to the servers");
    CounterSnapshot.Builder reloads = CounterSnapshot.builder().name("walnut_tls_reloads")
        .help("Times changed TLS files were loaded for new handshakes");
    CounterSnapshot.Builder refused = CounterSnapshot.builder().name("walnut_tls_reload_failures")
        .help("Changed TLS files that did not make a working context (the old one kept serving)");
    GaugeSnapshot.Builder expiry = GaugeSnapshot.builder()
        .name("walnut_tls_certificate_expiry_timestamp_seconds").unit(Unit.SECONDS)
        .help("When Walnut's own certificate for that side expires, seconds since the epoch");
    boolean anyExpiry = false;
    for (TlsStats.Counters c : sides) {
      String pool = c.pool();
      String side = c.side().label();
      failures.dataPoint(point(Labels.of("pool", pool, "reason", "failed", "side", side),
          c.handshakeFailures()));
      failures.dataPoint(point(Labels.of("pool", pool, "reason", "timeout", "side", side),
          c.handshakeTimeouts()));
      reloads.dataPoint(point(Labels.of("pool", pool, "side", side), c.reloads()));
      refused.dataPoint(point(Labels.of("pool", pool, "side", side), c.reloadFailures()));
      if (c.notAfter() > 0) {
        anyExpiry = true;
        expiry.dataPoint(GaugeDataPointSnapshot.builder()
            .labels(Labels.of("pool", pool, "side", side)).value(c.notAfter()).build());
      }
    }
    out.metricSnapshot(failures.build());
    out.metricSnapshot(reloads.build());
    out.metricSnapshot(refused.build());
    if (anyExpiry) {
      out.metricSnapshot(expiry.build());
    }
  }

  private static CounterDataPointSnapshot point(Labels labels, long value) {
    return CounterDataPointSnapshot.builder().labels(labels).value(value).build();
  }
}
