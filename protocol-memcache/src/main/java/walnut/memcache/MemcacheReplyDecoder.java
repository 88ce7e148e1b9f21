package walnut.memcache;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.CorruptedFrameException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import walnut.core.spi.PartialReplyDecoder;

/**
 * Frames a memcached server's replies: a retrieval's {@code VALUE} blocks through their {@code END}
 * as one reply, a meta {@code VA <size> <flags>*} line with its data block, and every other reply,
 * which is one line: {@code STORED NOT_STORED EXISTS NOT_FOUND DELETED TOUCHED END ERROR}, {@code
 * VERSION …}, {@code CLIENT_ERROR …}, {@code SERVER_ERROR …}, a number (incr/decr), and the meta
 * status lines ({@code HD EN NF NS EX MN ME …}: two upper-case letters, then flags).
 *
 * <p>Ownership: receives the server's bytes through {@link PartialReplyDecoder}'s cumulation;
 * passes on each complete reply as a retained slice of it, byte for byte, owned by the receiver.
 * It releases nothing else; the base class releases the cumulation.
 *
 * <p>Progress is kept in fields relative to the reply's first byte: a line is searched once
 * however many reads it takes, and a data block is waited for by its length, never scanned. A line
 * may be {@value #MAX_LINE} bytes, a data block {@value #MAX_VALUE} (memcached's largest item),
 * a whole reply less than 2 GiB.
 *
 * <p>Anything else raises a {@link CorruptedFrameException}: the engine closes the connection and
 * answers {@code SERVER_ERROR Invalid argument} to everything in flight (memcached replies are
 * never transient failures). After it the decoder discards the rest of the stream, which can no
 * longer be matched to requests. One instance per backend channel, confined to its event loop.
 */
public final class MemcacheReplyDecoder extends PartialReplyDecoder {

  @Override
  protected boolean mayDrop() {
    return state != State.FAILED;
  }

  static final int MAX_LINE = 8192;
  static final int MAX_VALUE = 1 << 30;
  static final long MAX_REPLY = Integer.MAX_VALUE - 1;

  private static final String[] WORDS = {
      "STORED", "NOT_STORED", "EXISTS", "NOT_FOUND", "DELETED", "TOUCHED", "ERROR"};
  private static final String[] PREFIXES = {
      "VERSION ", "CLIENT_ERROR ", "SERVER_ERROR ", "ERROR "};

  private enum State { LINE, DATA, FAILED }

