package walnut.hashing;

import io.netty.buffer.ByteBuf;

/**
 * The standard reflected CRC-32 (polynomial 0xEDB88320, as zlib and {@link java.util.zip.CRC32}),
 * computed straight from a {@link ByteBuf}.
 *
 * <p>Why not {@code java.util.zip.CRC32}: it only reads arrays and {@code ByteBuffer}s. A direct or
 * composite {@code ByteBuf} would need {@code nioBuffer()} (an allocation per call) or a copy into
 * a thread-local scratch array sized for the longest key, plus a thread-local {@code CRC32}. Keys
 * are short (a few dozen bytes), where the intrinsic's speed-up is small, so a byte-wise table
 * lookup is as fast in practice, allocation-free and free of per-thread state.
 */
final class Crc32 {

  private static final int[] TABLE = table();

  private Crc32() {}

  static int crc32(ByteBuf key, int offset, int length) {
    int crc = 0xffffffff;
    for (int i = offset, end = offset + length; i < end; i++) {
      crc = (crc >>> 8) ^ TABLE[(crc ^ key.getByte(i)) & 0xff];
    }
    return ~crc;
  }

  private static int[] table() {
    int[] table = new int[256];
    for (int n = 0; n < 256; n++) {
      int c = n;
      for (int k = 0; k < 8; k++) {
        c = (c & 1) != 0 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
      }
      table[n] = c;
    }
    return table;
  }
}
