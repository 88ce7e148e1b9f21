package walnut.core.routing;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Failure count and ejection state of one server, shared by every event loop
 * (docs/compatibility.md#ejection).
 *
 * <p>Thread-safe: the count is atomic and the ejection deadline volatile. Counting closes, not
 * failed requests, is twemproxy's rule: four pipelined requests failing together on one
 * connection count once.
 */
final class ServerHealth {

  private final AtomicInteger failures = new AtomicInteger();
  /** Wall-clock millis until which the server is out of the ring; 0 when it is in. */
  private volatile long ejectedUntil;

  /** A reply matched to a request: the run of failures is over. */
  void success() {
    // Read first: a write per reply to a shared line would cost every loop a cache miss.
    if (failures.get() != 0) {
      failures.set(0);
    }
  }

  /** Counts one closed connection; returns true when that reaches {@code limit}. */
  boolean failure(int limit) {
    int n = failures.incrementAndGet();
    // Two loops may reach the limit together: only the one that resets the count ejects.
    return n >= Math.max(1, limit) && failures.compareAndSet(n, 0);
  }

  void ejectUntil(long millis) {
    ejectedUntil = millis;
  }

  long ejectedUntil() {
    return ejectedUntil;
  }

  boolean isLive(long now) {
    return ejectedUntil <= now;
  }
}
