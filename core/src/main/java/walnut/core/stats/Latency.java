package walnut.core.stats;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.SingleWriterRecorder;

/**
 * A pool's request latencies, from the request's arrival to its reply being ready to write, in
 * microseconds. Each event loop records into its own {@link SingleWriterRecorder} (wait-free, no
 * sharing on the hot path); a reader folds their intervals into a running total, and so does
 * {@link #retire} when a recorder's loop part is gone.
 */
public final class Latency {

  /** Latencies above an hour are recorded as an hour. */
  public static final long HIGHEST_MICROS = TimeUnit.HOURS.toMicros(1);

  private final long createdMillis = System.currentTimeMillis();
  private final List<SingleWriterRecorder> recorders = new CopyOnWriteArrayList<>();
  private final Histogram total = new Histogram(HIGHEST_MICROS, 2);

  /** When this histogram began (wall clock): its pool's start, or the reload that made it. */
  public long createdMillis() {
    return createdMillis;
  }

  /** A recorder for one event loop: only that loop's thread may record into it. */
  public Recorder newRecorder() {
    SingleWriterRecorder recorder = new SingleWriterRecorder(HIGHEST_MICROS, 2);
    recorders.add(recorder);
    return new Recorder(recorder);
  }

  /** How many recorders are read: one per event loop of each pool generation still running. */
  public int recorders() {
    return recorders.size();
  }

  /**
   * Folds what {@code recorder} recorded since it was last read into the totals, and reads it no
   * more: its loop's part of a pool generation is gone, and records nothing again. Nothing is lost
   * and nothing counted twice, so the totals never go back.
   */
  public synchronized void retire(Recorder recorder) {
    if (recorders.remove(recorder.recorder)) {
      total.add(recorder.recorder.getIntervalHistogram());
    }
  }

  /** Everything recorded so far, as a new histogram owned by the caller. */
  public synchronized Histogram snapshot() {
    for (SingleWriterRecorder recorder : recorders) {
      // A histogram can only be recycled into the recorder that made it: take a fresh one.
      total.add(recorder.getIntervalHistogram());
    }
    return total.copy();
  }

  /** One loop's recorder. */
  public static final class Recorder {
    private final SingleWriterRecorder recorder;

    private Recorder(SingleWriterRecorder recorder) {
      this.recorder = recorder;
    }

    /** Records one request that took {@code nanos}. */
    public void record(long nanos) {
      recorder.recordValue(Math.max(0, Math.min(HIGHEST_MICROS, nanos / 1000)));
    }
  }
}
