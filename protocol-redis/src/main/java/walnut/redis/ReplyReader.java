package walnut.redis;

import io.netty.buffer.ByteBuf;

/**
 * Reads the few reply shapes the pool-wide commands merge (SCAN's cursor, an integer, a bulk or
 * verbatim string, an array of integers) from one complete reply, checking as it goes: a reply of
 * another shape reads as {@code -1} and the merge gives up. Reads in place, never retains.
 */
final class ReplyReader {

  private final ByteBuf reply;
  private int pos;
  /** The length of the last {@link #string}. */
  int length;

  ReplyReader(ByteBuf reply) {
    this.reply = reply;
    this.pos = reply.readerIndex();
  }

  /** A whole reply that is one error: {@code -…} or RESP3's blob error {@code !…}. */
  static boolean isError(ByteBuf reply) {
    if (!reply.isReadable()) {
      return false;
    }
    byte type = reply.getByte(reply.readerIndex());
    return type == '-' || type == '!';
  }

  /** Absolute index of the next unread byte. */
  int position() {
    return pos;
  }

  /** Whether {@code n} more bytes are there. */
  boolean fits(int n) {
    return reply.writerIndex() - pos >= n;
  }

  /** Whether everything was read. */
  boolean atEnd() {
    return pos == reply.writerIndex();
  }

  /**
   * Reads a header line {@code <type><decimal>\r\n} and returns its non-negative value, or -1
   * when the next line is not one (another type, a sign, no CRLF, more than 18 digits).
   */
  long header(char type) {
    int end = reply.writerIndex();
    if (pos >= end || reply.getByte(pos) != type) {
      return -1;
    }
    int p = pos + 1;
    long v = 0;
    int digits = 0;
    for (; p < end && reply.getByte(p) != '\r'; p++) {
      int d = reply.getByte(p) - '0';
      if (d < 0 || d > 9 || ++digits > 18) {
        return -1;
      }
      v = v * 10 + d;
    }
    if (digits == 0 || p + 1 >= end || reply.getByte(p + 1) != '\n') {
      return -1;
    }
    pos = p + 2;
    return v;
  }

  /**
   * Reads a bulk ({@code $}) or verbatim ({@code =}, its 4-byte format prefix skipped) string and
   * returns its text's absolute index, its length in {@link #length}; -1 when it is neither.
   */
  int string() {
    if (pos >= reply.writerIndex()) {
      return -1;
    }
    boolean verbatim = reply.getByte(pos) == '=';
    long n = header(verbatim ? '=' : '$');
    if (n < 0 || (verbatim && n < 4) || n > Integer.MAX_VALUE - 2 || !fits((int) n + 2)
        || reply.getByte(pos + (int) n) != '\r' || reply.getByte(pos + (int) n + 1) != '\n') {
      return -1;
    }
    int at = verbatim ? pos + 4 : pos;
    length = verbatim ? (int) n - 4 : (int) n;
    pos += (int) n + 2;
    return at;
  }
}
