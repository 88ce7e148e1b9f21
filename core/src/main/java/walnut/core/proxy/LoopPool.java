package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import walnut.core.config.Endpoint;
import walnut.core.stats.Counters;
import walnut.core.stats.Latency;
import walnut.core.stats.PinStat;

/**
 * One pool as seen from one event loop: this loop's backend connections to each server
 * ({@code server_connections} of them per server), the {@link Connector} that opens them, and the
 * {@link Burst} that flushes what was written once per pass of the loop. The client sessions of
 * this loop reach the servers through it, as their {@link Upstream}; it never calls a session.
 *
 * <p>Confined to {@link #eventLoop()}: no field needs a lock, and a request's whole path (client,
 * backend, reply) stays on this thread.
 */
final class LoopPool implements Upstream {

  private final Pool pool;
  private final EventLoop eventLoop;
  private final Connector connector;
  /** By dialect, server and slot. */
  private final BackendConnection[][][] connections;
  private final Burst burst;
  private final Latency.Recorder latency;
  private int sessions;
  /** Client sessions routing with this part now. */
  private int clients;
  /** Replaced by a reload: connections close once idle, no new ones open. */
  private boolean retired;
  /** Connections to a server's old address ({@link #serverMoved}), closing once idle. */
  private final List<BackendConnection> draining = new ArrayList<>();
  /** Private connections given back clean, by dialect and server, for the next client. */
  private final ArrayDeque<BackendConnection>[][] idlePinned;
  /** Private connections a client of this loop holds now. */
  private int pinnedOut;
  /** Idle private connections kept per server (all dialects); more are closed. */
  static final int IDLE_PINNED = 4;

  LoopPool(Pool pool, EventLoop eventLoop, Connector connector) {
    this.pool = pool;
    this.eventLoop = eventLoop;
    this.connector = connector;
    this.connections = new BackendConnection[pool.protocol().dialects()]
        [pool.config().servers().size()][pool.config().serverConnections()];
    this.burst = new Burst(eventLoop);
    this.latency = pool.latency().newRecorder();
    @SuppressWarnings("unchecked")
    ArrayDeque<BackendConnection>[][] idle =
        new ArrayDeque[connections.length][connections[0].length];
    this.idlePinned = idle;
  }

  EventLoop eventLoop() {
    return eventLoop;
  }

  @Override
  public int nextSlot() {
    return (sessions++ & Integer.MAX_VALUE) % connections[0][0].length;
  }

  @Override
  public void sessionJoined() {
    clients++;
  }

  @Override
  public void sessionLeft() {
    clients--;
  }

  @Override
  public void send(int server, int slot, int dialect, ByteBuf frame, ReplyHandler handler,
      ReadGate sender) {
    if (dialect != 0 && pool.refusesDialect(dialect)) {
      // The servers do not speak it (a client that switched before that was known).
      frame.release();
      handler.onError(ErrorText.NO_PROTOCOL);
      return;
    }
    BackendConnection connection = connection(server, slot, dialect);
    connection.send(handler, frame);
    if (connection.congested()) {
      connection.park(sender);
    }
  }

  @Override
  public BackendConnection takePinned(int server, int dialect) {
    if (dialect != 0 && pool.refusesDialect(dialect)) {
      return null; // no private connection either: the caller answers
    }
    Counters<PinStat> counters = pool.pinStats(server);
    counters.increment(PinStat.PINNED_CONNECTIONS);
    // The gauge is the budget, shared by every loop and generation: increment, then check, so
    // that two loops racing for the last one may both be refused but never both succeed.
    if (counters.get(PinStat.PINNED_CONNECTIONS) > pool.config().maxPinnedConnections()) {
      counters.decrement(PinStat.PINNED_CONNECTIONS);
      counters.increment(PinStat.PINNED_REFUSED);
      return null;
    }
    counters.increment(PinStat.PINNED_TAKEN);
    pinnedOut++;
    ArrayDeque<BackendConnection> idle = idlePinned[dialect][server];
    while (idle != null && !idle.isEmpty()) {
      BackendConnection c = idle.pollLast();
      if (c.idle()) {
        return c;
      }
      c.close(true);
    }
    BackendConnection c = new BackendConnection(pool, server, dialect, eventLoop, connector, burst);
    if (connector.backingOff(server)) {
      c.failFast();
    } else {
      c.connect();
    }
    return c;
  }

  @Override
  public void givePinned(BackendConnection c, int server, int dialect, boolean clean) {
    pinnedOut--;
    pool.pinStats(server).decrement(PinStat.PINNED_CONNECTIONS);
    ArrayDeque<BackendConnection> idle = idlePinned[dialect][server];
    if (idle == null) {
      idle = idlePinned[dialect][server] = new ArrayDeque<>(IDLE_PINNED);
    }
    if (clean && !retired && c.idle() && c.at(pool.address(server)) && idleTo(server)
        < Math.min(IDLE_PINNED, pool.config().maxPinnedConnections())) {
      idle.addLast(c);
    } else {
      c.close(true);
    }
  }

