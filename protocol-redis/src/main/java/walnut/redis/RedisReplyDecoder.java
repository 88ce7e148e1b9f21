package walnut.redis;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.CorruptedFrameException;
import java.util.Arrays;
import java.util.List;
import walnut.core.spi.PartialReplyDecoder;
import walnut.core.spi.ReplyPart;
import walnut.core.spi.ServerPush;
import walnut.core.spi.ServerTrouble;

/**
 * Frames a Redis server's replies, RESP2 and RESP3: {@code + - : $ *}, the null forms {@code $-1}
 * and {@code *-1}, {@code *0}, and RESP3's null {@code _}, double {@code ,}, boolean {@code #}, big
 * number {@code (}, blob error {@code !}, verbatim string {@code =}, map {@code %}, set {@code ~},
 * push {@code >} and attribute {@code |}, aggregates nested to any depth. An attribute is part of
 * the value that follows it: the two are one element, or one reply at the top level.
 *
 * <p>Ownership: receives the server's bytes through {@link PartialReplyDecoder}'s cumulation;
 * passes on each complete top-level reply as a retained slice of it, byte for byte, owned by the
 * receiver. It releases nothing else; the base class releases the cumulation.
 *
 * <p>Implementation note: no recursion. Open arrays are a pre-sized stack of remaining element
 * counts (grown by doubling only for unusually deep nesting, then reused). Progress is kept in
 * fields relative to the reply's first byte, so a 64 MiB bulk arriving in many reads is skipped by
 * its length and a long status line is searched once, never rescanned from the start.
 *
 * <p>A top-level bulk string of {@link #STREAM_FROM} bytes or more that has not fully arrived is
 * passed on as {@link ReplyPart}s instead, one per read, as its bytes come: the first holds the
 * header, the last the closing CRLF (checked as it passes). The proxy then holds no more of it
 * than the reads in flight, whatever its length. Bulks inside arrays (MGET, LRANGE) still come
 * whole with their reply.
 *
 * <p>A top-level push comes as a {@link ServerPush}: it answers no request, so it is never matched
 * to one.
 *
 * <p>A top-level {@code -OOM}, {@code -BUSY} or {@code -LOADING} error (followed by a space or CR)
 * comes as a {@link ServerTrouble}: the engine gives it to its request and, for {@code -OOM} and
 * {@code -LOADING}, counts it against the server unless the request is a script's
 * (docs/compatibility.md#transient-server-errors). An
 * unparseable reply raises a {@link CorruptedFrameException}: the engine closes the connection and
 * answers {@code Invalid argument} to everything in flight, and the decoder discards the rest of
 * the stream, which can no longer be matched to requests. One instance per backend channel,
 * confined to its event loop.
 */
public final class RedisReplyDecoder extends PartialReplyDecoder {

  /** A streamed bulk is passed on as it comes: nothing of it is held to drop. */
  @Override
  protected boolean mayDrop() {
    return state != State.FAILED && state != State.STREAM;
  }

  /** A reply must fit one buffer. */
  static final long MAX_REPLY = Integer.MAX_VALUE - 1;
  /** Status, error and integer lines are short; a runaway one is a broken server. */
  static final int MAX_LINE = 64 * 1024 * 1024;

  /** Top-level bulks from this length (header and CRLF included) are streamed in parts. */
  static final int STREAM_FROM = 256 * 1024;

  private enum State { TYPE, LINE, BULK, STREAM, FAILED }

  private static final int NEED_MORE = 0;
  private static final int PROGRESS = 1;
  private static final int ELEMENT_DONE = 2;

