package walnut.hashing;

import jakarta.inject.Inject;
import java.util.List;
import walnut.core.config.ServerConfig;
import walnut.core.spi.Continuum;
import walnut.core.spi.Distribution;
import walnut.core.spi.HashFunction;

/**
 * twemproxy's {@code modula} distribution (docs/compatibility.md#modula): a slot table holding
 * {@code weight} consecutive slots per server, in list order; a hash goes to {@code slots[hash mod
 * slots]}, the remainder taken unsigned.
 *
 * <p>twemproxy materialises the table. This class does too while it is small (an O(1) lookup),
 * and above {@link #MAX_SLOT_TABLE} slots keeps only each server's cumulative end slot and finds
 * the owner by binary search, which picks the same server without a table of, say, 100,000
 * entries for weights like 1 and 100000.
 */
public final class ModulaDistribution implements Distribution {

  /** Largest slot table stored as a table (256 KiB of {@code int}s). */
  static final int MAX_SLOT_TABLE = 1 << 16;
  /** twemproxy counts slots in a {@code uint32_t}. */
  static final long MAX_TOTAL_WEIGHT = 0xffffffffL;

  @Inject
  public ModulaDistribution() {}

  @Override
  public String name() {
    return "modula";
  }

  /** Builds the slot table for {@code servers}; {@code hash} is not used. */
  @Override
  public Continuum build(List<ServerConfig> servers, HashFunction hash) {
    return build(servers, MAX_SLOT_TABLE);
  }

  static Continuum build(List<ServerConfig> servers, int maxSlotTable) {
    if (servers.isEmpty()) {
      throw new IllegalArgumentException("modula: no live servers (expected: at least one)");
    }
    long[] ends = new long[servers.size()];
    long total = 0;
    for (int s = 0; s < ends.length; s++) {
      total += servers.get(s).weight();
      ends[s] = total;
    }
    if (total > MAX_TOTAL_WEIGHT) {
      throw new IllegalArgumentException(
          "modula: total weight: " + total + " (expected: <= " + MAX_TOTAL_WEIGHT + ")");
    }
    if (total <= maxSlotTable) {
      int[] slots = new int[(int) total];
      for (int s = 0, slot = 0; s < ends.length; s++) {
        while (slot < ends[s]) {
          slots[slot++] = s;
        }
      }
      return new SlotTable(slots);
    }
    return new WeightRanges(ends);
  }

  /** One entry per slot. */
  static final class SlotTable implements Continuum {
    private final int[] slots;

    SlotTable(int[] slots) {
      this.slots = slots;
    }

    @Override
    public int serverFor(int hash) {
      return slots[Integer.remainderUnsigned(hash, slots.length)];
    }
  }

  /** Server {@code s} owns the slots from {@code ends[s - 1]} (or 0) up to {@code ends[s]}. */
  static final class WeightRanges implements Continuum {
    private final long[] ends;
    private final long total;

    WeightRanges(long[] ends) {
      this.ends = ends;
      this.total = ends[ends.length - 1];
    }

    @Override
    public int serverFor(int hash) {
      long slot = Integer.toUnsignedLong(hash) % total;
      int lo = 0;
      int hi = ends.length - 1;
      while (lo < hi) { // the first server whose end is above the slot
        int mid = (lo + hi) >>> 1;
        if (ends[mid] <= slot) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      return lo;
    }
  }
}
