package walnut.server.metrics;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.InfoSnapshot;
import io.prometheus.metrics.model.snapshots.InfoSnapshot.InfoDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.List;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.stats.HealthStat;
import walnut.core.stats.PinStat;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ProxyStats;
import walnut.core.stats.SentinelStats;
import walnut.core.stats.ServerStat;
import walnut.core.stats.Type;

/**
 * Reads the proxy's counters when Prometheus scrapes and hands them to the client library as
 * snapshots: every twemproxy pool and server field (labels {@code pool}, {@code server}), the
 * process-wide connection totals, one request-latency histogram per pool, the build, and the
 * configuration reloads. Nothing is kept between scrapes and nothing runs on the request path.
 *
 * <p>Names follow Prometheus' conventions: {@code walnut_pool_*} and {@code walnut_server_*}, a
 * counter's name ends in {@code _total} (the text writer adds it), units are spelled out
 * ({@code _bytes}, {@code _seconds}). {@link #poolFamily} and {@link #serverFamily} are the table
 * from twemproxy's field names; a field added to {@link PoolStat} or {@link ServerStat} does not
 * compile until it has its name here.
 *
 * <p>Thread-safe: the stats are thread-safe and each scrape builds its own snapshots.
 */
public final class WalnutCollector implements MultiCollector {

  /** What {@code walnut_build_info} says. */
  public record BuildInfo(String version, String transport, int threads) {}

  /** One metric family: its name (without {@code _total}), help text, type and unit. */
  record Family(String name, String help, Type type, Unit unit) {}

  private static final Logger log = LoggerFactory.getLogger(WalnutCollector.class);

  private final ProxyStats stats;
  private final BuildInfo build;
  private final ReloadHistory reloads;
  /** What --command-metrics and --slowlog-threshold recorded; {@code null} when both are off. */
  private final RequestLog requests;

  public WalnutCollector(ProxyStats stats, BuildInfo build, ReloadHistory reloads) {
    this(stats, build, reloads, null);
  }

  public WalnutCollector(ProxyStats stats, BuildInfo build, ReloadHistory reloads,
      RequestLog requests) {
    this.stats = stats;
    this.build = build;
    this.reloads = reloads;
    this.requests = requests;
  }

  static Family poolFamily(PoolStat field) {
    return switch (field) {
      case CLIENT_EOF -> new Family("walnut_pool_client_eof",
          "Client connections closed by the client (twemproxy client_eof)", Type.COUNTER, null);
      case CLIENT_ERR -> new Family("walnut_pool_client_err",
          "Client connections closed on an error (twemproxy client_err)", Type.COUNTER, null);
      case CLIENT_CONNECTIONS -> new Family("walnut_pool_client_connections",
          "Open client connections (twemproxy client_connections)", Type.GAUGE, null);
      case SERVER_EJECTS -> new Family("walnut_pool_server_ejects",
          "Times a server was ejected (twemproxy server_ejects)", Type.COUNTER, null);
      case FORWARD_ERROR -> new Family("walnut_pool_forward_error",
          "Error replies the proxy made for clients (twemproxy forward_error)", Type.COUNTER,
          null);
      case FRAGMENTS -> new Family("walnut_pool_fragments",
          "Sub-requests created by splitting multi-key requests (twemproxy fragments)",
          Type.COUNTER, null);
    };
  }

