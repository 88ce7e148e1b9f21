package walnut.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test after which Netty reports a leaked buffer, so a leak is a red build rather than a
 * log line.
 *
 * <p>Registration: this jar carries {@code
 * META-INF/services/org.junit.jupiter.api.extension.Extension} naming this class and a {@code
 * junit-platform.properties} with {@code junit.jupiter.extensions.autodetection.enabled=true}, so
 * every test class of a module with {@code walnut-leakcheck} (or {@code walnut-testing}, which
 * brings it) on its test class path gets it without
 * an annotation. JUnit (6.1.3 included) reads only the <em>first</em> {@code
 * junit-platform.properties} on the class path and only warns about the rest; a module's own {@code
 * src/test/resources/junit-platform.properties} comes first and hides ours, and then this extension
 * never loads and cannot complain: leaks pass silently. Such a file must repeat {@code
 * junit.jupiter.extensions.autodetection.enabled=true}; the sturdier fix is the same key as a
 * system property in Surefire's argLine ({@code
 * -Djunit.jupiter.extensions.autodetection.enabled=true}), which JUnit reads before any properties
 * file. The module must also run its tests with {@link RecordingLeakDetector} installed and the
 * paranoid level (the parent pom's {@code walnut.leakArgs} in Surefire's argLine).
 *
 * <p>Checks: once per JVM, before the first test class, the extension verifies that Netty really
 * created a {@link RecordingLeakDetector} for {@code ByteBuf} and that the level is paranoid; if
 * not, every test class fails in {@code beforeAll} with the fix, so a mis-configured module cannot
 * pass with leak checks silently off. After each test (after its {@code @AfterEach} methods) and
 * after each class (for class-level fixtures) it forces garbage collection (after a test only when
 * Netty tracked a buffer since the last sweep), waits for the JVM to
 * queue the collected references, and allocates and releases a few buffers so the detector polls
 * its queue; this happens twice, then any recorded report fails the test and the record is cleared.
 *
 * <p>Limits: only a buffer that is already garbage when the test ends is seen; one still held by a
 * running event loop is blamed on whichever test sweeps after it becomes garbage. The record is
 * JVM-wide, so the blame is exact only while tests run one at a time (JUnit's default); with {@code
 * junit.jupiter.execution.parallel.enabled} a leak fails whichever test sweeps first. A sweep costs
 * two full GCs, some tens of milliseconds per test.
 */
