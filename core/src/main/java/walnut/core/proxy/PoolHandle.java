package walnut.core.proxy;

import java.util.concurrent.atomic.AtomicInteger;
import walnut.core.config.PoolConfig;

/**
 * A pool by name, across configuration reloads: the listener and its client sessions hold the
 * handle, and take {@link #current()} for each new request, so a reload changes the servers and
 * the continuum under established connections without closing them.
 */
final class PoolHandle {

  private volatile Pool current;
  /** Client connections of this pool, for {@code client_connections}. */
  private final AtomicInteger clients = new AtomicInteger();
  /** Client connections of every pool, against the file-descriptor budget. */
  private final ClientBudget budget;

  PoolHandle(Pool pool, ClientBudget budget) {
    this.current = pool;
    this.budget = budget;
  }

  Pool current() {
    return current;
  }

  /**
   * The current generation's settings as clients' requests are decoded with them: what a
   * client's next request is decoded with ({@link Pool#clientConfig()}).
   */
  PoolConfig config() {
    return current.clientConfig();
  }

  void replace(Pool next) {
    current = next;
  }

  /**
   * Takes a client connection slot; false when the pool's {@code client_connections} or the
   * process's descriptor budget is used up (the caller closes the connection at once, as
   * twemproxy does at its own limit).
   */
  boolean admitClient() {
    int limit = current.config().clientConnections();
    int now = clients.incrementAndGet();
    if (limit > 0 && now > limit) {
      clients.decrementAndGet();
      return false;
    }
    if (!budget.take()) {
      clients.decrementAndGet();
      return false;
    }
    return true;
  }

  void clientClosed() {
    clients.decrementAndGet();
    budget.release();
  }
}
