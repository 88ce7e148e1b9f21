package walnut.server.metrics;

import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;

/**
 * Folds a pool's HdrHistogram of request latencies (microseconds, cumulative since start) into a
 * Prometheus classic histogram in seconds, at scrape time.
 *
 * <p>Implementation note: the hot path records into HdrHistogram, which keeps two significant
 * digits (values below 256 µs exactly, larger ones within 1%). Each recorded value is counted in
 * the first bucket whose bound is at least the top of its HdrHistogram bucket, so a request is
 * never reported faster than it may have been; the sum adds each value's median equivalent. The
 * bounds run from 25 µs, where a proxy on the same host answers, to 10 s.
 */
final class LatencyBuckets {

  /** Upper bounds in seconds; the last bucket, +Inf, is added. */
  static final double[] BOUNDS_SECONDS = {0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
      0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  private static final long[] BOUNDS_MICROS = new long[BOUNDS_SECONDS.length];

  static {
    for (int i = 0; i < BOUNDS_SECONDS.length; i++) {
      BOUNDS_MICROS[i] = Math.round(BOUNDS_SECONDS[i] * 1_000_000);
    }
  }

  /** The buckets and the sum of one histogram. */
  record Folded(ClassicHistogramBuckets buckets, double sumSeconds, long count) {}

  private LatencyBuckets() {}

  static Folded fold(Histogram micros) {
    long[] counts = new long[BOUNDS_SECONDS.length + 1];
    double sumMicros = 0;
    long total = 0;
    for (HistogramIterationValue v : micros.recordedValues()) {
      long n = v.getCountAddedInThisIterationStep();
      long top = v.getValueIteratedTo();
      counts[bucketOf(top)] += n;
      sumMicros += (double) n * micros.medianEquivalentValue(top);
      total += n;
    }
    double[] bounds = new double[counts.length];
    System.arraycopy(BOUNDS_SECONDS, 0, bounds, 0, BOUNDS_SECONDS.length);
    bounds[BOUNDS_SECONDS.length] = Double.POSITIVE_INFINITY;
    return new Folded(ClassicHistogramBuckets.of(bounds, counts), sumMicros / 1_000_000, total);
  }

  /** The index of the first bucket whose bound holds {@code micros}; the last is +Inf. */
  static int bucketOf(long micros) {
    for (int i = 0; i < BOUNDS_MICROS.length; i++) {
      if (micros <= BOUNDS_MICROS[i]) {
        return i;
      }
    }
    return BOUNDS_MICROS.length;
  }
}
