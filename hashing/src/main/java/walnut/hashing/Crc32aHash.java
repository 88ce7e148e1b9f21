package walnut.hashing;

import io.netty.buffer.ByteBuf;
import jakarta.inject.Inject;
import walnut.core.spi.HashFunction;

/** The standard CRC-32, all 32 bits ({@code crc32a}, docs/compatibility.md#crc32a). */
public final class Crc32aHash implements HashFunction {

  @Inject
  public Crc32aHash() {}

  @Override
  public String name() {
    return "crc32a";
  }

  @Override
  public int hash(ByteBuf key, int offset, int length) {
    return Crc32.crc32(key, offset, length);
  }
}
