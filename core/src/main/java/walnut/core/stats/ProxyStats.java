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
  private final List<Pool> pools;

  public ProxyStats(List<Pool> pools) {
    this.pools = List.copyOf(pools);
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

  /** One pool's counters. */
  public record Pool(String name, Counters<PoolStat> counters, List<Server> servers) {
    public Pool {
      servers = List.copyOf(servers);
    }
  }

  /** One server's counters; {@code name} is twemproxy's server name. */
  public record Server(String name, Counters<ServerStat> counters) {}
}
