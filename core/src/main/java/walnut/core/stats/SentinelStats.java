package walnut.core.stats;

import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * What a pool with sentinels reports besides twemproxy's counters (docs/compatibility.md#sentinel):
 * where each server is now, how many failovers moved it, and whether each sentinel answers.
 * Indexed like the pool's servers (their sorted order) and its {@code sentinels:} list.
 *
 * <p>Thread-safe: the pool's sentinel watch writes, the stats and metrics servers read.
 */
public final class SentinelStats {

  private final List<String> servers;
  private final List<String> sentinels;
  private final AtomicReferenceArray<String> addresses;
  private final AtomicLongArray failovers;
  private final AtomicIntegerArray up;
  /** Per server: the highest config-epoch followed (-1: none yet), carried across reloads. */
  private final AtomicLongArray epochs;

  /**
   * {@code servers}: the pool's server names, {@code addresses} where each is configured;
   * {@code previous}, when not {@code null}, the generation a reload replaces: a server of the
   * same name keeps its address and failover count, and its config-epoch when the two share a
   * sentinel (another Sentinel group counts its epochs afresh).
   */
  public SentinelStats(List<String> servers, List<String> addresses, List<String> sentinels,
      SentinelStats previous) {
    this.servers = List.copyOf(servers);
    this.sentinels = List.copyOf(sentinels);
    this.addresses = new AtomicReferenceArray<>(addresses.toArray(new String[0]));
    this.failovers = new AtomicLongArray(servers.size());
    this.up = new AtomicIntegerArray(sentinels.size());
    this.epochs = new AtomicLongArray(servers.size());
    for (int i = 0; i < servers.size(); i++) {
      epochs.set(i, -1);
    }
    if (previous != null) {
      for (int i = 0; i < servers.size(); i++) {
        int j = previous.servers.indexOf(servers.get(i));
        if (j >= 0) {
          this.addresses.set(i, previous.addresses.get(j));
          this.failovers.set(i, previous.failovers.get(j));
          if (!java.util.Collections.disjoint(previous.sentinels, sentinels)) {
            this.epochs.set(i, previous.epochs.get(j)); // the same sentinels: the same epochs
          }
        }
      }
    }
  }

  /** Where server {@code server} is now, {@code host:port}. */
  public String address(int server) {
    return addresses.get(server);
  }

  /** How many failovers moved server {@code server} since the proxy started. */
  public long failovers(int server) {
    return failovers.get(server);
  }

  /** The sentinels, {@code host:port}, in the configuration's order. */
  public List<String> sentinels() {
    return sentinels;
  }

  /** Whether sentinel {@code sentinel} answered the last time it was asked. */
  public boolean up(int sentinel) {
    return up.get(sentinel) != 0;
  }

  /** Server {@code server} is at {@code address} now; {@code failover}: a failover moved it. */
  public void moved(int server, String address, boolean failover) {
    addresses.set(server, address);
    if (failover) {
      failovers.incrementAndGet(server);
    }
  }

  /**
   * The highest Sentinel config-epoch of server {@code server}'s master that was followed, or -1:
   * a reload's new watch never follows an older one.
   */
  public long epoch(int server) {
    return epochs.get(server);
  }

  /** Server {@code server}'s master is known at config-epoch {@code epoch}. */
  public void epoch(int server, long epoch) {
    epochs.set(server, epoch);
  }

  /** Sentinel {@code sentinel} answers, or not. */
  public void sentinelUp(int sentinel, boolean answers) {
    up.set(sentinel, answers ? 1 : 0);
  }
}
