package walnut.core.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.EventLoop;
import java.util.ArrayList;
import java.util.List;

/**
 * One pool as seen from one event loop: this loop's backend connections to each server
 * ({@code server_connections} of them per server), and the connections and client sessions
 * written to during the current burst, flushed once when it ends.
 *
 * <p>Confined to {@link #eventLoop}: no field needs a lock, and a request's whole path (client,
 * backend, reply) stays on this thread.
 */
final class LoopPool {

  final Pool pool;
  final EventLoop eventLoop;
  private final BackendConnection[][] connections;
  /**
   * A backend connection shared by many clients takes a few MiB of their requests before its
   * senders stop reading: a burst is written before it is flushed, so a small mark would flap.
   */
  private static final WriteBufferWaterMark BACKEND_WATER_MARK =
      new WriteBufferWaterMark(1 << 20, 4 << 20);

  private final Bootstrap bootstrap;
  /** For servers on unix sockets; {@code null} when the pool has none. */
  private final Bootstrap domainBootstrap;
  private final List<BackendConnection> dirtyBackends = new ArrayList<>();
  private final List<ClientSession> dirtySessions = new ArrayList<>();
  private int sessions;

  LoopPool(Pool pool, EventLoop eventLoop) {
    this.pool = pool;
    this.eventLoop = eventLoop;
    this.connections = new BackendConnection[pool.config.servers().size()]
        [pool.config.serverConnections()];
    this.bootstrap = new Bootstrap()
        .group(eventLoop)
        .channel(pool.transport.channelClass())
        .resolver(pool.resolver)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.WRITE_BUFFER_WATER_MARK, BACKEND_WATER_MARK)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, pool.connectTimeoutMillis());
    this.domainBootstrap =
        pool.config.servers().stream().noneMatch(s -> s.endpoint().isUnix()) ? null
            : new Bootstrap()
                .group(eventLoop)
                .channel(pool.transport.domainChannelClass())
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, BACKEND_WATER_MARK)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, pool.connectTimeoutMillis());
  }

  /** The connection slot of a new client session: sessions take the slots in turn. */
  int nextSlot() {
    return (sessions++ & Integer.MAX_VALUE) % connections[0].length;
  }

  /** This loop's connection {@code slot} to {@code server}, connecting it if there is none. */
  BackendConnection connection(int server, int slot) {
    BackendConnection c = connections[server][slot];
    if (c == null) {
      c = new BackendConnection(this, server, slot);
      connections[server][slot] = c;
      boolean unix = pool.config.servers().get(server).endpoint().isUnix();
      c.connect(unix ? domainBootstrap : bootstrap);
    }
    return c;
  }

  /** Opens every connection now ({@code preconnect}); failures are logged and counted. */
  void preconnect() {
    for (int server = 0; server < connections.length; server++) {
      for (int slot = 0; slot < connections[server].length; slot++) {
        connection(server, slot);
      }
    }
  }

  /** A failed connection leaves the table, so the next request opens a new one. */
  void removed(BackendConnection c) {
    if (connections[c.server][c.slot] == c) {
      connections[c.server][c.slot] = null;
    }
  }

  void backendDirty(BackendConnection c) {
    dirtyBackends.add(c);
  }

  void sessionDirty(ClientSession s) {
    dirtySessions.add(s);
  }

  /** Ends a burst: one flush per connection and session written to. */
  void flushDirty() {
    if (!dirtyBackends.isEmpty()) {
      for (int i = 0; i < dirtyBackends.size(); i++) {
        dirtyBackends.get(i).flush();
      }
      dirtyBackends.clear();
    }
    if (!dirtySessions.isEmpty()) {
      for (int i = 0; i < dirtySessions.size(); i++) {
        dirtySessions.get(i).flush();
      }
      dirtySessions.clear();
    }
  }

  /** Closes every backend connection (shutdown). */
  void closeAll() {
    for (BackendConnection[] perServer : connections) {
      for (BackendConnection c : perServer) {
        if (c != null) {
          c.close();
        }
      }
    }
  }
}
