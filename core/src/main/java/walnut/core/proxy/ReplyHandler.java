package walnut.core.proxy;

import io.netty.buffer.ByteBuf;

/**
 * The requester's side of one request sent to a server: how a backend connection answers. The
 * backend side knows requests only through this interface, never the client session behind them,
 * so the calls go one way: from a backend connection to whoever sent the request (a client's
 * {@link PendingReply}, one {@link PendingReply.Fragment} of a split request, or the connection's
 * own handshake).
 *
 * <p>Exactly one of {@link #onReply}, the last {@link #onPart}, or {@link #onError} ends a
 * request, once. Called on the event loop of the connection, which is the requester's loop too.
 */
interface ReplyHandler {

  /** For requests that expect no reply (memcached {@code noreply}): takes no place in a FIFO. */
  ReplyHandler NO_REPLY = new ReplyHandler() {
    @Override
    public void onReply(ByteBuf reply) {
      throw new IllegalStateException("a noreply request never takes a reply");
    }

    @Override
    public void onError(String reason) {}
  };

  /** The reply arrived; the callee owns {@code reply}. */
  void onReply(ByteBuf reply);

  /**
   * Whether this request takes a long reply piece by piece through {@link #onPart}; otherwise the
   * connection gathers the pieces and calls {@link #onReply} once with all of them.
   */
  default boolean takesParts() {
    return false;
  }

  /**
   * A piece of a long reply arrived; the callee owns {@code part}. The request stays at the head of
   * its connection's FIFO until the piece with {@code last} set. {@code source} is the reading of
   * that connection: the callee may hold it while its client cannot take more.
   */
  default void onPart(ByteBuf part, boolean last, ReadGate source) {
    throw new UnsupportedOperationException("this request takes its reply whole");
  }

  /**
   * {@code bytes} of this request's reply have arrived so far and wait in the connection's reply
   * decoder ({@link walnut.core.spi.PartialReplies}), before the reply is complete: counted for
   * the requester until the reply comes (or the connection fails). Each call gives the total.
   */
  default void buffering(int bytes) {}

  /**
   * Whether anyone still wants the reply: false once the client went away, so that the rest of a
   * long reply still arriving is framed without being kept.
   */
  default boolean wanted() {
    return true;
  }

  /** The connection failed before the whole reply came; {@code reason} is a strerror-style text. */
  void onError(String reason);

  /**
   * Whether an error reply in which the server reports trouble of its own
   * ({@link walnut.core.spi.ServerTrouble}) is this request's own doing (a script's), so it does
   * not count against the server.
   */
  default boolean ownsErrorReplies() {
    return false;
  }

  /**
   * How much longer than the pool's {@code timeout} this request's reply may take: its own
   * timeout (a blocking command), or a negative value for no limit. By default 0.
   */
  default long extraWaitMillis() {
    return 0;
  }

  /** Whether the reply belongs to a client (false for the proxy's own AUTH/SELECT). */
  default boolean isClientRequest() {
    return true;
  }
}
