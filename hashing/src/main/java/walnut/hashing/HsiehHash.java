package walnut.hashing;

import io.netty.buffer.ByteBuf;
import jakarta.inject.Inject;
import walnut.core.spi.HashFunction;

/**
 * Paul Hsieh's SuperFastHash as twemproxy has it ({@code hsieh}, docs/compatibility.md#hsieh).
 *
 * <p>Two quirks make the published algorithm give different values: the initial hash is 0, not
 * the key length, and in the 3-byte tail the third byte is read as a signed C {@code char}, so it
 * is sign-extended before the shift. Every other byte is read unsigned, 16 bits little-endian at a
 * time.
 */
public final class HsiehHash implements HashFunction {

  @Inject
  public HsiehHash() {}

  @Override
  public String name() {
    return "hsieh";
  }

  @Override
  public int hash(ByteBuf key, int offset, int length) {
    if (length <= 0) {
      return 0;
    }
    int h = 0;
    int p = offset;
    for (int blocks = length >>> 2; blocks > 0; blocks--, p += 4) {
      h += key.getUnsignedShortLE(p);
      int tmp = (key.getUnsignedShortLE(p + 2) << 11) ^ h;
      h = (h << 16) ^ tmp;
      h += h >>> 11;
    }
    switch (length & 3) {
      case 3 -> {
        h += key.getUnsignedShortLE(p);
        h ^= h << 16;
        h ^= key.getByte(p + 2) << 18; // signed: sign-extended before the shift
        h += h >>> 11;
      }
      case 2 -> {
        h += key.getUnsignedShortLE(p);
        h ^= h << 11;
        h += h >>> 17;
      }
      case 1 -> {
        h += key.getUnsignedByte(p);
        h ^= h << 10;
        h += h >>> 1;
      }
      default -> { }
    }
    h ^= h << 3;
    h += h >>> 5;
    h ^= h << 4;
    h += h >>> 17;
    h ^= h << 25;
    h += h >>> 6;
    return h;
  }
}
