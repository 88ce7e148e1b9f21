package walnut.core.spi;

import io.netty.buffer.ByteBuf;

/**
 * Routes one key to a server of a pool, applying the pool's hash tag, hash and continuum.
 *
 * <p>Handed to a {@link Splitter} by the engine, on the client's event loop, for the duration of
 * one call. It reads the key in place and never retains the buffer.
 */
public interface KeyRouter {

  /** Returned by {@link #serverFor} when the pool has no live server. */
  int NO_SERVER = -1;

  /**
   * Returns the index (in the pool's sorted server order) of the server for the key of
   * {@code length} bytes at absolute index {@code offset} of {@code buf}, or {@link #NO_SERVER}.
   */
  int serverFor(ByteBuf buf, int offset, int length);
}
