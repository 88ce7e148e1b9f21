package walnut.core.proxy;

import io.netty.channel.EventLoop;
import io.netty.resolver.AddressResolverGroup;
import io.netty.util.concurrent.EventExecutor;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import walnut.core.config.PoolConfig;
import walnut.core.routing.PoolRouter;
import walnut.core.spi.Protocol;
import walnut.core.spi.Transport;
import walnut.core.stats.Counters;
import walnut.core.stats.Latency;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ProxyStats;
import walnut.core.stats.ServerStat;

/**
 * A running pool: its config, protocol, router and counters, and one {@link LoopPool} per event
 * loop. Shared by every loop; immutable after construction (the router publishes its own ring).
 */
final class Pool {

  /** Connect timeout when the pool has no {@code timeout}: twemproxy leaves it to the kernel. */
  private static final int DEFAULT_CONNECT_TIMEOUT_MILLIS = 30_000;

  final PoolConfig config;
  final Protocol protocol;
  final PoolRouter router;
  final Transport transport;
  final ProxyStats stats;
  final EngineOptions options;
  /** Replies owed to clients across the whole proxy; graceful shutdown waits for zero. */
  final LongAdder inflight;
  /** Resolves server host names off the event loops. */
  final AddressResolverGroup<?> resolver;
  private final ProxyStats.Pool poolStats;
  private final Map<EventExecutor, LoopPool> loops = new IdentityHashMap<>();
  /** The pool's request latencies, one recorder per loop. */
  final Latency latency;

  Pool(PoolConfig config, Protocol protocol, PoolRouter router, Transport transport,
      ProxyStats stats, ProxyStats.Pool poolStats, Iterable<EventExecutor> executors,
      EngineOptions options, LongAdder inflight, AddressResolverGroup<?> resolver) {
    this.inflight = inflight;
    this.resolver = resolver;
    this.latency = poolStats.latency();
    this.config = config;
    this.protocol = protocol;
    this.router = router;
    this.transport = transport;
    this.stats = stats;
    this.poolStats = poolStats;
    this.options = options;
    for (EventExecutor executor : executors) {
      loops.put(executor, new LoopPool(this, (EventLoop) executor));
    }
  }

  /** The per-loop part of this pool for {@code loop}. */
  LoopPool loop(EventExecutor loop) {
    return loops.get(loop);
  }

  /** Every loop's part: its sessions move to {@code next}, its connections close when idle. */
  void retire(Pool next) {
    for (LoopPool loop : loops.values()) {
      loop.eventLoop.execute(() -> loop.retire(next));
    }
  }

  Iterable<LoopPool> loops() {
    return loops.values();
  }

  Counters<PoolStat> poolStats() {
    return poolStats.counters();
  }

  Counters<ServerStat> serverStats(int server) {
    return poolStats.servers().get(server).counters();
  }

  /** twemproxy's {@code timeout} also covers connecting (spec §7.3). */
  int connectTimeoutMillis() {
    return config.hasTimeout() ? config.timeout() : DEFAULT_CONNECT_TIMEOUT_MILLIS;
  }
}
