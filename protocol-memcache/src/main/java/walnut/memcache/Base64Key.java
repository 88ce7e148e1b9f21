package walnut.memcache;

import io.netty.buffer.ByteBuf;

/**
 * Decodes a meta command's key sent in base64 (flag {@code b}) exactly as memcached does, so the
 * proxy hashes the very bytes the server stores.
 *
 * <p>memcached's decoder (Jouni Malinen's RFC 1341 code) is lenient in its own way: bytes outside
 * the alphabet are skipped, {@code =} counts as a symbol worth zero, the symbols must number a
 * positive multiple of four, and decoding stops after the first 4-symbol block that holds any
 * {@code =} (one drops a byte, two drop two, more is invalid). A result of zero bytes is a failure
 * too. Static and allocation-free: the caller provides the output array.
 */
final class Base64Key {

  /** memcached keys are at most 250 bytes, so at most 186 decoded bytes. */
  static final int MAX_DECODED = 250 / 4 * 3;

  private static final byte INVALID = -1;
  private static final byte[] TABLE = new byte[256];

  static {
    java.util.Arrays.fill(TABLE, INVALID);
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < alphabet.length(); i++) {
      TABLE[alphabet.charAt(i)] = (byte) i;
    }
    TABLE['='] = 0;
  }

  private Base64Key() {}

  /**
   * Decodes {@code buf[from, to)} (at most 250 bytes) into {@code out} (at least
   * {@link #MAX_DECODED} bytes); returns the decoded length, or 0 when memcached would refuse the
   * key.
   */
  static int decode(ByteBuf buf, int from, int to, byte[] out) {
    int symbols = 0;
    for (int i = from; i < to; i++) {
      if (TABLE[buf.getByte(i) & 0xff] != INVALID) {
        symbols++;
      }
    }
    if (symbols == 0 || symbols % 4 != 0 || symbols / 4 * 3 > out.length) {
      return 0;
    }
    int pos = 0;
    int count = 0;
    int pad = 0;
    int block = 0;
    for (int i = from; i < to; i++) {
      byte b = buf.getByte(i);
      int v = TABLE[b & 0xff];
      if (v == INVALID) {
        continue;
      }
      if (b == '=') {
        pad++;
      }
      block = block << 6 | v;
      if (++count == 4) {
        out[pos++] = (byte) (block >> 16);
        out[pos++] = (byte) (block >> 8);
        out[pos++] = (byte) block;
        count = 0;
        block = 0;
        if (pad > 0) {
          if (pad > 2) {
            return 0;
          }
          pos -= pad;
          break;
        }
      }
    }
    return pos;
  }
}
