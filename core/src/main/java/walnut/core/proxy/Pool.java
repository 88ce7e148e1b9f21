package walnut.core.proxy;

import io.netty.channel.EventLoop;
import io.netty.resolver.AddressResolverGroup;
import io.netty.util.concurrent.EventExecutor;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import walnut.core.config.PoolConfig;
import walnut.core.routing.PoolRouter;
import walnut.core.spi.Protocol;
import walnut.core.spi.Transport;
import walnut.core.stats.Counters;
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
  /** Client connections of this pool, for {@code client_connections}. */
  private final AtomicInteger clients = new AtomicInteger();
  /** Client connections of every pool, against the file-descriptor budget. */
  private final ClientBudget budget;

  Pool(PoolConfig config, Protocol protocol, PoolRouter router, Transport transport,
      ProxyStats stats, ProxyStats.Pool poolStats, Iterable<EventExecutor> executors,
      EngineOptions options, LongAdder inflight, ClientBudget budget,
      AddressResolverGroup<?> resolver) {
    this.inflight = inflight;
    this.resolver = resolver;
    this.budget = budget;
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

  /**
   * Takes a client connection slot; false when the pool's {@code client_connections} or the
   * process's descriptor budget is used up (the caller closes the connection at once, as
   * twemproxy does at its own limit).
   */
  boolean admitClient() {
    int limit = config.clientConnections();
    if (limit > 0 && clients.incrementAndGet() > limit) {
      clients.decrementAndGet();
      return false;
    }
    if (limit <= 0) {
      clients.incrementAndGet();
    }
    if (!budget.take()) {
      clients.decrementAndGet();
      return false;
    }
    return true;
  }

  void clientClosed() {
    clients.decrementAndGet();
    budget.release();
  }

  /** The per-loop part of this pool for {@code loop}. */
  LoopPool loop(EventExecutor loop) {
    return loops.get(loop);
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
