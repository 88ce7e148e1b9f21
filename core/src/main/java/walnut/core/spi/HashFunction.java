package walnut.core.spi;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * A key hash, named as in a pool's {@code hash:} key (for example {@code fnv1a_64}).
 *
 * <p>Contract: pure, thread-safe and allocation-free. {@link #hash(ByteBuf, int, int)} reads
 * {@code length} bytes at absolute index {@code offset} without moving the buffer's indices and
 * never retains or releases it. The result is twemproxy's {@code uint32_t} carried in an
 * {@code int}: compare it with {@link Integer#compareUnsigned} and take remainders with
 * {@link Integer#remainderUnsigned}. Implementations are {@code public final} with a public
 * no-argument constructor so that {@link java.util.ServiceLoader} can create them.
 */
public interface HashFunction {

  /** The name a config file uses. */
  String name();

  /** Hashes {@code length} bytes of {@code key} starting at absolute index {@code offset}. */
  int hash(ByteBuf key, int offset, int length);

  /** Hashes a whole byte array. Convenience for tests and set-up code, not the request path. */
  default int hash(byte[] key) {
    return hash(Unpooled.wrappedBuffer(key), 0, key.length);
  }
}
