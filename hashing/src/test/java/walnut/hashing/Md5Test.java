package walnut.hashing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The hand-written MD5 against the JDK's, and the spec's ketama check values
 * (docs/compatibility.md#ketama).
 */
class Md5Test {

  @Test
  void matchesMessageDigestOnRandomKeysOfEveryLengthUpTo300() throws NoSuchAlgorithmException {
    long seed = Long.getLong("walnut.seed", System.nanoTime());
    System.out.println("Md5Test seed: -Dwalnut.seed=" + seed);
    SplittableRandom random = new SplittableRandom(seed);
    MessageDigest jdk = MessageDigest.getInstance("MD5");
    for (int round = 0; round < 20; round++) {
      for (int length = 0; length <= 300; length++) {
        byte[] key = new byte[length];
        random.nextBytes(key);
        int offset = random.nextInt(5);
        byte[] framed = new byte[offset + length + 3];
        System.arraycopy(key, 0, framed, offset, length);
        int[] words = new int[4];
        int word0 = Md5.digest(Unpooled.wrappedBuffer(framed), offset, length, words);
        int[] expected = littleEndianWords(jdk.digest(key));
        assertArrayEquals(expected, words, "seed " + seed + ", length " + length);
        assertEquals(expected[0], word0);
      }
    }
  }

  @Test
  void digestsServer1Dash8ToTheSpecsCheckWords() {
    byte[] point = "server1-8".getBytes(StandardCharsets.US_ASCII);
    int[] words = new int[4];
    Md5.digest(Unpooled.wrappedBuffer(point), 0, point.length, words);
    assertEquals("3853726576", Integer.toUnsignedString(words[0]));
    assertEquals("2667054752", Integer.toUnsignedString(words[3]));
  }

  @Test
  void hashOfTheEmptyKeyIsTheFirstWordOfTheEmptyDigest() {
    assertEquals("3649838548", Integer.toUnsignedString(new Md5Hash().hash(new byte[0])));
  }

  private static int[] littleEndianWords(byte[] digest) {
    ByteBuffer buf = ByteBuffer.wrap(digest).order(ByteOrder.LITTLE_ENDIAN);
    return new int[] {buf.getInt(), buf.getInt(), buf.getInt(), buf.getInt()};
  }
}
