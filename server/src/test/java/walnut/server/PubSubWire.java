package walnut.server;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A RESP2 and RESP3 client of exact bytes for the pub/sub tests: commands are written as arrays of
 * bulk strings (binary-safe: strings are ISO-8859-1, one char per byte), replies are read whole
 * and kept both as their bytes and as a value: bulk and simple strings as {@code String}
 * (ISO-8859-1), integers as {@code Long}, errors as {@link Err}, arrays, sets and maps as lists,
 * RESP3 pushes as {@link Push}, nulls as {@code null}. Not thread-safe.
 */
final class PubSubWire implements AutoCloseable {

  record Err(String text) {
    @Override
    public String toString() {
      return "-" + text;
    }
  }

  record Push(List<Object> items) {
    @Override
    public String toString() {
      return ">" + items;
    }
  }

  record Reply(String raw, Object value) {}

  private final Socket socket;
  private final OutputStream out;
  private final InputStream in;

  private PubSubWire(Socket socket) throws IOException {
    this.socket = socket;
    this.out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
    this.in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
  }

  static PubSubWire open(int port) throws IOException {
    Socket socket = new Socket("127.0.0.1", port);
    socket.setSoTimeout(10_000);
    socket.setTcpNoDelay(true);
    return new PubSubWire(socket);
  }

  /** Opens a client and switches it to RESP3 when {@code resp3} (HELLO 3, its reply read). */
  static PubSubWire open(int port, boolean resp3) throws IOException {
    PubSubWire c = open(port);
    if (resp3) {
      Reply hello = c.call("HELLO", "3");
      if (!hello.raw().startsWith("%")) {
        throw new IOException("HELLO 3 answered " + hello.raw());
      }
    }
    return c;
  }

  Socket socket() {
    return socket;
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  /** Writes one command (buffered: see {@link #flush}). */
  PubSubWire send(String... args) throws IOException {
    List<byte[]> list = new ArrayList<>();
    for (String a : args) {
      list.add(bytes(a));
    }
    return send(list);
  }

  PubSubWire send(List<byte[]> args) throws IOException {
    out.write(bytes("*" + args.size() + "\r\n"));
    for (byte[] a : args) {
      out.write(bytes("$" + a.length + "\r\n"));
      out.write(a);
      out.write('\r');
      out.write('\n');
    }
    return this;
  }

  PubSubWire sendRaw(String raw) throws IOException {
    out.write(bytes(raw));
    return this;
  }

  void flush() throws IOException {
    out.flush();
  }

  Reply call(String... args) throws IOException {
    send(args);
    flush();
    return read();
  }

  /** The value of the next reply. */
  Object next() throws IOException {
    return read().value();
  }

  Reply read() throws IOException {
    ByteArrayOutputStream raw = new ByteArrayOutputStream();
    Object value = read(raw);
    return new Reply(raw.toString(StandardCharsets.ISO_8859_1), value);
  }

  /**
   * Whether the peer closes the connection within {@code timeout}, whatever it sends first (read
   * and dropped).
   */
  boolean closesWithin(Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    byte[] sink = new byte[1 << 16];
    int old = socket.getSoTimeout();
    try {
      while (System.nanoTime() - deadline < 0) {
        socket.setSoTimeout((int) Math.max(1, Duration.ofNanos(deadline - System.nanoTime())
            .toMillis()));
        try {
          if (in.read(sink) < 0) {
            return true;
          }
        } catch (SocketTimeoutException e) {
          return false;
        } catch (SocketException e) {
          return true; // reset
        }
      }
      return false;
    } finally {
      if (!socket.isClosed()) {
        socket.setSoTimeout(old);
      }
    }
  }

  /** Whether nothing arrives within {@code timeout} (the connection staying open). */
  boolean quietFor(Duration timeout) throws IOException {
    int old = socket.getSoTimeout();
    socket.setSoTimeout((int) timeout.toMillis());
    try {
      in.mark(1);
      int b = in.read();
      if (b >= 0) {
        in.reset();
      }
      return false;
    } catch (SocketTimeoutException e) {
      return true;
    } finally {
      socket.setSoTimeout(old);
    }
  }

  private Object read(ByteArrayOutputStream raw) throws IOException {
    int type = in.read();
    if (type < 0) {
      throw new EOFException("connection closed; read so far: " + shorten(raw));
    }
    raw.write(type);
    String line = line(raw);
    switch (type) {
      case '+':
        return line;
      case '-':
      case '!':
        return type == '!' ? new Err(new String(blob(raw, line), StandardCharsets.ISO_8859_1))
            : new Err(line);
      case ':':
        return Long.parseLong(line);
      case '_':
        return null;
      case '#':
        return line.equals("t");
      case ',':
      case '(':
        return line;
      case '$':
      case '=': {
        if (line.startsWith("-")) {
          return null;
        }
        return new String(blob(raw, line), StandardCharsets.ISO_8859_1);
      }
      case '*':
      case '~':
      case '>':
      case '%': {
        int n = Integer.parseInt(line);
        if (n < 0) {
          return null;
        }
        if (type == '%') {
          n *= 2;
        }
        List<Object> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
          list.add(read(raw));
        }
        return type == '>' ? new Push(list) : list;
      }
      default:
        throw new IOException("not a RESP reply: " + shorten(raw));
    }
  }

  private byte[] blob(ByteArrayOutputStream raw, String line) throws IOException {
    int n = Integer.parseInt(line);
    byte[] data = in.readNBytes(n + 2);
    if (data.length < n + 2) {
      throw new EOFException("connection closed inside a bulk");
    }
    raw.write(data);
    return java.util.Arrays.copyOf(data, n);
  }

  private String line(ByteArrayOutputStream raw) throws IOException {
    StringBuilder s = new StringBuilder();
    for (int prev = -1, c; ; prev = c) {
      c = in.read();
      if (c < 0) {
        throw new EOFException("connection closed inside a line: " + shorten(raw));
      }
      raw.write(c);
      if (prev == '\r' && c == '\n') {
        return s.substring(0, s.length() - 1);
      }
      s.append((char) c);
    }
  }

  private static String shorten(ByteArrayOutputStream raw) {
    String s = raw.toString(StandardCharsets.ISO_8859_1);
    return s.length() > 200 ? s.substring(0, 200) + "..." : s;
  }

  /** A message or confirmation's items, whether a RESP2 array or a RESP3 push. */
  @SuppressWarnings("unchecked")
  static List<Object> items(Object value) {
    if (value instanceof Push p) {
      return p.items();
    }
    if (value instanceof List<?> l) {
      return (List<Object>) l;
    }
    throw new AssertionError("not a pub/sub frame: " + value);
  }

  void shutdownOutput() throws IOException {
    out.flush();
    socket.shutdownOutput();
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
