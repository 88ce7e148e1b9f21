package walnut.core.routing;

import io.netty.buffer.ByteBuf;

/**
 * twemproxy's hash-tag extraction (docs/compatibility.md#hash-tags).
 *
 * <p>Implementation note: twemproxy takes the <em>first</em> open byte, then the first close byte
 * after it, and hashes what lies strictly between them. It does not look further when that span
 * is empty ({@code a{}b{c}} hashes whole) or unclosed ({@code x{abc}}): the whole key is hashed.
 * Open and close may be the same byte ({@code $$}). The result is packed into one {@code long}
 * (start index in the high half, length in the low half) so the request path allocates nothing.
 */
public final class HashTag {

  private HashTag() {}

  /**
   * Returns the span of {@code buf[offset, offset + length)} that is hashed, as
   * {@code (long) start << 32 | length}; the whole key when the tag does not apply.
   */
  public static long span(ByteBuf buf, int offset, int length, byte open, byte close) {
    int end = offset + length;
    int start = buf.indexOf(offset, end, open);
    if (start >= 0) {
      int stop = buf.indexOf(start + 1, end, close);
      if (stop > start + 1) {
        return pack(start + 1, stop - start - 1);
      }
    }
    return pack(offset, length);
  }

  static long pack(int start, int length) {
    return (long) start << 32 | (length & 0xffffffffL);
  }

  public static int start(long span) {
    return (int) (span >>> 32);
  }

  public static int length(long span) {
    return (int) span;
  }
}
