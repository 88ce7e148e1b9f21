package walnut.testing;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Waits for a condition by polling it, so tests never sleep a fixed time and hope.
 *
 * <p>The condition is evaluated on the calling thread, first at once and then every few
 * milliseconds (1 ms doubling to 10 ms), and once more when the deadline has passed, so a condition
 * that becomes true just in time is not missed. Exceptions thrown by the condition propagate
 * unchanged. An interrupt while waiting restores the thread's interrupt flag and ends the wait with
 * an {@link IllegalStateException}.
 */
public final class Poll {
  private static final long FIRST_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  private static final long MAX_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

  private Poll() {}

  /**
   * Returns once {@code condition} is true; throws an {@link AssertionError} naming {@code what} if
   * it is still false when {@code timeout} has passed, so a test fails with a readable reason.
   */
  public static void until(Duration timeout, BooleanSupplier condition, String what) {
    if (!within(timeout, condition)) {
      throw new AssertionError(
          "timed out after " + timeout.toMillis() + " ms waiting for: " + what);
    }
  }

  /**
   * {@link #until(Duration, BooleanSupplier, String)} with a description built only on failure,
   * so it can say what was last seen.
   */
  public static void until(Duration timeout, BooleanSupplier condition, Supplier<String> what) {
    if (!within(timeout, condition)) {
      throw new AssertionError(
          "timed out after " + timeout.toMillis() + " ms waiting for: " + what.get());
    }
  }

  /**
   * Returns whether {@code condition} became true within {@code timeout}; for callers that build
   * their own failure (a fixture adding a server's log, say).
   */
  public static boolean within(Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    long pause = FIRST_PAUSE_NANOS;
    for (;;) {
      if (condition.getAsBoolean()) {
        return true;
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      try {
        TimeUnit.NANOSECONDS.sleep(Math.min(pause, left));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while polling", e);
      }
      // Back off a little: most conditions settle in a millisecond or two, the rest need not spin.
      pause = Math.min(pause * 2, MAX_PAUSE_NANOS);
    }
  }
}