  static Family serverFamily(ServerStat field) {
    return switch (field) {
      case SERVER_EOF -> new Family("walnut_server_eof",
          "Server connections closed by the server (twemproxy server_eof)", Type.COUNTER, null);
      case SERVER_ERR -> new Family("walnut_server_err",
          "Server connections closed on an error (twemproxy server_err)", Type.COUNTER, null);
      case SERVER_TIMEDOUT -> new Family("walnut_server_timedout",
          "Server connections closed by a request timeout (twemproxy server_timedout)",
          Type.COUNTER, null);
      case SERVER_CONNECTIONS -> new Family("walnut_server_connections",
          "Open server connections (twemproxy server_connections)", Type.GAUGE, null);
      case SERVER_EJECTED_AT -> new Family("walnut_server_ejected_timestamp_seconds",
          "When the server was last ejected, seconds since the epoch; 0 if never"
              + " (twemproxy server_ejected_at, in microseconds there)", Type.TIMESTAMP,
          Unit.SECONDS);
      case REQUESTS -> new Family("walnut_server_requests",
          "Requests and fragments sent to the server (twemproxy requests)", Type.COUNTER, null);
      case REQUEST_BYTES -> new Family("walnut_server_request_bytes",
          "Bytes of those requests (twemproxy request_bytes)", Type.COUNTER, Unit.BYTES);
      case RESPONSES -> new Family("walnut_server_responses",
          "Replies received from the server (twemproxy responses)", Type.COUNTER, null);
      case RESPONSE_BYTES -> new Family("walnut_server_response_bytes",
          "Bytes of those replies (twemproxy response_bytes)", Type.COUNTER, Unit.BYTES);
      case IN_QUEUE -> new Family("walnut_server_in_queue_requests",
          "Requests waiting to be written to the server (twemproxy in_queue)", Type.GAUGE, null);
      case IN_QUEUE_BYTES -> new Family("walnut_server_in_queue_bytes",
          "Bytes of requests waiting to be written (twemproxy in_queue_bytes)", Type.GAUGE,
          Unit.BYTES);
      case OUT_QUEUE -> new Family("walnut_server_out_queue_requests",
          "Requests written and awaiting a reply (twemproxy out_queue)", Type.GAUGE, null);
      case OUT_QUEUE_BYTES -> new Family("walnut_server_out_queue_bytes",
          "Bytes of requests awaiting a reply (twemproxy out_queue_bytes)", Type.GAUGE,
          Unit.BYTES);
    };
  }

  @Override
  public MetricSnapshots collect() {
    List<ProxyStats.Pool> pools = stats.pools();
    MetricSnapshots.Builder out = MetricSnapshots.builder();
    out.metricSnapshot(info());
    out.metricSnapshot(counter("walnut_connections_opened",
        "Connections ever opened: listeners, clients and servers (twemproxy total_connections)",
        null, Labels.EMPTY, stats.totalConnections()));
    out.metricSnapshot(gauge("walnut_open_connections",
        "Connections open now, listeners included (twemproxy curr_connections)", null,
        Labels.EMPTY, stats.currentConnections()));
    out.metricSnapshot(gauge("walnut_start_time_seconds",
        "When the proxy started, seconds since the epoch", Unit.SECONDS, Labels.EMPTY,
        stats.startMillis() / 1000.0));
    reloadMetrics(out);
    for (PoolStat field : PoolStat.values()) {
      out.metricSnapshot(family(poolFamily(field), pools, null,
          pool -> pool.counters().get(field)));
    }
    for (ServerStat field : ServerStat.values()) {
      Family family = serverFamily(field);
      out.metricSnapshot(family(family, pools, field, null));
    }
    for (HealthStat field : HealthStat.values()) {
      out.metricSnapshot(health(field, pools));
    }
    for (PinStat field : PinStat.values()) {
      out.metricSnapshot(pinned(field, pools));
    }
    sentinelMetrics(out, pools);
    TlsMetrics.write(out, stats.tls());
    if (requests != null && requests.commandMetrics()) {
      out.metricSnapshot(CommandMetrics.latency(pools, requests));
    } else {
      out.metricSnapshot(latency(pools));
    }
    if (requests != null && requests.slowlog()) {
      out.metricSnapshot(CommandMetrics.slow(pools, requests));
    }
    return out.build();
  }

