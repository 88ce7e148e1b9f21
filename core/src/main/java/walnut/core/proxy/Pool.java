package walnut.core.proxy;

import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.resolver.AddressResolverGroup;
import io.netty.util.concurrent.EventExecutor;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ServerConfig;
import walnut.core.routing.PoolRouter;
import walnut.core.spi.Protocol;
import walnut.core.spi.ServerLocator;
import walnut.core.spi.Transport;
import walnut.core.stats.Counters;
import walnut.core.stats.HealthStat;
import walnut.core.stats.Latency;
import walnut.core.stats.PoolStat;
import walnut.core.stats.PinStat;
import walnut.core.stats.ProxyStats;
import walnut.core.stats.SentinelStats;
import walnut.core.stats.ServerStat;

/**
 * A running pool: its config, protocol, router and counters, and one {@link LoopPool} per event
 * loop. Shared by every loop; immutable after construction (the router publishes its own ring).
 */
final class Pool {

  private static final Logger log = LoggerFactory.getLogger(Pool.class);

  /** Connect timeout when the pool has no {@code timeout}: twemproxy leaves it to the kernel. */
  private static final int DEFAULT_CONNECT_TIMEOUT_MILLIS = 30_000;

  private final PoolConfig config;
  /** {@link #clientConfig()}; changes (once per dialect) when a server refuses one. */
  private volatile PoolConfig clientConfig;
  /** Dialects a server refused, as bits. */
  private volatile int refusedDialects;
  private final Protocol protocol;
  private final PoolRouter router;
  private final PoolView view = new PoolView(this);
  private final Transport transport;
  private final ProxyStats stats;
  private final EngineOptions options;
  private final LongAdder inflight;
  private final AddressResolverGroup<?> resolver;
  private final ProxyStats.Pool poolStats;
  private final Map<EventExecutor, LoopPool> loops = new IdentityHashMap<>();
  /** The only loop's part when there is one loop: every channel uses it. */
  private final LoopPool only;
  private final PoolTls tls;
  /** Where each server is now: its configured address, until {@link #moveServer}. */
  private final AtomicReferenceArray<Endpoint> addresses;
  /** Probes the ejected servers ({@code health_check_interval}); {@code null} when off. */
  private final HealthChecks healthChecks;
  /** Where the servers are now (Sentinel); {@code null} when they stay where configured. */
  private final ServerLocator locator;
  /** Opens the locator's connections, on {@link #locatorLoop}. */
  private final Connector.Opener locatorOpener;
  private final EventLoop locatorLoop;
  /** The locator's watch, from {@link #serve} until {@link #stopWatching}. */
  private volatile ServerLocator.Watch watch;
  /** Done when the watch's first round is over (at once without a locator). */
  private final CompletableFuture<Void> located = new CompletableFuture<>();
  /** A reload made another generation current, or removed the pool: no new client takes it. */
  private volatile boolean superseded;

  Pool(PoolConfig config, Protocol protocol, PoolRouter router, Transport transport,
      ProxyStats stats, ProxyStats.Pool poolStats, Iterable<EventExecutor> executors,
      EngineOptions options, LongAdder inflight, AddressResolverGroup<?> resolver, PoolTls tls) {
    this(config, protocol, router, transport, stats, poolStats, executors, options, inflight,
        resolver, tls, (pool, loop) -> new LoopPool(pool, loop, new Connector(pool, loop)),
        (pool, loop) -> Connector.bootstraps(pool, loop,
            HealthChecks.probeTimeoutMillis(pool.config())));
  }

  /**
   * A pool whose loops' parts {@code loopParts} makes, and whose probes of ejected servers
   * {@code probes} opens: tests give them connectors that open embedded channels.
   */
  Pool(PoolConfig config, Protocol protocol, PoolRouter router, Transport transport,
      ProxyStats stats, ProxyStats.Pool poolStats, Iterable<EventExecutor> executors,
      EngineOptions options, LongAdder inflight, AddressResolverGroup<?> resolver, PoolTls tls,
      BiFunction<Pool, EventLoop, LoopPool> loopParts,
      BiFunction<Pool, EventLoop, Connector.Opener> probes) {
    this.config = config;
    this.clientConfig = config;
    this.protocol = protocol;
    this.router = router;
    this.transport = transport;
    this.stats = stats;
    this.poolStats = poolStats;
    this.options = options;
    this.inflight = inflight;
    this.resolver = resolver;
    this.tls = tls;
    this.addresses = new AtomicReferenceArray<>(config.servers().size());
    for (int i = 0; i < config.servers().size(); i++) {
      addresses.set(i, config.servers().get(i).endpoint());
    }
    for (EventExecutor executor : executors) {
      loops.put(executor, loopParts.apply(this, (EventLoop) executor));
    }
    this.only = loops.size() == 1 ? loops.values().iterator().next() : null;
    EventLoop first = (EventLoop) executors.iterator().next();
    this.healthChecks = config.healthChecked()
        ? new HealthChecks(this, first, probes.apply(this, first)) : null;
    this.locator = protocol.locator(config);
    this.locatorLoop = first;
    this.locatorOpener = locator == null ? null : probes.apply(this, first);
    if (locator == null) {
      located.complete(null);
    }
  }

