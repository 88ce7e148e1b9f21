package walnut.hashing;

import io.netty.buffer.ByteBuf;
import jakarta.inject.Inject;
import walnut.core.spi.HashFunction;

/**
 * Bob Jenkins' one-at-a-time hash ({@code one_at_a_time}, docs/compatibility.md#one_at_a_time).
 *
 * <p>twemproxy adds each key byte as a C {@code char}, which is signed on x86-64: a byte 0x80..0xFF
 * is added as a negative number. {@code getByte} sign-extends the same way.
 */
public final class OneAtATimeHash implements HashFunction {

  @Inject
  public OneAtATimeHash() {}

  @Override
  public String name() {
    return "one_at_a_time";
  }

  @Override
  public int hash(ByteBuf key, int offset, int length) {
    int h = 0;
    for (int i = offset, end = offset + length; i < end; i++) {
      h += key.getByte(i);
      h += h << 10;
      h ^= h >>> 6;
    }
    h += h << 3;
    h ^= h >>> 11;
    h += h << 15;
    return h;
  }
}
