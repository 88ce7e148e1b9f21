package walnut.hashing;

import io.netty.buffer.ByteBuf;
import jakarta.inject.Inject;
import walnut.core.spi.HashFunction;

/**
 * twemproxy's {@code crc16} (docs/compatibility.md#crc16): the CRC-16/XMODEM table step run in a
 * 32-bit register that is never masked back to 16 bits.
 *
 * <p>The low 16 bits are CRC-16/XMODEM; the high 16 bits hold what was shifted out and are part
 * of the value twemproxy places keys with, so this must not be replaced by a real CRC-16 (nor
 * by Redis Cluster's, which is the same CRC masked to 16 bits).
 */
public final class Crc16Hash implements HashFunction {

  private static final int[] TABLE = table();

  @Inject
  public Crc16Hash() {}

  @Override
  public String name() {
    return "crc16";
  }

  @Override
  public int hash(ByteBuf key, int offset, int length) {
    int crc = 0;
    for (int i = offset, end = offset + length; i < end; i++) {
      crc = (crc << 8) ^ TABLE[((crc >>> 8) ^ key.getByte(i)) & 0xff];
    }
    return crc;
  }

  /** The MSB-first table for polynomial 0x1021. */
  private static int[] table() {
    int[] table = new int[256];
    for (int n = 0; n < 256; n++) {
      int c = n << 8;
      for (int k = 0; k < 8; k++) {
        c = (c & 0x8000) != 0 ? (c << 1) ^ 0x1021 : c << 1;
      }
      table[n] = c & 0xffff;
    }
    return table;
  }
}
