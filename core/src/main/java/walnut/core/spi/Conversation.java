package walnut.core.spi;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * What a protocol tells the engine about requests that cannot share a server connection with
 * other clients: a transaction (Redis {@code WATCH} … {@code MULTI} … {@code EXEC}) runs on a
 * private connection to the server of its keys, and a blocking command ({@code BLPOP}) on one of
 * its own, so that it blocks no other client. The engine takes such a connection from a bounded
 * per-server budget ({@code max_pinned_connections}) when the first request needs it, sends the
 * requests of the conversation on it in order, and gives it back when the conversation ends, the
 * client goes, or the connection fails.
 *
 * <p>A request of a conversation is a {@link Request.Kind#PINNED} request; its {@link Step} says
 * what it does to the conversation. The engine keeps whether the conversation broke (a request of
 * it was refused: keys on another server, no connection free, the connection failed); from then
 * until it ends, its requests are answered by {@link #localReply} without being sent, so nothing
 * of a broken transaction runs.
 *
 * <p>Stateless implementations may be shared; called on the client's event loop.
 */
public interface Conversation {

  /** What a request is to its conversation. */
  enum Step {
    /** Starts it, or adds to it, on the server of its keys (WATCH): takes a connection. */
    OPEN,
    /**
     * Belongs to it (MULTI and what follows): sent on its connection. One without a key, before a
     * key has chosen the server, waits in the proxy (answered {@link #localReply}) and is sent
     * ahead of the first keyed one.
     */
    USE,
    /**
     * Ends it by running it (EXEC): the connection is given back once answered. With no server
     * chosen yet, what waits goes to the server of keyless requests.
     */
    CLOSE,
    /** Ends it without running it (DISCARD, UNWATCH): given back once answered. */
    DROP,
    /**
     * A request the protocol refused inside the conversation: the frame is the error reply to
     * write; the conversation breaks, as Redis discards a transaction after an error in queueing.
     */
    REFUSED,
    /**
     * A conversation of its own (a blocking command): takes a connection, given back once
     * answered, and the client's later requests wait for its reply, as on a server connection.
     */
    ALONE,
    /**
     * A subscription request (SUBSCRIBE, UNSUBSCRIBE...) of a {@link Listener}: its splitter
     * sends one fragment per server on the client's listening connection to that server (taken
     * on first use), and the split's {@link Answers} say how many answers each awaits.
     */
    LISTEN
  }

  /**
   * A client's subscriptions: on a listening connection the server speaks unasked, so every frame
   * it sends after the handshake comes here, not to a request queue. Answers to the
   * subscription requests complete them in order (the client's reply is the split's merge, made
   * by the protocol); every other frame (a message) is written to the client as it comes, in
   * its turn among the client's replies. A listening connection that fails closes the client:
   * it can no longer be told which subscriptions hold.
   */
  interface Listener extends Conversation {

    /**
     * Whether {@code frame} (a reply or a push, read in place) answers a subscription request
     * rather than being a message for the client.
     */
    boolean isAnswer(ByteBuf frame);

    /**
     * Whether the client still listens to server {@code server}: once its answers are in, a
     * listening connection that is no longer needed is closed.
     */
    boolean listensTo(int server);

    /**
     * Whether the client still wants {@code frame}, a message (read in place): false for one on
     * a channel or pattern it has unsubscribed from since. The server sent it before it had the
     * unsubscribe, but it is written behind the confirmation the client is owed, where (in RESP2,
     * after the last one) the client would read it as the reply to its next command.
     */
    default boolean wants(ByteBuf frame) {
      return true;
    }
  }

  /** Implemented by the split of a {@link Step#LISTEN} request. */
  interface Answers {
    /** How many frames fragment {@code i}'s server sends in answer to it. */
    int answers(int i);
  }

  /**
   * The reply, in the protocol's form, to the request {@code frame} (of {@code step}) that the
   * proxy answers itself:
   * waiting for a server to be chosen ({@code broken} false: Redis {@code +QUEUED}, {@code +OK}
   * for MULTI), or while the conversation is broken ({@code -EXECABORT} for EXEC). Reads the frame
   * without changing or releasing it.
   */
  ByteBuf localReply(ByteBuf frame, Step step, boolean broken, ByteBufAllocator alloc);
}
