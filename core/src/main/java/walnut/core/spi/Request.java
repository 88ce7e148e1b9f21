package walnut.core.spi;

import static java.util.Objects.requireNonNull;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.ArrayDeque;

/**
 * One client request as a protocol's request decoder hands it to the engine.
 *
 * <p>Three kinds:
 * <ul>
 *   <li>{@link Kind#ROUTED}: forwarded byte for byte to the server that owns its key. The frame is
 *       the request's exact bytes; the key is {@code frame[keyIndex, keyIndex + keyLength)}, or
 *       absent ({@code keyLength < 0}) for keyless commands, which twemproxy routes as the key
 *       {@code placeholder}.
 *   <li>{@link Kind#SPLIT}: a multi-key request whose {@link Splitter} makes one sub-request per
 *       server and merges the replies.
 *   <li>{@link Kind#PINNED}: a request of a {@link Conversation} (a transaction, a blocking
 *       command), sent on a private server connection, routed as a routed request or, with a
 *       splitter, by all its keys, which must then be on one server.
 *   <li>{@link Kind#LOCAL}: answered by the proxy itself; the frame is the reply, written in its
 *       turn among the client's replies, after which the connection closes if
 *       {@link #closeAfterReply()}.
 * </ul>
 *
 * <p>Ownership: the decoder creates the request with a frame it has retained (a slice of the read
 * buffer, or a new buffer) and passes it on; the engine owns it from then and releases it exactly
 * once, whatever happens to the request. The request object itself comes from a per-thread pool
 * and goes back to it through {@link #recycle()} once the engine is done with it; one that is
 * never recycled is simply collected.
 */
public final class Request {

  /** What the engine does with a request. */
  public enum Kind { ROUTED, SPLIT, LOCAL, PINNED }

  /** Request objects kept for reuse per thread: the request path allocates nothing. */
  private static final int POOL_MAX = 1024;
  private static final FastThreadLocal<ArrayDeque<Request>> POOL = new FastThreadLocal<>() {
    @Override
    protected ArrayDeque<Request> initialValue() {
      return new ArrayDeque<>(64);
    }
  };

  private Kind kind;
  private ByteBuf frame;
  private int keyIndex;
  private int keyLength;
  private boolean expectsReply;
  private boolean closeAfterReply;
  private boolean protocolError;
  private Splitter splitter;
  private ReplyFilter replyFilter;
  private ByteBuf routingKey;
  private boolean ownsErrorReplies;
  private int dialect;
  private Conversation conversation;
  private Conversation.Step step;
  private long blockMillis;
  private boolean recycled;

  private Request() {}

  private static Request of(Kind kind, ByteBuf frame, int keyIndex, int keyLength,
      boolean expectsReply, boolean closeAfterReply, Splitter splitter) {
    return of(kind, frame, keyIndex, keyLength, expectsReply, closeAfterReply, false, splitter,
        null, null);
  }

  private static Request of(Kind kind, ByteBuf frame, int keyIndex, int keyLength,
      boolean expectsReply, boolean closeAfterReply, boolean protocolError, Splitter splitter,
      ReplyFilter replyFilter, ByteBuf routingKey) {
    Request r = POOL.get().pollLast();
    if (r == null) {
      r = new Request();
    }
    r.recycled = false;
    r.ownsErrorReplies = false;
    r.dialect = 0;
    r.conversation = null;
    r.step = null;
    r.blockMillis = 0;
    r.protocolError = protocolError;
    r.replyFilter = replyFilter;
    r.routingKey = routingKey;
    r.kind = kind;
    r.frame = requireNonNull(frame, "frame");
    r.keyIndex = keyIndex;
    r.keyLength = keyLength;
    r.expectsReply = expectsReply;
    r.closeAfterReply = closeAfterReply;
    r.splitter = splitter;
    return r;
  }

