package walnut.server;

import java.util.List;
import java.util.NavigableSet;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import walnut.core.stats.HealthStat;
import walnut.core.stats.ServerStat;
import walnut.testing.KvLoad;

/**
 * What happens to one server of a {@link FaultRig} over time, sampled every millisecond or two on a
 * thread of its own: each ejection (its {@code server_ejected_at}, exact), each return after a
 * probe ({@code health_returns}) and each error a client of the load saw for its keys, the last two
 * as the span between the two samples that saw the counter change. Clients record an error when
 * they read it, so an error's span is a little after the proxy sent it.
 */
final class HealthTimeline implements AutoCloseable {

  /** A counter went from {@code before} to {@code after} between the two times. */
  record Change(long fromMillis, long toMillis, long before, long after) {
    long count() {
      return after - before;
    }
  }

  private final List<Change> errors = new CopyOnWriteArrayList<>();
  private final List<Change> returns = new CopyOnWriteArrayList<>();
  private final NavigableSet<Long> ejections = new ConcurrentSkipListSet<>();
  private final Thread thread;
  private volatile boolean done;

  HealthTimeline(FaultRig rig, KvLoad load, int server) {
    LongSupplier ejectedAt = () -> rig.serverStat(server, ServerStat.SERVER_EJECTED_AT) / 1_000;
    LongSupplier returned = () -> rig.walnut.proxy.stats().pools().get(0).servers().get(server)
        .health().get(HealthStat.HEALTH_RETURNS);
    LongSupplier failed = () -> load.errors(server);
    thread = new Thread(() -> {
      // A change seen by a sample happened after the previous sample's reads began and before
      // this one's ended.
      long last = System.currentTimeMillis();
      long errorsSeen = failed.getAsLong();
      long returnsSeen = returned.getAsLong();
      while (!done) {
        LockSupport.parkNanos(1_000_000);
        long start = System.currentTimeMillis();
        long e = failed.getAsLong();
        long r = returned.getAsLong();
        long ejected = ejectedAt.getAsLong();
        long end = System.currentTimeMillis();
        if (ejected > 0) {
          ejections.add(ejected);
        }
        if (e != errorsSeen) {
          errors.add(new Change(last, end, errorsSeen, e));
          errorsSeen = e;
        }
        if (r != returnsSeen) {
          returns.add(new Change(last, end, returnsSeen, r));
          returnsSeen = r;
        }
        last = start;
      }
    }, "health-timeline");
    thread.setDaemon(true);
    thread.start();
  }

  List<Change> errors() {
    return List.copyOf(errors);
  }

  List<Change> returns() {
    return List.copyOf(returns);
  }

  /** Every distinct {@code server_ejected_at} seen, in wall-clock millis. */
  NavigableSet<Long> ejections() {
    return new TreeSet<>(ejections);
  }

  @Override
  public void close() throws InterruptedException {
    done = true;
    thread.join(10_000);
  }
}
