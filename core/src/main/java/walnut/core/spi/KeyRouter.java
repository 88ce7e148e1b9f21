package walnut.core.spi;

import io.netty.buffer.ByteBuf;

/**
 * Routes one key to a server of a pool, applying the pool's hash tag, hash and continuum.
 *
 * <p>Handed to a {@link Splitter} by the engine, on the client's event loop, for the duration of
 * one call. It reads the key in place and never retains the buffer. Beyond keys, it tells a
 * splitter what a request addressed to every server, or to one by its index, needs to know about
 * the pool: how many servers it has, their names, which serve now (the defaults throw, for
 * routers that only route keys).
 */
public interface KeyRouter {

  /** Returned by {@link #serverFor} when the pool has no live server. */
  int NO_SERVER = -1;

  /**
   * Returns the index (in the pool's sorted server order) of the server for the key of
   * {@code length} bytes at absolute index {@code offset} of {@code buf}, or {@link #NO_SERVER}.
   */
  int serverFor(ByteBuf buf, int offset, int length);

  /** How many servers the pool has: indices 0 to {@code servers() - 1}, in twemproxy's order. */
  default int servers() {
    throw new UnsupportedOperationException("servers");
  }

  /** The name of server {@code server}: its {@code name} in the configuration, or host:port. */
  default String serverName(int server) {
    throw new UnsupportedOperationException("serverName");
  }

  /**
   * Why a request for server {@code server} would be answered an error now without being sent
   * (with {@code auto_eject_remap: false}, it is ejected), or {@code null} when it would be sent.
   */
  default String refusal(int server) {
    return null;
  }

  /** Whether server {@code server} is in the ring now (not ejected). */
  default boolean live(int server) {
    return true;
  }

  /** The pool's name. */
  default String poolName() {
    throw new UnsupportedOperationException("poolName");
  }

  /** Client connections open to the whole proxy now. */
  default long connectedClients() {
    throw new UnsupportedOperationException("connectedClients");
  }

  /** When the proxy started, in wall-clock milliseconds. */
  default long startedMillis() {
    throw new UnsupportedOperationException("startedMillis");
  }
}
