package walnut.core.proxy;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ProxyConfig;
import walnut.core.plugin.PluginRegistry;
import walnut.core.routing.PoolRouter;
import walnut.core.spi.KeyRouter;
import walnut.core.spi.Transport;
import walnut.core.stats.Events;
import walnut.core.stats.ProxyStats;
import walnut.core.tls.TlsContexts;

/**
 * The running proxy: one listener per pool on a shared set of event loops, each loop with its own
 * backend connections (docs/architecture.md#threading).
 *
 * <p>Thread-safe. {@link #start} binds every listener before it returns (a bind failure stops
 * whatever was started and throws). {@link #close} stops accepting, waits up to the grace period
 * for the replies still owed to clients, then closes every connection and stops the loops.
 */
public final class ProxyServer implements AutoCloseable {

  /**
   * The allocator of every channel the proxy makes: Netty's pooled allocator. Its slices come from
   * a recycler, so framing a request or a reply allocates no garbage; Netty 4.2's default
   * (adaptive) allocator makes a new object for every slice, 40 bytes per request and per reply.
   */
  public static final ByteBufAllocator ALLOCATOR = PooledByteBufAllocator.DEFAULT;

  private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

  /**
   * How often superseded pool generations are looked at: one that its last client left, or whose
   * last request was answered, goes within this time (docs/architecture.md#reload).
   */
  private static final Duration PRUNE_PERIOD = Duration.ofSeconds(1);

  private volatile ProxyConfig config;
  private final PluginRegistry plugins;
  private final Transport transport;
  private final EngineOptions options;
  private final EventLoopGroup group;
  private final ProxyStats stats;
  private final LongAdder inflight = new LongAdder();
  /** The pools by name, across reloads. */
  private final Map<String, PoolHandle> handles = new LinkedHashMap<>();
  /** Every pool generation still running: the current ones and those a reload superseded. */
  private final Generations generations = new Generations();
  /** Drops the superseded generations nothing uses any more, every {@link #PRUNE_PERIOD}. */
  private final ScheduledFuture<?> pruning;
  private final Listeners listeners;
  private final ChannelGroup clients =
      new DefaultChannelGroup("walnut-clients", GlobalEventExecutor.INSTANCE);
  private volatile boolean closed;
  private final ClientBudget budget;
  private final ExecutorService lookups;
  private final OffloadedResolverGroup resolver;
  /** The pools' TLS contexts, kept in step with their files. */
  private final TlsContexts tls;

  /** How long a start waits for the sentinels' first answers ({@link #awaitLocated}). */
  private static final Duration FIRST_LOCATE_WAIT = Duration.ofSeconds(2);

