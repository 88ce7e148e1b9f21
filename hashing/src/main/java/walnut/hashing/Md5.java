package walnut.hashing;

import io.netty.buffer.ByteBuf;

/**
 * MD5 (RFC 1321) read straight from a {@link ByteBuf}, allocation-free and without per-thread
 * state.
 *
 * <p>{@link java.security.MessageDigest} would need a thread-local instance, a scratch array to
 * copy the key into (it cannot read a direct or composite buffer without {@code nioBuffer()}) and
 * another for the digest. Instead the padded message is never materialised: {@link #word} answers
 * any 32-bit word of it, reading key bytes in place and synthesising the 0x80 marker, the zero
 * fill and the bit length. The 64 steps are written out with the state and the block's sixteen
 * words in locals, which is what keeps the method allocation-free (an array would escape into a
 * helper too large to inline); that is why {@link #digest} is long.
 *
 * <p>A digest's bytes read as four little-endian words are exactly MD5's four state words, so the
 * "digest bytes 0..3 little-endian" twemproxy uses is simply the final {@code a}.
 */
final class Md5 {

  private Md5() {}

  /**
   * Returns word 0 of MD5({@code length} bytes of {@code key} at {@code offset}) and, when
   * {@code words} is not null, stores words 0..3 in {@code words[0..3]}.
   */
  static int digest(ByteBuf key, int offset, int length, int[] words) {
    long padded = ((length + 8L) / 64 + 1) * 64;
    int a = 0x67452301;
    int b = 0xefcdab89;
    int c = 0x98badcfe;
    int d = 0x10325476;
    for (long block = 0; block < padded; block += 64) {
      int x0 = word(key, offset, length, padded, block);
      int x1 = word(key, offset, length, padded, block + 4);
      int x2 = word(key, offset, length, padded, block + 8);
      int x3 = word(key, offset, length, padded, block + 12);
      int x4 = word(key, offset, length, padded, block + 16);
      int x5 = word(key, offset, length, padded, block + 20);
      int x6 = word(key, offset, length, padded, block + 24);
      int x7 = word(key, offset, length, padded, block + 28);
      int x8 = word(key, offset, length, padded, block + 32);
      int x9 = word(key, offset, length, padded, block + 36);
      int x10 = word(key, offset, length, padded, block + 40);
      int x11 = word(key, offset, length, padded, block + 44);
      int x12 = word(key, offset, length, padded, block + 48);
      int x13 = word(key, offset, length, padded, block + 52);
      int x14 = word(key, offset, length, padded, block + 56);
      int x15 = word(key, offset, length, padded, block + 60);
      int aa = a;
      int bb = b;
      int cc = c;
      int dd = d;

      a = ff(a, b, c, d, x0, 7, 0xd76aa478);
      d = ff(d, a, b, c, x1, 12, 0xe8c7b756);
      c = ff(c, d, a, b, x2, 17, 0x242070db);
      b = ff(b, c, d, a, x3, 22, 0xc1bdceee);
      a = ff(a, b, c, d, x4, 7, 0xf57c0faf);
      d = ff(d, a, b, c, x5, 12, 0x4787c62a);
      c = ff(c, d, a, b, x6, 17, 0xa8304613);
      b = ff(b, c, d, a, x7, 22, 0xfd469501);
      a = ff(a, b, c, d, x8, 7, 0x698098d8);
      d = ff(d, a, b, c, x9, 12, 0x8b44f7af);
      c = ff(c, d, a, b, x10, 17, 0xffff5bb1);
      b = ff(b, c, d, a, x11, 22, 0x895cd7be);
      a = ff(a, b, c, d, x12, 7, 0x6b901122);
      d = ff(d, a, b, c, x13, 12, 0xfd987193);
      c = ff(c, d, a, b, x14, 17, 0xa679438e);
      b = ff(b, c, d, a, x15, 22, 0x49b40821);

      a = gg(a, b, c, d, x1, 5, 0xf61e2562);
      d = gg(d, a, b, c, x6, 9, 0xc040b340);
      c = gg(c, d, a, b, x11, 14, 0x265e5a51);
      b = gg(b, c, d, a, x0, 20, 0xe9b6c7aa);
      a = gg(a, b, c, d, x5, 5, 0xd62f105d);
      d = gg(d, a, b, c, x10, 9, 0x02441453);
      c = gg(c, d, a, b, x15, 14, 0xd8a1e681);
      b = gg(b, c, d, a, x4, 20, 0xe7d3fbc8);
      a = gg(a, b, c, d, x9, 5, 0x21e1cde6);
      d = gg(d, a, b, c, x14, 9, 0xc33707d6);
      c = gg(c, d, a, b, x3, 14, 0xf4d50d87);
      b = gg(b, c, d, a, x8, 20, 0x455a14ed);
      a = gg(a, b, c, d, x13, 5, 0xa9e3e905);
      d = gg(d, a, b, c, x2, 9, 0xfcefa3f8);
      c = gg(c, d, a, b, x7, 14, 0x676f02d9);
      b = gg(b, c, d, a, x12, 20, 0x8d2a4c8a);

      a = hh(a, b, c, d, x5, 4, 0xfffa3942);
      d = hh(d, a, b, c, x8, 11, 0x8771f681);
      c = hh(c, d, a, b, x11, 16, 0x6d9d6122);
      b = hh(b, c, d, a, x14, 23, 0xfde5380c);
      a = hh(a, b, c, d, x1, 4, 0xa4beea44);
      d = hh(d, a, b, c, x4, 11, 0x4bdecfa9);
      c = hh(c, d, a, b, x7, 16, 0xf6bb4b60);
      b = hh(b, c, d, a, x10, 23, 0xbebfbc70);
      a = hh(a, b, c, d, x13, 4, 0x289b7ec6);
      d = hh(d, a, b, c, x0, 11, 0xeaa127fa);
      c = hh(c, d, a, b, x3, 16, 0xd4ef3085);
      b = hh(b, c, d, a, x6, 23, 0x04881d05);
      a = hh(a, b, c, d, x9, 4, 0xd9d4d039);
      d = hh(d, a, b, c, x12, 11, 0xe6db99e5);
      c = hh(c, d, a, b, x15, 16, 0x1fa27cf8);
      b = hh(b, c, d, a, x2, 23, 0xc4ac5665);

      a = ii(a, b, c, d, x0, 6, 0xf4292244);
      d = ii(d, a, b, c, x7, 10, 0x432aff97);
      c = ii(c, d, a, b, x14, 15, 0xab9423a7);
      b = ii(b, c, d, a, x5, 21, 0xfc93a039);
      a = ii(a, b, c, d, x12, 6, 0x655b59c3);
      d = ii(d, a, b, c, x3, 10, 0x8f0ccc92);
      c = ii(c, d, a, b, x10, 15, 0xffeff47d);
      b = ii(b, c, d, a, x1, 21, 0x85845dd1);
      a = ii(a, b, c, d, x8, 6, 0x6fa87e4f);
      d = ii(d, a, b, c, x15, 10, 0xfe2ce6e0);
      c = ii(c, d, a, b, x6, 15, 0xa3014314);
      b = ii(b, c, d, a, x13, 21, 0x4e0811a1);
      a = ii(a, b, c, d, x4, 6, 0xf7537e82);
      d = ii(d, a, b, c, x11, 10, 0xbd3af235);
      c = ii(c, d, a, b, x2, 15, 0x2ad7d2bb);
      b = ii(b, c, d, a, x9, 21, 0xeb86d391);

      a += aa;
      b += bb;
      c += cc;
      d += dd;
    }
    if (words != null) {
      words[0] = a;
      words[1] = b;
      words[2] = c;
      words[3] = d;
    }
    return a;
  }

