package walnut.core.stats;

import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * The counters of a running proxy: process-wide connection totals and, per pool in twemproxy's
 * pool order, the pool's and its servers' counters (servers in the pool's sorted order).
 *
 * <p>Thread-safe; written on the event loops, read by the stats endpoints at any time.
 */
public final class ProxyStats {

  private final long startMillis = System.currentTimeMillis();
  private final LongAdder totalConnections = new LongAdder();
  private final LongAdder currentConnections = new LongAdder();
  private volatile List<Pool> pools;
  private volatile Reload lastReload;
  private final TlsStats tls = new TlsStats();
  private final Events events = new Events(50);

  public ProxyStats(List<Pool> pools) {
    this.pools = List.copyOf(pools);
  }

  /** The pools after a reload: same-named pools and servers keep their counters. */
  public void replacePools(List<Pool> pools) {
    this.pools = List.copyOf(pools);
  }

  /** The last configuration reload, or {@code null} when there was none. */
  public Reload lastReload() {
    return lastReload;
  }

  public void reloaded(Reload reload) {
    this.lastReload = reload;
    if (reload.succeeded()) {
      events.add(Events.Kind.RELOAD, null, null, "configuration reloaded");
    } else {
      events.add(Events.Kind.RELOAD_FAILED, null, null, reload.error());
    }
  }

  /** Recent ejections, returns, moves and reloads, for the status page. */
  public Events events() {
    return events;
  }

  /**
   * A reload attempt: when it happened (ms since the epoch), and the error that rejected it, or
   * {@code null} when the new configuration serves.
   */
  public record Reload(long atMillis, String error) {
    public boolean succeeded() {
      return error == null;
    }
  }

  /** TLS handshakes and certificate reloads, per pool and side. */
  public TlsStats tls() {
    return tls;
  }

  public long startMillis() {
    return startMillis;
  }

  /** Every connection ever opened: listeners, clients and server connections. */
  public long totalConnections() {
    return totalConnections.sum();
  }

  /** Connections open now, listeners included. */
  public long currentConnections() {
    return currentConnections.sum();
  }

  public void connectionOpened() {
    totalConnections.increment();
    currentConnections.increment();
  }

  public void connectionClosed() {
    currentConnections.decrement();
  }

  public List<Pool> pools() {
    return pools;
  }

  /**
   * One pool's counters and request latencies; {@code healthChecked}: its servers are probed when
   * ejected ({@code health_check_interval}), so their {@link HealthStat}s are reported;
   * {@code sentinels}: where Sentinel says its servers are, or {@code null} in a pool without.
   */
  public record Pool(String name, Counters<PoolStat> counters, List<Server> servers,
      Latency latency, boolean healthChecked, SentinelStats sentinels) {
    public Pool {
      servers = List.copyOf(servers);
    }

    public Pool(String name, Counters<PoolStat> counters, List<Server> servers) {
      this(name, counters, servers, new Latency(), false, null);
    }

    public Pool(String name, Counters<PoolStat> counters, List<Server> servers,
        Latency latency) {
      this(name, counters, servers, latency, false, null);
    }

    public Pool(String name, Counters<PoolStat> counters, List<Server> servers,
        Latency latency, boolean healthChecked) {
      this(name, counters, servers, latency, healthChecked, null);
    }

    /** A server's counters by its name, or {@code null}. */
    public Server server(String serverName) {
      for (Server server : servers) {
        if (server.name().equals(serverName)) {
          return server;
        }
      }
      return null;
    }
  }

  /**
   * One server's counters; {@code name} is twemproxy's server name. {@code pinned}: its private
   * connections ({@link PinStat}), shared by every generation of the pool, as the others are.
   */
  public record Server(String name, Counters<ServerStat> counters, Counters<HealthStat> health,
      Counters<PinStat> pinned) {
    public Server(String name, Counters<ServerStat> counters) {
      this(name, counters, new Counters<>(HealthStat.class));
    }

    public Server(String name, Counters<ServerStat> counters, Counters<HealthStat> health) {
      this(name, counters, health, new Counters<>(PinStat.class));
    }

    /** Whether the stats print its {@link PinStat}s: a private connection was taken or refused. */
    public boolean pinnedUsed() {
      return pinned.get(PinStat.PINNED_TAKEN) > 0 || pinned.get(PinStat.PINNED_REFUSED) > 0;
    }
  }
}
