package walnut.testing;

import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakTracker;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Netty's leak detector, but every leak it reports is also recorded, so {@link LeakCheckExtension}
 * can fail the test instead of leaving a line in a log nobody reads.
 *
 * <p>Install it JVM-wide with {@code
 * -Dio.netty.customResourceLeakDetector=walnut.testing.RecordingLeakDetector} together with {@code
 * -Dio.netty.leakDetection.level=paranoid}, in Surefire's {@code argLine} (the parent pom's {@code
 * walnut.leakArgs} does both). Netty reads the property once, when its first detector is created,
 * so it cannot be switched per test. Netty's {@code ResourceLeakDetectorFactory} loads this class
 * from the system class loader and calls the public {@code (Class, int)} constructor, or the
 * obsolete {@code (Class, int, long)} one; if either lookup fails Netty logs an error and silently
 * falls back to its own detector, which is why {@link LeakCheckExtension} checks {@link
 * #isInstalledFor} before trusting an empty record.
 *
 * <p>All detectors in the JVM share one thread-safe record. Netty only reports a leak when it
 * tracks a new resource of the same type after the leaked one was garbage-collected, and reports
 * each distinct access trace once per detector; the record therefore fills only after a GC and a
 * later allocation, which {@link LeakCheckExtension} provokes. Reports are still logged by Netty as
 * well.
 *
 * @param <T> the tracked resource type, as in Netty
 */
public class RecordingLeakDetector<T> extends ResourceLeakDetector<T> {
  private static final Queue<Report> reports = new ConcurrentLinkedQueue<>();
  private static final Set<Class<?>> trackedTypes = ConcurrentHashMap.newKeySet();
  private static final AtomicLong tracked = new AtomicLong();

  /**
   * One leak as Netty reported it.
   *
   * @param resourceType Netty's simple name of the leaked type, e.g. {@code ByteBuf}
   * @param records the creation and access traces; empty for an untraced leak (level below
   *     paranoid/advanced, or sampled out)
   */
  public record Report(String resourceType, String records) {
    @Override
    public String toString() {
      return records.isEmpty()
          ? "LEAK: a "
              + resourceType
              + " was garbage-collected before release(); no records"
              + " (run with -Dio.netty.leakDetection.level=paranoid to see where it came from)"
          : "LEAK: a " + resourceType + " was garbage-collected before release()." + records;
    }
  }

  /** The constructor Netty's factory calls. */
  public RecordingLeakDetector(Class<?> resourceType, int samplingInterval) {
    super(resourceType, samplingInterval);
    trackedTypes.add(resourceType);
  }

  /**
   * The obsolete shape Netty's factory still looks up; provided so no detector falls back to
   * Netty's. {@code maxActive} is ignored, as Netty itself ignores it.
   */
  public RecordingLeakDetector(Class<?> resourceType, int samplingInterval, long maxActive) {
    this(resourceType, samplingInterval);
  }

  /** Counts every resource tracked, so a sweep can tell whether anything new could have leaked. */
  @Override
  public ResourceLeakTracker<T> track(T obj) {
    tracked.incrementAndGet();
    return super.track(obj);
  }

  /** How many resources the detectors of this class have been asked to track so far. */
  public static long trackedCount() {
    return tracked.get();
  }

  /**
   * Always report: Netty's default asks whether its logger has ERROR enabled and, if not, throws
   * the leak records away, so a test JVM without a logging binding would never see a leak.
   */
  @Override
  protected boolean needReport() {
    return true;
  }

  @Override
  protected void reportTracedLeak(String resourceType, String records) {
    reports.add(new Report(resourceType, records));
    super.reportTracedLeak(resourceType, records);
  }

  @Override
  protected void reportUntracedLeak(String resourceType) {
    reports.add(new Report(resourceType, ""));
    super.reportUntracedLeak(resourceType);
  }

  /** Removes and returns every report recorded so far, oldest first. */
  public static List<Report> drain() {
    List<Report> drained = new ArrayList<>();
    for (Report report; (report = reports.poll()) != null; ) {
      drained.add(report);
    }
    return drained;
  }

  /** A snapshot of the reports recorded so far, without removing them. */
  public static List<Report> reports() {
    return List.copyOf(reports);
  }

  /**
   * Whether Netty created a detector of this class for {@code resourceType} (e.g. {@code
   * ByteBuf.class}, once any buffer has been allocated) in this class loader; false means Netty's
   * own detector is in use and leaks would go unrecorded.
   */
  public static boolean isInstalledFor(Class<?> resourceType) {
    return trackedTypes.contains(resourceType);
  }
}
