package walnut.testing;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The RESP2 needed to look into a backend from a test: commands as arrays of bulk strings, replies
 * parsed into plain Java values. Blocking and allocation-happy on purpose; never use it on an event
 * loop or as a model for the proxy's decoders.
 */
final class Resp {
  private Resp() {}

  /** Writes {@code args} as one RESP array of bulk strings, UTF-8 encoded. */
  static void writeCommand(OutputStream out, String... args) throws IOException {
    out.write(("*" + args.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
    for (String arg : args) {
      byte[] bytes = arg.getBytes(StandardCharsets.UTF_8);
      out.write(("$" + bytes.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(bytes);
      out.write('\r');
      out.write('\n');
    }
  }

  /**
   * Reads one reply: simple string and bulk string as {@code String}, integer as {@code Long},
   * array as an unmodifiable {@code List<Object>} (elements may be null), null bulk string and null
   * array as {@code null}, error as {@link RedisServer.ErrorReply}; and RESP3's: null as
   * {@code null}, boolean as {@code Boolean}, double and big number as their text, blob error as
   * an error, verbatim string as its text, set and push as a list, map as a list of its keys and
   * values in turn.
   */
  static Object readReply(InputStream in) throws IOException {
    int type = in.read();
    if (type < 0) {
      throw new EOFException("connection closed before a complete reply");
    }
    String line = readLine(in);
    switch (type) {
      case '+':
        return line;
      case '-':
        return new RedisServer.ErrorReply(line);
      case ':':
        return Long.parseLong(line);
      case '$':
        {
          int length = Integer.parseInt(line);
          if (length < 0) {
            return null;
          }
          byte[] bytes = readExactly(in, length + 2);
          return new String(bytes, 0, length, StandardCharsets.UTF_8);
        }
      case '*':
        {
          int count = Integer.parseInt(line);
          if (count < 0) {
            return null;
          }
          List<Object> elements = new ArrayList<>(count);
          for (int i = 0; i < count; i++) {
            elements.add(readReply(in));
          }
          return Collections.unmodifiableList(elements);
        }
      case '_':
        return null;
      case '#':
        return "t".equals(line);
      case ',':
      case '(':
        return line;
      case '!':
      case '=':
        {
          byte[] bytes = readExactly(in, Integer.parseInt(line) + 2);
          String text = new String(bytes, 0, bytes.length - 2, StandardCharsets.UTF_8);
          return type == '!' ? new RedisServer.ErrorReply(text) : text.substring(4);
        }
      case '%':
      case '~':
      case '>':
        {
          // A map as its keys and values in turn, as RESP2 gives HGETALL.
          int count = Integer.parseInt(line) * (type == '%' ? 2 : 1);
          List<Object> elements = new ArrayList<>(count);
          for (int i = 0; i < count; i++) {
            elements.add(readReply(in));
          }
          return Collections.unmodifiableList(elements);
        }
      default:
        throw new IOException("not a RESP reply: type byte 0x" + Integer.toHexString(type));
    }
  }

  /** Reads up to CRLF and returns the line, UTF-8 decoded, without the CRLF. */
  static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream(64);
    int previous = -1;
    for (;;) {
      int b = in.read();
      if (b < 0) {
        throw new EOFException("connection closed inside a line");
      }
      if (b == '\n' && previous == '\r') {
        byte[] bytes = line.toByteArray();
        return new String(bytes, 0, bytes.length - 1, StandardCharsets.UTF_8);
      }
      line.write(b);
      previous = b;
    }
  }

  static byte[] readExactly(InputStream in, int length) throws IOException {
    byte[] bytes = in.readNBytes(length);
    if (bytes.length < length) {
      throw new EOFException("connection closed " + (length - bytes.length) + " bytes short");
    }
    return bytes;
  }
}
