package walnut.testing;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.time.Duration;

/**
 * Whether the heap comes back to where it was after a load: used heap measured right after a full
 * collection ({@link MemoryMXBean#gc()}), before and after, polled with a deadline since a pooled
 * buffer or a closing connection may let go of its memory a little later.
 *
 * <p>JVM-wide: another test running in the same JVM at the same time blurs the figure, hence the
 * generous slack callers give. Thread-safe.
 */
public final class HeapCheck {
  /** Collections are not free: look again at most this often. */
  private static final long MIN_INTERVAL_NANOS = Duration.ofMillis(200).toNanos();

  private HeapCheck() {}

  /** Bytes of heap in use after a full collection. */
  public static long usedAfterGc() {
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    memory.gc();
    return memory.getHeapMemoryUsage().getUsed();
  }

  /**
   * Returns the heap in use once it is at most {@code baseline + slack} bytes; fails naming both
   * figures if it is still above after {@code timeout}.
   */
  public static long awaitBackTo(long baseline, long slack, Duration timeout) {
    long[] last = {Long.MAX_VALUE};
    long[] lastAt = {System.nanoTime() - MIN_INTERVAL_NANOS};
    boolean back = Poll.within(timeout, () -> {
      if (System.nanoTime() - lastAt[0] < MIN_INTERVAL_NANOS) {
        return false;
      }
      last[0] = usedAfterGc();
      lastAt[0] = System.nanoTime();
      return last[0] <= baseline + slack;
    });
    if (!back) {
      last[0] = usedAfterGc();
      if (last[0] > baseline + slack) {
        throw new AssertionError("heap after the load: " + mib(last[0]) + " MiB (expected: <= "
            + mib(baseline) + " MiB baseline + " + mib(slack) + " MiB)");
      }
    }
    return last[0];
  }

  private static long mib(long bytes) {
    return bytes >> 20;
  }
}
