package walnut.hashing;

import walnut.core.spi.Continuum;

/**
 * A built ketama ring: {@code values} sorted ascending as unsigned ints, {@code servers[r]} the
 * owner of point {@code r}. Immutable (the arrays never leave this class) and allocation-free.
 *
 * <p>A lookup first takes the hash's top bits as an index into {@link #bucketStart}, which
 * narrows the search to the points sharing those bits (none or one on a ring of a few servers),
 * rather than a binary search over the whole ring: each of its steps is a branch the processor
 * cannot predict. The answer is the same, the first point at or after the hash.
 */
final class KetamaContinuum implements Continuum {

  private final int[] values;
  private final int[] servers;
  /** How far a hash shifts right to give its bucket: 32 minus the bucket bits. */
  private final int shift;
  /**
   * {@code bucketStart[b]}: the first point whose top bits are {@code b} or more (the points of
   * bucket {@code b} are those up to {@code bucketStart[b + 1]}); the last entry is the ring's size.
   */
  private final int[] bucketStart;

  KetamaContinuum(int[] values, int[] servers) {
    if (values.length == 0 || values.length != servers.length) {
      throw new IllegalArgumentException(
          "ketama ring: " + values.length + " values, " + servers.length + " owners"
              + " (expected: the same number, at least one)");
    }
    this.values = values;
    this.servers = servers;
    // About one bucket per point, between 16 and 65,536 buckets.
    int bits = Math.max(4, Math.min(16, 32 - Integer.numberOfLeadingZeros(values.length)));
    this.shift = 32 - bits;
    int buckets = 1 << bits;
    this.bucketStart = new int[buckets + 1];
    int rank = 0;
    for (int b = 0; b < buckets; b++) {
      while (rank < values.length && (values[rank] >>> shift) < b) {
        rank++;
      }
      bucketStart[b] = rank;
    }
    bucketStart[buckets] = values.length;
  }

  /** The owner of the first point {@code >= hash} (unsigned), wrapping to the first point. */
  @Override
  public int serverFor(int hash) {
    int bucket = hash >>> shift;
    // Points before the bucket are below the hash, points after it above: search the bucket.
    int lo = bucketStart[bucket];
    int hi = bucketStart[bucket + 1];
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (Integer.compareUnsigned(values[mid], hash) < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return servers[lo == values.length ? 0 : lo];
  }

  /** Number of points on the ring. */
  int size() {
    return values.length;
  }

  /** The value of the point at {@code rank} in the sorted ring. */
  int valueAt(int rank) {
    return values[rank];
  }

  /** The server owning the point at {@code rank}. */
  int serverAt(int rank) {
    return servers[rank];
  }
}
