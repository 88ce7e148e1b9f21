package walnut.testing;

import io.netty.channel.embedded.EmbeddedChannel;
import java.util.Random;

/**
 * For decoder tests: the three ways every decoder test feeds its input
 * (docs/architecture.md#testing): all at once, one byte per write, and random splits. Random splits
 * come from {@link #seed()}: printed by each test class, and replayed with {@code
 * -Dwalnut.seed=<seed>}.
 */
public enum Chunking {
  WHOLE,
  BYTE_BY_BYTE,
  RANDOM;

  private static final long SEED = Long.getLong("walnut.seed", System.nanoTime());

  public static long seed() {
    return SEED;
  }

  public static String describeSeed(Class<?> test) {
    return test.getSimpleName() + " seed: " + SEED + " (replay with -Dwalnut.seed=" + SEED + ")";
  }

  /** Writes {@code data} into {@code ch} in this way's pieces, each a buffer of {@code alloc}. */
  public void write(EmbeddedChannel ch, TrackingAllocator alloc, byte[] data, Random random) {
    int at = 0;
    while (at < data.length) {
      int n = switch (this) {
        case WHOLE -> data.length;
        case BYTE_BY_BYTE -> 1;
        case RANDOM -> 1 + random.nextInt(random.nextInt(8) == 0 ? 4096 : 24);
      };
      n = Math.min(n, data.length - at);
      byte[] piece = new byte[n];
      System.arraycopy(data, at, piece, 0, n);
      ch.writeInbound(alloc.copyOf(piece));
      at += n;
    }
  }
}
