package walnut.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Runs with this module's Surefire argLine: paranoid level and the recording detector. */
class RecordingLeakDetectorTest {
  @Test
  void nettyCreatesTheRecordingDetectorForBuffers() {
    PooledByteBufAllocator.DEFAULT.buffer(1).release();
    assertTrue(RecordingLeakDetector.isInstalledFor(ByteBuf.class));
    assertEquals(ResourceLeakDetector.Level.PARANOID, ResourceLeakDetector.getLevel());
  }

  @Test
  void leakedPooledBufferIsRecordedWithWhereItWasAllocated() {
    leakAPooledBuffer();
    List<RecordingLeakDetector.Report> reports = new ArrayList<>();
    // sweep() also drains the record, so the extension does not fail this test afterwards.
    Poll.until(
        Duration.ofSeconds(5),
        () -> reports.addAll(LeakCheckExtension.sweep()),
        "Netty to report the leaked buffer");
    assertEquals(1, reports.size(), reports.toString());
    RecordingLeakDetector.Report report = reports.get(0);
    assertEquals("ByteBuf", report.resourceType());
    assertTrue(report.records().contains("leakAPooledBuffer"), report.records());
    assertTrue(report.toString().startsWith("LEAK: a ByteBuf"), report.toString());
  }

  /** In its own frame, so nothing on the test's stack keeps the buffer reachable. */
  private static void leakAPooledBuffer() {
    ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(16);
    buf.writeLong(42);
  }
}
