package walnut.hashing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.Unpooled;
import java.util.SplittableRandom;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

/**
 * The table-driven CRC-32 against {@link CRC32}, which is exactly the standard one
 * (docs/compatibility.md#crc32).
 */
class Crc32Test {

  @Test
  void matchesJavaUtilZipCrc32OnRandomKeys() {
    long seed = Long.getLong("walnut.seed", System.nanoTime());
    System.out.println("Crc32Test seed: -Dwalnut.seed=" + seed);
    SplittableRandom random = new SplittableRandom(seed);
    for (int round = 0; round < 5_000; round++) {
      byte[] key = new byte[random.nextInt(300)];
      random.nextBytes(key);
      CRC32 jdk = new CRC32();
      jdk.update(key);
      int expected = (int) jdk.getValue();
      assertEquals(expected, new Crc32aHash().hash(key), "seed " + seed);
      assertEquals((expected >>> 16) & 0x7fff, new Crc32Hash().hash(key), "seed " + seed);
      assertEquals(expected, Crc32.crc32(Unpooled.wrappedBuffer(key), 0, key.length));
    }
  }
}
