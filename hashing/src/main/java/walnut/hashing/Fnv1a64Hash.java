package walnut.hashing;

import io.netty.buffer.ByteBuf;
import jakarta.inject.Inject;
import walnut.core.spi.HashFunction;

/**
 * twemproxy's default hash, {@code fnv1a_64} (docs/compatibility.md#fnv1a_64).
 *
 * <p>Despite its name this is not FNV-1a-64: twemproxy keeps a 32-bit state seeded with the low
 * half of the 64-bit offset basis and multiplies by the low half of the 64-bit prime. For bytes
 * of 0x80 and above it also differs from the truncated real thing, because the byte is XORed in
 * sign-extended. No library implements this, so it is written out here.
 */
public final class Fnv1a64Hash implements HashFunction {

  @Inject
  public Fnv1a64Hash() {}

  @Override
  public String name() {
    return "fnv1a_64";
  }

  @Override
  public int hash(ByteBuf key, int offset, int length) {
    int h = Fnv164Hash.OFFSET_BASIS_64_LOW;
    for (int i = offset, end = offset + length; i < end; i++) {
      h ^= key.getByte(i);
      h *= Fnv164Hash.PRIME_64_LOW;
    }
    return h;
  }
}
