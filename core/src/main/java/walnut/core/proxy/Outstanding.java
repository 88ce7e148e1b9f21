package walnut.core.proxy;

import io.netty.buffer.ByteBuf;

/**
 * One entry of a backend connection's FIFO: something waiting for the next reply on that
 * connection. Confined to the connection's event loop.
 */
abstract class Outstanding {

  /** Request bytes, for the queue-bytes gauges. */
  int bytes;
  /** {@link System#nanoTime()} after which the request has timed out; 0 when untimed. */
  long deadline;

  /** The reply arrived; the callee owns {@code reply}. */
  abstract void onReply(ByteBuf reply);

  /**
   * Whether this entry takes a long reply piece by piece through {@link #onPart}; otherwise the
   * connection gathers the pieces and calls {@link #onReply} once with all of them.
   */
  boolean takesParts() {
    return false;
  }

  /**
   * A piece of a long reply arrived from {@code from}; the callee owns {@code part}. The entry
   * stays at the head of {@code from}'s FIFO until the piece with {@code last} set.
   */
  void onPart(ByteBuf part, boolean last, BackendConnection from) {
    throw new UnsupportedOperationException("this entry takes its reply whole");
  }

  /** The connection failed before the whole reply came; {@code reason} is a strerror-style text. */
  abstract void onError(String reason);

  /** Whether the reply belongs to a client (false for the proxy's own AUTH/SELECT). */
  boolean isClientRequest() {
    return true;
  }
}
