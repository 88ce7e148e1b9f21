package walnut.hashing;

import io.netty.buffer.ByteBuf;
import jakarta.inject.Inject;
import walnut.core.spi.HashFunction;

/**
 * 32-bit FNV-1 ({@code fnv1_32}, docs/compatibility.md#fnv1_32-and-fnv1a_32).
 *
 * <p>Hand-written because twemproxy XORs in the sign-extended C {@code char}; Guava's FNV reads
 * bytes unsigned and gives different values for every key with a byte of 0x80 or above.
 */
public final class Fnv132Hash implements HashFunction {

  static final int OFFSET_BASIS_32 = 0x811c9dc5;
  static final int PRIME_32 = 0x01000193;

  @Inject
  public Fnv132Hash() {}

  @Override
  public String name() {
    return "fnv1_32";
  }

  @Override
  public int hash(ByteBuf key, int offset, int length) {
    int h = OFFSET_BASIS_32;
    for (int i = offset, end = offset + length; i < end; i++) {
      h *= PRIME_32;
      h ^= key.getByte(i);
    }
    return h;
  }
}
