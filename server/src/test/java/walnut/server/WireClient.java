package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The integration tests' client of exact bytes, on a plain socket: RESP commands written as arrays
 * of bulk strings, or any raw text (memcached's too); RESP2 and RESP3 replies read whole and kept
 * both as their exact bytes ({@link Reply#raw}) and as a value. Strings are ISO-8859-1, one char a
 * byte, so both directions are binary-safe. Values: bulk and simple strings as {@code String},
 * integers as {@code Long}, errors as {@link Err}, arrays, sets and maps as lists, RESP3 pushes as
 * {@link Push}, nulls as {@code null}.
 *
 * <p>{@link #send} queues a command and {@link #flush} writes all queued at once (pipelining);
 * {@link #call} does both and reads the reply; {@link #write} writes raw text at once. Not
 * thread-safe: one thread per client.
 */
final class WireClient implements AutoCloseable {

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

  /** One reply: its exact bytes (ISO-8859-1) and its value. */
  record Reply(String raw, Object value) {}

  private final Socket socket;
  private final OutputStream out;
  private final InputStream in;
  /** Whether a reply type RESP2 lacks fails the read (see {@link #openResp2}). */
  private final boolean resp2Only;

  private WireClient(Socket socket, boolean resp2Only) throws IOException {
    this.socket = socket;
    this.out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
    this.in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
    this.resp2Only = resp2Only;
  }

  private static WireClient connect(int port, boolean resp2Only) throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    socket.setSoTimeout(30_000);
    socket.setTcpNoDelay(true);
    return new WireClient(socket, resp2Only);
  }

  /** A client that reads any RESP2 or RESP3 reply. */
  static WireClient open(int port) throws IOException {
    return connect(port, false);
  }

  /** {@link #open(int)}; with {@code protocol} 3 sends {@code HELLO 3} and checks it is a map. */
  static WireClient open(int port, int protocol) throws IOException {
    WireClient c = open(port);
    if (protocol == 3) {
      String hello = c.call("HELLO", "3").raw();
      if (!hello.startsWith("%")) {
        c.close();
        throw new IOException("HELLO 3 answered " + hello);
      }
    }
    return c;
  }

  /** A client for a RESP2 connection: a reply of a type RESP2 lacks fails its read. */
  static WireClient openResp2(int port) throws IOException {
    return connect(port, true);
  }

  Socket socket() {
    return socket;
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  /** A RESP command as a client library writes it: an array of bulk strings. */
  static String resp(String... args) {
    StringBuilder b = new StringBuilder().append('*').append(args.length).append("\r\n");
    for (String arg : args) {
      b.append('$').append(bytes(arg).length).append("\r\n").append(arg).append("\r\n");
    }
    return b.toString();
  }

  /** Queues one command (see {@link #flush}). */
  WireClient send(String... args) throws IOException {
    return send(Arrays.stream(args).map(WireClient::bytes).toList());
  }

  WireClient send(List<byte[]> args) throws IOException {
    out.write(bytes("*" + args.size() + "\r\n"));
    for (byte[] a : args) {
      out.write(bytes("$" + a.length + "\r\n"));
      out.write(a);
      out.write('\r');
      out.write('\n');
    }
    return this;
  }

  /** Queues {@code raw} as it is. */
  WireClient sendRaw(String raw) throws IOException {
    out.write(bytes(raw));
    return this;
  }

  void flush() throws IOException {
    out.flush();
  }

  /** Writes {@code raw} now, with whatever was queued, and returns its length in bytes. */
  int write(String raw) throws IOException {
    byte[] b = bytes(raw);
    out.write(b);
    out.flush();
    return b.length;
  }

  Reply call(String... args) throws IOException {
    send(args);
    flush();
    return read();
  }

  Reply call(List<byte[]> args) throws IOException {
    send(args);
    flush();
    return read();
  }

  /** {@link #call}, asserting the raw reply. */
  void expect(String reply, String... args) throws IOException {
    assertEquals(reply, call(args).raw(), () -> String.join(" ", args));
  }

  /** Reads exactly the bytes of {@code reply} and checks they are those. */
  void expectBytes(String reply) throws IOException {
    assertEquals(reply, new String(in.readNBytes(bytes(reply).length),
        StandardCharsets.ISO_8859_1));
  }

  /** The value of the next reply. */
  Object next() throws IOException {
    return read().value();
  }

  /** One whole reply. */
  Reply read() throws IOException {
    ByteArrayOutputStream raw = new ByteArrayOutputStream();
    Object value = read(raw);
    return new Reply(raw.toString(StandardCharsets.ISO_8859_1), value);
  }

  /** One line, CRLF included. */
  String readLine() throws IOException {
    ByteArrayOutputStream raw = new ByteArrayOutputStream();
    line(raw);
    return raw.toString(StandardCharsets.ISO_8859_1);
  }

  /** Whether the peer closed the connection (EOF) rather than sending more. */
  boolean closedByPeer() throws IOException {
    return in.read() < 0;
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
    if (resp2Only && "+-:$*".indexOf(type) < 0) {
      throw new IOException("not a RESP2 reply: " + shorten(raw));
    }
    String line = line(raw);
    line = line.substring(0, line.length() - 2);
    switch (type) {
      case '+':
        return line;
      case '-':
        return new Err(line);
      case '!':
        return new Err(new String(blob(raw, line), StandardCharsets.ISO_8859_1));
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
      case '|': {
        int n = 2 * Integer.parseInt(line);
        for (int i = 0; i < n; i++) {
          read(raw);
        }
        return read(raw); // an attribute precedes the reply it describes
      }
      default:
        throw new IOException("not a RESP reply: " + shorten(raw));
    }
  }

  private byte[] blob(ByteArrayOutputStream raw, String line) throws IOException {
    int n = Integer.parseInt(line);
    byte[] data = in.readNBytes(n + 2);
    if (data.length < n + 2) {
      throw new EOFException("connection closed inside a bulk: " + shorten(raw));
    }
    raw.write(data);
    return Arrays.copyOf(data, n);
  }

  /** Reads one line into {@code raw} and returns it, CRLF included. */
  private String line(ByteArrayOutputStream raw) throws IOException {
    StringBuilder s = new StringBuilder();
    for (int prev = -1, c; ; prev = c) {
      c = in.read();
      if (c < 0) {
        throw new EOFException("connection closed inside a line: " + shorten(raw));
      }
      raw.write(c);
      s.append((char) c);
      if (prev == '\r' && c == '\n') {
        return s.toString();
      }
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

  /** Closes with a reset (SO_LINGER 0), which the proxy counts as a client error. */
  void reset() throws IOException {
    socket.setSoLinger(true, 0);
    socket.close();
  }

  /** Closes normally: the proxy reads EOF. */
  @Override
  public void close() throws IOException {
    socket.close();
  }
}