  /**
   * Walnut's Sentinel state (docs/compatibility.md#sentinel), for the pools with sentinels: where
   * each server is now, the failovers that moved it, whether each sentinel answers.
   */
  private static void sentinelMetrics(MetricSnapshots.Builder out, List<ProxyStats.Pool> pools) {
    InfoSnapshot.Builder address = InfoSnapshot.builder().name("walnut_server_address")
        .help("Where a server of a pool with sentinels is now (its master's address)");
    CounterSnapshot.Builder failovers = CounterSnapshot.builder()
        .name("walnut_server_failovers")
        .help("Failovers that moved a server of a pool with sentinels to another address");
    GaugeSnapshot.Builder up = GaugeSnapshot.builder().name("walnut_sentinel_up")
        .help("Whether a sentinel of the pool answered the last time it was asked (1) or not");
    boolean any = false;
    for (ProxyStats.Pool pool : pools) {
      SentinelStats sentinels = pool.sentinels();
      if (sentinels == null) {
        continue;
      }
      any = true;
      for (int s = 0; s < pool.servers().size(); s++) {
        String server = pool.servers().get(s).name();
        address.dataPoint(InfoDataPointSnapshot.builder().labels(Labels.of("pool", pool.name(),
            "server", server, "address", sentinels.address(s))).build());
        failovers.dataPoint(CounterDataPointSnapshot.builder()
            .labels(Labels.of("pool", pool.name(), "server", server))
            .value(sentinels.failovers(s)).build());
      }
      for (int i = 0; i < sentinels.sentinels().size(); i++) {
        up.dataPoint(GaugeDataPointSnapshot.builder()
            .labels(Labels.of("pool", pool.name(), "sentinel", sentinels.sentinels().get(i)))
            .value(sentinels.up(i) ? 1 : 0).build());
      }
    }
    if (any) { // no empty families where no pool has sentinels
      out.metricSnapshot(address.build());
      out.metricSnapshot(failovers.build());
      out.metricSnapshot(up.build());
    }
  }

  /** Walnut's probe counters, for the servers of the pools that probe. */
  private static MetricSnapshot health(HealthStat field, List<ProxyStats.Pool> pools) {
    CounterSnapshot.Builder b = CounterSnapshot.builder()
        .name("walnut_server_" + field.field())
        .help(switch (field) {
          case HEALTH_PROBES -> "Probes of an ejected server (health_check_interval)";
          case HEALTH_PROBE_FAILURES -> "Probes of an ejected server that failed";
          case HEALTH_RETURNS -> "Times an ejected server returned after a probe succeeded";
        });
    for (ProxyStats.Pool pool : pools) {
      if (!pool.healthChecked()) {
        continue;
      }
      for (ProxyStats.Server server : pool.servers()) {
        b.dataPoint(CounterDataPointSnapshot.builder()
            .labels(Labels.of("pool", pool.name(), "server", server.name()))
            .value(server.health().get(field)).build());
      }
    }
    return b.build();
  }

