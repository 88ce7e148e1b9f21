package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import walnut.core.stats.Latency;

/**
 * How a client session reaches the servers of its pool: the only way from the client side of the
 * engine into the backend side (after Envoy's {@code ConnPool::makeRequest(key, request,
 * callbacks)}). The backend side answers through the {@link ReplyHandler} given with each request
 * and holds a sender's reading through its {@link ReadGate}; it never sees a client session.
 * Implemented per pool and event loop by {@link LoopPool}. Confined to that event loop.
 */
interface Upstream {

  /** The connection slot of a new client session: sessions take the slots in turn. */
  int nextSlot();

  /**
   * A client session routes with this upstream from now on: it connected, or a reload moved it
   * here. Until it {@link #sessionLeft leaves}, the pool generation is kept.
   */
  void sessionJoined();

  /** The session routes with it no more: it closed, or a reload moved it on. */
  void sessionLeft();

  /**
   * Sends {@code frame} to {@code server} on connection {@code slot} of {@code dialect} (a session
   * always uses the same slot, so its requests to one server never reorder; see
   * {@link walnut.core.spi.Request#dialect()}) and queues {@code handler} for its reply; takes
   * ownership of the frame. When that connection's outbound buffer is full, {@code sender} is held
   * ({@link ReadGate#pauseReading}) until it drains or fails.
   */
  void send(int server, int slot, int dialect, ByteBuf frame, ReplyHandler handler,
      ReadGate sender);

  /**
   * A private connection to {@code server} of {@code dialect} that one client holds alone until it
   * {@link #givePinned gives it back} (a transaction, a blocking command): an idle one kept from
   * an earlier client, or a new one. {@code null} when the server's {@code max_pinned_connections}
   * are all taken (counted as refused), or the servers do not speak the dialect.
   */
  BackendConnection takePinned(int server, int dialect);

  /**
   * Gives back a connection from {@link #takePinned}, exactly once: kept for the next client when
   * {@code clean} (the conversation ended and was answered) and idle, else closed.
   */
  void givePinned(BackendConnection connection, int server, int dialect, boolean clean);

  /** The loop's burst, in which the session registers what it wrote, to be flushed once. */
  Burst burst();

  /** Where the session records each forwarded request's latency. */
  Latency.Recorder latency();
}
