package walnut.memcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Random;
import org.junit.jupiter.api.Test;
import walnut.testing.Chunking;

/** The numeric arguments and base64 keys, at their edges. */
class NumbersTest {

  private static ByteBuf buf(String s) {
    return Unpooled.wrappedBuffer(s.getBytes(StandardCharsets.ISO_8859_1));
  }

  private static boolean signed(String s) {
    ByteBuf b = buf(s);
    return Numbers.isSigned(b, 0, b.writerIndex());
  }

  private static boolean unsigned(String s) {
    ByteBuf b = buf(s);
    return Numbers.isUnsigned(b, 0, b.writerIndex());
  }

  private static long length(String s) {
    ByteBuf b = buf(s);
    return Numbers.length(b, 0, b.writerIndex());
  }

  @Test
  void signedArgumentsAreWhatStrtolReadsWithoutOverflow() {
    for (String ok : new String[] {"0", "-0", "+7", "-1", "0007", "9223372036854775807",
        "-9223372036854775808", "2592000"}) {
      assertTrue(signed(ok), ok);
    }
    for (String bad : new String[] {"", "+", "-", "1.5", "1x", " 1", "--1", "+-1",
        "9223372036854775808", "-9223372036854775809", "99999999999999999999"}) {
      assertFalse(signed(bad), bad);
    }
  }

  @Test
  void unsignedArgumentsRefuseSignsAndOverflow() {
    for (String ok : new String[] {"0", "+5", "4294967296", "18446744073709551615",
        "000000000000000000000000018446744073709551615"}) {
      assertTrue(unsigned(ok), ok);
    }
    for (String bad : new String[] {"", "+", "-1", "-0", "18446744073709551616",
        "18446744073709551620", "99999999999999999999", "1 ", "0x1"}) {
      assertFalse(unsigned(bad), bad);
    }
  }

  @Test
  void dataLengthsRunFromZeroToIntMaxMinusTwo() {
    assertEquals(0, length("0"));
    assertEquals(0, length("-0"));
    assertEquals(5, length("+5"));
    assertEquals(2147483645, length("2147483645"));
    for (String bad : new String[] {"", "-1", "2147483646", "4294967297", "1x", "+", "1 "}) {
      assertEquals(-1, length(bad), bad);
    }
  }

  @Test
  void base64KeysDecodeAsTheStandardDecoderForCanonicalInput() {
    Random random = new Random(Chunking.seed());
    byte[] out = new byte[Base64Key.MAX_DECODED];
    for (int i = 0; i < 10_000; i++) {
      byte[] key = new byte[1 + random.nextInt(Base64Key.MAX_DECODED)];
      random.nextBytes(key);
      ByteBuf encoded = buf(Base64.getEncoder().encodeToString(key));
      int n = Base64Key.decode(encoded, 0, encoded.writerIndex(), out);
      assertEquals(key.length, n);
      assertEquals(Unpooled.wrappedBuffer(key), Unpooled.wrappedBuffer(out, 0, n));
    }
  }

  @Test
  void base64KeysFollowMemcachedsLeniency() {
    assertEquals("foo", decode("Zm9v"));
    assertEquals("foo", decode("Z!m9\tv"), "bytes outside the alphabet are skipped");
    assertEquals("f", decode("Zg==Zm9v"), "decoding stops after a padded block");
    assertEquals("fo", decode("Zm8="));
    assertEquals("\0\0", decode("A=AA"), "an inner = pads its block");
    for (String bad : new String[] {"", "Zm9", "Zm9vZ", "!!!!", "A===", "====", "foo"}) {
      assertEquals(null, decode(bad), bad);
    }
  }

  private static String decode(String s) {
    byte[] out = new byte[Base64Key.MAX_DECODED];
    ByteBuf b = buf(s);
    int n = Base64Key.decode(b, 0, b.writerIndex(), out);
    return n == 0 ? null : new String(out, 0, n, StandardCharsets.ISO_8859_1);
  }
}
