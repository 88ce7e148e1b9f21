package walnut.server;

import java.util.ArrayList;
import java.util.List;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ProxyConfig;
import walnut.core.config.ServerConfig;
import walnut.core.plugin.PluginRegistry;
import walnut.core.proxy.EngineOptions;
import walnut.core.proxy.ProxyServer;
import walnut.testing.RedisServer;
import walnut.transport.nio.NioTransport;

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

  static ProxyFixture start(PoolConfig pool, int threads) throws InterruptedException {
    ProxyServer proxy = ProxyServer.start(ProxyConfig.of(pool), PLUGINS, new NioTransport(),
        EngineOptions.threads(threads));
    return new ProxyFixture(proxy, pool);
  }

  int port() {
    return proxy.port(pool.name());
  }

  @Override
  public void close() throws InterruptedException {
    proxy.shutdown(java.time.Duration.ofSeconds(5));
  }
}