  /**
   * Returns this object for reuse by a later request made on the same thread; the engine calls it
   * once it has taken what it needs (the frame's ownership passes on separately: this releases
   * nothing). Nothing may use the request afterwards. A second call is a bug and throws.
   */
  public void recycle() {
    if (recycled) {
      throw new IllegalStateException("request recycled twice");
    }
    recycled = true;
    frame = null;
    routingKey = null;
    splitter = null;
    replyFilter = null;
    conversation = null;
    ArrayDeque<Request> pool = POOL.get();
    if (pool.size() < POOL_MAX) {
      pool.addLast(this);
    }
  }

  /** A request routed by the key at absolute index {@code keyIndex} of {@code frame}. */
  public static Request routed(ByteBuf frame, int keyIndex, int keyLength) {
    return of(Kind.ROUTED, frame, keyIndex, keyLength, true, false, null);
  }

  /**
   * A routed request with no reply to wait for (memcached {@code noreply}): it is forwarded and
   * takes no place among the client's replies.
   */
  public static Request routedNoReply(ByteBuf frame, int keyIndex, int keyLength) {
    return of(Kind.ROUTED, frame, keyIndex, keyLength, false, false, null);
  }

  /**
   * A routed request whose reply the client may not want (memcached meta commands in quiet mode):
   * it keeps its place among the client's replies, and when its turn comes a reply that
   * {@code filter} suppresses is dropped instead of written. Errors the proxy makes are never
   * suppressed.
   */
  public static Request routedQuiet(ByteBuf frame, int keyIndex, int keyLength,
      ReplyFilter filter) {
    return of(Kind.ROUTED, frame, keyIndex, keyLength, true, false, false, null,
        requireNonNull(filter, "filter"), null);
  }

  /**
   * A routed request whose routing key is not a plain slice of its frame (a memcached meta key
   * sent in base64 is hashed decoded): {@code key}'s readable bytes are hashed, and the engine
   * releases {@code key} once the request is routed, with the frame's ownership as usual.
   * {@code filter} may be {@code null} (a reply is always written) or make the request quiet, as
   * in {@link #routedQuiet}.
   */
  public static Request routedByKey(ByteBuf frame, ByteBuf key, ReplyFilter filter) {
    requireNonNull(key, "key");
    return of(Kind.ROUTED, frame, key.readerIndex(), key.readableBytes(), true, false,
        false, null, filter, key);
  }

  /**
   * A routed request whose error replies are its own, whatever they say (a Redis script, which
   * can return {@code -OOM} or {@code -BUSY} at will): a {@link ServerTrouble} reply to it never
   * counts against the server.
   */
  public static Request routedOwningErrors(ByteBuf frame, int keyIndex, int keyLength) {
    Request r = of(Kind.ROUTED, frame, keyIndex, keyLength, true, false, null);
    r.ownsErrorReplies = true;
    return r;
  }

  /** A keyless request, routed as twemproxy routes keyless commands. */
  public static Request keyless(ByteBuf frame) {
    return of(Kind.ROUTED, frame, 0, -1, true, false, null);
  }

  /** A multi-key request, split per server by {@code splitter}. */
  public static Request split(ByteBuf frame, Splitter splitter) {
    return of(Kind.SPLIT, frame, 0, -1, true, false, requireNonNull(splitter));
  }

  /**
   * A request of {@code conversation} ({@link Kind#PINNED}), sent on a private server connection
   * as {@code step} says. It goes to the server of the key at absolute {@code keyIndex} of
   * {@code frame} (keyless when {@code keyLength < 0}); with {@code together} not {@code null},
   * to the server of all its keys, which that splitter finds: when they are on several servers
   * the request is refused. For {@link Conversation.Step#REFUSED} the frame is the error reply.
   */
  public static Request pinned(ByteBuf frame, int keyIndex, int keyLength, Splitter together,
      Conversation conversation, Conversation.Step step) {
    Request r = of(Kind.PINNED, frame, keyIndex, keyLength, true, false, together);
    r.conversation = requireNonNull(conversation, "conversation");
    r.step = requireNonNull(step, "step");
    return r;
  }

  /**
   * A blocking request ({@link Conversation.Step#ALONE}) waits for the server up to
   * {@code millis} longer than the pool's {@code timeout} (its own timeout), or, with a negative
   * value, as long as it takes (blocks forever). Returns this request.
   */
  public Request blocking(long millis) {
    this.blockMillis = millis;
    return this;
  }

