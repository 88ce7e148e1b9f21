package walnut.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class WireTapTest {

  private static Socket connect(int port) throws Exception {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    s.setSoTimeout(5_000);
    return s;
  }

  @Test
  void aBlackHoleRecordsWhatArrivesNeverAnswersAndSeesTheClose() throws Exception {
    int port = FreePorts.next();
    try (WireTap hole = WireTap.blackHole(port)) {
      assertEquals(port, hole.port());
      long before = System.currentTimeMillis();
      Socket s = connect(port);
      s.setSoTimeout(200);
      s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      Poll.until(Duration.ofSeconds(5), () -> hole.connections().size() == 1
          && hole.connections().get(0).sentBytes().length == 6, "the bytes recorded");
      assertThrows(SocketTimeoutException.class, () -> s.getInputStream().read(),
          "a black hole never answers");
      s.close();
      WireTap.Connection c = hole.connections().get(0);
      Poll.until(Duration.ofSeconds(5), () -> c.proxyClosedAt() >= 0, "the close seen");
      assertArrayEquals("PING\r\n".getBytes(StandardCharsets.US_ASCII), c.sentBytes());
      assertTrue(c.acceptedAt() >= before && c.sent().get(0).atMillis() >= c.acceptedAt());
      assertTrue(c.received().isEmpty());
      assertEquals(1, hole.maxOpen());
    }
  }

  @Test
  void aRelayForwardsAndRecordsBothWays() throws Exception {
    try (RedisServer redis = RedisServer.start();
        WireTap relay = WireTap.relay(redis.address());
        Socket s = connect(relay.port())) {
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      out.write("*1\r\n$4\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII));
      assertArrayEquals("+PONG\r\n".getBytes(StandardCharsets.US_ASCII), in.readNBytes(7));
      WireTap.Connection c = relay.connections().get(0);
      assertEquals("*1\r\n$4\r\nPING\r\n", new String(c.sentBytes(), StandardCharsets.US_ASCII));
      List<WireTap.Chunk> replies = c.received();
      assertEquals("+PONG\r\n", new String(replies.get(0).bytes(), StandardCharsets.US_ASCII));
      assertFalse(replies.get(0).atMillis() < c.sent().get(0).atMillis());
    }
  }

  @Test
  void aRelayWhoseServerIsGoneHangsUp() throws Exception {
    try (RedisServer redis = RedisServer.start()) {
      redis.kill();
      try (WireTap relay = WireTap.relay(redis.address()); Socket s = connect(relay.port())) {
        assertEquals(-1, s.getInputStream().read(), "closed at once");
      }
    }
  }

  @Test
  void aFlapperRecordsItsPhasesAndLeavesTheServerRunning() throws Exception {
    try (RedisServer redis = RedisServer.start()) {
      Flapper flapper = Flapper.stop(redis);
      try {
        assertThrows(RuntimeException.class, () -> redis.command(Duration.ofMillis(100), "PING"),
            "stopped");
        flapper.flap(Duration.ofMillis(50), Duration.ofMillis(320));
        flapper.await(Duration.ofSeconds(10));
      } finally {
        flapper.close();
      }
      List<Flapper.Phase> phases = flapper.phases();
      assertTrue(phases.size() >= 7, phases.toString());
      for (int i = 0; i < phases.size(); i++) {
        assertEquals(i % 2 == 0, phases.get(i).stopped(), phases.toString());
        assertTrue(phases.get(i).settledAt() >= phases.get(i).signalledAt());
      }
      assertFalse(phases.get(phases.size() - 1).stopped(), "left running");
      assertEquals("PONG", redis.command("PING"));
    }
  }
}
