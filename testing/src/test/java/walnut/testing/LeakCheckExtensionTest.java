package walnut.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector.Level;
import org.junit.jupiter.api.Test;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

class LeakCheckExtensionTest {
  /** Set only while {@link Sample} runs inside the launcher below. */
  private static volatile boolean sampleArmed;

  /**
   * Run only through the launcher in {@link #failsTheTestThatLeaksAndOnlyIt}: Surefire skips nested
   * classes, and the assumption keeps an IDE's run-everything from failing on it.
   */
  static class Sample {
    @Test
    void leaksAPooledBuffer() {
      assumeTrue(sampleArmed);
      PooledByteBufAllocator.DEFAULT.directBuffer(8).writeLong(7);
    }

    @Test
    void releasesWhatItAllocates() {
      assumeTrue(sampleArmed);
      ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(8);
      buf.writeLong(7);
      buf.release();
    }
  }

  @Test
  void failsTheTestThatLeaksAndOnlyIt() {
    // Autodetection comes from this module's junit-platform.properties, as in a dependent module.
    SummaryGeneratingListener listener = new SummaryGeneratingListener();
    sampleArmed = true;
    try {
      LauncherFactory.create()
          .execute(
              LauncherDiscoveryRequestBuilder.request()
                  .selectors(selectClass(Sample.class))
                  .build(),
              listener);
    } finally {
      sampleArmed = false;
    }
    TestExecutionSummary summary = listener.getSummary();
    assertEquals(2, summary.getTestsSucceededCount() + summary.getTestsFailedCount());
    assertEquals(1, summary.getTestsFailedCount());
    TestExecutionSummary.Failure failure = summary.getFailures().get(0);
    assertEquals("leaksAPooledBuffer()", failure.getTestIdentifier().getDisplayName());
    String message = failure.getException().getMessage();
    assertTrue(
        message.startsWith(
            "Netty reported 1 leak(s) by the end of "
                + Sample.class.getName()
                + " > leaksAPooledBuffer()"),
        message);
    assertTrue(message.contains("LEAK: a ByteBuf"), message);
    assertTrue(message.contains("Sample.leaksAPooledBuffer"), message);
  }

  @Test
  void thisJvmIsConfiguredForLeakChecks() {
    PooledByteBufAllocator.DEFAULT.buffer(1).release();
    assertNull(
        LeakCheckExtension.misconfiguration(
            System.getProperty(LeakCheckExtension.DETECTOR_PROPERTY),
            RecordingLeakDetector.isInstalledFor(ByteBuf.class),
            io.netty.util.ResourceLeakDetector.getLevel()));
  }

  @Test
  void missingPropertyIsAMisconfigurationThatNamesTheFix() {
    String problem = LeakCheckExtension.misconfiguration(null, false, Level.PARANOID);
    assertTrue(problem.contains("not set"), problem);
    assertTrue(
        problem.contains(
            "-Dio.netty.customResourceLeakDetector=walnut.testing.RecordingLeakDetector"),
        problem);
  }

  @Test
  void propertyWithoutTheDetectorIsAMisconfiguration() {
    String problem =
        LeakCheckExtension.misconfiguration(
            RecordingLeakDetector.class.getName(), false, Level.PARANOID);
    assertTrue(problem.contains("did not create"), problem);
  }

  @Test
  void levelBelowParanoidIsAMisconfiguration() {
    String problem =
        LeakCheckExtension.misconfiguration(
            RecordingLeakDetector.class.getName(), true, Level.SIMPLE);
    assertTrue(problem.contains("SIMPLE"), problem);
  }
}
