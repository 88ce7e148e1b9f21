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

  /** The connection failed before the reply came; {@code reason} is a strerror-style text. */
  abstract void onError(String reason);

  /** Whether the reply belongs to a client (false for the proxy's own AUTH/SELECT). */
  boolean isClientRequest() {
    return true;
  }
}
