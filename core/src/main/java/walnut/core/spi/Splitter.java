package walnut.core.spi;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Splits one multi-key request (MGET, DEL, memcached {@code get k1 k2 …}) into one sub-request per
 * server, and merges the servers' replies back into the reply the client expects.
 *
 * <p>Contract: a splitter may be shared when it is stateless; each {@link #split} call, made on the
 * client's event loop, returns a {@link Split} that belongs to that one request. {@link #split} reads the request frame and does not release it; the
 * {@link Split} it returns hands each fragment buffer to the caller, who then owns it.
 */
public interface Splitter {

  /** Routes every key with {@code router} and builds the per-server sub-requests. */
  Split split(ByteBuf frame, KeyRouter router, ByteBufAllocator alloc);

  /**
   * The per-server parts of a split request and the merge of their replies.
   *
   * <p>{@link #fragment(int)} transfers ownership of the buffer to the caller (call it once per
   * index). {@link #merge} reads the replies, one per fragment in fragment order, and releases none
   * of them; it returns a new buffer owned by the caller, or {@code null} when a reply is not of the
   * type the command needs (the engine then answers {@code Invalid argument}).
   */
  interface Split {

    /** How many sub-requests; at least one. */
    int size();

    /** The server index of sub-request {@code i}, or {@link KeyRouter#NO_SERVER}. */
    int server(int i);

    /** The bytes of sub-request {@code i}; the caller owns (and releases) them. */
    ByteBuf fragment(int i);

    /** Builds the client's reply from the sub-replies. */
    ByteBuf merge(ByteBuf[] replies, ByteBufAllocator alloc);

    /**
     * Builds the client's reply when some fragments failed ({@code mget_partial_errors}):
     * {@code replies[i]} is {@code null} where fragment {@code i} failed, and {@code errors[i]}
     * is then the error reply, in the protocol's form, to put in place of each of its keys'
     * elements. Reads and releases nothing. Returns {@code null} when this command cannot be
     * answered in part (a count or an OK has no place for an error); the engine then answers one
     * error for the whole request. By default {@code null}.
     */
    default ByteBuf mergePartial(ByteBuf[] replies, ByteBuf[] errors, ByteBufAllocator alloc) {
      return null;
    }

    /**
     * A reply, in the protocol's form, that answers the whole request without sending anything
     * (the keys of an EVAL on different servers), or {@code null} (the default) to send the
     * fragments. When it is not {@code null} the engine takes no fragment and calls
     * {@link #discard()}; the caller owns the returned buffer.
     */
    default ByteBuf refusal(ByteBufAllocator alloc) {
      return null;
    }

    /**
     * Whether the fragments' error replies are the request's own (a script's {@code -BUSY} or
     * {@code -OOM}): then no error reply counts against a server. By default {@code false}.
     */
    default boolean ownsErrorReplies() {
      return false;
    }

    /**
     * Whether the replies are merged even where fragments failed, all of them included:
     * {@link #mergePartial} is then called whatever {@code mget_partial_errors} says, and also
     * when every fragment failed (INFO still answers the proxy's own sections when no server
     * does; SCRIPT LOAD remembers a script the servers that answered took). By default
     * {@code false}: a failed fragment fails the request with one error.
     */
    default boolean mergesFailures() {
      return false;
    }

    /** Releases fragments that were never taken, after a failure. */
    void discard();
  }
}
