package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import walnut.testing.KvDialect;
import walnut.testing.KvLoad;
import walnut.testing.Poll;
import walnut.testing.RedisServer;

/**
 * The fault suite's own check: {@link KvLoad} must see a misdelivered reply. Two clients talk to
 * one redis-server through a relay that hands each client the other's replies; every request is
 * still answered with a reply of the right type, so only the values can tell.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FaultHarnessIT {

  @Test
  void repliesCrossedBetweenClientsAreCountedAsMisdelivered() throws Exception {
    try (RedisServer redis = RedisServer.start();
        ServerSocket relay = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Map<String, Integer> placement = new HashMap<>();
      List<List<String>> keys = List.of(List.of("a", "b"), List.of("c", "d"));
      keys.forEach(ks -> ks.forEach(k -> placement.put(k, 0)));
      List<Socket> sockets = new ArrayList<>();
      Thread crosser = new Thread(() -> cross(relay, redis.address(), sockets));
      crosser.setDaemon(true);
      crosser.start();
      KvLoad.Options options = new KvLoad.Options(4, 0, Duration.ofMillis(1),
          Duration.ofSeconds(2), 2);
      try (KvLoad load = KvLoad.start(KvDialect.REDIS,
          new InetSocketAddress("127.0.0.1", relay.getLocalPort()), keys, placement, Set.of(),
          options)) {
        Poll.until(Duration.ofSeconds(30), () -> load.misdeliveries() >= 10,
            "crossed replies are seen as misdelivered");
        load.stop();
        assertTrue(load.misdeliverySamples().get(0).contains("GET"),
            load.misdeliverySamples().toString());
        assertEquals(0, load.stats(0).errors());
      } finally {
        synchronized (sockets) {
          for (Socket s : sockets) {
            s.close();
          }
        }
      }
    }
  }

  /** Accepts two clients and wires each one's requests to its own upstream, replies crossed. */
  private static void cross(ServerSocket relay, InetSocketAddress target, List<Socket> sockets) {
    try {
      Socket[] down = {relay.accept(), relay.accept()};
      Socket[] up = {new Socket(), new Socket()};
      synchronized (sockets) {
        sockets.addAll(List.of(down[0], down[1], up[0], up[1]));
      }
      for (Socket u : up) {
        u.connect(target, 5_000);
      }
      for (int i = 0; i < 2; i++) {
        pump(down[i], up[i]);
        pump(up[i], down[1 - i]);
      }
    } catch (IOException e) {
      // the test closed the relay
    }
  }

  private static void pump(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buffer = new byte[8192];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        for (int n; (n = in.read(buffer)) >= 0; ) {
          out.write(buffer, 0, n);
        }
      } catch (IOException e) {
        // closed
      }
    });
    t.setDaemon(true);
    t.start();
  }
}