  private final LengthLine line = new LengthLine();
  /** The reply being framed is a top-level -OOM, -BUSY or -LOADING, and whether it counts. */
  private boolean trouble;
  private boolean troubleCounts;
  /** The trouble is {@code -READONLY}: the server is a replica (a pool with sentinels). */
  private boolean troubleNotPrimary;
  /** Whether a top-level {@code -READONLY} is trouble: in a pool with sentinels. */
  private final boolean readOnlyIsTrouble;
  /** The most bytes one reply may take: {@link #MAX_REPLY}, or less (the proxy's own questions). */
  private final long maxReply;
  /** The reply being framed is a top-level push. */
  private boolean pushed;
  private State state = State.TYPE;
  /** Bytes of the current reply framed so far, counted from the reader index. */
  private int scanned;
  /** Where the current +, - or : line starts, relative to the reply. */
  private int lineStart;
  /** Where the current bulk ends (after its CRLF), relative to the reply. */
  private int bulkEnd;
  /** Bytes of the streamed reply passed on so far. */
  private int streamed;
  /** Elements still owed by each open aggregate, innermost last. */
  private int[] remaining = new int[8];
  /** Whether each open aggregate is an attribute, which with the value after it is one element. */
  private boolean[] attribute = new boolean[8];
  private int depth;

  RedisReplyDecoder() {
    this(false);
  }

  /** {@code readOnlyIsTrouble}: a top-level {@code -READONLY} comes as a not-primary trouble. */
  RedisReplyDecoder(boolean readOnlyIsTrouble) {
    this(readOnlyIsTrouble, MAX_REPLY);
  }

  /**
   * {@code maxReply}: the most bytes a reply may take, held or not, for the proxy's own
   * conversations (a sentinel's answers are small; a larger one fails the connection).
   */
  RedisReplyDecoder(boolean readOnlyIsTrouble, long maxReply) {
    this.readOnlyIsTrouble = readOnlyIsTrouble;
    this.maxReply = maxReply;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    for (;;) {
      int start = in.readerIndex();
      int step = switch (state) {
        case TYPE -> type(in, start);
        case LINE -> line(in, start);
        case BULK -> bulk(in, start, out);
        case STREAM -> stream(in, out);
        case FAILED -> {
          in.skipBytes(in.readableBytes());
          yield NEED_MORE;
        }
      };
      if (step == NEED_MORE) {
        if (maxReply < MAX_REPLY && in.readableBytes() > maxReply) {
          throw fail(in, "reply length: more than " + maxReply + " bytes");
        }
        dropFramedIfUnwanted(in);
        return;
      }
      if (step == ELEMENT_DONE && closeElement()) {
        ByteBuf reply = in.retainedSlice(start, scanned);
        out.add(trouble ? new ServerTrouble(reply, troubleCounts, troubleNotPrimary)
            : pushed ? new ServerPush(reply) : reply);
        trouble = false;
        troubleNotPrimary = false;
        pushed = false;
        replyEnded();
        in.skipBytes(scanned);
        scanned = 0;
      }
    }
  }

  /**
   * What is framed of an unwanted reply: the elements before the current one, or a bulk's bytes as
   * they come (all but its CRLF, which is still checked). Offsets are relative to the reply's first
   * byte, which moves on by as much when they go.
   */
  @Override
  protected int framedBytes(ByteBuf in) {
    return switch (state) {
      case TYPE -> scanned;
      case LINE -> lineStart;
      case BULK -> Math.min(in.readableBytes(), bulkEnd - 2);
      default -> 0;
    };
  }

  @Override
  protected void framedDropped(int k) {
    scanned = Math.max(0, scanned - k);
    lineStart = Math.max(0, lineStart - k);
    if (state == State.BULK) {
      bulkEnd -= k;
    }
  }

