package walnut.redis;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import java.util.function.Supplier;
import walnut.core.config.PoolConfig;
import walnut.core.spi.Request;

/**
 * Decodes a Redis client's bytes into {@link Request}s: RESP2 arrays of bulk strings
 * ({@code *<n>\r\n} then n × {@code $<len>\r\n<bytes>\r\n}) and inline commands.
 *
 * <p>Ownership: receives the client's bytes through {@link ByteToMessageDecoder}'s cumulation;
 * passes on one {@link Request} per request, which owns its frame: a retained slice of the
 * cumulation for a forwarded request (sent to the server byte for byte), a new buffer for a
 * converted inline command or a local reply. It releases nothing else; the base class releases the
 * cumulation.
 *
 * <p>A frame is validated whole before anything is retained. Progress is kept in fields, relative
 * to the frame's first byte (the cumulation may be compacted between reads), so a 64 MiB value
 * arriving in many reads is never scanned twice: headers are parsed once and bulk bytes are
 * skipped by their declared length, not scanned. Nothing is allocated from a declared length.
 *
 * <p>Limits, checked on each header as soon as its digits show, before the bytes it announces
 * arrive: a request's frame may not exceed the pool's {@code max_request_size} (512 MiB by
 * default); a bulk length above it is {@code invalid bulk length}, an argument count that could not
 * fit in it (or above 1,048,576) {@code invalid multibulk length}, as Redis words them. A client
 * that has yet to AUTH may send at most 10 arguments of at most 16 KiB each, as in Redis, so it
 * cannot make the proxy buffer anything large.
 *
 * <p>Broken framing gets {@code -ERR Protocol error: …} as a closing local reply, in its turn after
 * the requests before it, and every later byte of the connection is discarded; {@code decode}
 * never throws. A well-framed request the proxy cannot serve gets an error reply and the
 * connection goes on. One instance per client channel, never shared, confined to its event loop.
 */
public final class RedisRequestDecoder extends ByteToMessageDecoder {

  /** Redis 6's argument limit, kept: a split request holds a few ints per key. */
  static final int MAX_ARGS = 1024 * 1024;
  /** Redis's inline limit. */
  static final int MAX_INLINE = 64 * 1024;
  /** A frame must fit one buffer. */
  static final long MAX_FRAME = Integer.MAX_VALUE - 8;
  /** Redis's limits for a client that must still AUTH (CVE-2021-32675): it cannot fill memory. */
  static final int UNAUTHENTICATED_ARGS = 10;
  static final int UNAUTHENTICATED_BULK = 16 * 1024;
  /** The smallest argument, {@code $0\r\n\r\n}: a count above limit / 6 can never fit. */
  private static final int MIN_ARG_SIZE = 6;

  private enum State { START, ARG_COUNT, BULK_HEADER, BULK_DATA, INLINE, DISCARD }

  private final CommandDispatcher dispatcher;
  /** The pool's settings now (a reload changes them), or {@code null} when they are fixed. */
  private final Supplier<PoolConfig> settings;
  /** The settings the limits and the password were last taken from. */
  private PoolConfig applied;
  private long maxRequest;
  private long maxArgs;
  private int maxInline;
  private final LengthLine line = new LengthLine();
  private final Args args = new Args();
  private State state = State.START;
  /** Bytes of the current frame validated so far, counted from the reader index. */
  private int scanned;
  private int argIndex;
  private int bulkLength;

  /**
   * A decoder for one client connection of {@code pool}: its {@code redis_auth} applies, and its
   * {@code max_request_size} bounds every request, for the connection's whole life.
   */
  public RedisRequestDecoder(PoolConfig pool) {
    this(pool.redisAuth(), pool.maxRequestSize());
  }