  /** The little-endian word at {@code pos} of the padded message. */
  private static int word(ByteBuf key, int offset, int length, long padded, long pos) {
    if (pos + 4 <= length) {
      return key.getIntLE(offset + (int) pos);
    }
    int word = 0;
    for (int i = 0; i < 4; i++) {
      word |= (paddedByte(key, offset, length, padded, pos + i) & 0xff) << (8 * i);
    }
    return word;
  }

  /** Byte {@code p} of the padded message: key, 0x80, zeros, then the bit length little-endian. */
  private static int paddedByte(ByteBuf key, int offset, int length, long padded, long p) {
    if (p < length) {
      return key.getByte(offset + (int) p);
    }
    if (p == length) {
      return 0x80;
    }
    long lengthAt = padded - 8;
    if (p < lengthAt) {
      return 0;
    }
    return (int) (((long) length << 3) >>> (8 * (p - lengthAt)));
  }

  private static int ff(int a, int b, int c, int d, int x, int s, int t) {
    return b + Integer.rotateLeft(a + ((b & c) | (~b & d)) + x + t, s);
  }

  private static int gg(int a, int b, int c, int d, int x, int s, int t) {
    return b + Integer.rotateLeft(a + ((b & d) | (c & ~d)) + x + t, s);
  }

  private static int hh(int a, int b, int c, int d, int x, int s, int t) {
    return b + Integer.rotateLeft(a + (b ^ c ^ d) + x + t, s);
  }

  private static int ii(int a, int b, int c, int d, int x, int s, int t) {
    return b + Integer.rotateLeft(a + (c ^ (b | ~d)) + x + t, s);
  }
}
