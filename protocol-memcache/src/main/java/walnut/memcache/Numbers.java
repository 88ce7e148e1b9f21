package walnut.memcache;

import io.netty.buffer.ByteBuf;

/**
 * The numeric arguments memcached accepts, checked in place on the read buffer.
 *
 * <p>memcached reads numbers with {@code strtol}/{@code strtoul}/{@code strtoull} through its
 * {@code safe_strto*} wrappers: an optional sign, then decimal digits (leading zeros allowed), and
 * no overflow of the C type. Unsigned arguments refuse a minus sign. Each check here accepts a
 * subset of what memcached accepts, never more, because a storage command the server refused
 * would have its data block read as a command line and desynchronise the connection. (memcached
 * also accepts leading whitespace bytes such as a tab and junk after a trailing tab; Walnut does
 * not.) Static and allocation-free.
 */
final class Numbers {

  /** memcached's largest data block length: {@code INT_MAX - 2}, room for its CRLF. */
  static final long MAX_LENGTH = Integer.MAX_VALUE - 2;

  private static final long UNSIGNED_LIMIT = Long.divideUnsigned(-1L, 10);

  private Numbers() {}

  /** {@code [+-]?[0-9]+} within a signed 64-bit integer ({@code safe_strtol}: exptime). */
  static boolean isSigned(ByteBuf buf, int from, int to) {
    int i = from;
    boolean negative = false;
    if (i < to && (buf.getByte(i) == '+' || buf.getByte(i) == '-')) {
      negative = buf.getByte(i) == '-';
      i++;
    }
    if (i == to) {
      return false;
    }
    // Accumulated as a negative number, so Long.MIN_VALUE fits.
    long v = 0;
    for (; i < to; i++) {
      int d = buf.getByte(i) - '0';
      if (d < 0 || d > 9 || v < (Long.MIN_VALUE + d) / 10) {
        return false;
      }
      v = v * 10 - d;
    }
    return negative || v != Long.MIN_VALUE;
  }

  /** {@code +?[0-9]+} within an unsigned 64-bit integer ({@code safe_strtoull}: flags, cas). */
  static boolean isUnsigned(ByteBuf buf, int from, int to) {
    int i = from < to && buf.getByte(from) == '+' ? from + 1 : from;
    if (i == to) {
      return false;
    }
    long v = 0;
    for (; i < to; i++) {
      int d = buf.getByte(i) - '0';
      if (d < 0 || d > 9 || Long.compareUnsigned(v, UNSIGNED_LIMIT) > 0) {
        return false;
      }
      long tens = v * 10;
      v = tens + d;
      if (Long.compareUnsigned(v, tens) < 0) {
        return false;
      }
    }
    return true;
  }

  /**
   * A data block length, {@code [+-]?[0-9]+} from 0 to {@link #MAX_LENGTH} ({@code -0} is 0, as
   * for memcached), or -1 when it is anything else.
   */
  static long length(ByteBuf buf, int from, int to) {
    int i = from;
    boolean negative = false;
    if (i < to && (buf.getByte(i) == '+' || buf.getByte(i) == '-')) {
      negative = buf.getByte(i) == '-';
      i++;
    }
    if (i == to) {
      return -1;
    }
    long v = 0;
    for (; i < to; i++) {
      int d = buf.getByte(i) - '0';
      if (d < 0 || d > 9) {
        return -1;
      }
      v = v * 10 + d;
      if (v > MAX_LENGTH) {
        return -1;
      }
    }
    return negative && v != 0 ? -1 : v;
  }
}
