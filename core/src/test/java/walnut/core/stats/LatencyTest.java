package walnut.core.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

class LatencyTest {

  @Test
  void snapshotsFoldEveryLoopsRecorderAndKeepTheTotal() {
    Latency latency = new Latency();
    Latency.Recorder a = latency.newRecorder();
    Latency.Recorder b = latency.newRecorder();
    a.record(1_000_000); // 1 ms
    b.record(2_000_000);
    b.record(3_000_000);
    assertEquals(3, latency.snapshot().getTotalCount());
    a.record(4_000_000);
    Histogram second = latency.snapshot(); // a second fold over both recorders
    assertEquals(4, second.getTotalCount());
    assertEquals(4_000, second.getMaxValue(), 4_000 * 0.01);
    assertEquals(4, latency.snapshot().getTotalCount(), "nothing new: the same total");
  }

  @Test
  void latenciesBeyondAnHourCountAsAnHour() {
    Latency latency = new Latency();
    latency.newRecorder().record(Long.MAX_VALUE);
    assertEquals(Latency.HIGHEST_MICROS, latency.snapshot().getMaxValue(),
        Latency.HIGHEST_MICROS * 0.01);
  }
}