public final class LeakCheckExtension
    implements BeforeAllCallback, AfterEachCallback, AfterAllCallback {
  static final String DETECTOR_PROPERTY = "io.netty.customResourceLeakDetector";
  static final String LEVEL_PROPERTY = "io.netty.leakDetection.level";

  /** Two rounds: the second GC's sentinel is queued only after the first GC's batch is. */
  private static final int ROUNDS = 2;

  /** Bounds the wait per round if explicit GC is disabled (-XX:+DisableExplicitGC). */
  private static final long REFERENCE_WAIT_MILLIS = 200;

  /** Public no-argument constructor, for ServiceLoader. */
  public LeakCheckExtension() {}

  @Override
  public void beforeAll(ExtensionContext context) {
    String problem = Installation.PROBLEM;
    if (problem != null) {
      throw new ExtensionConfigurationException(problem);
    }
  }

  /** {@link RecordingLeakDetector#trackedCount()} when the last sweep ended. */
  private static volatile long trackedAtLastSweep = -1;

  /**
   * Sweeps after a test that made Netty track a resource. A test that tracked none cannot have
   * leaked one of its own (an older buffer that becomes garbage meanwhile is caught by the next
   * sweep, at the latest the class's), so a test of pure computation, such as the thousands of
   * cases of a parameterized golden-data test, does not pay two full GCs.
   */
  @Override
  public void afterEach(ExtensionContext context) {
    if (RecordingLeakDetector.trackedCount() == trackedAtLastSweep) {
      return;
    }
    failOnLeaks(
        sweep(), context.getRequiredTestClass().getName() + " > " + context.getDisplayName());
  }

  @Override
  public void afterAll(ExtensionContext context) {
    failOnLeaks(sweep(), "all tests of " + context.getRequiredTestClass().getName());
  }

  /**
   * Provokes leak detection as described in the class comment and returns, and clears, every report
   * recorded so far.
   */
  static List<RecordingLeakDetector.Report> sweep() {
    for (int round = 0; round < ROUNDS; round++) {
      collectGarbage();
      exerciseAllocators();
    }
    trackedAtLastSweep = RecordingLeakDetector.trackedCount();
    return RecordingLeakDetector.drain();
  }

  /**
   * Why the leak checks cannot be trusted in a JVM with these settings, or null if they can.
   *
   * @param detectorProperty the value of {@value #DETECTOR_PROPERTY}, or null
   * @param recordingInstalled whether Netty created a {@link RecordingLeakDetector} for ByteBuf
   * @param level Netty's effective leak detection level
   */
  static String misconfiguration(
      String detectorProperty, boolean recordingInstalled, ResourceLeakDetector.Level level) {
    String fix =
        " Run the tests with -D"
            + LEVEL_PROPERTY
            + "=paranoid -D"
            + DETECTOR_PROPERTY
            + "="
            + RecordingLeakDetector.class.getName()
            + " in Surefire's argLine (the parent pom's walnut.leakArgs does this; check that the"
            + " module does not override it).";
    if (!RecordingLeakDetector.class.getName().equals(detectorProperty)) {
      return "Leak checks are off: -D"
          + DETECTOR_PROPERTY
          + " is "
          + (detectorProperty == null ? "not set" : "'" + detectorProperty + "'")
          + "."
          + fix;
    }
    if (!recordingInstalled) {
      return "Leak checks are off: -D"
          + DETECTOR_PROPERTY
          + " is set but Netty did not create a "
          + RecordingLeakDetector.class.getSimpleName()
          + " for ByteBuf here (it loads the class"
          + " from the system class loader: keep Surefire's useSystemClassLoader=true, and make"
          + " sure no ByteBuf was allocated before the property was set; see Netty's log).";
    }
    if (level != ResourceLeakDetector.Level.PARANOID) {
      return "Leak checks are weak: Netty's leak detection level is "
          + level
          + ", so most buffers are never tracked."
          + fix;
    }
    return null;
  }

  private static void failOnLeaks(List<RecordingLeakDetector.Report> reports, String after) {
    if (!reports.isEmpty()) {
      throw new AssertionError(
          "Netty reported "
              + reports.size()
              + " leak(s) by the end of "
              + after
              + ":\n"
              + reports.stream().map(Object::toString).collect(Collectors.joining("\n\n")));
    }
  }

  /**
   * Runs a full GC and waits until the reference handler has queued a sentinel weak reference
   * cleared by it, so Netty's references cleared by the same GC are (nearly all) queued too.
   */
  private static void collectGarbage() {
    ReferenceQueue<Object> queue = new ReferenceQueue<>();
    WeakReference<Object> sentinel = new WeakReference<>(new Object(), queue);
    System.gc();
    try {
      queue.remove(REFERENCE_WAIT_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for garbage collection", e);
    } finally {
      // A Reference that is itself garbage is never queued.
      Reference.reachabilityFence(sentinel);
    }
  }

  /**
   * Netty polls a detector's reference queue only when that detector tracks a new object. Today
   * every allocator's buffers share one ByteBuf detector, but touching each allocator keeps the
   * sweep correct should that change.
   */
  private static void exerciseAllocators() {
    release(PooledByteBufAllocator.DEFAULT.directBuffer(1));
    release(PooledByteBufAllocator.DEFAULT.heapBuffer(1));
    release(UnpooledByteBufAllocator.DEFAULT.directBuffer(1));
    release(UnpooledByteBufAllocator.DEFAULT.heapBuffer(1));
    release(ByteBufAllocator.DEFAULT.buffer(1));
  }

  private static void release(ByteBuf buf) {
    buf.release();
  }

  /** The configuration check, evaluated once per JVM on first use (holder idiom). */
  private static final class Installation {
    static final String PROBLEM = probe();

    private static String probe() {
      // Allocating makes Netty create its ByteBuf detector, if nothing has yet.
      exerciseAllocators();
      return misconfiguration(
          System.getProperty(DETECTOR_PROPERTY),
          RecordingLeakDetector.isInstalledFor(ByteBuf.class),
          ResourceLeakDetector.getLevel());
    }
  }
}