  /**
   * Walnut's private server connections (max_pinned_connections), for every server of every
   * pool, used or not: unlike the stats JSON there is no twemproxy layout to keep, and a
   * dashboard or an alert wants the series before the first transaction.
   */
  private static MetricSnapshot pinned(PinStat field, List<ProxyStats.Pool> pools) {
    String help = switch (field) {
      case PINNED_CONNECTIONS -> "Private server connections held by clients now (transactions,"
          + " blocking commands), per server; at most max_pinned_connections";
      case PINNED_TAKEN -> "Times a client took a private server connection";
      case PINNED_REFUSED -> "Requests refused because max_pinned_connections private"
          + " connections to the server were in use";
    };
    String name = "walnut_" + field.field();
    if (field.type() == Type.GAUGE) {
      GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help);
      for (ProxyStats.Pool pool : pools) {
        for (ProxyStats.Server server : pool.servers()) {
          b.dataPoint(GaugeDataPointSnapshot.builder()
              .labels(Labels.of("pool", pool.name(), "server", server.name()))
              .value(server.pinned().get(field)).build());
        }
      }
      return b.build();
    }
    CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
    for (ProxyStats.Pool pool : pools) {
      for (ProxyStats.Server server : pool.servers()) {
        b.dataPoint(CounterDataPointSnapshot.builder()
            .labels(Labels.of("pool", pool.name(), "server", server.name()))
            .value(server.pinned().get(field)).build());
      }
    }
    return b.build();
  }

  private MetricSnapshot info() {
    return InfoSnapshot.builder().name("walnut_build")
        .help("The running Walnut: version, I/O transport and event-loop threads")
        .dataPoint(InfoDataPointSnapshot.builder()
            .labels(Labels.of("version", build.version(), "transport", build.transport(),
                "threads", Integer.toString(build.threads())))
            .build())
        .build();
  }

  private void reloadMetrics(MetricSnapshots.Builder out) {
    ReloadHistory.Snapshot r = reloads.snapshot();
    out.metricSnapshot(gauge("walnut_config_last_reload_successful",
        "1 if the last configuration reload (or the start) took effect, 0 if it was rejected",
        null, Labels.EMPTY, r.lastSucceeded() ? 1 : 0));
    out.metricSnapshot(gauge("walnut_config_last_reload_success_timestamp_seconds",
        "When a configuration last took effect (reload or start), seconds since the epoch",
        Unit.SECONDS, Labels.EMPTY, r.lastSuccessMillis() / 1000.0));
    out.metricSnapshot(counter("walnut_config_reloads",
        "Configuration reloads attempted (SIGUSR1 or --watch-config)", null, Labels.EMPTY,
        r.attempts()));
    out.metricSnapshot(counter("walnut_config_reload_failures",
        "Configuration reloads rejected, the running configuration kept", null, Labels.EMPTY,
        r.failures()));
  }

  /** One pool field ({@code serverField} null) or one server field over every pool. */
  private static MetricSnapshot family(Family f, List<ProxyStats.Pool> pools,
      ServerStat serverField, ToDoubleFunction<ProxyStats.Pool> poolValue) {
    if (f.type() == Type.COUNTER) {
      CounterSnapshot.Builder b = CounterSnapshot.builder().name(f.name()).help(f.help());
      if (f.unit() != null) {
        b.unit(f.unit());
      }
      for (ProxyStats.Pool pool : pools) {
        if (serverField == null) {
          b.dataPoint(CounterDataPointSnapshot.builder().labels(Labels.of("pool", pool.name()))
              .value(poolValue.applyAsDouble(pool)).build());
          continue;
        }
        for (ProxyStats.Server server : pool.servers()) {
          b.dataPoint(CounterDataPointSnapshot.builder()
              .labels(Labels.of("pool", pool.name(), "server", server.name()))
              .value(server.counters().get(serverField)).build());
        }
      }
      return b.build();
    }
    GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(f.name()).help(f.help());
    if (f.unit() != null) {
      b.unit(f.unit());
    }
    for (ProxyStats.Pool pool : pools) {
      if (serverField == null) {
        b.dataPoint(GaugeDataPointSnapshot.builder().labels(Labels.of("pool", pool.name()))
            .value(poolValue.applyAsDouble(pool)).build());
        continue;
      }
      for (ProxyStats.Server server : pool.servers()) {
        long raw = server.counters().get(serverField);
        double value = f.type() == Type.TIMESTAMP ? raw / 1_000_000.0 : raw;
        b.dataPoint(GaugeDataPointSnapshot.builder()
            .labels(Labels.of("pool", pool.name(), "server", server.name()))
            .value(value).build());
      }
    }
    return b.build();
  }

  private static MetricSnapshot latency(List<ProxyStats.Pool> pools) {
    HistogramSnapshot.Builder b = HistogramSnapshot.builder()
        .name("walnut_pool_request_duration_seconds")
        .help("Time from a request's arrival to its reply being ready, per pool")
        .unit(Unit.SECONDS);
    for (ProxyStats.Pool pool : pools) {
      LatencyBuckets.Folded folded;
      try {
        folded = LatencyBuckets.fold(pool.latency().snapshot());
      } catch (RuntimeException e) {
        // The counters are worth serving without this pool's histogram.
        log.warn("metrics: pool '{}': latency histogram unavailable: {}", pool.name(),
            e.toString());
        continue;
      }
      b.dataPoint(HistogramDataPointSnapshot.builder()
          .labels(Labels.of("pool", pool.name()))
          .classicHistogramBuckets(folded.buckets())
          .sum(folded.sumSeconds())
          .build());
    }
    return b.build();
  }

  private static MetricSnapshot counter(String name, String help, Unit unit, Labels labels,
      double value) {
    CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
    if (unit != null) {
      b.unit(unit);
    }
    return b.dataPoint(CounterDataPointSnapshot.builder().labels(labels).value(value).build())
        .build();
  }

  private static MetricSnapshot gauge(String name, String help, Unit unit, Labels labels,
      double value) {
    GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help);
    if (unit != null) {
      b.unit(unit);
    }
    return b.dataPoint(GaugeDataPointSnapshot.builder().labels(labels).value(value).build())
        .build();
  }
}
