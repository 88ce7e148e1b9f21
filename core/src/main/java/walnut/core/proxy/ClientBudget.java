package walnut.core.proxy;

import com.sun.management.UnixOperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How many client connections the process can hold, twemproxy's way
 * (docs/compatibility.md#connections): the descriptor limit, less every backend connection the
 * pools may open and one listener each, less 32 for everything else. A connection beyond it is
 * accepted and closed at once, rather than letting the process run out of descriptors for its
 * servers.
 */
final class ClientBudget {

  private static final int RESERVED = 32;

  private final int max;
  private final AtomicInteger used = new AtomicInteger();

  ClientBudget(int max) {
    this.max = max;
  }

  /** The budget for {@code backendConnections} possible backend connections and listeners. */
  static ClientBudget forDescriptors(long backendConnections) {
    long descriptors = descriptorLimit();
    long max = descriptors - backendConnections - RESERVED;
    return new ClientBudget((int) Math.max(1, Math.min(Integer.MAX_VALUE, max)));
  }

  /** RLIMIT_NOFILE as the JVM sees it, or effectively unlimited where it cannot tell. */
  static long descriptorLimit() {
    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof UnixOperatingSystemMXBean unix) {
      return unix.getMaxFileDescriptorCount();
    }
    return Integer.MAX_VALUE;
  }

  int max() {
    return max;
  }

  boolean take() {
    if (used.incrementAndGet() > max) {
      used.decrementAndGet();
      return false;
    }
    return true;
  }

  void release() {
    used.decrementAndGet();
  }
}
