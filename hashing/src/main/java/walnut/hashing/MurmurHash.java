package walnut.hashing;

import io.netty.buffer.ByteBuf;
import jakarta.inject.Inject;
import walnut.core.spi.HashFunction;

/**
 * MurmurHash2, 32-bit, as twemproxy seeds it ({@code murmur}, docs/compatibility.md#murmur).
 *
 * <p>Hand-written because the seed depends on the key: {@code 0xdeadbeef * length}. Guava only
 * offers MurmurHash3 and other libraries take a fixed seed, so none gives twemproxy's values.
 */
public final class MurmurHash implements HashFunction {

  private static final int M = 0x5bd1e995;
  private static final int R = 24;

  @Inject
  public MurmurHash() {}

  @Override
  public String name() {
    return "murmur";
  }

  @Override
  public int hash(ByteBuf key, int offset, int length) {
    int h = (0xdeadbeef * length) ^ length;
    int p = offset;
    int remaining = length;
    for (; remaining >= 4; remaining -= 4, p += 4) {
      int k = key.getIntLE(p);
      k *= M;
      k ^= k >>> R;
      k *= M;
      h *= M;
      h ^= k;
    }
    if (remaining > 0) {
      // The C switch falls through from the highest tail byte down; bytes are unsigned here.
      if (remaining == 3) {
        h ^= key.getUnsignedByte(p + 2) << 16;
      }
      if (remaining >= 2) {
        h ^= key.getUnsignedByte(p + 1) << 8;
      }
      h ^= key.getUnsignedByte(p);
      h *= M;
    }
    h ^= h >>> 13;
    h *= M;
    h ^= h >>> 15;
    return h;
  }
}
