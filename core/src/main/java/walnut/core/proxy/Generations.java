package walnut.core.proxy;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Every pool generation still running: the current ones, and those a reload superseded that
 * something still uses. {@link #prune} drops a superseded generation once no client session
 * routes with it and nothing is in flight on it, with what hangs off it: its loops' parts, their
 * closed backend connections, and its latency recorders, whose last readings are folded into the
 * pool's totals first ({@link Pool#dropped}). The counters a generation wrote are shared with the
 * pool's next generation by name (see {@link Reload#statsFor}), so dropping it changes no stats.
 *
 * <p>Sessions move to a new generation lazily, with their next request: an idle client keeps its
 * generation until it sends or closes.
 *
 * <p>Thread-safe. Whether a generation is used is asked on each event loop, where its part is
 * confined ({@link LoopPool#unused}); once a superseded part is unused it stays so, since a session
 * takes a generation only while it is current (its handle's, read on the session's loop when it
 * connects or sends: a read that saw the generation current ran before the reload superseded it,
 * so before the pruning's task on that loop), so the answers of all loops together decide.
 */
final class Generations {

  private final List<Pool> pools = new CopyOnWriteArrayList<>();
  /** Generations asked about now: one pass at a time per generation. */
  private final Set<Pool> asking = ConcurrentHashMap.newKeySet();

  void add(Pool pool) {
    pools.add(pool);
  }

  /** Every generation still running, for the shutdown to close. */
  Iterable<Pool> all() {
    return pools;
  }

  int size() {
    return pools.size();
  }

  /**
   * Asks each loop about every superseded generation, and drops those no loop uses any more.
   * Returns at once: the answers come on the loops.
   */
  void prune() {
    for (Pool pool : pools) {
      if (pool.superseded() && asking.add(pool)) {
        ask(pool);
      }
    }
  }

  private void ask(Pool pool) {
    List<LoopPool> loops = pool.loopList();
    AtomicInteger waiting = new AtomicInteger(loops.size());
    AtomicBoolean used = new AtomicBoolean();
    if (loops.isEmpty()) {
      answered(pool, true);
      return;
    }
    for (LoopPool loop : loops) {
      Runnable answer = () -> {
        if (waiting.decrementAndGet() == 0) {
          answered(pool, !used.get());
        }
      };
      try {
        loop.eventLoop().execute(() -> {
          if (!loop.unused()) {
            used.set(true);
          }
          answer.run();
        });
      } catch (RejectedExecutionException e) {
        used.set(true); // the loops are shutting down: the shutdown closes what is left
        answer.run();
      }
    }
  }

  private void answered(Pool pool, boolean unused) {
    if (unused && pools.remove(pool)) {
      pool.dropped();
    }
    asking.remove(pool);
  }
}
