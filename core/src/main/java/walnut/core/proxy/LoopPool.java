package walnut.core.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import walnut.core.stats.Latency;

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

  private static final long FIRST_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
  private static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final Bootstrap bootstrap;
  /** Per server: consecutive failed connects, when the next may be tried (0: now), and why. */
  private final int[] connectFailures;
  private final long[] retryAt;
  private final String[] lastConnectFailure;
  /** For servers on unix sockets; {@code null} when the pool has none. */
  private final Bootstrap domainBootstrap;
  private final List<BackendConnection> dirtyBackends = new ArrayList<>();
  private final List<ClientSession> dirtySessions = new ArrayList<>();
  private boolean flushScheduled;
  private final Runnable flushTask = () -> {
    flushScheduled = false;
    flushDirty();
  };
  private int sessions;
  /** The sessions using this loop's part of the pool, for a reload to move them. */
  private final Set<ClientSession> live = Collections.newSetFromMap(new IdentityHashMap<>());
  final Latency.Recorder latency;
  /** Replaced by a reload: connections close once idle, no new ones open. */
  private boolean retired;

  LoopPool(Pool pool, EventLoop eventLoop) {
    this.pool = pool;
    this.eventLoop = eventLoop;
    this.connections = new BackendConnection[pool.config.servers().size()]
        [pool.config.serverConnections()];
    this.latency = pool.latency.newRecorder();
    this.connectFailures = new int[connections.length];
    this.retryAt = new long[connections.length];
    this.lastConnectFailure = new String[connections.length];
    this.bootstrap = new Bootstrap()
        .group(eventLoop)
        .channel(pool.transport.channelClass())
        .resolver(pool.resolver)
        .option(ChannelOption.ALLOCATOR, ProxyServer.ALLOCATOR)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.WRITE_BUFFER_WATER_MARK, BACKEND_WATER_MARK)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, pool.connectTimeoutMillis());
    this.domainBootstrap =
        pool.config.servers().stream().noneMatch(s -> s.endpoint().isUnix()) ? null
            : new Bootstrap()
                .group(eventLoop)
                .channel(pool.transport.domainChannelClass())
                .option(ChannelOption.ALLOCATOR, ProxyServer.ALLOCATOR)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, BACKEND_WATER_MARK)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, pool.connectTimeoutMillis());
  }

  /** The connection slot of a new client session: sessions take the slots in turn. */
  int nextSlot() {
    return (sessions++ & Integer.MAX_VALUE) % connections[0].length;
  }

  void sessionOpened(ClientSession session) {
    live.add(session);
  }

  void sessionClosed(ClientSession session) {
    live.remove(session);
  }

  /**
   * A reload replaced this pool: move every session to {@code next} (their requests in flight
   * finish here), and close each connection once its last reply is in.
   */
  void retire(Pool next) {
    retired = true;
    for (ClientSession session : live.toArray(new ClientSession[0])) {
      session.moveTo(next);
    }
    live.clear();
    for (BackendConnection[] perServer : connections) {
      for (BackendConnection c : perServer) {
        if (c != null) {
          c.retire();
        }
      }
    }
    flushDirty();
  }

  /** This loop's connection {@code slot} to {@code server}, connecting it if there is none. */
  BackendConnection connection(int server, int slot) {
    BackendConnection c = connections[server][slot];
    if (c == null) {
      c = new BackendConnection(this, server, slot);
      connections[server][slot] = c;
      if (retryAt[server] != 0 && System.nanoTime() - retryAt[server] < 0) {
        // Backing off after failed connects: this attempt fails as the last one did, and
        // counts as twemproxy counts a failed attempt, without touching the network.
        c.failFast(lastConnectFailure[server]);
        return c;
      }
      boolean unix = pool.config.servers().get(server).endpoint().isUnix();
      c.connect(unix ? domainBootstrap : bootstrap);
    }
    return c;
  }

  /** Opens every connection now ({@code preconnect}); failures are logged and counted. */
  void preconnect() {
    if (retired) {
      return;
    }
    for (int server = 0; server < connections.length; server++) {
      for (int slot = 0; slot < connections[server].length; slot++) {
        connection(server, slot);
      }
    }
  }

  /**
   * A connect to {@code server} failed: the next attempts wait 10 ms, 20 ms, ... up to 1 s,
   * failing fast in between, so a dead server is not hammered with a connect per request.
   */
  void connectFailed(int server, String reason) {
    int failures = Math.min(++connectFailures[server], 8);
    long delay = Math.min(MAX_BACKOFF_NANOS, FIRST_BACKOFF_NANOS << (failures - 1));
    retryAt[server] = System.nanoTime() + delay;
    if (retryAt[server] == 0) {
      retryAt[server] = 1;
    }
    lastConnectFailure[server] = reason;
  }

  /** A connect to {@code server} succeeded: no more back-off. */
  void connectSucceeded(int server) {
    connectFailures[server] = 0;
    retryAt[server] = 0;
  }

  /** A failed connection leaves the table, so the next request opens a new one. */
  void removed(BackendConnection c) {
    if (connections[c.server][c.slot] == c) {
      connections[c.server][c.slot] = null;
    }
  }

  /**
   * {@code c} was written to: it is flushed when the loop ends its pass. Scheduling here, not
   * only when a channel's read completes, matters after a reload: a session moved to another
   * pool still gets replies from its old pool's connections, and a reply must never wait for a
   * flush of the other pool's loop part.
   */
  void backendDirty(BackendConnection c) {
    dirtyBackends.add(c);
    flushSoon();
  }

  void sessionDirty(ClientSession s) {
    dirtySessions.add(s);
    flushSoon();
  }

  /**
   * Flushes once the loop has handled every channel that was ready, rather than after each read:
   * the requests of all clients read in one pass go to a server in one write, as twemproxy
   * gathers them into one writev. (Flushing per client read cost one system call per request.)
   */
  void flushSoon() {
    if (!flushScheduled && (!dirtyBackends.isEmpty() || !dirtySessions.isEmpty())) {
      flushScheduled = true;
      eventLoop.execute(flushTask);
    }
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
