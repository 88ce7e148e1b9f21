package walnut.core.spi;

/**
 * Implemented by a reply decoder that tells the engine how much of the reply it is framing has
 * arrived: bytes it holds of a reply not yet passed on (an array or multi-get gathered whole, or
 * the start of any reply split across reads). The engine takes it as a sign that the server is
 * answering the request at the head of the connection (its timeout starts again, as for each
 * piece of a streamed reply) and counts the bytes against that request's client, whose budget
 * they are part of, before the reply is complete.
 *
 * <p>Called on the connection's event loop after each read.
 */
public interface PartialReplies {

  /**
   * Bytes received of the reply being framed and not yet passed on (those dropped included, see
   * {@link #dropPartialReply}); 0 between replies.
   */
  int partialReplyBytes();

  /**
   * No one wants the reply being framed (its client is gone): frame the rest of it without keeping
   * what has been framed, so the connection stays in step while holding at most about one read and
   * one element of it. When complete it is passed on as what is left of it (perhaps only its last
   * bytes), for the engine to release. Ends with that reply.
   */
  void dropPartialReply();
}
