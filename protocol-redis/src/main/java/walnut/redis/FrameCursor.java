package walnut.redis;

import io.netty.buffer.ByteBuf;

/**
 * Walks the arguments of a request frame that the request decoder has already validated (or built):
 * {@code *<n>\r\n} then n bulk strings. Because the frame is known to be well formed, nothing is
 * checked here. Used off the hot path of single-key commands: by the splitter, and to quote
 * arguments in error replies.
 */
final class FrameCursor {

  private final ByteBuf frame;
  private final int count;
  private int pos;
  private int left;
  private int start;
  private int length;

  /** A cursor over the frame whose {@code *} is at absolute {@code index} of {@code frame}. */
  FrameCursor(ByteBuf frame, int index) {
    this.frame = frame;
    this.pos = index;
    this.count = readNumber();
    this.left = count;
  }

  /** The number of arguments, the command name included. */
  int count() {
    return count;
  }

  /** Moves to the next argument; false when there is none. */
  boolean next() {
    if (left == 0) {
      return false;
    }
    left--;
    length = readNumber();
    start = pos;
    pos += length + 2;
    return true;
  }

  /** Absolute index of the current argument's first byte. */
  int start() {
    return start;
  }

  /** Length of the current argument. */
  int length() {
    return length;
  }

  /** The current argument as text, byte for byte (ISO-8859-1). */
  String text() {
    return frame.toString(start, length, java.nio.charset.StandardCharsets.ISO_8859_1);
  }

  private int readNumber() {
    pos++; // the type byte
    int v = 0;
    for (byte b; (b = frame.getByte(pos++)) != '\r'; ) {
      v = v * 10 + (b - '0');
    }
    pos++; // '\n'
    return v;
  }
}
