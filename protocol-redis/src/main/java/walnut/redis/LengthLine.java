package walnut.redis;

import io.netty.buffer.ByteBuf;

/**
 * Parses the length line of a RESP header in place: {@code *3\r\n}, {@code $5\r\n}, and where
 * allowed the null forms {@code $-1\r\n} / {@code *-1\r\n}.
 *
 * <p>Digits only, no sign, no leading zero (Redis's {@code string2ll} refuses {@code 03} too), at
 * most ten digits, and a value above {@code max} is refused as soon as its digits show it, before
 * the line's end has arrived: a declared length never makes anyone wait for, or allocate, more.
 * One instance per decoder, reused; the result is left in {@link #value} and {@link #end}.
 */
final class LengthLine {

  static final int OK = 0;
  static final int NEED_MORE = 1;
  static final int INVALID = 2;

  /** 2,147,483,647 has ten digits; every limit used is below it. */
  private static final int MAX_DIGITS = 10;

  /** The parsed length, or -1 for a null. */
  long value;
  /** Absolute index just after the line's CRLF. */
  int end;

  /**
   * Parses the line whose type byte ({@code *} or {@code $}) is at absolute {@code typeIndex}; the
   * buffer's readable bytes end at its writer index.
   */
  int parse(ByteBuf in, int typeIndex, long max, boolean allowNull) {
    int limit = in.writerIndex();
    int i = typeIndex + 1;
    if (i >= limit) {
      return NEED_MORE;
    }
    if (allowNull && in.getByte(i) == '-') {
      if (i + 1 >= limit) {
        return NEED_MORE;
      }
      if (in.getByte(i + 1) != '1') {
        return INVALID;
      }
      value = -1;
      i += 2;
    } else {
      long v = 0;
      int digits = 0;
      for (;; i++) {
        if (i >= limit) {
          return NEED_MORE;
        }
        byte b = in.getByte(i);
        if (b == '\r') {
          break;
        }
        if (b < '0' || b > '9' || (digits == 1 && v == 0)) {
          return INVALID;
        }
        v = v * 10 + (b - '0');
        if (++digits > MAX_DIGITS || v > max) {
          return INVALID;
        }
      }
      if (digits == 0) {
        return INVALID;
      }
      value = v;
    }
    if (i >= limit) {
      return NEED_MORE;
    }
    if (in.getByte(i) != '\r') {
      return INVALID;
    }
    if (i + 1 >= limit) {
      return NEED_MORE;
    }
    if (in.getByte(i + 1) != '\n') {
      return INVALID;
    }
    end = i + 2;
    return OK;
  }
}
