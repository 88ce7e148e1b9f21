package walnut.memcache;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * The replies the proxy writes itself, in memcached 1.6's own words. Every method returns a new
 * buffer owned by the caller.
 */
final class Replies {

  static final String BAD_FORMAT = "CLIENT_ERROR bad command line format";
  static final String TOO_LARGE = "SERVER_ERROR object too large for cache";
  static final String BAD_DATA_CHUNK = "CLIENT_ERROR bad data chunk";
  static final String BAD_EXPTIME = "CLIENT_ERROR invalid exptime argument";
  static final String DELETE_USAGE =
      "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]";
  /** memcached closes such a connection without a word; Walnut says why first. */
  static final String LINE_TOO_LONG = "CLIENT_ERROR line too long";

  private static final byte[] ERROR = bytes("ERROR\r\n");
  private static final byte[] END = bytes("END\r\n");
  private static final byte[] MN = bytes("MN\r\n");

  private Replies() {}

  /** {@code ERROR\r\n}: memcached's answer to a command it does not know. */
  static ByteBuf error(ByteBufAllocator alloc) {
    return copy(alloc, ERROR);
  }

  /** {@code END\r\n}: a retrieval that found nothing. */
  static ByteBuf end(ByteBufAllocator alloc) {
    return copy(alloc, END);
  }

  /** {@code MN\r\n}: the meta no-op's answer. */
  static ByteBuf metaNoop(ByteBufAllocator alloc) {
    return copy(alloc, MN);
  }

  /** Nothing: {@code quit} closes the connection without a reply, as memcached does. */
  static ByteBuf empty(ByteBufAllocator alloc) {
    return alloc.buffer(0, 0);
  }

  /** {@code <line>\r\n} for a complete status line such as {@link #BAD_FORMAT}. */
  static ByteBuf line(ByteBufAllocator alloc, String line) {
    ByteBuf out = alloc.buffer(line.length() + 2);
    out.writeCharSequence(line, StandardCharsets.ISO_8859_1);
    return out.writeByte('\r').writeByte('\n');
  }

  /**
   * {@code SERVER_ERROR <text>\r\n}. A CR or LF in the text would end the line early and
   * desynchronise the client, so they become spaces.
   */
  static ByteBuf serverError(ByteBufAllocator alloc, String text) {
    return line(alloc, "SERVER_ERROR " + text.replace('\r', ' ').replace('\n', ' '));
  }

  private static ByteBuf copy(ByteBufAllocator alloc, byte[] bytes) {
    return alloc.buffer(bytes.length).writeBytes(bytes);
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }
}
