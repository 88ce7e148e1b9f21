package walnut.core.proxy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ProxyConfig;
import walnut.core.config.ServerConfig;
import walnut.core.plugin.PluginRegistry;
import walnut.core.routing.PoolRouter;
import walnut.core.spi.Transport;
import walnut.core.stats.Counters;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ProxyStats;
import walnut.core.stats.ServerStat;

/**
 * The running proxy: one listener per pool on a shared set of event loops, each loop with its own
 * backend connections (design.md §4).
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

  private volatile ProxyConfig config;
  private final PluginRegistry plugins;
  private final Transport transport;
  private final EngineOptions options;
  private final EventLoopGroup group;
  private final ProxyStats stats;
  private final LongAdder inflight = new LongAdder();
  /** The pools by name, across reloads. */
  private final Map<String, PoolHandle> handles = new LinkedHashMap<>();
  /** Every pool generation still running: the current ones and those a reload retired. */
  private final List<Pool> generations = new CopyOnWriteArrayList<>();
  private final Map<String, Channel> listeners = new LinkedHashMap<>();
  private final ChannelGroup clients =
      new DefaultChannelGroup("walnut-clients", GlobalEventExecutor.INSTANCE);
  private volatile boolean closed;
  private final ClientBudget budget;
  private final ExecutorService lookups;
  private final OffloadedResolverGroup resolver;

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
          * pool.servers().size() + 1;
    }
    this.budget = ClientBudget.forDescriptors(backendConnections);
    this.lookups = Executors.newFixedThreadPool(2, new DefaultThreadFactory("walnut-dns", true));
    this.resolver = new OffloadedResolverGroup(lookups);
    List<ProxyStats.Pool> poolStats = new ArrayList<>();
    for (PoolConfig pool : config.pools()) {
      poolStats.add(statsFor(pool, null));
    }
    this.stats = new ProxyStats(poolStats);
    for (int i = 0; i < config.pools().size(); i++) {
      Pool pool = newPool(config.pools().get(i), poolStats.get(i));
      generations.add(pool);
      handles.put(pool.config.name(), new PoolHandle(pool, budget));
    }
  }

  private static void checkConnectionCap(PoolConfig pc, EngineOptions options) {
    long perServer = options.connectionsPerServer(pc.serverConnections());
    int cap = options.maxConnectionsPerServer();
    if (cap > 0 && perServer > cap) {
      throw new IllegalArgumentException("pool '" + pc.name() + "': " + options.threads()
          + " threads x server_connections " + pc.serverConnections() + " = " + perServer
          + " connections per server, above the cap of " + cap
          + " (lower --threads or server_connections, or raise --max-server-connections)");
    }
  }

  /** The counters of {@code pool}: those of {@code old} kept for the servers it still has. */
  private static ProxyStats.Pool statsFor(PoolConfig pool, ProxyStats.Pool old) {
    List<ProxyStats.Server> servers = new ArrayList<>();
    for (ServerConfig server : pool.servers()) {
      ProxyStats.Server kept = old == null ? null : old.server(server.name());
      servers.add(kept != null ? kept
          : new ProxyStats.Server(server.name(), new Counters<>(ServerStat.class)));
    }
    return old == null
        ? new ProxyStats.Pool(pool.name(), new Counters<>(PoolStat.class), servers)
        : new ProxyStats.Pool(pool.name(), old.counters(), servers, old.latency());
  }

  /**
   * A running pool for {@code pc}; an unknown hash, distribution or protocol fails here, and so
   * does a pool whose servers would get more connections than the cap allows.
   */
  private Pool newPool(PoolConfig pc, ProxyStats.Pool poolStats) {
    checkConnectionCap(pc, options);
    PoolRouter router = new PoolRouter(pc, plugins.hashFunction(pc.hash()),
        plugins.distribution(pc.distribution()));
    return new Pool(pc, plugins.protocol(pc.protocol()), router, transport, stats, poolStats,
        group, options, inflight, resolver);
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
      checkConnectionCap(pc, options); // before any thread starts
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
    for (PoolHandle handle : handles.values()) {
      Channel listener;
      try {
        listener = listen(handle.current(), handle);
      } catch (RuntimeException | InterruptedException e) {
        closeListeners();
        throw e;
      }
      listeners.put(handle.current().config.name(), listener);
    }
  }

  /**
   * Binds {@code pool}'s listener; its connections belong to {@code handle} and take the
   * handle's current pool when they arrive.
   */
  private Channel listen(Pool pool, PoolHandle handle) throws InterruptedException {
    PoolConfig pc = pool.config;
    Endpoint listen = pc.listen();
    boolean unix = listen.isUnix();
    boolean anyUnix = unix || pc.servers().stream().anyMatch(sc -> sc.endpoint().isUnix());
    if (anyUnix && (transport.domainChannelClass() == null
        || transport.domainServerChannelClass() == null)) {
      throw new IllegalStateException("pool '" + pc.name() + "' uses unix sockets, which the '"
          + transport.name() + "' transport does not have");
    }
    if (pc.reuseport() && (unix || transport.reusePortOption() == null)) {
      throw new IllegalStateException("pool '" + pc.name() + "': reuseport: "
          + (unix ? "a unix socket has no SO_REUSEPORT"
              : "the '" + transport.name() + "' transport cannot set SO_REUSEPORT"));
    }
    ServerBootstrap b = new ServerBootstrap()
        .group(group)
        .channel(unix ? transport.domainServerChannelClass() : transport.serverChannelClass())
        .option(ChannelOption.SO_BACKLOG, pc.backlog())
        .option(ChannelOption.ALLOCATOR, ALLOCATOR)
        .childOption(ChannelOption.ALLOCATOR, ALLOCATOR)
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
            new WriteBufferWaterMark(4 << 20, 16 << 20))
        .childHandler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            transport.prepareAccepted(ch);
            clients.add(ch);
            int idle = handle.current().config.clientIdleTimeout();
            if (idle > 0) {
              ch.pipeline().addLast("idle",
                  new IdleStateHandler(0, 0, idle, TimeUnit.MILLISECONDS));
            }
            Pool current = handle.current();
            ch.pipeline().addLast("decoder",
                current.protocol.newRequestDecoder(current.config));
            ch.pipeline().addLast("session", new ClientSession(handle));
          }
        });
    SocketAddress address;
    if (unix) {
      // As twemproxy: the path is unlinked before binding, chmod-ed after when asked.
      deleteSocketFile(pc, listen);
      address = transport.domainSocketAddress(listen.path());
    } else {
      if (pc.reuseport()) {
        b.option(transport.reusePortOption(), true);
      }
      b.option(ChannelOption.SO_REUSEADDR, true)
          .childOption(ChannelOption.TCP_NODELAY, true)
          .childOption(ChannelOption.SO_KEEPALIVE, pc.tcpKeepalive());
      address = new InetSocketAddress(listen.host(), listen.port());
    }
    var future = b.bind(address).await();
    if (!future.isSuccess()) {
      throw new IllegalStateException("pool '" + pc.name() + "': cannot listen on " + listen
          + ": " + future.cause().getMessage(), future.cause());
    }
    stats.connectionOpened();
    if (unix && listen.permissions() != 0) {
      try {
        chmod(pc, listen);
      } catch (RuntimeException e) {
        future.channel().close().await();
        stats.connectionClosed();
        throw e;
      }
    }
    // Every loop has its own connections: a server sees threads x server_connections of them.
    log.info("pool '{}' listening on {} ({} servers, {} over {}; up to {} connections per"
            + " server: {} threads x server_connections {})", pc.name(),
        future.channel().localAddress(), pc.servers().size(), pc.protocol(), transport.name(),
        (long) options.threads() * pc.serverConnections(), options.threads(),
        pc.serverConnections());
    if (pc.preconnect()) {
      for (LoopPool loop : pool.loops()) {
        loop.eventLoop.execute(loop::preconnect);
      }
    }
    return future.channel();
  }

  /**
   * Serves {@code next} in place of the running configuration without closing an established
   * client connection: pools are added, removed or changed (servers, hash, distribution,
   * timeouts, ...). A changed pool's clients route their next requests with the new continuum
   * while requests in flight finish on the old connections, which then close. A pool whose
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
    Map<String, PoolConfig> before = new LinkedHashMap<>();
    config.pools().forEach(pc -> before.put(pc.name(), pc));
    Map<String, ProxyStats.Pool> oldStats = new LinkedHashMap<>();
    stats.pools().forEach(ps -> oldStats.put(ps.name(), ps));

    // 1. New generations for added and changed pools: unknown plug-ins fail here.
    List<ProxyStats.Pool> statsList = new ArrayList<>();
    Map<String, Pool> fresh = new LinkedHashMap<>();
    for (PoolConfig pc : next.pools()) {
      PoolConfig old = before.get(pc.name());
      if (pc.equals(old)) {
        statsList.add(oldStats.get(pc.name()));
        continue;
      }
      ProxyStats.Pool ps = statsFor(pc, sameProtocol(old, pc) ? oldStats.get(pc.name()) : null);
      statsList.add(ps);
      fresh.put(pc.name(), newPool(pc, ps));
    }

    // 2. Listeners at new addresses, bound before anything changes: a failure here leaves the
    //    running configuration as it was.
    Map<String, PoolHandle> freshHandles = new LinkedHashMap<>();
    Map<String, Channel> bound = new LinkedHashMap<>();
    try {
      for (Pool pool : fresh.values()) {
        String name = pool.config.name();
        PoolConfig old = before.get(name);
        PoolHandle handle = sameProtocol(old, pool.config) ? handles.get(name)
            : new PoolHandle(pool, budget);
        freshHandles.put(name, handle);
        if (old == null || !old.listen().equals(pool.config.listen())) {
          bound.put(name, listen(pool, handle));
        }
      }
    } catch (RuntimeException | InterruptedException e) {
      for (Channel listener : bound.values()) {
        listener.close().await();
        stats.connectionClosed();
      }
      throw e;
    }

    // 3. Commit.
    for (Pool pool : fresh.values()) {
      String name = pool.config.name();
      PoolConfig old = before.get(name);
      PoolHandle handle = freshHandles.get(name);
      Channel listener = bound.get(name);
      if (old != null && (listener != null || !sameProtocol(old, pool.config))) {
        closeListener(name, old);
      }
      if (listener == null && !sameProtocol(old, pool.config)) {
        // Same address, another protocol: the old listener had to go first.
        try {
          listener = listen(pool, handle);
        } catch (RuntimeException e) {
          log.error("reload: pool '{}' has no listener: {}", name, e.getMessage());
        }
      }
      if (listener != null) {
        listeners.put(name, listener);
      }
      generations.add(pool);
      if (sameProtocol(old, pool.config)) {
        Pool previous = handle.current();
        handle.replace(pool);
        previous.retire(pool);
      } else {
        handles.put(name, handle); // the old handle keeps serving its clients with the old pool
      }
    }
    for (PoolConfig old : before.values()) {
      if (next.pools().stream().noneMatch(pc -> pc.name().equals(old.name()))) {
        closeListener(old.name(), old);
        handles.remove(old.name()); // its clients keep the old pool until they disconnect
      }
    }
    stats.replacePools(statsList);
    config = next;
    log.info("reloaded: {} pools ({} added or changed, {} removed)", next.pools().size(),
        fresh.size(), before.keySet().stream()
            .filter(n -> next.pools().stream().noneMatch(pc -> pc.name().equals(n))).count());
  }

  private static boolean sameProtocol(PoolConfig old, PoolConfig next) {
    return old != null && old.redis() == next.redis();
  }

  private void closeListener(String name, PoolConfig old) throws InterruptedException {
    Channel listener = listeners.remove(name);
    if (listener == null) {
      return;
    }
    listener.close().await();
    stats.connectionClosed();
    if (old.listen().isUnix()) {
      try {
        Files.deleteIfExists(Path.of(old.listen().path()));
      } catch (IOException e) {
        log.warn("cannot remove socket file {}: {}", old.listen().path(), e.toString());
      }
    }
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

  /** How many client connections the descriptor limit leaves room for (spec §7.1). */
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
    closeListeners();
    long deadline = System.nanoTime() + grace.toNanos();
    while (inflight.sum() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(5); // a shutdown path, not a test: polling the owed-reply count
    }
    if (inflight.sum() > 0) {
      log.warn("shutdown: {} replies still owed after {} ms; closing anyway", inflight.sum(),
          grace.toMillis());
    }
    clients.close().await(grace.toMillis(), TimeUnit.MILLISECONDS);
    for (Pool pool : generations) {
      for (LoopPool loop : pool.loops()) {
        loop.eventLoop.submit(loop::closeAll).await(1, TimeUnit.SECONDS);
      }
    }
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    resolver.close();
    lookups.shutdownNow();
  }

  private void closeListeners() throws InterruptedException {
    for (Map.Entry<String, Channel> listener : listeners.entrySet()) {
      listener.getValue().close().await();
      stats.connectionClosed();
      Endpoint listen = config.pool(listener.getKey()).listen();
      if (listen.isUnix()) {
        try {
          Files.deleteIfExists(Path.of(listen.path()));
        } catch (IOException e) {
          log.warn("cannot remove socket file {}: {}", listen.path(), e.toString());
        }
      }
    }
    listeners.clear();
  }

  private static void deleteSocketFile(PoolConfig pc, Endpoint listen) {
    try {
      Files.deleteIfExists(Path.of(listen.path()));
    } catch (IOException e) {
      throw new IllegalStateException("pool '" + pc.name() + "': cannot remove " + listen.path()
          + " before listening on it: " + e, e);
    }
  }

  private static void chmod(PoolConfig pc, Endpoint listen) {
    Set<PosixFilePermission> mode = EnumSet.noneOf(PosixFilePermission.class);
    PosixFilePermission[] bits = {
        PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE,
        PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_EXECUTE,
        PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
        PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE,
        PosixFilePermission.OWNER_READ};
    for (int i = 0; i < bits.length; i++) {
      if ((listen.permissions() & (1 << i)) != 0) {
        mode.add(bits[i]);
      }
    }
    try {
      Files.setPosixFilePermissions(Path.of(listen.path()), mode);
    } catch (IOException | UnsupportedOperationException e) {
      throw new IllegalStateException("pool '" + pc.name() + "': cannot chmod " + listen.path()
          + " to " + Integer.toOctalString(listen.permissions()) + ": " + e, e);
    }
  }

  @Override
  public void close() throws InterruptedException {
    shutdown(options.shutdownGrace());
  }
}
