package walnut.benchmarks;

import java.util.ArrayList;
import java.util.List;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ServerConfig;
import walnut.core.routing.PoolRouter;
import walnut.hashing.Fnv1a64Hash;
import walnut.hashing.KetamaDistribution;

/** The pools the in-memory benchmarks route over: twemproxy's defaults, fnv1a_64 and ketama. */
final class Pools {

  private Pools() {}

  /** A Redis pool of {@code count} servers of weight 1 (never connected to). */
  static PoolConfig redis(int count) {
    return builder(count).redis(true).build();
  }

  /** A memcached pool of {@code count} servers of weight 1 (never connected to). */
  static PoolConfig memcache(int count) {
    return builder(count).redis(false).build();
  }

  /** Core's router for {@code pool}, as the engine builds it. */
  static PoolRouter router(PoolConfig pool) {
    return new PoolRouter(pool, new Fnv1a64Hash(), new KetamaDistribution());
  }

  private static PoolConfig.Builder builder(int count) {
    List<ServerConfig> servers = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      servers.add(ServerConfig.of(Endpoint.tcp("127.0.0.1", 7000 + i), 1));
    }
    servers.sort((a, b) -> ServerConfig.NAME_ORDER.compare(a.name(), b.name()));
    return PoolConfig.builder("bench").listen(Endpoint.tcp("127.0.0.1", 0)).servers(servers);
  }
}
