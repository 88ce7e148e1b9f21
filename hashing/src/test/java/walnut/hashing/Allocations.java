package walnut.hashing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;

/** Bytes the current thread allocates while running a piece of code. */
final class Allocations {

  private Allocations() {}

  /** Runs {@code work} {@code warmUp} times, then measures {@code measured} more runs. */
  static long bytesAllocated(Runnable work, int warmUp, int measured) {
    var bean = ManagementFactory.getThreadMXBean();
    assumeTrue(bean instanceof com.sun.management.ThreadMXBean,
        "this JVM cannot measure allocations per thread");
    var threads = (com.sun.management.ThreadMXBean) bean;
    assumeTrue(threads.isThreadAllocatedMemorySupported(),
        "this JVM cannot measure allocations per thread");
    threads.setThreadAllocatedMemoryEnabled(true);
    for (int i = 0; i < warmUp; i++) {
      work.run();
    }
    long before = threads.getCurrentThreadAllocatedBytes();
    for (int i = 0; i < measured; i++) {
      work.run();
    }
    return threads.getCurrentThreadAllocatedBytes() - before;
  }
}
