package walnut.hashing;

import walnut.core.spi.Continuum;

/**
 * A built ketama ring: {@code values} sorted ascending as unsigned ints, {@code servers[r]} the
 * owner of point {@code r}. Immutable (the arrays never leave this class) and allocation-free.
 */
final class KetamaContinuum implements Continuum {

  private final int[] values;
  private final int[] servers;

  KetamaContinuum(int[] values, int[] servers) {
    if (values.length == 0 || values.length != servers.length) {
      throw new IllegalArgumentException(
          "ketama ring: " + values.length + " values, " + servers.length + " owners"
              + " (expected: the same number, at least one)");
    }
    this.values = values;
    this.servers = servers;
  }

  /** The owner of the first point {@code >= hash} (unsigned), wrapping to the first point. */
  @Override
  public int serverFor(int hash) {
    int lo = 0;
    int hi = values.length;
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
