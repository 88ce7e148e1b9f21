package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A client that sends and reads exact bytes, so a test knows every byte the proxy counted. Not
 * thread-safe: one thread per client.
 */
final class WireClient implements AutoCloseable {

  private final Socket socket;
  private final OutputStream out;
  private final InputStream in;

  private WireClient(Socket socket) throws IOException {
    this.socket = socket;
    this.out = socket.getOutputStream();
    this.in = socket.getInputStream();
  }

  static WireClient open(int port) throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    socket.setSoTimeout(30_000);
    socket.setTcpNoDelay(true);
    return new WireClient(socket);
  }

  /** A RESP command as a client library writes it: an array of bulk strings. */
  static String resp(String... args) {
    StringBuilder b = new StringBuilder().append('*').append(args.length).append("\r\n");
    for (String arg : args) {
      b.append('$').append(arg.getBytes(StandardCharsets.UTF_8).length).append("\r\n")
          .append(arg).append("\r\n");
    }
    return b.toString();
  }

  /** Sends {@code request} and returns its length in bytes. */
  int send(String request) throws IOException {
    byte[] bytes = request.getBytes(StandardCharsets.UTF_8);
    out.write(bytes);
    out.flush();
    return bytes.length;
  }

  /** Reads exactly the bytes of {@code reply} and checks they are those. */
  void expect(String reply) throws IOException {
    byte[] want = reply.getBytes(StandardCharsets.UTF_8);
    assertEquals(reply, new String(in.readNBytes(want.length), StandardCharsets.UTF_8));
  }

  /** One line, CRLF included. */
  String readLine() throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int prev = -1;
    for (;;) {
      int b = in.read();
      if (b < 0) {
        throw new EOFException("connection closed after '" + line + "'");
      }
      line.write(b);
      if (prev == '\r' && b == '\n') {
        return line.toString(StandardCharsets.UTF_8);
      }
      prev = b;
    }
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
