package walnut.testing;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON that {@link Chromium} exchanges with the DevTools protocol, read and written without a
 * JSON library (the testing module has none, and CDP needs little): objects as {@link
 * LinkedHashMap}, arrays as {@link List}, strings, integers as {@code Long}, other numbers as
 * {@code Double}, booleans and {@code null}. It trusts its peer less than it could: malformed text
 * fails with the offset, rather than being guessed at.
 */
final class CdpJson {

  private final String text;
  private int at;

  private CdpJson(String text) {
    this.text = text;
  }

  /** Parses one JSON value, whitespace allowed around it. */
  static Object parse(String text) {
    CdpJson parser = new CdpJson(text);
    Object value = parser.value();
    parser.space();
    if (parser.at != text.length()) {
      throw parser.error("text after the value");
    }
    return value;
  }

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

  private Object value() {
    space();
    if (at >= text.length()) {
      throw error("a value (got the end)");
    }
    char c = text.charAt(at);
    return switch (c) {
      case '{' -> object();
      case '[' -> array();
      case '"' -> string();
      case 't' -> literal("true", Boolean.TRUE);
      case 'f' -> literal("false", Boolean.FALSE);
      case 'n' -> literal("null", null);
      default -> number();
    };
  }

  private Map<String, Object> object() {
    at++; // '{'
    Map<String, Object> object = new LinkedHashMap<>();
    space();
    if (peek() == '}') {
      at++;
      return object;
    }
    for (;;) {
      space();
      if (peek() != '"') {
        throw error("a key");
      }
      String key = string();
      space();
      expect(':');
      object.put(key, value());
      space();
      char c = next();
      if (c == '}') {
        return object;
      }
      if (c != ',') {
        throw error("',' or '}'");
      }
    }
  }

  private List<Object> array() {
    at++; // '['
    List<Object> array = new ArrayList<>();
    space();
    if (peek() == ']') {
      at++;
      return array;
    }
    for (;;) {
      array.add(value());
      space();
      char c = next();
      if (c == ']') {
        return array;
      }
      if (c != ',') {
        throw error("',' or ']'");
      }
    }
  }

  private String string() {
    at++; // '"'
    StringBuilder out = new StringBuilder();
    for (;;) {
      char c = next();
      if (c == '"') {
        return out.toString();
      }
      if (c != '\\') {
        out.append(c);
        continue;
      }
      char e = next();
      switch (e) {
        case '"', '\\', '/' -> out.append(e);
        case 'b' -> out.append('\b');
        case 'f' -> out.append('\f');
        case 'n' -> out.append('\n');
        case 'r' -> out.append('\r');
        case 't' -> out.append('\t');
        case 'u' -> {
          if (at + 4 > text.length()) {
            throw error("four hex digits");
          }
          out.append((char) Integer.parseInt(text, at, at + 4, 16));
          at += 4;
        }
        default -> throw error("an escape (got '\\" + e + "')");
      }
    }
  }

  private Object number() {
    int start = at;
    while (at < text.length() && "+-0123456789.eE".indexOf(text.charAt(at)) >= 0) {
      at++;
    }
    String n = text.substring(start, at);
    if (n.isEmpty()) {
      throw error("a value");
    }
    try {
      // Not a conditional expression: it would promote the Long to a double.
      if (n.matches("-?\\d{1,18}")) {
        return Long.valueOf(n);
      }
      return Double.valueOf(n);
    } catch (NumberFormatException e) {
      at = start;
      throw error("a number (got '" + n + "')");
    }
  }

  private Object literal(String word, Object value) {
    if (!text.startsWith(word, at)) {
      throw error("'" + word + "'");
    }
    at += word.length();
    return value;
  }

  private void space() {
    while (at < text.length() && Character.isWhitespace(text.charAt(at))) {
      at++;
    }
  }

  private char peek() {
    return at < text.length() ? text.charAt(at) : '\0';
  }

  private char next() {
    if (at >= text.length()) {
      throw error("more text (got the end)");
    }
    return text.charAt(at++);
  }

  private void expect(char c) {
    space();
    if (next() != c) {
      at--;
      throw error("'" + c + "'");
    }
  }

  private IllegalArgumentException error(String expected) {
    return new IllegalArgumentException("JSON at offset " + at + ": expected " + expected
        + " in " + (text.length() > 200 ? text.substring(0, 200) + "…" : text));
  }
}