  /** How much longer than the pool's timeout its reply may take (see {@link #blocking}). */
  public long blockMillis() {
    return blockMillis;
  }

  /** The conversation of a {@link Kind#PINNED} request, else {@code null}. */
  public Conversation conversation() {
    return conversation;
  }

  /** What a {@link Kind#PINNED} request does to its conversation, else {@code null}. */
  public Conversation.Step step() {
    return step;
  }

  /** A request the proxy answers itself with {@code reply}. */
  public static Request local(ByteBuf reply) {
    return of(Kind.LOCAL, reply, 0, -1, true, false, null);
  }

  /** A local reply after which the client connection is closed (QUIT, a framing error). */
  public static Request localThenClose(ByteBuf reply) {
    return of(Kind.LOCAL, reply, 0, -1, true, true, null);
  }

  /**
   * The reply to input the decoder cannot frame; the connection closes after it and counts as a
   * client error ({@code client_err}), not a client's orderly goodbye.
   */
  public static Request protocolError(ByteBuf reply) {
    return of(Kind.LOCAL, reply, 0, -1, true, true, true, null, null, null);
  }

  public Kind kind() {
    return kind;
  }

  /** The request bytes (ROUTED, SPLIT) or the reply bytes (LOCAL). */
  public ByteBuf frame() {
    return frame;
  }

  /** Absolute index of the routing key in {@link #frame()}. */
  public int keyIndex() {
    return keyIndex;
  }

  /** Length of the routing key, or a negative value for a keyless request. */
  public int keyLength() {
    return keyLength;
  }

  public boolean hasKey() {
    return keyLength >= 0;
  }

  public boolean expectsReply() {
    return expectsReply;
  }

  /**
   * Sends this request on the server connections of {@code dialect} (0, the default, up to
   * {@link Protocol#dialects()} - 1): the kind of connection it needs, opened with
   * {@link Protocol#handshake(walnut.core.config.PoolConfig, int,
   * io.netty.buffer.ByteBufAllocator)} for that dialect. Requests of different dialects never
   * share a connection, so one client's choice (Redis: RESP3 after {@code HELLO 3}) never changes
   * the shape of another's replies. Returns this request.
   */
  public Request onDialect(int dialect) {
    this.dialect = dialect;
    return this;
  }

  /** The kind of server connection this request needs (see {@link #onDialect}). */
  public int dialect() {
    return dialect;
  }

  /** Whether its error replies are its own (see {@link #routedOwningErrors}). */
  public boolean ownsErrorReplies() {
    return ownsErrorReplies;
  }

  public boolean closeAfterReply() {
    return closeAfterReply;
  }

  /** Whether this is the reply to broken framing (see {@link #protocolError}). */
  public boolean isProtocolError() {
    return protocolError;
  }

  /**
   * The buffer holding the routing key when it is not in the frame (see {@link #routedByKey}),
   * else {@code null}: then {@link #keyIndex()} and {@link #keyLength()} refer to this buffer.
   */
  public ByteBuf routingKey() {
    return routingKey;
  }

  /** Releases everything the request owns: its frame, and its routing key if it has one. */
  public void release() {
    if (routingKey != null) {
      routingKey.release();
    }
    frame.release();
  }

  /** The filter of a quiet request (see {@link #routedQuiet}), else {@code null}. */
  public ReplyFilter replyFilter() {
    return replyFilter;
  }

  /**
   * The splitter of a {@link Kind#SPLIT} request, or the key check of a {@link Kind#PINNED} one,
   * else {@code null}.
   */
  public Splitter splitter() {
    return splitter;
  }

  /** Decides whether a quiet request's reply is dropped instead of written to the client. */
  @FunctionalInterface
  public interface ReplyFilter {
    /** Whether to drop {@code reply}; reads it without changing its indices or releasing it. */
    boolean suppress(ByteBuf reply);
  }

  @Override
  public String toString() {
    return frame == null ? "Request{recycled}"
        : "Request{" + kind + ", " + frame.readableBytes() + " bytes}";
  }
}
