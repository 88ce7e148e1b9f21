package walnut.hashing;

import io.netty.buffer.ByteBuf;
import jakarta.inject.Inject;
import walnut.core.spi.HashFunction;

/**
 * 64-bit FNV-1 truncated to its low 32 bits ({@code fnv1_64}, docs/compatibility.md#fnv1_64).
 *
 * <p>Hand-written because library FNVs (Guava's included) read bytes unsigned, while twemproxy XORs
 * in the sign-extended C {@code char}. The low 32 bits of a 64-bit multiply or XOR depend only on
 * the low 32 bits of the operands, so a 32-bit state with the truncated offset basis and prime
 * gives exactly twemproxy's result without 64-bit arithmetic.
 */
public final class Fnv164Hash implements HashFunction {

  /** The low 32 bits of the 64-bit offset basis 0xcbf29ce484222325. */
  static final int OFFSET_BASIS_64_LOW = 0x84222325;
  /** The low 32 bits of the 64-bit prime 0x100000001b3. */
  static final int PRIME_64_LOW = 0x1b3;

  @Inject
  public Fnv164Hash() {}

  @Override
  public String name() {
    return "fnv1_64";
  }

  @Override
  public int hash(ByteBuf key, int offset, int length) {
    int h = OFFSET_BASIS_64_LOW;
    for (int i = offset, end = offset + length; i < end; i++) {
      h *= PRIME_64_LOW;
      h ^= key.getByte(i);
    }
    return h;
  }
}
