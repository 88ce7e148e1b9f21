package walnut.redis;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a whole reply that {@link RedisReplyDecoder} framed into Java values, and writes commands:
 * for the proxy's own conversations with sentinels, where replies are short and few, never for
 * clients' traffic. A simple or bulk string reads as a {@code String} (ISO-8859-1, so bytes
 * survive), an integer as a {@code Long}, an array, set or map (flattened, as RESP2 sends a map)
 * as a {@code List}, a null as {@code null}, and an error as an {@link Error}.
 */
final class RespValue {

  /** An error reply, its text without the {@code -}. */
  record Error(String message) {}

  /** Deeper than a sentinel ever answers: refused rather than read by recursion. */
  static final int MAX_DEPTH = 8;

  private final ByteBuf frame;
  private int pos;
  private int depth;

  private RespValue(ByteBuf frame) {
    this.frame = frame;
    this.pos = frame.readerIndex();
  }

  /**
   * The value of the whole reply {@code frame}, which the decoder has validated; throws
   * IllegalArgumentException when it nests deeper than {@link #MAX_DEPTH}.
   */
  static Object read(ByteBuf frame) {
    return new RespValue(frame).value();
  }

  /** {@code args} as a RESP2 command (an array of bulk strings). The caller owns the buffer. */
  static ByteBuf command(ByteBufAllocator alloc, String... args) {
    ByteBuf out = alloc.buffer(16 + args.length * 16);
    Resp.writeHeader(out, '*', args.length);
    for (String arg : args) {
      Resp.writeBulk(out, arg.getBytes(StandardCharsets.UTF_8));
    }
    return out;
  }

  private Object value() {
    byte type = frame.getByte(pos++);
    String line = line();
    switch (type) {
      case '+':
        return line;
      case '-':
        return new Error(line);
      case ':':
        return Long.parseLong(line);
      case '_':
        return null;
      case '$':
      case '=':
      case '!': {
        int length = Integer.parseInt(line);
        if (length < 0) {
          return null;
        }
        String text = frame.toString(pos, length, StandardCharsets.ISO_8859_1);
        pos += length + 2;
        return type == '!' ? new Error(text) : text;
      }
      case '*':
      case '~':
      case '>':
      case '%': {
        int count = Integer.parseInt(line);
        if (count < 0) {
          return null;
        }
        if (++depth > MAX_DEPTH) {
          throw new IllegalArgumentException("a reply nested deeper than " + MAX_DEPTH);
        }
        int items = type == '%' ? count * 2 : count;
        List<Object> list = new ArrayList<>(Math.min(items, 64));
        for (int i = 0; i < items; i++) {
          list.add(value());
        }
        depth--;
        return list;
      }
      default:
        return line; // doubles, booleans, big numbers: their text
    }
  }

  private String line() {
    int end = frame.indexOf(pos, frame.writerIndex(), (byte) '\r');
    String line = frame.toString(pos, end - pos, StandardCharsets.ISO_8859_1);
    pos = end + 2;
    return line;
  }
}