  /**
   * The generation starts serving, replacing {@code previous} ({@code null} at start or for a new
   * pool): it takes over the servers {@code previous} had ejected and, with sentinels, where its
   * servers had moved, and starts asking the sentinels.
   */
  void serve(Pool previous) {
    if (previous != null) {
      carryEjections(previous);
      if (locator != null && previous.locator != null) {
        for (int i = 0; i < config.servers().size(); i++) {
          int j = previous.config.servers().stream().map(ServerConfig::name).toList()
              .indexOf(serverName(i));
          if (j >= 0) {
            moveServer(i, previous.address(j)); // the sentinels' answer, not the file's guess
          }
        }
      }
    }
    if (locator != null && !superseded) {
      watch = locator.watch(new LocatorContext());
    }
  }

  /**
   * No more asking where the servers are: the generation was dropped (its last clients have gone;
   * until then a superseded generation keeps following failovers for them), or the proxy stops.
   */
  void stopWatching() {
    ServerLocator.Watch w = watch;
    if (w != null) {
      w.close();
    }
  }

  /** Done once the sentinels were first asked (at once in a pool without them). */
  CompletableFuture<Void> located() {
    return located;
  }

  /** Whether a server of this pool may move (Sentinel): new connections check its role first. */
  boolean watched() {
    return locator != null;
  }

  /**
   * Server {@code server} answered as no master would ({@code why}): the sentinels are asked
   * again now. Nothing in a pool without them.
   */
  void notPrimary(int server, String why) {
    ServerLocator.Watch w = watch;
    if (w != null) {
      w.refresh(server, why);
    }
  }

  /** What the locator's watch sees of this generation. */
  private final class LocatorContext implements ServerLocator.Context {
    @Override
    public PoolConfig pool() {
      return config;
    }

    @Override
    public EventLoop loop() {
      return locatorLoop;
    }

    @Override
    public ChannelFuture open(Endpoint endpoint, ChannelHandler initializer) {
      return locatorOpener.open(endpoint, initializer);
    }

    @Override
    public Endpoint address(int server) {
      return Pool.this.address(server);
    }

    @Override
    public boolean located(int server, Endpoint address, boolean failover, String source) {
      Endpoint old = Pool.this.address(server);
      if (!moveServer(server, address)) {
        return false;
      }
      if (poolStats.sentinels() != null) {
        poolStats.sentinels().moved(server, address.toString(), failover);
      }
      String moved = "server '" + serverName(server) + "' moved to " + address + " from " + old;
      log.warn("pool '{}': {} ({})", config.name(), moved, source);
      stats.events().moved(config.name(), serverName(server), moved);
      return true;
    }

    @Override
    public void ready() {
      located.complete(null);
    }

    @Override
    public SentinelStats stats() {
      return poolStats.sentinels();
    }
  }

  /**
   * The per-loop part of this pool for {@code loop}. With one loop every channel is on it, so it
   * is returned whatever the executor (tests' embedded channels each have an executor of their
   * own).
   */
  LoopPool loop(EventExecutor loop) {
    return only != null ? only : loops.get(loop);
  }

  /**
   * A reload made another generation current, or removed the pool (or changed its protocol, which
   * gives it another handle): no new client takes this generation, and {@link Generations#prune}
   * drops it once its clients have left and nothing is in flight on it.
   */
  void supersede() {
    superseded = true;
    router.watch(PoolRouter.Watcher.NONE); // the current generation tells of its servers
    located.complete(null);
    if (healthChecks != null) {
      healthChecks.close(); // no probe of servers this generation no longer routes to
    }
  }

  /**
   * A reload replaces {@code previous} with this generation: the servers it had ejected (same
   * name, same address) stay out of this one's ring, and this one probes them if it probes.
   * Called before this generation serves.
   */
  void carryEjections(Pool previous) {
    List<ServerConfig> before = previous.config().servers();
    for (int i = 0; i < config.servers().size(); i++) {
      ServerConfig server = config.servers().get(i);
      for (int j = 0; j < before.size(); j++) {
        PoolRouter.Ejection out = before.get(j).name().equals(server.name())
            && before.get(j).endpoint().equals(server.endpoint())
            ? previous.router().ejection(j) : null;
        if (out != null) {
          router.carry(i, out);
          if (healthChecks != null) {
            healthChecks.ejected(i);
          }
        }
      }
    }
  }

