package walnut.testing;

import java.util.List;
import java.util.Map;

/**
 * The JSON that {@link Chromium} sends to the DevTools protocol, written without a JSON library
 * (the testing module has none, and CDP needs little): maps, lists, strings, numbers, booleans and
 * {@code null}. What it reads back, {@link JsonText#parseValue} reads.
 */
final class CdpJson {

  private CdpJson() {}

  /** {@code value} as JSON text; maps, lists, strings, numbers, booleans and null. */
  static String write(Object value) {
    StringBuilder out = new StringBuilder();
    write(value, out);
    return out.toString();
  }

  private static void write(Object value, StringBuilder out) {
    if (value == null || value instanceof Boolean || value instanceof Long
        || value instanceof Integer) {
      out.append(value);
    } else if (value instanceof Number number) {
      double d = number.doubleValue();
      // JSON has no NaN or infinity, and 3.0 reads better as 3 (as JavaScript prints it).
      out.append(Double.isFinite(d) && d == Math.rint(d) && Math.abs(d) < 1e15
          ? Long.toString((long) d) : Double.toString(d));
    } else if (value instanceof String s) {
      quote(s, out);
    } else if (value instanceof Map<?, ?> map) {
      out.append('{');
      String comma = "";
      for (Map.Entry<?, ?> e : map.entrySet()) {
        out.append(comma);
        quote(String.valueOf(e.getKey()), out);
        out.append(':');
        write(e.getValue(), out);
        comma = ",";
      }
      out.append('}');
    } else if (value instanceof List<?> list) {
      out.append('[');
      String comma = "";
      for (Object item : list) {
        out.append(comma);
        write(item, out);
        comma = ",";
      }
      out.append(']');
    } else {
      throw new IllegalArgumentException("not a JSON value: " + value.getClass().getName());
    }
  }

  private static void quote(String s, StringBuilder out) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }
}
