package walnut.redis;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * The replies the proxy writes itself, in Redis's own wording where Redis has one. Every method
 * returns a new buffer owned by the caller.
 */
final class Replies {

  static final String NOAUTH = "NOAUTH Authentication required";

  /** Redis quotes at most this much of an unknown command's name, and of its arguments. */
  private static final int QUOTE_LIMIT = 128;

  private Replies() {}

  /** {@code +<text>\r\n}. */
  static ByteBuf simple(ByteBufAllocator alloc, String text) {
    return line(alloc, '+', text);
  }

  static ByteBuf ok(ByteBufAllocator alloc) {
    return simple(alloc, "OK");
  }

  /**
   * {@code -<text>\r\n}; {@code text} starts with the error code ({@code ERR …}). A CR or LF in it
   * would end the line early and desynchronise the client, so they become spaces, as in Redis.
   */
  static ByteBuf error(ByteBufAllocator alloc, String text) {
    return line(alloc, '-', text.replace('\r', ' ').replace('\n', ' '));
  }

  /** {@code $<len>\r\n<bytes>\r\n} with {@code length} bytes of {@code src} at {@code index}. */
  static ByteBuf bulk(ByteBufAllocator alloc, ByteBuf src, int index, int length) {
    ByteBuf out = alloc.buffer(Resp.bulkSize(length));
    Resp.writeBulk(out, src, index, length);
    return out;
  }

  static ByteBuf bulk(ByteBufAllocator alloc, byte[] bytes) {
    ByteBuf out = alloc.buffer(Resp.bulkSize(bytes.length));
    Resp.writeBulk(out, bytes);
    return out;
  }

  /** {@code $-1\r\n}. */
  static ByteBuf nullBulk(ByteBufAllocator alloc) {
    return alloc.buffer(5).writeByte('$').writeByte('-').writeByte('1').writeShort(Resp.CRLF);
  }

  /** RESP3's null, {@code _\r\n}, or RESP2's null bulk. */
  static ByteBuf nil(ByteBufAllocator alloc, boolean resp3) {
    return resp3 ? alloc.buffer(3).writeByte('_').writeShort(Resp.CRLF) : nullBulk(alloc);
  }

  /** The Redis version a HELLO reply names: the command set Walnut's command table follows. */
  static final String HELLO_VERSION = "7.0.0";

  /**
   * Redis's reply to {@code HELLO}: a map in RESP3, a flat array of the same pairs in RESP2, for
   * client {@code id}. {@code mode} is {@code standalone}: a reply that looks like a cluster's would
   * push smart clients into cluster mode.
   */
  static ByteBuf hello(ByteBufAllocator alloc, boolean resp3, long id) {
    ByteBuf out = alloc.buffer(160);
    Resp.writeHeader(out, resp3 ? '%' : '*', resp3 ? 7 : 14);
    pair(out, "server", "redis");
    pair(out, "version", HELLO_VERSION);
    Resp.writeBulk(out, "proto".getBytes(StandardCharsets.US_ASCII));
    Resp.writeHeader(out, ':', resp3 ? 3 : 2);
    Resp.writeBulk(out, "id".getBytes(StandardCharsets.US_ASCII));
    Resp.writeHeader(out, ':', id);
    pair(out, "mode", "standalone");
    pair(out, "role", "master");
    Resp.writeBulk(out, "modules".getBytes(StandardCharsets.US_ASCII));
    Resp.writeHeader(out, '*', 0);
    return out;
  }

  private static void pair(ByteBuf out, String key, String value) {
    Resp.writeBulk(out, key.getBytes(StandardCharsets.US_ASCII));
    Resp.writeBulk(out, value.getBytes(StandardCharsets.US_ASCII));
  }

  /** Redis's reply to a known command with an argument count it does not accept. */
  static ByteBuf wrongArity(ByteBufAllocator alloc, String lowerName) {
    return error(alloc, "ERR wrong number of arguments for '" + lowerName + "' command");
  }

  /**
   * Redis's reply to a command it does not know, quoting the name and the first arguments as
   * Redis does: {@code -ERR unknown command 'FOO', with args beginning with: 'a' 'b' }. The bytes
   * are copied as sent (binary), CR and LF replaced by spaces.
   */
  static ByteBuf unknownCommand(ByteBufAllocator alloc, ByteBuf frame, int frameStart) {
    FrameCursor cursor = new FrameCursor(frame, frameStart);
    ByteBuf out = alloc.buffer(64 + 2 * QUOTE_LIMIT);
    out.writeCharSequence("-ERR unknown command '", StandardCharsets.US_ASCII);
    cursor.next();
    writeSanitized(out, frame, cursor.start(), Math.min(cursor.length(), QUOTE_LIMIT));
    out.writeCharSequence("', with args beginning with: ", StandardCharsets.US_ASCII);
    // Redis appends "'<arg>' " while what it has so far is under 128 bytes, cutting the last one.
    int quoted = 0;
    while (quoted < QUOTE_LIMIT && cursor.next()) {
      int n = Math.min(cursor.length(), QUOTE_LIMIT - quoted);
      out.writeByte('\'');
      writeSanitized(out, frame, cursor.start(), n);
      out.writeByte('\'').writeByte(' ');
      quoted += n + 3;
    }
    return out.writeShort(Resp.CRLF);
  }

  /** Up to 128 bytes of an argument as text for a message, CR and LF as spaces. */
  static String quote(ByteBuf buf, int index, int length) {
    return buf.toString(index, Math.min(length, QUOTE_LIMIT), StandardCharsets.ISO_8859_1)
        .replace('\r', ' ').replace('\n', ' ');
  }

  private static void writeSanitized(ByteBuf out, ByteBuf src, int index, int length) {
    for (int i = 0; i < length; i++) {
      byte b = src.getByte(index + i);
      out.writeByte(b == '\r' || b == '\n' ? ' ' : b);
    }
  }

  private static ByteBuf line(ByteBufAllocator alloc, char type, String text) {
    ByteBuf out = alloc.buffer(text.length() + 3);
    out.writeByte(type);
    out.writeCharSequence(text, StandardCharsets.ISO_8859_1);
    return out.writeShort(Resp.CRLF);
  }
}