  /** Idle private connections to {@code server}, of every dialect. */
  private int idleTo(int server) {
    int n = 0;
    for (ArrayDeque<BackendConnection>[] perDialect : idlePinned) {
      n += perDialect[server] == null ? 0 : perDialect[server].size();
    }
    return n;
  }

  /** Closes the idle private connections (to {@code server} only, when not negative). */
  private void closeIdlePinned(int server) {
    for (ArrayDeque<BackendConnection>[] perDialect : idlePinned) {
      for (int s = 0; s < perDialect.length; s++) {
        if ((server < 0 || s == server) && perDialect[s] != null) {
          perDialect[s].forEach(c -> c.close(true));
          perDialect[s].clear();
        }
      }
    }
  }

  @Override
  public Burst burst() {
    return burst;
  }

  @Override
  public Latency.Recorder latency() {
    return latency;
  }

  /**
   * This loop's connection {@code slot} of {@code dialect} to {@code server}, connecting a new one
   * when there is none or the last one failed (the next request after a failure opens a new
   * connection).
   */
  BackendConnection connection(int server, int slot, int dialect) {
    BackendConnection c = connections[dialect][server][slot];
    if (c == null || c.isClosed()) {
      c = new BackendConnection(pool, server, dialect, eventLoop, connector, burst);
      connections[dialect][server][slot] = c;
      if (connector.backingOff(server)) {
        // Backing off after failed connects: this attempt fails as the last one did, and
        // counts as twemproxy counts a failed attempt, without touching the network.
        c.failFast();
      } else {
        c.connect();
      }
    }
    return c;
  }

  /** Opens every connection now ({@code preconnect}); failures are logged and counted. */
  void preconnect() {
    if (retired) {
      return;
    }
    for (int server = 0; server < connections[0].length; server++) {
      for (int slot = 0; slot < connections[0][server].length; slot++) {
        connection(server, slot, 0); // the default dialect's: the others open when first used
      }
    }
  }

  /**
   * A reload replaced this pool: each connection closes once its last reply is in. The sessions
   * move to the new pool with their next request; replies owed to them still arrive from here.
   */
  void retire() {
    retired = true;
    burst.flush(); // what was written in this pass goes out before an idle connection closes
    closeIdlePinned(-1);
    for (BackendConnection[][] perDialect : connections) {
      for (BackendConnection[] perServer : perDialect) {
        for (BackendConnection c : perServer) {
          if (c != null) {
            c.retire();
          }
        }
      }
    }
    burst.flush();
  }

  /**
   * Whether nothing uses this part of a superseded generation any more: no session routes with it
   * and every connection has closed. Once no session does, none can again (no session takes a
   * superseded generation), so the connections still open close once idle, answering what is in
   * flight on them first.
   */
  boolean unused() {
    if (clients > 0 || pinnedOut > 0) {
      return false;
    }
    retire();
    draining.removeIf(BackendConnection::isClosed);
    if (!draining.isEmpty()) {
      return false;
    }
    for (BackendConnection[][] perDialect : connections) {
      for (BackendConnection[] perServer : perDialect) {
        for (BackendConnection c : perServer) {
          if (c != null && !c.isClosed()) {
            return false;
          }
        }
      }
    }
    return true;
  }

  /**
   * Server {@code server} is at another address now ({@link Pool#moveServer}): this loop's
   * connections to the old one take no new request and close once their replies are in; the next
   * request for the server opens a connection to the new address, without the old one's back-off.
   */
  void serverMoved(int server) {
    draining.removeIf(BackendConnection::isClosed);
    burst.flush(); // what was written in this pass goes out on the old connection
    Endpoint now = pool.address(server);
    for (BackendConnection[][] perDialect : connections) {
      BackendConnection[] perServer = perDialect[server];
      for (int slot = 0; slot < perServer.length; slot++) {
        BackendConnection c = perServer[slot];
        if (c != null && c.at(now)) {
          continue; // opened after the move (or moved back and forth): it is where it should be
        }
        perServer[slot] = null;
        if (c != null && !c.isClosed()) {
          c.moved();
          if (!c.isClosed()) {
            draining.add(c);
          }
        }
      }
    }
    closeIdlePinned(server); // held ones stay with their clients, at the old address
    connector.moved(server);
    burst.flush();
  }

  /** Closes every backend connection (shutdown). */
  void closeAll() {
    closeIdlePinned(-1);
    for (BackendConnection c : new ArrayList<>(draining)) {
      c.close(false);
    }
    draining.clear();
    for (BackendConnection[][] perDialect : connections) {
      for (BackendConnection[] perServer : perDialect) {
        for (BackendConnection c : perServer) {
          if (c != null) {
            c.close(false);
          }
        }
      }
    }
  }
}