  private ProxyServer(ProxyConfig config, PluginRegistry plugins, Transport transport,
      EngineOptions options) {
    this.config = config;
    this.plugins = plugins;
    this.transport = transport;
    this.options = options;
    this.group = new MultiThreadIoEventLoopGroup(options.threads(),
        new DefaultThreadFactory("walnut-" + transport.name()), transport.ioHandlerFactory());
    long backendConnections = 0;
    for (PoolConfig pool : config.pools()) {
      backendConnections += (long) options.threads() * pool.serverConnections()
          * pool.servers().size() * plugins.protocol(pool.protocol()).dialectsUsed(pool) + 1
          + 2L * pool.sentinels().size(); // a sentinel's questions, and its announcements
    }
    this.budget = ClientBudget.forDescriptors(backendConnections);
    this.lookups = Executors.newFixedThreadPool(2, new DefaultThreadFactory("walnut-dns", true));
    this.resolver = new OffloadedResolverGroup(lookups);
    List<ProxyStats.Pool> poolStats = new ArrayList<>();
    for (PoolConfig pool : config.pools()) {
      poolStats.add(Reload.statsFor(pool, null));
    }
    this.stats = new ProxyStats(poolStats);
    this.listeners = new Listeners(group, transport, options, stats, clients);
    this.tls = new TlsContexts(options.tlsEngine(), stats.tls(), options.tlsHandshakeTimeout());
    List<Pool> made = new ArrayList<>();
    try {
      for (int i = 0; i < config.pools().size(); i++) {
        made.add(newPool(config.pools().get(i), poolStats.get(i)));
      }
    } catch (RuntimeException e) { // a TLS file that does not make a context: nothing runs
      tls.close();
      group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
      lookups.shutdownNow();
      throw e;
    }
    tls.retain(config.pools());
    for (Pool pool : made) {
      generations.add(pool);
      pool.serve(null);
      handles.put(pool.config().name(), new PoolHandle(pool, budget));
    }
    this.pruning = group.next().scheduleAtFixedRate(generations::prune,
        PRUNE_PERIOD.toMillis(), PRUNE_PERIOD.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Refuses a pool whose servers could each get more connections than the cap: threads x
   * server_connections, for each kind of connection its clients may use (Redis: RESP2, and RESP3
   * unless {@code resp3: false}).
   */
  private static void checkConnectionCap(PoolConfig pc, PluginRegistry plugins,
      EngineOptions options) {
    int kinds = plugins.protocol(pc.protocol()).dialectsUsed(pc);
    long perServer = options.connectionsPerServer(pc.serverConnections()) * kinds;
    int cap = options.maxConnectionsPerServer();
    if (cap > 0 && perServer > cap) {
      throw new IllegalArgumentException("pool '" + pc.name() + "': " + options.threads()
          + " threads x server_connections " + pc.serverConnections()
          + (kinds > 1 ? " x " + kinds + " kinds of connection (RESP2 and RESP3)" : "")
          + " = " + perServer + " connections per server, above the cap of " + cap
          + " (lower --threads or server_connections, raise --max-server-connections"
          + (kinds > 1 ? ", or set resp3: false" : "") + ")");
    }
  }

  /**
   * A running pool for {@code pc}; an unknown hash, distribution or protocol fails here, and so
   * does a pool whose servers would get more connections than the cap allows.
   */
  private Pool newPool(PoolConfig pc, ProxyStats.Pool poolStats) {
    checkConnectionCap(pc, plugins, options);
    PoolRouter router = new PoolRouter(pc, plugins.hashFunction(pc.hash()),
        plugins.distribution(pc.distribution()));
    router.watch(new PoolRouter.Watcher() {
      @Override
      public void ejected(int index, String reason) {
        String server = pc.servers().get(index).name();
        stats.events().add(Events.Kind.EJECTED, pc.name(), server,
            "server '" + server + "' ejected: " + reason);
      }

      @Override
      public void returned(int index, String how) {
        String server = pc.servers().get(index).name();
        stats.events().add(Events.Kind.RETURNED, pc.name(), server,
            "server '" + server + "' back in the ring: " + how);
      }
    });
    PoolTls poolTls = pc.tls() == null && pc.serverTls() == null ? PoolTls.NONE
        : new PoolTls(tls.listener(pc), tls.backend(pc), tls.clientHandshakeTimeoutMillis(),
            tls.handshakeTasks());
    return new Pool(pc, plugins.protocol(pc.protocol()), router, transport, stats, poolStats,
        group, options, inflight, resolver, poolTls);
  }

  /**
   * Starts a proxy serving {@code config}: plug-ins are looked up by the names the config uses
   * (an unknown name fails here, listing the known ones), then every pool's listener is bound.
   */
  public static ProxyServer start(ProxyConfig config, PluginRegistry plugins, Transport transport,
      EngineOptions options) throws InterruptedException {
    if (!transport.isAvailable()) {
      throw new IllegalStateException("transport '" + transport.name() + "' is not available: "
          + transport.unavailabilityCause(), transport.unavailabilityCause());
    }
    for (PoolConfig pc : config.pools()) {
      checkConnectionCap(pc, plugins, options); // before any thread starts
    }
    ProxyServer server = new ProxyServer(config, plugins, transport, options);
    try {
      server.bind();
    } catch (RuntimeException | InterruptedException e) {
      server.group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
      server.lookups.shutdownNow();
      throw e;
    }
    return server;
  }

  private void bind() throws InterruptedException {
    awaitLocated();
    for (PoolHandle handle : handles.values()) {
      Channel listener;
      try {
        listener = listeners.bind(handle.current(), handle);
      } catch (RuntimeException | InterruptedException e) {
        listeners.closeAll(endpoints(config));
        throw e;
      }
      listeners.put(handle.current().config().name(), listener);
    }
  }

  /**
   * Waits, at most {@link #FIRST_LOCATE_WAIT}, until the sentinels of every pool that has them
   * were asked where its masters are, so that the first clients are not sent to a configured
   * address the sentinels would correct. A pool whose sentinels do not answer serves from its
   * configured addresses (and keeps asking).
   */
  private void awaitLocated() throws InterruptedException {
    long deadline = System.nanoTime() + FIRST_LOCATE_WAIT.toNanos();
    for (PoolHandle handle : handles.values()) {
      try {
        handle.current().located().get(Math.max(0, deadline - System.nanoTime()),
            TimeUnit.NANOSECONDS);
      } catch (ExecutionException | TimeoutException e) {
        // Serves from what it knows; the watch logs why its sentinels did not answer.
      }
    }
  }

  private static Map<String, Endpoint> endpoints(ProxyConfig config) {
    Map<String, Endpoint> endpoints = new LinkedHashMap<>();
    config.pools().forEach(pc -> endpoints.put(pc.name(), pc.listen()));
    return endpoints;
  }

  /**
   * Serves {@code next} in place of the running configuration without closing an established
   * client connection: pools are added, removed or changed (servers, hash, distribution,
   * timeouts, ...). A changed pool's clients route their next requests with the new continuum
   * while requests in flight finish on the old connections, which then close; the old generation
   * goes once no client routes with it any more (an idle client moves, or lets go of it, when it
   * sends or closes) and nothing is in flight on it. A pool whose
   * {@code listen} changed is bound at its new address before the old listener closes; one whose
   * protocol changed gets a new listener while its old clients keep the old pool, as do the
   * clients of a removed pool, until they disconnect.
   *
   * <p>All or nothing: when a plug-in name is unknown or a new address cannot be bound, this
   * throws and the running configuration keeps serving unchanged. Reloads are serialized.
   */
  public synchronized void reload(ProxyConfig next) throws InterruptedException {
    if (closed) {
      throw new IllegalStateException("the proxy is shut down");
    }
    Reload reload = new Reload(config, next, stats, this::newPool, budget, handles, listeners);
    try {
      reload.plan();
      reload.bind();
      reload.commit(generations);
      config = next;
    } catch (RuntimeException | InterruptedException e) {
      reload.abandon(generations);
      throw e;
    } finally {
      tls.retain(config.pools());
      generations.prune(); // what the reload superseded or abandoned goes once unused
    }
    tls.checkNow(); // a reload (SIGUSR1, --watch-config) also takes certificates that changed
  }

  /**
   * How many pool generations are running: one per pool, plus those a reload superseded that a
   * client still routes with or a request is in flight on. For diagnostics and tests.
   */
  public int generations() {
    return generations.size();
  }

  /** The address pool {@code name} listens on (with the real port when the config said 0). */
  public SocketAddress address(String pool) {
    Channel listener = listeners.get(pool);
    if (listener == null) {
      throw new IllegalArgumentException("no pool named '" + pool + "'");
    }
    return listener.localAddress();
  }

  /** The port pool {@code name} listens on; a pool listening on a unix socket has none. */
  public int port(String pool) {
    if (!(address(pool) instanceof InetSocketAddress inet)) {
      throw new IllegalArgumentException("pool '" + pool + "' listens on a unix socket");
    }
    return inet.getPort();
  }

  public ProxyConfig config() {
    return config;
  }

  /**
   * The servers of pool {@code name} now, in its configured order: address, and whether each is
   * in the ring ({@code auto_eject_hosts}). Read from the pool's current generation.
   */
  public List<ServerState> serverStates(String name) {
    Pool pool = current(name);
    List<ServerState> out = new ArrayList<>();
    for (int i = 0; i < pool.config().servers().size(); i++) {
      out.add(state(pool, i));
    }
    return out;
  }

  /**
   * The server of pool {@code name} that {@code key} goes to now, after ejections, or
   * {@code null} when no server is live; its state read from the same generation as the route.
   * (In a pool with {@code distribution: random} each call picks one.)
   */
  public ServerState locate(String name, byte[] key) {
    Pool pool = current(name);
    int server = pool.router().serverFor(Unpooled.wrappedBuffer(key), 0, key.length);
    return server == KeyRouter.NO_SERVER ? null : state(pool, server);
  }

  private static ServerState state(Pool pool, int i) {
    PoolRouter.Ejection ejection = pool.router().ejection(i);
    ServerState.State state = ejection == null ? ServerState.State.SERVING
        : ejection.until() == Long.MAX_VALUE ? ServerState.State.PROBING
        : ServerState.State.EJECTED;
    String server = pool.serverName(i);
    String why = ejection == null ? null : ejection.refusal();
    String prefix = "server '" + server + "' is ejected: "; // the refusal's; the state says it
    if (why != null && why.startsWith(prefix)) {
      why = why.substring(prefix.length());
    }
    return new ServerState(i, server, pool.address(i).toString(), state, why,
        state == ServerState.State.EJECTED ? ejection.until() : 0);
  }

  private Pool current(String name) {
    PoolHandle handle;
    synchronized (this) { // a reload replaces the handles' generations under this lock
      handle = handles.get(name);
    }
    if (handle == null) {
      throw new IllegalArgumentException("no pool named '" + name + "'");
    }
    return handle.current();
  }

  public ProxyStats stats() {
    return stats;
  }

  public Transport transport() {
    return transport;
  }

  public EngineOptions options() {
    return options;
  }

  /** The loops, for endpoints that want to share them (the stats listener). */
  public EventLoopGroup eventLoops() {
    return group;
  }

  /**
   * How many client connections the descriptor limit leaves room for
   * (docs/compatibility.md#connections).
   */
  public int maxClients() {
    return budget.max();
  }

  /** Replies owed to clients right now. */
  public long inflight() {
    return inflight.sum();
  }

  /**
   * Stops accepting, waits up to {@code grace} for every reply owed to a client, then closes
   * every connection and stops the loops. Idempotent.
   */
  public void shutdown(Duration grace) throws InterruptedException {
    if (closed) {
      return;
    }
    closed = true;
    pruning.cancel(false);
    tls.close();
    listeners.closeAll(endpoints(config));
    long deadline = System.nanoTime() + grace.toNanos();
    while (inflight.sum() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(5); // a shutdown path, not a test: polling the owed-reply count
    }
    if (inflight.sum() > 0) {
      log.warn("shutdown: {} replies still owed after {} ms; closing anyway", inflight.sum(),
          grace.toMillis());
    }
    clients.close().await(grace.toMillis(), TimeUnit.MILLISECONDS);
    for (Pool pool : generations.all()) {
      pool.supersede(); // no more probes of ejected servers
      pool.stopWatching(); // nor questions to the sentinels
      for (LoopPool loop : pool.loops()) {
        loop.eventLoop().submit(loop::closeAll).await(1, TimeUnit.SECONDS);
      }
    }
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    resolver.close();
    lookups.shutdownNow();
  }

  @Override
  public void close() throws InterruptedException {
    shutdown(options.shutdownGrace());
  }
}
