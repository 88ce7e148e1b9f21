package walnut.server;

import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.config.ProxyConfig;
import walnut.core.plugin.PluginRegistry;
import walnut.core.plugin.TransportSelector;
import walnut.core.proxy.EngineOptions;
import walnut.core.proxy.ProxyServer;
import walnut.core.spi.Transport;
import walnut.server.metrics.MetricsServer;
import walnut.server.metrics.ReloadHistory;
import walnut.server.metrics.RequestLog;
import walnut.server.metrics.WalnutCollector;
import walnut.server.stats.StatsServer;

/**
 * The proxy with its stats port, its metrics endpoint (when {@code --metrics-port} is given) and
 * its configuration reloader, started and stopped together.
 */
final class RunningProxy implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(RunningProxy.class);

  private final ProxyServer proxy;
  private final StatsServer stats;
  private final MetricsServer metrics;
  private final ConfigReloader reloader;
  private final Options options;

  private RunningProxy(ProxyServer proxy, StatsServer stats, MetricsServer metrics,
      ConfigReloader reloader, Options options) {
    this.proxy = proxy;
    this.stats = stats;
    this.metrics = metrics;
    this.reloader = reloader;
    this.options = options;
  }

  /**
   * Starts serving {@code config}, read from {@code confFile} whose contents had digest
   * {@code confDigest} ({@link ConfigReloader#digest}) just before it was read.
   */
  static RunningProxy start(ProxyConfig config, PluginRegistry plugins, Options options,
      Path confFile, byte[] confDigest) throws InterruptedException {
    warnAboutTwemproxyDifferences(config);
    Transport transport = TransportSelector.select(plugins, options.transport());
    Options.Observability seen = options.observability();
    RequestLog requests = seen.any() ? new RequestLog(seen.commandMetrics(),
        seen.slowlogThresholdMillis(), seen.slowlogRate()) : null;
    EngineOptions engine = new EngineOptions(options.threads(),
        EngineOptions.DEFAULT_MAX_PENDING_PER_CLIENT, options.clientPendingLimit(),
        options.shutdownGrace(), options.maxServerConnections(), options.slowReaderLimit())
        .withTls(options.tlsEngine(), options.tlsHandshakeTimeout()).withObserver(requests);
    ProxyServer proxy = ProxyServer.start(config, plugins, transport, engine);
    StatsServer stats;
    try {
      stats = StatsServer.start(proxy, options.statsAddr(), options.statsPort());
    } catch (RuntimeException e) {
      proxy.shutdown(java.time.Duration.ZERO);
      throw e;
    }
    ReloadHistory history = new ReloadHistory(proxy.stats().startMillis());
    MetricsServer metrics = null;
    if (options.metricsPort() > 0) {
      try {
        metrics = MetricsServer.start(proxy, new WalnutCollector.BuildInfo(Main.VERSION,
            transport.name(), options.threads()), history, requests, options.metricsAddr(),
            options.metricsPort());
      } catch (RuntimeException e) {
        stats.close();
        proxy.shutdown(java.time.Duration.ZERO);
        throw e;
      }
    }
    ConfigReloader reloader = new ConfigReloader(confFile, confDigest, plugins, proxy, history,
        options.watchConfig());
    log.info("walnut-{} started: {} threads, transport {}, stats on {}:{}{}", Main.VERSION,
        options.threads(), transport.name(), options.statsAddr(), stats.port(),
        metrics == null ? "" : ", metrics on http://" + options.metricsAddr() + ":"
            + metrics.port() + "/metrics (status page at /)");
    return new RunningProxy(proxy, stats, metrics, reloader, options);
  }

  /** Reloads the configuration file in the background (SIGUSR1). */
  void reload(String trigger) {
    reloader.requestReload(trigger);
  }

  int statsPort() {
    return stats.port();
  }

  /** The metrics port, or 0 when there is no metrics endpoint. */
  int metricsPort() {
    return metrics == null ? 0 : metrics.port();
  }

  /**
   * twemproxy 0.5.0 sends SELECT before AUTH on a new server connection, so on a server with a
   * password its SELECT fails and the pool's data goes to database 0; Walnut authenticates first
   * and uses {@code redis_db}. The same file therefore writes to another database after a
   * migration, which the operator must hear about.
   */
  static void warnAboutTwemproxyDifferences(ProxyConfig config) {
    config.pools().forEach(pool -> {
      if (pool.redisAuth() != null && pool.redisDb() != 0) {
        log.warn("pool '{}': redis_auth and redis_db {} are both set: Walnut sends AUTH, then"
            + " SELECT {}, so data goes to database {}; twemproxy 0.5.0 sent SELECT before AUTH,"
            + " which failed, and wrote to database 0 (see the README's migration notes)",
            pool.name(), pool.redisDb(), pool.redisDb(), pool.redisDb());
      }
    });
  }

  ProxyServer proxy() {
    return proxy;
  }

  @Override
  public void close() throws InterruptedException {
    reloader.close();
    if (metrics != null) {
      metrics.close();
    }
    stats.close();
    proxy.shutdown(options.shutdownGrace());
    log.info("walnut stopped");
  }
}
