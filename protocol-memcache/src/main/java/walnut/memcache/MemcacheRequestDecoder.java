package walnut.memcache;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import java.util.function.Supplier;
import walnut.core.config.PoolConfig;
import walnut.core.spi.Request;

/**
 * Decodes a memcached client's bytes into {@link Request}s: ASCII command lines, storage commands
 * with their data blocks, and meta commands.
 *
 * <p>Ownership: receives the client's bytes through {@link ByteToMessageDecoder}'s cumulation;
 * passes on one {@link Request} per request, which owns its frame: a retained slice of the
 * cumulation for a forwarded request (sent to the server byte for byte), a new buffer for a local
 * reply or a rebuilt meta command (quiet mode). It releases nothing else; the base class releases
 * the cumulation.
 *
 * <p>A frame is validated whole before anything is retained. Progress is kept in fields, relative
 * to the frame's first byte, so a line arriving in many reads is searched once, and a data block
 * is waited for by its length and never scanned. Nothing is allocated from a declared length.
 *
 * <p>Limits and the decisions behind them (memcached 1.6.18 was asked; {@code LocalRepliesIT}
 * keeps the answers):
 * <ul>
 *   <li>A command line may be {@value #MAX_LINE} bytes before its LF, memcached's own limit: a
 *       server that has that many bytes of a line without its LF closes the connection, which
 *       the proxy shares between clients, so no longer line is ever forwarded. A {@code get} or
 *       {@code gets} line, whose key list memcached does not bound (its only exception, after at
 *       most 100 leading spaces), may be as long as the pool's {@code max_request_size}. Past
 *       that the client's connection closes after {@code CLIENT_ERROR line too long} (memcached
 *       closes silently).
 *   <li>A data block longer than {@code max_request_size} (1 MiB by default, memcached's item
 *       size; never more than {@value #MAX_DATA} bytes, memcached's largest) gets memcached's
 *       {@code SERVER_ERROR object too large for cache} and is skipped as it arrives, never
 *       buffered.
 *   <li>A storage command with a bad key (over 250 bytes) or a bad flags, exptime or cas argument
 *       gets {@code CLIENT_ERROR bad command line format} and its data block is skipped; so does
 *       an {@code ms} with a bad key or too many flags. memcached
 *       answers the same but then reads the data block as a command (usually adding
 *       {@code ERROR}); skipping it keeps the client's data from ever running as commands.
 *   <li>A command that says {@code noreply} gets no error either, as memcached writes none; its
 *       data block is skipped all the same.
 *   <li>A data length that is not a number from 0 to {@code INT_MAX - 2}: {@code CLIENT_ERROR bad
 *       command line format}, then close: the framing is lost. A data block not followed by CRLF:
 *       {@code CLIENT_ERROR bad data chunk}, then close (memcached goes on reading after it).
 *   <li>Unknown commands, upper-case ones, administrative ones ({@code stats}, {@code flush_all},
 *       {@code verbosity}) and empty lines get {@code ERROR} and the connection stays open, as with
 *       memcached. (twemproxy closes the connection silently, losing earlier replies too.) But
 *       {@code flush_all}, {@code verbosity} and {@code cache_memlimit} ending in {@code noreply}
 *       get nothing, since memcached writes nothing for them: an {@code ERROR} would shift every
 *       later reply by one.
 *   <li>{@code quit} closes the connection after the replies owed to earlier requests, writing
 *       nothing itself, as memcached does.
 *   <li>Keys are any bytes but space, as memcached reads them (control bytes included, although
 *       its protocol.txt forbids them); bytes after a NUL are invisible to memcached, and so to the
 *       proxy's parsing, although they are forwarded.
 * </ul>
 *
 * <p>Broken framing gets a closing local reply in its turn after the requests before it, and every
 * later byte of the connection is discarded; {@code decode} never throws. One instance per client
 * channel, never shared, confined to its event loop.
 */
public final class MemcacheRequestDecoder extends ByteToMessageDecoder {

  /** The longest command line other than get and gets, before its LF: memcached's limit. */
  static final int MAX_LINE = 2048;
  /** memcached's largest item size ({@code -I 1024m}). */
  static final long MAX_DATA = 1L << 30;

  private static final byte[][] LONG_LINES = {Replies.bytes("get "), Replies.bytes("gets ")};
  /** memcached looks past at most this many leading spaces for a long get line. */
  private static final int MAX_LEADING_SPACES = 100;

  private enum State { LINE, DATA, SWALLOW, DISCARD }

  private final CommandDispatcher dispatcher;
  /** The pool's settings now (a reload changes them), or {@code null} when they are fixed. */
  private final Supplier<PoolConfig> settings;
  /** The settings the limits were last taken from. */
  private PoolConfig applied;
  private long maxGetLine;
  private State state = State.LINE;
  /** LINE: bytes of the current line searched for its LF, counted from the reader index. */
  private int scanned;
  /** DATA: the command line's bytes (LF included), and the whole frame's (data and CRLF too). */
  private int lineLength;
  private int frameLength;
  /** SWALLOW: bytes still to skip. */
  private long swallow;

  /**
   * A decoder for one client connection of {@code pool}; its {@code max_request_size} applies for
   * the connection's whole life.
   */
  public MemcacheRequestDecoder(PoolConfig pool) {
    this(pool.maxRequestSize());
  }