  boolean superseded() {
    return superseded;
  }

  /**
   * Superseded by the next generation of the same pool: every loop's part closes its connections
   * when idle, and its clients move on their next request.
   */
  void retire() {
    supersede();
    for (LoopPool loop : loops.values()) {
      loop.eventLoop().execute(loop::retire);
    }
  }

  /**
   * Dropped ({@link Generations#prune}), or never served (a reload that failed): what its loops
   * recorded is folded into the pool's latency totals, and their recorders are read no more.
   * Nothing records into them any longer: no session routes with this generation.
   */
  void dropped() {
    if (healthChecks != null) {
      healthChecks.close();
    }
    stopWatching();
    for (LoopPool loop : loops.values()) {
      latency().retire(loop.latency());
    }
  }

  Iterable<LoopPool> loops() {
    return loops.values();
  }

  List<LoopPool> loopList() { // a copy
    return List.copyOf(loops.values());
  }

  PoolConfig config() {
    return config;
  }

  /**
   * The settings clients' requests are decoded with: {@link #config()}, less the dialects the
   * servers refused ({@link Protocol#withoutDialect}).
   */
  PoolConfig clientConfig() {
    return clientConfig;
  }

  /** Whether a server of this pool refused {@code dialect}: its requests are answered an error. */
  boolean refusesDialect(int dialect) {
    return (refusedDialects & (1 << dialect)) != 0;
  }

  /** A server refused {@code dialect} in its handshake: no client is to ask for it again. */
  synchronized void dialectRefused(int dialect) {
    if (!refusesDialect(dialect)) {
      refusedDialects |= 1 << dialect;
      clientConfig = protocol.withoutDialect(clientConfig, dialect);
    }
  }

  Protocol protocol() {
    return protocol;
  }

  PoolView view() { // what a splitter sees of the pool: its KeyRouter
    return view;
  }

  PoolRouter router() {
    return router;
  }

  Transport transport() {
    return transport;
  }

  ProxyStats stats() { // process-wide (connections)
    return stats;
  }

  /**
   * How long, in all, a client that cannot take more may hold a server connection's reading for
   * its long reply, and how long a request may wait behind such holds:
   * {@link EngineOptions#slowReaderLimit()}, and at most half the pool's {@code timeout}, so that
   * the requests queued behind are answered within theirs.
   */
  long holdLimitNanos() {
    long limit = options.slowReaderLimit().toNanos();
    if (config().hasTimeout()) {
      limit = Math.min(limit, TimeUnit.MILLISECONDS.toNanos(config().timeout()) / 2);
    }
    return limit;
  }

  EngineOptions options() {
    return options;
  }

  /** Replies owed to clients across the whole proxy; graceful shutdown waits for zero. */
  LongAdder inflight() {
    return inflight;
  }

  AddressResolverGroup<?> resolver() { // resolves host names off the event loops
    return resolver;
  }

  Latency latency() { // the pool's request latencies, one recorder per loop
    return poolStats.latency();
  }

  Counters<PoolStat> poolStats() {
    return poolStats.counters();
  }

  /** Where server {@code server} is now: its configured address unless it moved. */
  Endpoint address(int server) {
    return addresses.get(server);
  }

  /**
   * Server {@code server} (the same name, the same place on the continuum: its keys stay) is at
   * {@code address} from now on, as after a Sentinel failover: every loop's connections to the old
   * address take no new request and close once their replies are in, and new requests go to the
   * new one. Returns false when it already was there. Any thread.
   */
  boolean moveServer(int server, Endpoint address) {
    Endpoint old = addresses.getAndSet(server, address);
    if (address.equals(old)) {
      return false;
    }
    for (LoopPool loop : loops.values()) {
      try {
        loop.eventLoop().execute(() -> loop.serverMoved(server));
      } catch (RejectedExecutionException e) {
        // Shutting down: the loop's connections are closing anyway.
      }
    }
    return true;
  }

  HealthChecks healthChecks() { // the probes of ejected servers (health_check_interval only)
    return healthChecks;
  }

  Counters<HealthStat> healthStats(int server) {
    return poolStats.servers().get(server).health();
  }

  Counters<ServerStat> serverStats(int server) {
    return poolStats.servers().get(server).counters();
  }

  Counters<PinStat> pinStats(int server) { // shared by the generations, as serverStats
    return poolStats.servers().get(server).pinned();
  }

  String serverName(int server) {
    return config.servers().get(server).name();
  }

  /** The generation's TLS contexts ({@link PoolTls#NONE} when it has none). */
  PoolTls tls() {
    return tls;
  }

  /** twemproxy's {@code timeout} also covers connecting. */
  int connectTimeoutMillis() {
    return config.hasTimeout() ? config.timeout() : DEFAULT_CONNECT_TIMEOUT_MILLIS;
  }
}