  /** Reads the type byte and, for $ and *, the header at {@code scanned}. */
  private int type(ByteBuf in, int start) {
    int at = start + scanned;
    if (at >= in.writerIndex()) {
      return NEED_MORE;
    }
    byte type = in.getByte(at);
    switch (type) {
      case '+', '-', ':', '_', ',', '#', '(' -> {
        lineStart = scanned;
        scanned++;
        state = State.LINE;
        return PROGRESS;
      }
      case '$', '!', '=', '*', '%', '~', '>', '|' -> {
        boolean nullable = type == '$' || type == '*';
        int r = line.parse(in, at, Integer.MAX_VALUE, nullable);
        if (r == LengthLine.NEED_MORE) {
          return NEED_MORE;
        }
        if (r == LengthLine.INVALID) {
          throw fail(in, "length of '" + (char) type + "': '"
              + Replies.quote(in, at + 1, Math.min(12, in.writerIndex() - at - 1))
              + "' (expected: " + (nullable ? "-1 or " : "") + "0.." + Integer.MAX_VALUE + ")");
        }
        scanned = line.end - start;
        if (type == '$' || type == '!' || type == '=') {
          if (line.value < 0) {
            return ELEMENT_DONE; // null bulk
          }
          long end = (long) scanned + line.value + 2;
          if (end > maxReply) {
            throw fail(in, "reply length: " + end + " (expected: <= " + maxReply + ")");
          }
          bulkEnd = (int) end;
          state = State.BULK;
          return PROGRESS;
        }
        if (type == '>' && depth == 0) {
          pushed = true;
        }
        long elements = type == '%' || type == '|' ? 2 * line.value : line.value;
        if (elements > Integer.MAX_VALUE) {
          throw fail(in, "aggregate of " + elements + " elements (expected: <= "
              + Integer.MAX_VALUE + ")");
        }
        if (elements > 0) {
          push((int) elements, type == '|');
          return PROGRESS;
        }
        // An empty attribute is nothing: the value follows. A null or empty aggregate is done.
        return type == '|' ? PROGRESS : ELEMENT_DONE;
      }
      default -> throw fail(in, "reply type: '" + Replies.quote(in, at, 1)
          + "' (expected: one of + - : $ * _ , # ( ! = % ~ > |)");
    }
  }

  /** Waits for a bulk's bytes, which are skipped by length, never scanned. */
  private int bulk(ByteBuf in, int start, List<Object> out) {
    if (in.writerIndex() - start < bulkEnd) {
      if (depth == 0 && bulkEnd >= STREAM_FROM) {
        streamed = 0;
        state = State.STREAM;
        return stream(in, out);
      }
      return NEED_MORE;
    }
    if (in.getByte(start + bulkEnd - 2) != '\r' || in.getByte(start + bulkEnd - 1) != '\n') {
      throw fail(in, "bulk reply not terminated by CRLF");
    }
    scanned = bulkEnd;
    state = State.TYPE;
    return ELEMENT_DONE;
  }

  /**
   * Passes on what has arrived of a long top-level bulk, from the reader index (which is where
   * byte {@link #streamed} of the reply is), checking the closing CRLF as it goes by.
   */
  private int stream(ByteBuf in, List<Object> out) {
    int n = Math.min(in.readableBytes(), bulkEnd - streamed);
    if (n == 0) {
      return NEED_MORE;
    }
    for (int p = bulkEnd - 2; p < bulkEnd; p++) {
      if (p >= streamed && p < streamed + n
          && in.getByte(in.readerIndex() + p - streamed) != (p == bulkEnd - 2 ? '\r' : '\n')) {
        throw fail(in, "bulk reply not terminated by CRLF");
      }
    }
    streamed += n;
    boolean last = streamed == bulkEnd;
    out.add(new ReplyPart(in.readRetainedSlice(n), last));
    if (last) {
      state = State.TYPE;
      scanned = 0;
    }
    return PROGRESS;
  }

