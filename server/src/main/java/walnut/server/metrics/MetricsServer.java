package walnut.server.metrics;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.LoggerFactory;
import walnut.core.proxy.ProxyServer;

/**
 * The metrics port ({@code --metrics-port}): the official Prometheus client's HTTP exporter
 * serving {@code /metrics} (text exposition, or OpenMetrics and protobuf when a scraper asks for
 * them) and {@code /-/healthy}, and Walnut's {@link StatusPage} at {@code /},
 * {@code /status.json} and {@code /locate}, from the exporter's own small pool of daemon threads,
 * never the proxy's event loops. Everything is read when asked: by a {@link WalnutCollector} in a
 * registry of its own (not the client's global default registry, so an embedder's metrics stay
 * theirs), and by the status page; one daemon thread samples the latency histograms every ten
 * seconds for the page's last-minute percentiles.
 */
public final class MetricsServer implements AutoCloseable {

  private final HTTPServer server;
  private final ScheduledExecutorService sampler;

  private MetricsServer(HTTPServer server, ScheduledExecutorService sampler) {
    this.server = server;
    this.sampler = sampler;
  }

  /**
   * Binds {@code address}:{@code port} (0: any free port) and serves the metrics and status of
   * {@code proxy}; {@code requests}: what {@code --command-metrics} and {@code --slowlog-threshold}
   * record, or {@code null} when both are off. Throws {@link IllegalStateException} naming the
   * address when it cannot bind.
   */
  public static MetricsServer start(ProxyServer proxy, WalnutCollector.BuildInfo build,
      ReloadHistory reloads, RequestLog requests, String address, int port) {
    PrometheusRegistry registry = new PrometheusRegistry();
    registry.register(new WalnutCollector(proxy.stats(), build, reloads, requests));
    LatencyWindow latencies = new LatencyWindow();
    ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "walnut-latency-sampler");
      t.setDaemon(true);
      return t;
    });
    try {
      HTTPServer server = HTTPServer.builder().hostname(address).port(port).registry(registry)
          .defaultHandler(new StatusPage(proxy, build, reloads, latencies)).buildAndStart();
      sampler.scheduleAtFixedRate(() -> {
        try {
          latencies.sample(proxy.stats(), System.currentTimeMillis());
        } catch (RuntimeException e) { // a failed sample must not stop the next ones
          LoggerFactory.getLogger(MetricsServer.class).warn("status page: sampling latencies"
              + " failed: {}", e.toString());
        }
      }, 0, LatencyWindow.STEP_MILLIS, TimeUnit.MILLISECONDS);
      return new MetricsServer(server, sampler);
    } catch (IOException | RuntimeException e) {
      sampler.shutdownNow();
      throw new IllegalStateException("bind on metrics addr '" + address + ":" + port
          + "' failed: " + e.getMessage(), e);
    }
  }

  public int port() {
    return server.getPort();
  }

  @Override
  public void close() {
    sampler.shutdownNow();
    server.close();
  }
}
