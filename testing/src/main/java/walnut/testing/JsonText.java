package walnut.testing;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict parser of the JSON the stats port writes, for tests that read fields by name and
 * check their order: objects as {@link LinkedHashMap} in document order, strings as {@code
 * String}, integers as {@code Long}. Rejects what a monitoring script's JSON parser would reject
 * (a missing separator, a trailing comma, a duplicate key, text after the document) and, since
 * the stats document has none, arrays, fractions, booleans and null. {@link #parseFull} reads
 * the metrics port's JSON ({@code /status.json}, {@code /locate}), which has them all, and
 * {@link #parseValue} any JSON value (what {@link Chromium} reads from the DevTools protocol).
 */
public final class JsonText {

  private final String text;
  /** Whether arrays, fractions, booleans and null are allowed (they are not in stats). */
  private final boolean full;
  private int at;

  private JsonText(String text, boolean full) {
    this.text = text;
    this.full = full;
  }

  /** Parses {@code text}, one object with optional whitespace (the stats port's newline) after. */
  public static Map<String, Object> parse(String text) {
    return document(new JsonText(text, false));
  }

  /**
   * {@link #parse}, also reading arrays as {@link List}, {@code true}/{@code false} as
   * {@link Boolean}, {@code null} as null and a number with a fraction or exponent as
   * {@link Double}.
   */
  public static Map<String, Object> parseFull(String text) {
    return document(new JsonText(text, true));
  }

  /** Any one JSON value as {@link #parseFull} reads values, whitespace allowed around it. */
  public static Object parseValue(String text) {
    JsonText parser = new JsonText(text, true);
    parser.space();
    Object value = parser.value();
    parser.space();
    if (parser.at != text.length()) {
      throw parser.error("text after the value");
    }
    return value;
  }

  private static Map<String, Object> document(JsonText parser) {
    String text = parser.text;
    parser.space();
    Map<String, Object> document = parser.object();
    parser.space();
    if (parser.at != text.length()) {
      throw parser.error("text after the document");
    }
    return document;
  }

  private Map<String, Object> object() {
    expect('{');
    Map<String, Object> object = new LinkedHashMap<>();
    space();
    if (peek() == '}') {
      at++;
      return object;
    }
    for (;;) {
      space();
      String key = string();
      space();
      expect(':');
      space();
      if (object.containsKey(key)) {
        throw error("duplicate key \"" + key + "\"");
      }
      object.put(key, value());
      space();
      char c = next();
      if (c == '}') {
        return object;
      }
      if (c != ',') {
        throw error("expected ',' or '}'");
      }
    }
  }

  private Object value() {
    char c = peek();
    if (c == '{') {
      return object();
    }
    if (c == '"') {
      return string();
    }
    if (full && c == '[') {
      return array();
    }
    if (full && (c == 't' || c == 'f' || c == 'n')) {
      for (String word : new String[] {"true", "false", "null"}) {
        if (text.startsWith(word, at)) {
          at += word.length();
          return word.equals("null") ? null : Boolean.valueOf(word);
        }
      }
      throw error("expected true, false or null");
    }
    int start = at;
    if (c == '-') {
      at++;
    }
    while (at < text.length() && text.charAt(at) >= '0' && text.charAt(at) <= '9') {
      at++; // ASCII digits only, as JSON has them
    }
    if (at == start || (at == start + 1 && c == '-')) {
      throw error(full ? "expected a value" : "expected an object, a string or an integer");
    }
    if (full && at < text.length() && ".eE".indexOf(text.charAt(at)) >= 0) {
      while (at < text.length() && "0123456789.eE+-".indexOf(text.charAt(at)) >= 0) {
        at++;
      }
      try {
        return Double.parseDouble(text.substring(start, at));
      } catch (NumberFormatException e) {
        throw error("bad number");
      }
    }
    String digits = text.substring(start, at);
    if (full && digits.length() - (c == '-' ? 1 : 0) > 18) {
      return Double.parseDouble(digits); // beyond a long (JavaScript writes 1e20 as digits)
    }
    return Long.parseLong(digits);
  }

  private List<Object> array() {
    expect('[');
    List<Object> array = new ArrayList<>();
    space();
    if (peek() == ']') {
      at++;
      return array;
    }
    for (;;) {
      space();
      array.add(value());
      space();
      char c = next();
      if (c == ']') {
        return array;
      }
      if (c != ',') {
        throw error("expected ',' or ']'");
      }
    }
  }

  private String string() {
    expect('"');
    StringBuilder s = new StringBuilder();
    for (;;) {
      char c = next();
      if (c == '"') {
        return s.toString();
      }
      if (c == '\\') {
        char e = next();
        switch (e) {
          case '"', '\\', '/' -> s.append(e);
          case 'n' -> s.append('\n');
          case 't' -> s.append('\t');
          case 'r' -> s.append('\r');
          case 'b' -> s.append('\b');
          case 'f' -> s.append('\f');
          case 'u' -> {
            if (at + 4 > text.length()) {
              throw error("short \\u escape");
            }
            s.append((char) Integer.parseInt(text.substring(at, at + 4), 16));
            at += 4;
          }
          default -> throw error("bad escape \\" + e);
        }
      } else if (c < 0x20) {
        throw error("control character in a string");
      } else {
        s.append(c);
      }
    }
  }

  private void space() {
    while (at < text.length() && " \t\r\n".indexOf(text.charAt(at)) >= 0) {
      at++;
    }
  }

  private char peek() {
    if (at >= text.length()) {
      throw error("unexpected end");
    }
    return text.charAt(at);
  }

  private char next() {
    char c = peek();
    at++;
    return c;
  }

  private void expect(char c) {
    if (next() != c) {
      at--;
      throw error("expected '" + c + "'");
    }
  }

  private IllegalArgumentException error(String what) {
    int from = Math.max(0, at - 40);
    int to = Math.min(text.length(), at + 40);
    return new IllegalArgumentException(what + " at offset " + at + ": …"
        + text.substring(from, to) + "…");
  }
}