  /**
   * A decoder for one client connection of a pool that a reload may change: {@code settings}
   * gives the pool's settings as they are now, read as each request starts, so a reloaded
   * {@code redis_auth} or {@code max_request_size} applies from the client's next request; a
   * request partly received when the reload came is decoded and judged with the settings it
   * started with.
   */
  public RedisRequestDecoder(Supplier<PoolConfig> settings) {
    this.settings = settings;
    this.applied = settings.get();
    this.dispatcher = new CommandDispatcher(applied.redisAuth());
    dispatcher.resp3Allowed(applied.resp3());
    limit(applied.maxRequestSize());
  }

  /** With the default request limit (512 MiB). */
  RedisRequestDecoder(String redisAuth) {
    this(redisAuth, PoolConfig.DEFAULT_REDIS_MAX_REQUEST_SIZE);
  }

  /**
   * With request limit {@code maxRequest} bytes: a request's whole frame, headers included, may
   * not exceed it, and neither may a bulk length (answered as Redis answers a bulk longer than its
   * {@code proto-max-bulk-len}) nor an argument count that could not fit in it.
   */
  RedisRequestDecoder(String redisAuth, long maxRequest) {
    this.settings = null;
    this.dispatcher = new CommandDispatcher(redisAuth);
    limit(maxRequest);
  }

  private void limit(long maxRequest) {
    if (maxRequest <= 0) {
      throw new IllegalArgumentException("max request size: " + maxRequest + " (expected: > 0)");
    }
    this.maxRequest = Math.min(maxRequest, MAX_FRAME);
    this.maxArgs = Math.min(MAX_ARGS, this.maxRequest / MIN_ARG_SIZE);
    this.maxInline = (int) Math.min(MAX_INLINE, this.maxRequest);
  }

  /**
   * Takes the pool's settings as they are now, when a request starts: nothing of a request is
   * decoded under one setting and judged under another.
   */
  private void refresh() {
    PoolConfig now = settings.get();
    if (now != applied) {
      applied = now;
      dispatcher.passwordChanged(now.redisAuth());
      dispatcher.resp3Allowed(now.resp3());
      limit(now.maxRequestSize());
    }
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    // Each step returns false when it needs more bytes, or after the connection failed.
    for (;;) {
      boolean progressed = switch (state) {
        case START -> start(in);
        case ARG_COUNT -> argCount(ctx, in, out);
        case BULK_HEADER -> bulkHeader(ctx, in, out);
        case BULK_DATA -> bulkData(ctx, in, out);
        case INLINE -> inline(ctx, in, out);
        case DISCARD -> {
          in.skipBytes(in.readableBytes());
          yield false;
        }
      };
      if (!progressed) {
        return;
      }
    }
  }

  private boolean start(ByteBuf in) {
    if (!in.isReadable()) {
      return false;
    }
    if (settings != null) {
      refresh();
    }
    scanned = 0;
    state = in.getByte(in.readerIndex()) == '*' ? State.ARG_COUNT : State.INLINE;
    return true;
  }

  private boolean argCount(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    int start = in.readerIndex();
    int r = line.parse(in, start, maxArgs, false);
    if (r != LengthLine.OK) {
      if (r == LengthLine.INVALID) {
        fail(ctx, in, out, "invalid multibulk length");
      }
      return false;
    }
    if (line.value > UNAUTHENTICATED_ARGS && dispatcher.mustAuthenticate()) {
      fail(ctx, in, out, "unauthenticated multibulk length");
      return false;
    }
    if (line.value == 0) {
      // Redis ignores an empty array: nothing to answer.
      in.skipBytes(line.end - start);
      state = State.START;
      return true;
    }
    args.count = (int) line.value;
    argIndex = 0;
    scanned = line.end - start;
    state = State.BULK_HEADER;
    return true;
  }

