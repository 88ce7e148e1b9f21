package walnut.hashing;

import io.netty.buffer.ByteBuf;
import jakarta.inject.Inject;
import walnut.core.spi.HashFunction;

/**
 * Bob Jenkins' lookup3 {@code hashlittle(key, length, 13)} ({@code jenkins},
 * docs/compatibility.md#jenkins).
 *
 * <p>lookup3 reads the key as little-endian 32-bit words; the C code has three paths for
 * different alignments, which all give this result on a little-endian machine. The last 1..12
 * bytes are zero-padded words, and an empty key returns the initial state without the final mix.
 */
public final class JenkinsHash implements HashFunction {

  private static final int INITVAL = 13;

  @Inject
  public JenkinsHash() {}

  @Override
  public String name() {
    return "jenkins";
  }

  @Override
  public int hash(ByteBuf key, int offset, int length) {
    int a = 0xdeadbeef + length + INITVAL;
    int b = a;
    int c = a;
    if (length == 0) {
      return c;
    }
    int p = offset;
    int end = offset + length;
    // "more than 12 bytes remain": the last block, even a full one, goes to the final mix.
    for (; end - p > 12; p += 12) {
      a += key.getIntLE(p);
      b += key.getIntLE(p + 4);
      c += key.getIntLE(p + 8);
      // mix(a, b, c)
      a -= c;
      a ^= Integer.rotateLeft(c, 4);
      c += b;
      b -= a;
      b ^= Integer.rotateLeft(a, 6);
      a += c;
      c -= b;
      c ^= Integer.rotateLeft(b, 8);
      b += a;
      a -= c;
      a ^= Integer.rotateLeft(c, 16);
      c += b;
      b -= a;
      b ^= Integer.rotateLeft(a, 19);
      a += c;
      c -= b;
      c ^= Integer.rotateLeft(b, 4);
      b += a;
    }
    a += tailWord(key, p, end);
    b += tailWord(key, p + 4, end);
    c += tailWord(key, p + 8, end);
    // final(a, b, c)
    c ^= b;
    c -= Integer.rotateLeft(b, 14);
    a ^= c;
    a -= Integer.rotateLeft(c, 11);
    b ^= a;
    b -= Integer.rotateLeft(a, 25);
    c ^= b;
    c -= Integer.rotateLeft(b, 16);
    a ^= c;
    a -= Integer.rotateLeft(c, 4);
    b ^= a;
    b -= Integer.rotateLeft(a, 14);
    c ^= b;
    c -= Integer.rotateLeft(b, 24);
    return c;
  }

  /** The little-endian word at {@code p}, zero-padded where it runs past {@code end}. */
  private static int tailWord(ByteBuf key, int p, int end) {
    if (end - p >= 4) {
      return key.getIntLE(p);
    }
    int word = 0;
    for (int i = 0; i < end - p; i++) {
      word |= key.getUnsignedByte(p + i) << (8 * i);
    }
    return word;
  }
}
