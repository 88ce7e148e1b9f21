package walnut.hashing;

import io.netty.buffer.ByteBuf;
import jakarta.inject.Inject;
import walnut.core.spi.HashFunction;

/**
 * 32-bit FNV-1a ({@code fnv1a_32}, docs/compatibility.md#fnv1_32-and-fnv1a_32), with twemproxy's
 * signed bytes: hand-written because library versions XOR in the unsigned byte.
 */
public final class Fnv1a32Hash implements HashFunction {

  @Inject
  public Fnv1a32Hash() {}

  @Override
  public String name() {
    return "fnv1a_32";
  }

  @Override
  public int hash(ByteBuf key, int offset, int length) {
    int h = Fnv132Hash.OFFSET_BASIS_32;
    for (int i = offset, end = offset + length; i < end; i++) {
      h ^= key.getByte(i);
      h *= Fnv132Hash.PRIME_32;
    }
    return h;
  }
}
