package walnut.hashing;

import io.netty.buffer.ByteBuf;
import jakarta.inject.Inject;
import walnut.core.spi.HashFunction;

/**
 * The first four bytes of the key's MD5 digest, read little-endian ({@code md5},
 * docs/compatibility.md#md5).
 *
 * <p>Uses the hand-written {@link Md5}, which reads the buffer in place: no
 * {@code MessageDigest}, no thread-local, no copy of the key.
 */
public final class Md5Hash implements HashFunction {

  @Inject
  public Md5Hash() {}

  @Override
  public String name() {
    return "md5";
  }

  @Override
  public int hash(ByteBuf key, int offset, int length) {
    return Md5.digest(key, offset, length, null);
  }
}