  private State state = State.LINE;
  /** Where the current line starts, relative to the reply's first byte. */
  private int lineStart;
  /** How far the current line has been searched for its LF, relative to the reply. */
  private int searched;
  /** Where the current data block ends (after its CRLF), relative to the reply. */
  private int dataEnd;
  /** Inside a retrieval reply: {@code VALUE} blocks until {@code END}. */
  private boolean values;

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    for (;;) {
      int start = in.readerIndex();
      int end = switch (state) {
        case LINE -> line(in, start);
        case DATA -> data(in, start);
        case FAILED -> {
          in.skipBytes(in.readableBytes());
          yield 0;
        }
      };
      if (end == 0) {
        dropFramedIfUnwanted(in);
        return;
      }
      if (end > 0) {
        out.add(in.retainedSlice(start, end));
        in.skipBytes(end);
        lineStart = 0;
        searched = 0;
        values = false;
        replyEnded();
      }
    }
  }

  /**
   * What is framed of an unwanted reply: the blocks before the current line, or a data block's
   * bytes as they come (all but its CRLF, which is still checked).
   */
  @Override
  protected int framedBytes(ByteBuf in) {
    return state == State.DATA ? Math.min(in.readableBytes(), dataEnd - 2) : lineStart;
  }

  @Override
  protected void framedDropped(int k) {
    dataEnd -= state == State.DATA ? k : 0;
    lineStart = Math.max(0, lineStart - k);
    searched = Math.max(0, searched - k);
  }

  /** Returns the reply's length when it is complete, 0 when more is needed, -1 to go on. */
  private int line(ByteBuf in, int start) {
    int lf = in.indexOf(start + searched, in.writerIndex(), (byte) '\n');
    if (lf < 0) {
      searched = in.writerIndex() - start;
      if (searched - lineStart > MAX_LINE) {
        throw fail(in, "reply line length: > " + MAX_LINE + " (expected: <= " + MAX_LINE + ")");
      }
      return 0;
    }
    int at = start + lineStart;
    int to = lf - 1; // the CR
    if (to < at || in.getByte(to) != '\r') {
      throw fail(in, "reply line not terminated by CRLF");
    }
    if (to - at > MAX_LINE) {
      throw fail(in, "reply line length: " + (to - at) + " (expected: <= " + MAX_LINE + ")");
    }
    int lineEnd = lf + 1 - start;
    if (startsWith(in, at, to, "VALUE ")) {
      values = true;
      return expectData(in, start, lineEnd, dataLength(in, at, to, 3));
    }
    if (equals(in, at, to, "END")) {
      return lineEnd;
    }
    if (values) {
      throw fail(in, "reply line: '" + quote(in, at, to) + "' (expected: VALUE or END)");
    }
    if (startsWith(in, at, to, "VA ") || equals(in, at, to, "VA")) {
      return expectData(in, start, lineEnd, dataLength(in, at, to, 1));
    }
    if (!isLine(in, at, to)) {
      throw fail(in, "reply line: '" + quote(in, at, to) + "' (expected: a memcached reply)");
    }
    return lineEnd;
  }

  private int expectData(ByteBuf in, int start, int lineEnd, long length) {
    long end = lineEnd + length + 2;
    if (end > MAX_REPLY) {
      throw fail(in, "reply length: " + end + " (expected: <= " + MAX_REPLY + ")");
    }
    dataEnd = (int) end;
    state = State.DATA;
    return -1;
  }

  /** Waits for a data block, which is counted, never scanned, then checks its CRLF. */
  private int data(ByteBuf in, int start) {
    if (in.writerIndex() - start < dataEnd) {
      return 0;
    }
    if (in.getByte(start + dataEnd - 2) != '\r' || in.getByte(start + dataEnd - 1) != '\n') {
      throw fail(in, "data block not terminated by CRLF");
    }
    state = State.LINE;
    if (!values) {
      return dataEnd; // VA: the reply ends with its data
    }
    lineStart = dataEnd;
    searched = dataEnd;
    return -1;
  }

  /**
   * The data length in token {@code index} of a {@code VALUE <key> <flags> <bytes> [<cas>]} or
   * {@code VA <size> <flags>*} line at [{@code from}, {@code to}).
   */
  private long dataLength(ByteBuf in, int from, int to, int index) {
    int at = from;
    for (int i = 0; i < index; i++) {
      at = in.indexOf(at, to, (byte) ' ');
      if (at < 0) {
        throw fail(in, "reply line: '" + quote(in, from, to) + "' (expected: a data length)");
      }
      at++;
    }
    long v = 0;
    int i = at;
    for (; i < to && in.getByte(i) != ' '; i++) {
      int d = in.getByte(i) - '0';
      if (d < 0 || d > 9 || (v = v * 10 + d) > MAX_VALUE) {
        throw fail(in, "data length: '" + quote(in, at, Math.min(to, at + 12)) + "' (expected: 0.."
            + MAX_VALUE + ")");
      }
    }
    if (i == at) {
      throw fail(in, "reply line: '" + quote(in, from, to) + "' (expected: a data length)");
    }
    return v;
  }

  /** A one-line reply: a word, a prefixed message, a number, or a meta status code. */
  private static boolean isLine(ByteBuf in, int from, int to) {
    for (String word : WORDS) {
      if (equals(in, from, to, word)) {
        return true;
      }
    }
    for (String prefix : PREFIXES) {
      if (startsWith(in, from, to, prefix)) {
        return true;
      }
    }
    return isNumber(in, from, to) || isMetaStatus(in, from, to);
  }

  /** incr/decr: digits, perhaps padded with spaces. */
  private static boolean isNumber(ByteBuf in, int from, int to) {
    int i = from;
    while (i < to && in.getByte(i) >= '0' && in.getByte(i) <= '9') {
      i++;
    }
    if (i == from || i - from > 20) {
      return false;
    }
    while (i < to && in.getByte(i) == ' ') {
      i++;
    }
    return i == to;
  }

  /** Two upper-case letters, alone or followed by a space and flags. */
  private static boolean isMetaStatus(ByteBuf in, int from, int to) {
    return to - from >= 2 && isUpper(in.getByte(from)) && isUpper(in.getByte(from + 1))
        && (to - from == 2 || in.getByte(from + 2) == ' ');
  }

  private static boolean isUpper(byte b) {
    return b >= 'A' && b <= 'Z';
  }

  private static boolean equals(ByteBuf in, int from, int to, String word) {
    return to - from == word.length() && startsWith(in, from, to, word);
  }

  private static boolean startsWith(ByteBuf in, int from, int to, String prefix) {
    if (to - from < prefix.length()) {
      return false;
    }
    for (int i = 0; i < prefix.length(); i++) {
      if (in.getByte(from + i) != prefix.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private static String quote(ByteBuf in, int from, int to) {
    return in.toString(from, Math.min(to - from, 64), StandardCharsets.ISO_8859_1)
        .replace('\r', ' ').replace('\n', ' ');
  }

  private CorruptedFrameException fail(ByteBuf in, String message) {
    in.skipBytes(in.readableBytes());
    state = State.FAILED;
    lineStart = 0;
    searched = 0;
    values = false;
    replyEnded();
    return new CorruptedFrameException(message);
  }
}
