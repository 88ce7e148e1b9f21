package walnut.server.metrics;

/**
 * A small JSON writer for the status endpoints: objects and arrays are opened and closed in
 * order, commas are placed for the caller, and strings are escaped (RFC 8259: quotes, backslash,
 * control characters; everything else as is, in UTF-8). Not thread-safe: one per document.
 */
final class Json {

  private final StringBuilder out = new StringBuilder(4096);
  /** Whether the next value at the current depth needs a comma first. */
  private boolean comma;

  Json open() {
    separate();
    out.append('{');
    comma = false;
    return this;
  }

  Json open(String key) {
    key(key);
    out.append('{');
    comma = false;
    return this;
  }

  Json close() {
    out.append('}');
    comma = true;
    return this;
  }

  Json array(String key) {
    key(key);
    out.append('[');
    comma = false;
    return this;
  }

  Json end() {
    out.append(']');
    comma = true;
    return this;
  }

  Json field(String key, String value) {
    key(key);
    if (value == null) {
      out.append("null");
    } else {
      string(value);
    }
    comma = true;
    return this;
  }

  Json field(String key, long value) {
    key(key);
    out.append(value);
    comma = true;
    return this;
  }

  Json field(String key, boolean value) {
    key(key);
    out.append(value);
    comma = true;
    return this;
  }

  /** A number, or {@code null} when it is not finite. */
  Json field(String key, double value) {
    key(key);
    if (Double.isFinite(value)) {
      out.append(Math.round(value * 1000) / 1000.0);
    } else {
      out.append("null");
    }
    comma = true;
    return this;
  }

  Json nullField(String key) {
    key(key);
    out.append("null");
    comma = true;
    return this;
  }

  private void key(String key) {
    separate();
    string(key);
    out.append(':');
  }

  private void separate() {
    if (comma) {
      out.append(',');
    }
  }

  private void string(String s) {
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
          if (c < 0x20 || c == 0x2028 || c == 0x2029) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }

  @Override
  public String toString() {
    return out.toString();
  }
}
