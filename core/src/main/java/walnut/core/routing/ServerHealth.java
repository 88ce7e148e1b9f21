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
  /**
   * Wall-clock millis until which the server is out of the ring; 0 when it is in; MAX_VALUE when
   * only a probe puts it back ({@code health_check_interval}).
   */
  private volatile long ejectedUntil;
  /** While out: the error reply's text for its keys when they do not move; {@code null} when in. */
  private volatile String refusal;

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

  void ejectUntil(long millis, String refusal) {
    this.refusal = refusal;
    ejectedUntil = millis;
  }

  /** Back in the ring, with a clean count: a probe succeeded. */
  void readmit() {
    failures.set(0);
    ejectedUntil = 0;
  }

  String refusal() {
    return refusal;
  }

  long ejectedUntil() {
    return ejectedUntil;
  }

  boolean isLive(long now) {
    return ejectedUntil <= now;
  }
}
