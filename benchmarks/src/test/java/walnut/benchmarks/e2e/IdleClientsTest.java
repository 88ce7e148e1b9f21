package walnut.benchmarks.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;
import walnut.testing.NutcrackerServer;
import walnut.testing.RedisServer;

class IdleClientsTest {

  @Test
  void aRealTwemproxyHoldsEveryIdleClientAndLetsThemGo() throws IOException {
    try (RedisServer redis = RedisServer.start();
        NutcrackerServer proxy = NutcrackerServer.start(
            List.of(NutcrackerServer.Pool.redis("r", List.of(redis.address()))))) {
      int before = ProcFs.openFiles(proxy.pid());
      IdleClients.Measurement m = IdleClients.measure(proxy.address(), proxy.pid(), 300);
      assertEquals(300, m.held());
      assertTrue(m.rssKib() > 0);
      // measure returns once the proxy has closed them (give or take its own bookkeeping).
      assertTrue(ProcFs.openFiles(proxy.pid()) <= before + 8);
    }
  }
}
