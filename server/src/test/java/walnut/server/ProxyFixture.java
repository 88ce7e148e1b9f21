package walnut.server;

import java.util.ArrayList;
import java.util.List;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ProxyConfig;
import walnut.core.config.ServerConfig;
import walnut.core.plugin.PluginRegistry;
import walnut.core.plugin.TransportSelector;
import walnut.core.proxy.EngineOptions;
import walnut.core.proxy.ProxyServer;
import walnut.core.spi.Transport;
import walnut.testing.MemcachedServer;
import walnut.testing.RedisServer;
import walnut.testing.ServerFixture;

/** Walnut in-process, on a free port, over real backends; closed by try-with-resources. */
final class ProxyFixture implements AutoCloseable {

  static final PluginRegistry PLUGINS = WalnutComponent.create().plugins();

  final ProxyServer proxy;
  final PoolConfig pool;

  private ProxyFixture(ProxyServer proxy, PoolConfig pool) {
    this.proxy = proxy;
    this.pool = pool;
  }

  /** A Redis pool named {@code test} over {@code backends}, unnamed servers of weight 1. */
  static PoolConfig.Builder redisPool(List<RedisServer> backends) {
    List<ServerConfig> servers = new ArrayList<>();
    for (RedisServer backend : backends) {
      servers.add(ServerConfig.of(Endpoint.tcp(backend.host(), backend.port()), 1));
    }
    return PoolConfig.builder("test").listen(Endpoint.tcp("127.0.0.1", 0)).redis(true)
        .servers(servers);
  }

  /** {@code n} fresh redis-servers on free ports. */
  static List<RedisServer> redisServers(int n) {
    List<RedisServer> servers = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      servers.add(RedisServer.start());
    }
    return servers;
  }

  /** Closes {@code proxy} when there is one, then every server, even if the proxy's close fails. */
  static void closeAll(ProxyFixture proxy, List<? extends ServerFixture> servers)
      throws InterruptedException {
    try {
      if (proxy != null) {
        proxy.close();
      }
    } finally {
      servers.forEach(ServerFixture::close);
    }
  }

  /** A memcached pool named {@code test} over {@code backends}, unnamed servers of weight 1. */
  static PoolConfig.Builder memcachePool(List<MemcachedServer> backends) {
    List<ServerConfig> servers = new ArrayList<>();
    for (MemcachedServer backend : backends) {
      servers.add(ServerConfig.of(Endpoint.tcp(backend.host(), backend.port()), 1));
    }
    return PoolConfig.builder("test").listen(Endpoint.tcp("127.0.0.1", 0)).redis(false)
        .servers(servers);
  }

  /**
   * The transport the integration tests run on: the system property {@code walnut.it.transport}
   * ({@code nio} unless set), so the build runs the suite once per transport.
   */
  static Transport transport() {
    return TransportSelector.select(PLUGINS, System.getProperty("walnut.it.transport", "nio"));
  }

  static ProxyFixture start(PoolConfig pool, int threads) throws InterruptedException {
    return start(pool, EngineOptions.threads(threads));
  }

  static ProxyFixture start(PoolConfig pool, EngineOptions options) throws InterruptedException {
    ProxyServer proxy = ProxyServer.start(ProxyConfig.of(pool), PLUGINS, transport(), options);
    return new ProxyFixture(proxy, pool);
  }

  /** A counter of the pool's first server. */
  long serverStat(walnut.core.stats.ServerStat stat) {
    return proxy.stats().pools().get(0).servers().get(0).counters().get(stat);
  }

  int port() {
    return proxy.port(pool.name());
  }

  @Override
  public void close() throws InterruptedException {
    proxy.shutdown(java.time.Duration.ofSeconds(5));
  }
}
