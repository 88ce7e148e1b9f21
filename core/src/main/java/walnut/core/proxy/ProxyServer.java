package walnut.core.proxy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
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

  private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

  private final ProxyConfig config;
  private final Transport transport;
  private final EngineOptions options;
  private final EventLoopGroup group;
  private final ProxyStats stats;
  private final LongAdder inflight = new LongAdder();
  private final List<Pool> pools = new ArrayList<>();
  private final Map<String, Channel> listeners = new LinkedHashMap<>();
  private final ChannelGroup clients =
      new DefaultChannelGroup("walnut-clients", GlobalEventExecutor.INSTANCE);
  private volatile boolean closed;

  private ProxyServer(ProxyConfig config, PluginRegistry plugins, Transport transport,
      EngineOptions options) {
    this.config = config;
    this.transport = transport;
    this.options = options;
    List<ProxyStats.Pool> poolStats = new ArrayList<>();
    for (PoolConfig pool : config.pools()) {
      List<ProxyStats.Server> servers = new ArrayList<>();
      for (ServerConfig server : pool.servers()) {
        servers.add(new ProxyStats.Server(server.name(), new Counters<>(ServerStat.class)));
      }
      poolStats.add(new ProxyStats.Pool(pool.name(), new Counters<>(PoolStat.class), servers));
    }
    this.stats = new ProxyStats(poolStats);
    this.group = new MultiThreadIoEventLoopGroup(options.threads(),
        new DefaultThreadFactory("walnut-" + transport.name()), transport.ioHandlerFactory());
    for (int i = 0; i < config.pools().size(); i++) {
      PoolConfig pool = config.pools().get(i);
      PoolRouter router = new PoolRouter(pool, plugins.hashFunction(pool.hash()),
          plugins.distribution(pool.distribution()));
      pools.add(new Pool(pool, plugins.protocol(pool.protocol()), router, transport, stats,
          poolStats.get(i), group, options, inflight));
    }
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
    ProxyServer server = new ProxyServer(config, plugins, transport, options);
    try {
      server.bind();
    } catch (RuntimeException | InterruptedException e) {
      server.group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
      throw e;
    }
    return server;
  }

  private void bind() throws InterruptedException {
    for (Pool pool : pools) {
      PoolConfig pc = pool.config;
      Endpoint listen = pc.listen();
      for (ServerConfig server : pc.servers()) {
        if (server.endpoint().isUnix()) {
          throw new IllegalStateException("pool '" + pc.name() + "': server '" + server.name()
              + "' is a unix socket, which the '" + transport.name()
              + "' transport does not connect to yet");
        }
      }
      if (listen.isUnix()) {
        throw new IllegalStateException("pool '" + pc.name() + "': listen: '" + listen
            + "' is a unix socket, which the '" + transport.name()
            + "' transport does not serve yet");
      }
      ServerBootstrap b = new ServerBootstrap()
          .group(group)
          .channel(transport.serverChannelClass())
          .option(ChannelOption.SO_BACKLOG, pc.backlog())
          .option(ChannelOption.SO_REUSEADDR, true)
          .childOption(ChannelOption.TCP_NODELAY, true)
          .childOption(ChannelOption.SO_KEEPALIVE, pc.tcpKeepalive())
          .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
          .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
              new WriteBufferWaterMark(4 << 20, 16 << 20))
          .childHandler(new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
              clients.add(ch);
              ch.pipeline().addLast("decoder", pool.protocol.newRequestDecoder(pc));
              ch.pipeline().addLast("session", new ClientSession(pool));
            }
          });
      InetSocketAddress address = new InetSocketAddress(listen.host(), listen.port());
      var future = b.bind(address).await();
      if (!future.isSuccess()) {
        closeListeners();
        throw new IllegalStateException("pool '" + pc.name() + "': cannot listen on " + listen
            + ": " + future.cause().getMessage(), future.cause());
      }
      stats.connectionOpened();
      listeners.put(pc.name(), future.channel());
      log.info("pool '{}' listening on {} ({} servers, {} over {})", pc.name(),
          future.channel().localAddress(), pc.servers().size(), pc.protocol(), transport.name());
      if (pc.preconnect()) {
        for (LoopPool loop : pool.loops()) {
          loop.eventLoop.execute(loop::preconnect);
        }
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

  /** The port pool {@code name} listens on. */
  public int port(String pool) {
    return ((InetSocketAddress) address(pool)).getPort();
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
    for (Pool pool : pools) {
      for (LoopPool loop : pool.loops()) {
        loop.eventLoop.submit(loop::closeAll).await(1, TimeUnit.SECONDS);
      }
    }
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
  }

  private void closeListeners() throws InterruptedException {
    for (Channel listener : listeners.values()) {
      listener.close().await();
      stats.connectionClosed();
    }
    listeners.clear();
  }

  @Override
  public void close() throws InterruptedException {
    shutdown(options.shutdownGrace());
  }
}
