package walnut.hashing;

import io.netty.buffer.ByteBuf;
import jakarta.inject.Inject;
import walnut.core.spi.HashFunction;

/**
 * libmemcached's {@code crc32} (docs/compatibility.md#crc32): bits 16..30 of the standard CRC-32,
 * so the result is only 15 bits wide (0..32767).
 *
 * <p>With ketama that means every key lands on the servers owning the lowest ring points; it is
 * kept because placement has to match twemproxy, not because it spreads keys well.
 */
public final class Crc32Hash implements HashFunction {

  @Inject
  public Crc32Hash() {}

  @Override
  public String name() {
    return "crc32";
  }

  @Override
  public int hash(ByteBuf key, int offset, int length) {
    return (Crc32.crc32(key, offset, length) >>> 16) & 0x7fff;
  }
}
