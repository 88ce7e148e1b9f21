package walnut.hashing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The bucketed lookup against a plain search of the whole ring, on rings of every size. */
class KetamaContinuumTest {

  /** The first point at or after {@code hash}, unsigned, wrapping: the definition itself. */
  private static int reference(int[] values, int[] servers, int hash) {
    for (int rank = 0; rank < values.length; rank++) {
      if (Integer.compareUnsigned(values[rank], hash) >= 0) {
        return servers[rank];
      }
    }
    return servers[0];
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 15, 16, 17, 160, 480, 4096, 70_000})
  void findsTheSameServerAsASearchOfTheWholeRing(int points) {
    long seed = Long.getLong("walnut.seed", System.nanoTime());
    System.out.println("KetamaContinuumTest seed: -Dwalnut.seed=" + seed);
    SplittableRandom random = new SplittableRandom(seed);
    int[] values = new int[points];
    for (int i = 0; i < points; i++) {
      // Clustered values, repeats, and both ends of the range, as real rings can have.
      values[i] = switch (random.nextInt(8)) {
        case 0 -> 0;
        case 1 -> -1;
        case 2 -> i > 0 ? values[i - 1] : 7;
        case 3 -> random.nextInt(1 << 12);
        default -> random.nextInt();
      };
    }
    int[] sorted = Arrays.stream(values).mapToLong(Integer::toUnsignedLong).sorted()
        .mapToInt(v -> (int) v).toArray();
    int[] servers = new int[points];
    for (int i = 0; i < points; i++) {
      servers[i] = i; // each point its own owner, so any wrong rank shows
    }
    KetamaContinuum ring = new KetamaContinuum(sorted, servers);
    for (int i = 0; i < 20_000; i++) {
      int hash = i % 4 == 0 ? sorted[random.nextInt(points)] + random.nextInt(3) - 1
          : random.nextInt();
      assertEquals(reference(sorted, servers, hash), ring.serverFor(hash),
          "seed " + seed + ", hash " + Integer.toUnsignedString(hash));
    }
    for (int hash : new int[] {0, 1, -1, -2, Integer.MIN_VALUE, Integer.MAX_VALUE}) {
      assertEquals(reference(sorted, servers, hash), ring.serverFor(hash),
          "hash " + Integer.toUnsignedString(hash));
    }
  }
}
