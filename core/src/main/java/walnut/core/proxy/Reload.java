package walnut.core.proxy;

import io.netty.channel.Channel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ProxyConfig;
import walnut.core.config.ServerConfig;
import walnut.core.stats.Counters;
import walnut.core.stats.Latency;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ProxyStats;
import walnut.core.stats.SentinelStats;
import walnut.core.stats.ServerStat;

/**
 * One configuration reload, in three steps: {@link #plan} makes a new pool generation for every
 * added or changed pool (an unknown plug-in fails here), {@link #bind} binds the listeners at new
 * addresses (a failure closes them again), and only then {@link #commit} swaps them in. A step
 * that throws leaves the running configuration serving unchanged.
 *
 * <p>A changed pool of the same protocol keeps its {@link PoolHandle}: its clients route their
 * next requests with the new generation while their requests in flight finish on the old one,
 * whose connections close once idle. A pool whose protocol changed gets a new handle and
 * listener, while its old clients keep the old pool, as do the clients of a removed pool, until
 * they disconnect. Used once, under the proxy's reload lock.
 */
final class Reload {

  private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

  /** Makes a running pool for a configuration (plug-ins looked up, connection cap checked). */
  interface PoolFactory {
    Pool newPool(PoolConfig config, ProxyStats.Pool stats);
  }

  private final Map<String, PoolConfig> before = new LinkedHashMap<>();
  private final ProxyConfig next;
  private final ProxyStats stats;
  private final PoolFactory pools;
  private final ClientBudget budget;
  private final Map<String, PoolHandle> handles;
  private final Listeners listeners;
  private final List<ProxyStats.Pool> statsList = new ArrayList<>();
  private final Map<String, Pool> fresh = new LinkedHashMap<>();
  private final Map<String, PoolHandle> freshHandles = new LinkedHashMap<>();
  private final Map<String, Channel> bound = new LinkedHashMap<>();
  /** The generations {@link #commit} swapped in so far. */
  private final List<Pool> committed = new ArrayList<>();

  Reload(ProxyConfig current, ProxyConfig next, ProxyStats stats, PoolFactory pools,
      ClientBudget budget, Map<String, PoolHandle> handles, Listeners listeners) {
    current.pools().forEach(pc -> before.put(pc.name(), pc));
    this.next = next;
    this.stats = stats;
    this.pools = pools;
    this.budget = budget;
    this.handles = handles;
    this.listeners = listeners;
  }

  /** The counters of {@code pool}: those of {@code old} kept for the servers it still has. */
  static ProxyStats.Pool statsFor(PoolConfig pool, ProxyStats.Pool old) {
    List<ProxyStats.Server> servers = new ArrayList<>();
    for (ServerConfig server : pool.servers()) {
      ProxyStats.Server kept = old == null ? null : old.server(server.name());
      servers.add(kept != null ? kept
          : new ProxyStats.Server(server.name(), new Counters<>(ServerStat.class)));
    }
    SentinelStats sentinels = !pool.sentinelled() ? null : new SentinelStats(
        pool.servers().stream().map(ServerConfig::name).toList(),
        pool.servers().stream().map(s -> s.endpoint().toString()).toList(),
        pool.sentinels().stream().map(Endpoint::toString).toList(),
        old == null ? null : old.sentinels());
    return old == null
        ? new ProxyStats.Pool(pool.name(), new Counters<>(PoolStat.class), servers,
            new Latency(), pool.healthChecked(), sentinels)
        : new ProxyStats.Pool(pool.name(), old.counters(), servers, old.latency(),
            pool.healthChecked(), sentinels);
  }

  private static boolean sameProtocol(PoolConfig old, PoolConfig next) {
    return old != null && old.redis() == next.redis();
  }

  /** Step 1: a new generation for each added or changed pool; nothing runs yet. */
  void plan() {
    Map<String, ProxyStats.Pool> oldStats = new LinkedHashMap<>();
    stats.pools().forEach(ps -> oldStats.put(ps.name(), ps));
    for (PoolConfig pc : next.pools()) {
      PoolConfig old = before.get(pc.name());
      if (pc.equals(old)) {
        statsList.add(oldStats.get(pc.name()));
        continue;
      }
      ProxyStats.Pool ps = statsFor(pc, sameProtocol(old, pc) ? oldStats.get(pc.name()) : null);
      statsList.add(ps);
      fresh.put(pc.name(), pools.newPool(pc, ps));
    }
  }

  /** Step 2: listeners at new addresses, bound before anything changes. */
  void bind() throws InterruptedException {
    try {
      for (Pool pool : fresh.values()) {
        String name = pool.config().name();
        PoolConfig old = before.get(name);
        PoolHandle handle = sameProtocol(old, pool.config()) ? handles.get(name)
            : new PoolHandle(pool, budget);
        freshHandles.put(name, handle);
        if (old == null || !old.listen().equals(pool.config().listen())) {
          bound.put(name, listeners.bind(pool, handle));
        }
      }
    } catch (RuntimeException | InterruptedException e) {
      for (Channel listener : bound.values()) {
        listeners.closeUnregistered(listener);
      }
      throw e;
    }
  }

  /**
   * Step 3: swaps the new generations in, adding each to {@code generations} (closed at shutdown)
   * before it serves, so that a commit cut short still leaves every swapped pool closable. Each
   * generation replaced, and each of a removed pool, is superseded: it goes once its clients have
   * left and nothing is in flight on it ({@link Generations#prune}).
   */
  void commit(Generations generations) throws InterruptedException {
    for (Pool pool : fresh.values()) {
      String name = pool.config().name();
      PoolConfig old = before.get(name);
      PoolHandle handle = freshHandles.get(name);
      Channel listener = bound.get(name);
      boolean sameProtocol = sameProtocol(old, pool.config());
      if (old != null && (listener != null || !sameProtocol)) {
        listeners.close(name, old.listen());
      }
      if (listener == null && !sameProtocol) {
        // Same address, another protocol: the old listener had to go first.
        try {
          listener = listeners.bind(pool, handle);
        } catch (RuntimeException e) {
          log.error("reload: pool '{}' has no listener: {}", name, e.getMessage());
        }
      }
      if (listener != null) {
        listeners.put(name, listener);
      }
      generations.add(pool);
      committed.add(pool);
      if (sameProtocol) {
        Pool previous = handle.current();
        pool.serve(previous);
        handle.replace(pool);
        previous.retire();
      } else {
        pool.serve(null);
        // The old handle keeps serving its clients with the old pool, which takes no new one.
        PoolHandle previous = handles.put(name, handle);
        if (previous != null) {
          previous.current().supersede();
        }
      }
    }
    long removed = 0;
    for (PoolConfig old : before.values()) {
      if (next.pools().stream().noneMatch(pc -> pc.name().equals(old.name()))) {
        listeners.close(old.name(), old.listen());
        // Its clients keep the old pool until they disconnect; it takes no new one.
        PoolHandle gone = handles.remove(old.name());
        if (gone != null) {
          gone.current().supersede();
        }
        removed++;
      }
    }
    stats.replacePools(statsList);
    log.info("reloaded: {} pools ({} added or changed, {} removed)", next.pools().size(),
        fresh.size(), removed);
  }

  /**
   * A step threw: the generations this reload made and did not swap in never serve. They join
   * {@code generations} superseded, so that they go like any other: their connections (a
   * {@code preconnect} may have opened some) close, and their latency recorders are read no more.
   */
  void abandon(Generations generations) {
    for (Pool pool : fresh.values()) {
      if (!committed.contains(pool)) {
        pool.retire();
        generations.add(pool);
      }
    }
  }
}
