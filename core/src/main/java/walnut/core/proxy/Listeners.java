package walnut.core.proxy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.spi.Transport;
import walnut.core.stats.ProxyStats;

/**
 * The pools' listening sockets, by pool name: binds them (TCP or unix, with twemproxy's unlink and
 * chmod of a socket file), gives each accepted connection its pipeline ({@link ClientPipeline}),
 * and closes them. Not thread-safe: the proxy calls it
 * under its own lock or before it is shared.
 */
final class Listeners {

  private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

  private final EventLoopGroup group;
  private final Transport transport;
  private final EngineOptions options;
  private final ProxyStats stats;
  /** Every client channel, for the shutdown to close. */
  private final ChannelGroup clients;
  private final Map<String, Channel> bound = new LinkedHashMap<>();

  Listeners(EventLoopGroup group, Transport transport, EngineOptions options, ProxyStats stats,
      ChannelGroup clients) {
    this.group = group;
    this.transport = transport;
    this.options = options;
    this.stats = stats;
    this.clients = clients;
  }

  /** The listener of pool {@code name}, or {@code null}. */
  Channel get(String name) {
    return bound.get(name);
  }

  void put(String name, Channel listener) {
    bound.put(name, listener);
  }

  /**
   * Binds {@code pool}'s listener (not yet registered under its name); its connections belong to
   * {@code handle} and take the handle's current pool when they arrive.
   */
  Channel bind(Pool pool, PoolHandle handle) throws InterruptedException {
    PoolConfig pc = pool.config();
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
        .option(ChannelOption.ALLOCATOR, ProxyServer.ALLOCATOR)
        .childOption(ChannelOption.ALLOCATOR, ProxyServer.ALLOCATOR)
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
            new WriteBufferWaterMark(4 << 20, 16 << 20))
        .childHandler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            transport.prepareAccepted(ch);
            clients.add(ch);
            ClientPipeline.init(ch, handle);
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
        closeUnregistered(future.channel());
        throw e;
      }
    }
    // Every loop has its own connections: a server sees threads x server_connections of them,
    // for each kind of connection (Redis: RESP2, and RESP3 when its clients may switch).
    int kinds = pool.protocol().dialectsUsed(pc);
    log.info("pool '{}' listening on {} ({} servers, {} over {}; up to {} connections per"
            + " server: {} threads x server_connections {}{})", pc.name(),
        future.channel().localAddress(), pc.servers().size(), pc.protocol(), transport.name(),
        (long) options.threads() * pc.serverConnections() * kinds, options.threads(),
        pc.serverConnections(), kinds > 1 ? " x " + kinds + " kinds" : "");
    if (pc.preconnect()) {
      for (LoopPool loop : pool.loops()) {
        loop.eventLoop().execute(loop::preconnect);
      }
    }
    return future.channel();
  }

  /** Closes a listener {@link #bind} made that was never registered under a name. */
  void closeUnregistered(Channel listener) throws InterruptedException {
    listener.close().await();
    stats.connectionClosed();
  }

  /** Closes pool {@code name}'s listener, if it has one, and removes its socket file. */
  void close(String name, Endpoint listen) throws InterruptedException {
    Channel listener = bound.remove(name);
    if (listener == null) {
      return;
    }
    closeUnregistered(listener);
    if (listen.isUnix()) {
      try {
        Files.deleteIfExists(Path.of(listen.path()));
      } catch (IOException e) {
        log.warn("cannot remove socket file {}: {}", listen.path(), e.toString());
      }
    }
  }

  /** Closes every listener; {@code endpoints} says where each pool listens. */
  void closeAll(Map<String, Endpoint> endpoints) throws InterruptedException {
    for (String name : bound.keySet().toArray(new String[0])) {
      close(name, endpoints.get(name));
    }
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
}