  /** With any request limit, so tests reach it without a mebibyte of input. */
  MemcacheRequestDecoder(long maxRequestSize) {
    this.settings = null;
    this.dispatcher = new CommandDispatcher(0);
    limit(maxRequestSize);
  }

  /**
   * A decoder for one client connection of a pool that a reload may change: {@code settings}
   * gives the pool's settings as they are now, read as each command line starts, so a reloaded
   * {@code max_request_size} applies from the client's next request; a request partly received
   * when the reload came (a line without its LF, a data block still arriving) keeps the limit it
   * started with.
   */
  public MemcacheRequestDecoder(Supplier<PoolConfig> settings) {
    this.settings = settings;
    this.applied = settings.get();
    this.dispatcher = new CommandDispatcher(0);
    limit(applied.maxRequestSize());
  }

  private void limit(long maxRequestSize) {
    long limit = Math.min(maxRequestSize, MAX_DATA);
    dispatcher.maxData(limit);
    this.maxGetLine = Math.max(MAX_LINE, limit);
  }

  /** Takes the pool's settings as they are now, when a command line starts. */
  private void refresh() {
    PoolConfig now = settings.get();
    if (now != applied) {
      applied = now;
      limit(now.maxRequestSize());
    }
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    // Each step returns false when it needs more bytes, or after the connection failed.
    for (;;) {
      boolean progressed = switch (state) {
        case LINE -> line(ctx, in, out);
        case DATA -> data(ctx, in, out);
        case SWALLOW -> swallow(in);
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

  private boolean line(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (!in.isReadable()) {
      return false;
    }
    if (scanned == 0 && settings != null) {
      refresh();
    }
    int start = in.readerIndex();
    int lf = in.indexOf(start + scanned, in.writerIndex(), (byte) '\n');
    // The limit is on the bytes before the LF, whatever the reads were, so a line is accepted or
    // refused the same way however it was split.
    int length = lf < 0 ? in.readableBytes() : lf - start;
    if (length > MAX_LINE && (length > maxGetLine || !isGet(in, start))) {
      fail(ctx, in, out, Replies.LINE_TOO_LONG);
      return false;
    }
    if (lf < 0) {
      scanned = length;
      return false;
    }
    scanned = 0;
    dispatcher.dispatch(ctx.alloc(), in, start, lf);
    int lineBytes = length + 1;
    switch (dispatcher.outcome) {
      case EMIT -> {
        in.skipBytes(lineBytes);
        emit(in, out, dispatcher.request);
      }
      case DATA -> {
        lineLength = lineBytes;
        // At most MAX_LINE + MAX_DATA + 2 bytes: an int.
        frameLength = (int) (lineBytes + dispatcher.dataLength + 2);
        state = State.DATA;
      }
      case SWALLOW -> {
        in.skipBytes(lineBytes);
        emit(in, out, dispatcher.request);
        swallow = dispatcher.dataLength + 2;
        state = State.SWALLOW;
      }
      case CLOSE -> {
        in.skipBytes(in.readableBytes());
        emit(in, out, dispatcher.request);
      }
    }
    return state != State.DISCARD;
  }

  /** Waits for a data block, which is counted, never scanned, then checks its CRLF. */
  private boolean data(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    int start = in.readerIndex();
    if (in.readableBytes() < frameLength) {
      return false;
    }
    if (in.getByte(start + frameLength - 2) != '\r' || in.getByte(start + frameLength - 1) != '\n') {
      fail(ctx, in, out, Replies.BAD_DATA_CHUNK);
      return false;
    }
    Request request = dispatcher.complete(ctx.alloc(), in, start, lineLength, frameLength);
    in.skipBytes(frameLength);
    state = State.LINE;
    emit(in, out, request);
    return true;
  }

  /** Skips a refused data block as it arrives. */
  private boolean swallow(ByteBuf in) {
    int n = (int) Math.min(in.readableBytes(), swallow);
    in.skipBytes(n);
    swallow -= n;
    if (swallow > 0) {
      return false;
    }
    state = State.LINE;
    return true;
  }

  private void emit(ByteBuf in, List<Object> out, Request request) {
    if (request == null) {
      return; // an error memcached would not send: the command said noreply
    }
    out.add(request);
    if (request.closeAfterReply()) {
      // quit or a framing error: the connection closes after this reply, nothing later counts.
      in.skipBytes(in.readableBytes());
      state = State.DISCARD;
    }
  }

  /** Answers a framing error, then ignores the rest of the connection, which closes after it. */
  private void fail(ChannelHandlerContext ctx, ByteBuf in, List<Object> out, String error) {
    in.skipBytes(in.readableBytes());
    state = State.DISCARD;
    out.add(Request.protocolError(Replies.line(ctx.alloc(), error)));
  }

  /** Whether the long line at {@code start} is a get or gets, as memcached tells. */
  private static boolean isGet(ByteBuf in, int start) {
    int at = start;
    int limit = Math.min(in.writerIndex(), start + MAX_LEADING_SPACES);
    while (at < limit && in.getByte(at) == ' ') {
      at++;
    }
    for (byte[] prefix : LONG_LINES) {
      if (startsWith(in, at, prefix)) {
        return true;
      }
    }
    return false;
  }

  private static boolean startsWith(ByteBuf in, int at, byte[] prefix) {
    if (in.writerIndex() - at < prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (in.getByte(at + i) != prefix[i]) {
        return false;
      }
    }
    return true;
  }
}
