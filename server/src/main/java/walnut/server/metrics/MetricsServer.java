package walnut.server.metrics;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import walnut.core.stats.ProxyStats;

/**
 * The Prometheus endpoint ({@code --metrics-port}): the official client's HTTP exporter serving
 * {@code /metrics} (text exposition, or OpenMetrics and protobuf when a scraper asks for them) and
 * {@code /-/healthy}, from its own small pool of daemon threads, never the proxy's event loops.
 * Everything is read at scrape time by a {@link WalnutCollector} in a registry of its own (not the
 * client's global default registry, so an embedder's metrics stay theirs).
 */
public final class MetricsServer implements AutoCloseable {

  private final HTTPServer server;

  private MetricsServer(HTTPServer server) {
    this.server = server;
  }

  /**
   * Binds {@code address}:{@code port} (0: any free port) and serves the metrics of
   * {@code stats}; throws {@link IllegalStateException} naming the address when it cannot bind.
   */
  public static MetricsServer start(ProxyStats stats, WalnutCollector.BuildInfo build,
      ReloadHistory reloads, String address, int port) {
    PrometheusRegistry registry = new PrometheusRegistry();
    registry.register(new WalnutCollector(stats, build, reloads));
    try {
      return new MetricsServer(HTTPServer.builder().hostname(address).port(port)
          .registry(registry).buildAndStart());
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("bind on metrics addr '" + address + ":" + port
          + "' failed: " + e.getMessage(), e);
    }
  }

  public int port() {
    return server.getPort();
  }

  @Override
  public void close() {
    server.close();
  }
}
