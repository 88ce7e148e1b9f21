package walnut.core.stats;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * What TLS does, per pool and side (docs/compatibility.md#tls): handshakes that failed or timed
 * out, certificate files reloaded or refused, and when Walnut's own certificate expires. Kept by
 * pool name, so a reload keeps the counts; a side reports while its pool uses TLS there.
 *
 * <p>Thread-safe: event loops and the certificate watcher write, the metrics server reads.
 */
public final class TlsStats {

  /** Which connections: clients' to Walnut, or Walnut's to the servers. */
  public enum Side {
    CLIENT("client"),
    SERVER("server");

    private final String label;

    Side(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }
  }

  /** One pool's side. */
  public static final class Counters {
    private final String pool;
    private final Side side;
    private final LongAdder handshakeFailures = new LongAdder();
    private final LongAdder handshakeTimeouts = new LongAdder();
    private final LongAdder reloads = new LongAdder();
    private final LongAdder reloadFailures = new LongAdder();
    /** Walnut's certificate's notAfter, in seconds since the epoch; 0 without one. */
    private volatile long notAfter;
    private volatile boolean active;

    Counters(String pool, Side side) {
      this.pool = pool;
      this.side = side;
    }

    public String pool() {
      return pool;
    }

    public Side side() {
      return side;
    }

    /** A handshake failed: {@code timedOut} when it did not finish in time. */
    public void handshakeFailed(boolean timedOut) {
      (timedOut ? handshakeTimeouts : handshakeFailures).increment();
    }

    public void reloaded(long notAfterSeconds) {
      reloads.increment();
      this.notAfter = notAfterSeconds;
    }

    public void reloadFailed() {
      reloadFailures.increment();
    }

    /** The context in use now has Walnut's certificate expiring then (0: no certificate). */
    public void loaded(long notAfterSeconds) {
      this.notAfter = notAfterSeconds;
    }

    public long handshakeFailures() {
      return handshakeFailures.sum();
    }

    public long handshakeTimeouts() {
      return handshakeTimeouts.sum();
    }

    public long reloads() {
      return reloads.sum();
    }

    public long reloadFailures() {
      return reloadFailures.sum();
    }

    public long notAfter() {
      return notAfter;
    }

    /** Whether the pool uses TLS on this side now. */
    public boolean active() {
      return active;
    }

    public void active(boolean active) {
      this.active = active;
    }
  }

  private final ConcurrentMap<String, Counters> sides = new ConcurrentHashMap<>();

  /** {@code pool}'s counters for {@code side}, made on first use. */
  public Counters of(String pool, Side side) {
    return sides.computeIfAbsent(pool + '\0' + side.label(), k -> new Counters(pool, side));
  }

  /** Every side in use now. */
  public List<Counters> active() {
    List<Counters> active = new ArrayList<>();
    for (Counters c : sides.values()) {
      if (c.active) {
        active.add(c);
      }
    }
    active.sort((a, b) -> a.pool.equals(b.pool) ? a.side.compareTo(b.side)
        : a.pool.compareTo(b.pool));
    return active;
  }
}
