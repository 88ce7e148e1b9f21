package walnut.redis;

import io.netty.buffer.ByteBuf;

/**
 * Writes RESP2 headers and bulk strings without going through {@code String}: the splitter and the
 * merger build sub-requests and replies on the request path, so the decimal forms are written
 * digit by digit into the destination.
 */
final class Resp {

  /** {@code \r\n} as one big-endian short, written with {@link ByteBuf#writeShort}. */
  static final int CRLF = ('\r' << 8) | '\n';

  private Resp() {}

  /** Number of characters of the decimal form of {@code value}. */
  static int digits(long value) {
    int n = value < 0 ? 2 : 1;
    long v = Math.abs(value);
    while (v >= 10) {
      v /= 10;
      n++;
    }
    return n;
  }

  /** Size of a header line such as {@code *3\r\n} or {@code :42\r\n}. */
  static int headerSize(long value) {
    return 1 + digits(value) + 2;
  }

  /** Size of a bulk string of {@code length} bytes with its header and CRLF. */
  static int bulkSize(int length) {
    return headerSize(length) + length + 2;
  }

  /** Writes {@code <type><value>\r\n}. */
  static void writeHeader(ByteBuf out, char type, long value) {
    out.writeByte(type);
    writeDecimal(out, value);
    out.writeShort(CRLF);
  }

  /** Writes {@code length} bytes of {@code src} at absolute {@code index} as a bulk string. */
  static void writeBulk(ByteBuf out, ByteBuf src, int index, int length) {
    writeHeader(out, '$', length);
    out.writeBytes(src, index, length);
    out.writeShort(CRLF);
  }

  /** Writes {@code bytes} as a bulk string. */
  static void writeBulk(ByteBuf out, byte[] bytes) {
    writeHeader(out, '$', bytes.length);
    out.writeBytes(bytes);
    out.writeShort(CRLF);
  }

  /** Writes the decimal form of {@code value}; {@link Long#MIN_VALUE} cannot occur here. */
  static void writeDecimal(ByteBuf out, long value) {
    long v = value;
    if (v < 0) {
      out.writeByte('-');
      v = -v;
    }
    int n = digits(v);
    out.ensureWritable(n);
    int at = out.writerIndex();
    for (int i = n - 1; i >= 0; i--) {
      out.setByte(at + i, '0' + (int) (v % 10));
      v /= 10;
    }
    out.writerIndex(at + n);
  }
}
