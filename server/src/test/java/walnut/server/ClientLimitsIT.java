package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.SingleTransport;

/** {@code client_connections} as a per-pool limit, and Walnut's {@code client_idle_timeout}. */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
// Kept on nio only, as the file-name globs had it; it proxies through ProxyFixture, so it could
// run on every transport, at the cost of build time.
@SingleTransport
class ClientLimitsIT {

  @Test
  void aConnectionBeyondClientConnectionsIsClosedAtOnce() throws Exception {
    try (RedisServer backend = RedisServer.start();
        ProxyFixture walnut = ProxyFixture.start(ProxyFixture.redisPool(List.of(backend))
            .clientConnections(2).build(), 1);
        Socket first = connect(walnut.port());
        Socket second = connect(walnut.port())) {
      assertEquals("+PONG\r\n", ping(first));
      assertEquals("+PONG\r\n", ping(second));
      try (Socket third = connect(walnut.port())) {
        assertEquals(-1, third.getInputStream().read(), "the third is closed at once");
      }
      second.close();
      // The slot frees when Walnut sees the close; a new client gets in then.
      Poll.until(Duration.ofSeconds(10), () -> {
        try (Socket again = connect(walnut.port())) {
          return "+PONG\r\n".equals(ping(again));
        } catch (IOException e) {
          return false;
        }
      }, "a connection is accepted again once one closed");
      assertEquals("+PONG\r\n", ping(first));
    }
  }

  @Test
  void anIdleClientIsClosedButOneWaitingForAReplyIsNot() throws Exception {
    try (RedisServer backend = RedisServer.start();
        ProxyFixture walnut = ProxyFixture.start(ProxyFixture.redisPool(List.of(backend))
            .clientIdleTimeout(300).build(), 1);
        Socket idle = connect(walnut.port());
        Socket waiting = connect(walnut.port())) {
      assertEquals("+PONG\r\n", ping(waiting)); // connects the backend
      backend.pause();
      try {
        waiting.getOutputStream().write(
            "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n".getBytes(StandardCharsets.US_ASCII));
        assertEquals(-1, idle.getInputStream().read(), "the idle client is closed");
      } finally {
        backend.resume();
      }
      assertEquals("$-1\r\n", read(waiting.getInputStream(), 5), "the waiting one got its reply");
    }
  }

  private static Socket connect(int port) throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    socket.setSoTimeout(30_000);
    return socket;
  }

  private static String ping(Socket socket) throws IOException {
    socket.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
    return read(socket.getInputStream(), 7);
  }

  private static String read(InputStream in, int n) throws IOException {
    return new String(in.readNBytes(n), StandardCharsets.US_ASCII);
  }
}