  /** Searches the rest of a +, - or : line, from where the last search stopped. */
  private int line(ByteBuf in, int start) {
    int lf = in.indexOf(start + scanned, in.writerIndex(), (byte) '\n');
    if (lf < 0) {
      scanned = in.writerIndex() - start;
      if (scanned - lineStart > MAX_LINE) {
        throw fail(in, "reply line length: > " + MAX_LINE + " (expected: <= " + MAX_LINE + ")");
      }
      return NEED_MORE;
    }
    int lineAt = start + lineStart;
    if (lf - 1 <= lineAt || in.getByte(lf - 1) != '\r') {
      throw fail(in, "reply line not terminated by CRLF");
    }
    byte type = in.getByte(lineAt);
    if ((type == ':' || type == '(') && !isInteger(in, lineAt + 1, lf - 1, type == '(')) {
      throw fail(in, (type == ':' ? "integer" : "big number") + " reply: '"
          + Replies.quote(in, lineAt + 1, lf - 1 - lineAt - 1) + "' (expected: an integer)");
    }
    if (type == '_' && lf - 1 != lineAt + 1) {
      throw fail(in, "null reply with content (expected: _ and CRLF)");
    }
    if (type == '#' && (lf - 1 != lineAt + 2
        || (in.getByte(lineAt + 1) != 't' && in.getByte(lineAt + 1) != 'f'))) {
      throw fail(in, "boolean reply: '" + Replies.quote(in, lineAt + 1, lf - 1 - lineAt - 1)
          + "' (expected: t or f)");
    }
    if (type == ',' && lf - 1 == lineAt + 1) {
      throw fail(in, "double reply with no digits");
    }
    if (type == '-' && depth == 0 && isTransient(in, lineAt + 1, lf - 1)) {
      trouble = true; // the whole reply: it is emitted as a ServerTrouble
      // Only a script or function some client runs makes a server busy: counting -BUSY against
      // the server would let that client eject it for everyone.
      troubleCounts = !startsWithWord(in, lineAt + 1, lf - 1, "BUSY");
    } else if (type == '-' && depth == 0 && readOnlyIsTrouble
        && startsWithWord(in, lineAt + 1, lf - 1, "READONLY")) {
      trouble = true;
      troubleNotPrimary = true; // never counts: the sentinels are asked where the master went
    }
    scanned = lf + 1 - start;
    state = State.TYPE;
    return ELEMENT_DONE;
  }

  private void push(int count, boolean isAttribute) {
    if (depth == remaining.length) {
      remaining = Arrays.copyOf(remaining, depth * 2);
      attribute = Arrays.copyOf(attribute, depth * 2);
    }
    attribute[depth] = isAttribute;
    remaining[depth++] = count;
  }

  /**
   * Counts a finished element against the open aggregates; true when the top-level reply is done.
   * A finished attribute is no element: the value after it is.
   */
  private boolean closeElement() {
    while (depth > 0) {
      if (--remaining[depth - 1] > 0) {
        return false;
      }
      depth--;
      if (attribute[depth]) {
        return false;
      }
    }
    return true;
  }

  private static boolean isInteger(ByteBuf in, int from, int to, boolean big) {
    int i = from < to && (in.getByte(from) == '-' || (big && in.getByte(from) == '+'))
        ? from + 1 : from;
    if (i == to || (!big && to - i > 19)) {
      return false;
    }
    for (; i < to; i++) {
      byte b = in.getByte(i);
      if (b < '0' || b > '9') {
        return false;
      }
    }
    return true;
  }

  /** {@code OOM}, {@code BUSY} or {@code LOADING} followed by a space or the line's end. */
  private static boolean isTransient(ByteBuf in, int from, int to) {
    return startsWithWord(in, from, to, "OOM") || startsWithWord(in, from, to, "BUSY")
        || startsWithWord(in, from, to, "LOADING");
  }

  private static boolean startsWithWord(ByteBuf in, int from, int to, String word) {
    int n = word.length();
    if (to - from < n || (to - from > n && in.getByte(from + n) != ' ')) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      if (in.getByte(from + i) != word.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private CorruptedFrameException fail(ByteBuf in, String message) {
    reset(in);
    return new CorruptedFrameException(message);
  }

  /** After a failure the stream cannot be matched to requests any more: drop all of it. */
  private void reset(ByteBuf in) {
    in.skipBytes(in.readableBytes());
    state = State.FAILED;
    scanned = 0;
    depth = 0;
    replyEnded();
  }
}