  private boolean bulkHeader(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    int start = in.readerIndex();
    int at = start + scanned;
    if (at >= in.writerIndex()) {
      return false;
    }
    byte type = in.getByte(at);
    if (type != '$') {
      fail(ctx, in, out, "expected '$', got '" + printable(type) + "'");
      return false;
    }
    int r = line.parse(in, at, maxRequest, false);
    if (r != LengthLine.OK) {
      if (r == LengthLine.INVALID) {
        fail(ctx, in, out, "invalid bulk length");
      }
      return false;
    }
    if (line.value > UNAUTHENTICATED_BULK && dispatcher.mustAuthenticate()) {
      fail(ctx, in, out, "unauthenticated bulk length");
      return false;
    }
    bulkLength = (int) line.value;
    scanned = line.end - start;
    // The frame's size once this bulk has arrived; the bulks still to come make it larger.
    long atLeast = (long) scanned + bulkLength + 2;
    if (atLeast > maxRequest) {
      fail(ctx, in, out, "request too big: at least " + atLeast + " bytes (expected: <= "
          + maxRequest + ")");
      return false;
    }
    state = State.BULK_DATA;
    return true;
  }

  /** Waits for a bulk's bytes, which are skipped by length, never scanned. */
  private boolean bulkData(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    int start = in.readerIndex();
    int dataEnd = scanned + bulkLength;
    if (in.writerIndex() - start < dataEnd + 2) {
      return false;
    }
    if (in.getByte(start + dataEnd) != '\r' || in.getByte(start + dataEnd + 1) != '\n') {
      fail(ctx, in, out, "bulk string not terminated by CRLF");
      return false;
    }
    if (argIndex < Args.TRACKED) {
      args.set(argIndex, scanned, bulkLength);
    }
    scanned = dataEnd + 2;
    if (++argIndex < args.count) {
      state = State.BULK_HEADER;
      return true;
    }
    state = State.START;
    Request request = dispatcher.dispatch(ctx.alloc(), in, start, scanned, args, false);
    in.skipBytes(scanned);
    emit(in, out, request);
    return true;
  }

  /** Decodes one inline line; false when it has not fully arrived (or the connection failed). */
  private boolean inline(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    int start = in.readerIndex();
    int lf = in.indexOf(start + scanned, in.writerIndex(), (byte) '\n');
    // The limit is on the bytes before the LF, whatever the reads were, so a line is accepted or
    // refused the same way however it was split.
    int lineLength = lf < 0 ? in.readableBytes() : lf - start;
    if (lineLength > maxInline) {
      fail(ctx, in, out, "too big inline request");
      return false;
    }
    if (lf < 0) {
      scanned = lineLength;
      return false;
    }
    int end = lf > start && in.getByte(lf - 1) == '\r' ? lf - 1 : lf;
    List<byte[]> argv = InlineCommand.split(in, start, end);
    if (argv == null) {
      fail(ctx, in, out, "unbalanced quotes in request");
      return false;
    }
    in.skipBytes(lineLength + 1);
    state = State.START;
    if (!argv.isEmpty()) {
      ByteBuf frame = InlineCommand.toResp(ctx.alloc(), argv, args);
      emit(in, out, dispatcher.dispatch(ctx.alloc(), frame, 0, frame.readableBytes(), args, true));
    }
    return true;
  }

  private void emit(ByteBuf in, List<Object> out, Request request) {
    out.add(request);
    if (request.closeAfterReply()) {
      // QUIT: the connection closes after this reply, so nothing after it is answered.
      in.skipBytes(in.readableBytes());
      state = State.DISCARD;
    }
  }

  /** Answers a framing error, then ignores the rest of the connection, which closes after it. */
  private void fail(ChannelHandlerContext ctx, ByteBuf in, List<Object> out, String reason) {
    in.skipBytes(in.readableBytes());
    state = State.DISCARD;
    out.add(Request.protocolError(Replies.error(ctx.alloc(), "ERR Protocol error: " + reason)));
  }

  private static String printable(byte b) {
    return b > ' ' && b < 0x7f ? String.valueOf((char) b) : String.format("\\x%02x", b & 0xff);
  }
}
