package walnut.server.config;

import java.nio.charset.StandardCharsets;

/**
 * twemproxy's readings of a directive's raw scalar text (docs/compatibility.md#pool-keys). Quoting
 * never changes a value: {@code "8"} and {@code 8} are the same number, and only exact lower-case
 * {@code true} and
 * {@code false} are booleans.
 */
final class Values {

  static final String NOT_A_NUMBER = "is not a number";

  private Values() {}

  /**
   * twemproxy's {@code nc_atoi}: one or more ASCII digits, nothing else (no sign, space, unit or
   * fraction). Returns -1 for anything else.
   *
   * <p>One deliberate difference: twemproxy accumulates in a C {@code int} that wraps, so it
   * accepts {@code 4294967296} as 0 and {@code 4294967297} as 1 while it refuses
   * {@code 2147483648}. Walnut refuses everything above {@link Integer#MAX_VALUE}, since a value
   * that silently becomes another is worse than an error.
   */
  static int atoi(String text) {
    if (text.isEmpty()) {
      return -1;
    }
    long value = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      value = value * 10 + (c - '0');
      if (value > Integer.MAX_VALUE) {
        return -1;
      }
    }
    return (int) value;
  }

  /** A non-negative int directive ({@code timeout}, {@code backlog}, ...). */
  static int number(String text) throws BadValue {
    int value = atoi(text);
    if (value < 0) {
      throw new BadValue(NOT_A_NUMBER + " (expected: digits only, 0.." + Integer.MAX_VALUE + ")");
    }
    return value;
  }

  /**
   * A size in bytes for Walnut's {@code max_request_size}: digits, optionally followed by one of
   * {@code k m g} (either case) for KiB, MiB and GiB, as memcached's {@code -I 1m}; at least 1 and
   * at most 2 GiB - 1.
   */
  static long size(String text) throws BadValue {
    long unit = 1;
    String digits = text;
    if (!text.isEmpty()) {
      switch (Character.toLowerCase(text.charAt(text.length() - 1))) {
        case 'k' -> unit = 1L << 10;
        case 'm' -> unit = 1L << 20;
        case 'g' -> unit = 1L << 30;
        default -> unit = 1;
      }
      if (unit > 1) {
        digits = text.substring(0, text.length() - 1);
      }
    }
    int value = atoi(digits);
    if (value <= 0 || value * unit > Integer.MAX_VALUE) {
      throw new BadValue("is not a size (expected: digits, optionally followed by k, m or g;"
          + " 1 to " + Integer.MAX_VALUE + " bytes)");
    }
    return value * unit;
  }

  static boolean bool(String text) throws BadValue {
    if (text.equals("true")) {
      return true;
    }
    if (text.equals("false")) {
      return false;
    }
    throw new BadValue("is not \"true\" or \"false\" (exactly, in lower case)");
  }

  /**
   * A hash tag: exactly two bytes of the file's UTF-8 text, as twemproxy counts them. The result
   * holds those two bytes as ISO-8859-1 characters, the form {@code PoolConfig.hashTagBytes()}
   * reads back; so {@code "{}"} stays {@code {}}, and a single two-byte character such as
   * {@code é} (accepted by twemproxy) becomes its bytes 0xC3 and 0xA9, which is what twemproxy
   * then matches in keys.
   */
  static String hashTag(String text) throws BadValue {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    if (bytes.length != 2) {
      throw new BadValue("is not a valid hash tag string with two characters");
    }
    return new String(bytes, StandardCharsets.ISO_8859_1);
  }

  /**
   * A unix listener's permission, read like C {@code strtol(text, NULL, 8)}: leading white space,
   * an optional sign, then octal digits up to the first other character, so {@code 999} and
   * {@code x} read as 0 ("leave the mode alone"), as twemproxy reads them. Returns -1 when the
   * result is negative or above 0777.
   *
   * <p>twemproxy then casts to the 32-bit {@code mode_t}, so it also accepts huge values that
   * wrap into 0..0777 (such as {@code 40000000000}); Walnut refuses those.
   */
  static int octalPermission(String text) {
    int i = 0;
    while (i < text.length() && isCSpace(text.charAt(i))) {
      i++;
    }
    boolean negative = false;
    if (i < text.length() && (text.charAt(i) == '+' || text.charAt(i) == '-')) {
      negative = text.charAt(i) == '-';
      i++;
    }
    long value = 0;
    for (; i < text.length() && text.charAt(i) >= '0' && text.charAt(i) <= '7'; i++) {
      value = value * 8 + (text.charAt(i) - '0');
      if (value > 0777) {
        return -1;
      }
    }
    return negative && value != 0 ? -1 : (int) value;
  }

  private static boolean isCSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == 0x0b || c == '\f' || c == '\r';
  }
}
