package walnut.core.proxy;

import io.netty.util.concurrent.EventExecutor;
import java.util.ArrayList;
import java.util.List;

/**
 * The channels written to since the last flush of one event loop's part of a pool, flushed once
 * when the loop has handled every channel that was ready rather than after each read: the requests
 * of all clients read in one pass go to a server in one write, as twemproxy gathers them into one
 * writev (flushing per client read cost one system call per request).
 *
 * <p>Backend connections are flushed before client sessions. Confined to {@code executor}.
 */
final class Burst {

  /** A channel writer that has frames written but not flushed. */
  interface Flushable {
    void flush();
  }

  private final EventExecutor executor;
  private final List<Flushable> backends = new ArrayList<>();
  private final List<Flushable> clients = new ArrayList<>();
  private boolean scheduled;
  private final Runnable task = () -> {
    scheduled = false;
    flush();
  };

  Burst(EventExecutor executor) {
    this.executor = executor;
  }

  /**
   * A backend connection was written to. Scheduling here, not only when a channel's read
   * completes, matters after a reload: a session moved to another pool still gets replies from
   * its old pool's connections, and a reply must never wait for the other pool's flush.
   */
  void backendWritten(Flushable backend) {
    backends.add(backend);
    flushSoon();
  }

  /** A client session was written to. */
  void clientWritten(Flushable client) {
    clients.add(client);
    flushSoon();
  }

  /** Flushes once the loop has run what is ready now, if anything was written. */
  void flushSoon() {
    if (!scheduled && (!backends.isEmpty() || !clients.isEmpty())) {
      scheduled = true;
      executor.execute(task);
    }
  }

  /** Ends the burst now: one flush per connection and session written to. */
  void flush() {
    flushAll(backends);
    flushAll(clients);
  }

  private static void flushAll(List<Flushable> written) {
    if (!written.isEmpty()) {
      for (int i = 0; i < written.size(); i++) {
        written.get(i).flush();
      }
      written.clear();
    }
  }
}
