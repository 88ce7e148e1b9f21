package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ProxyConfig;
import walnut.core.stats.Latency;
import walnut.core.stats.ServerStat;
import walnut.testing.Poll;
import walnut.testing.RedisServer;

/**
 * Hundreds of reloads keep a bounded number of pool generations, with {@code --threads 2}
 * against a real redis-server: a superseded generation goes once its last client has moved on or
 * closed and nothing is in flight on it (an idle client keeps its own until it closes), and so do
 * its latency recorders; a reload that fails leaves nothing behind. The stats stay exact across:
 * the server's request counter and the latency histogram count every request once.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ReloadGenerationsIT {

  private static final int RELOADS = 400;
  private static final int THREADS = 2;
  private static final Duration SETTLE = Duration.ofSeconds(10);

  @Test
  void manyReloadsKeepABoundedNumberOfGenerations() throws Exception {
    List<RedisServer> backends = List.of(RedisServer.start());
    ProxyFixture walnut = null;
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      PoolConfig base = ProxyFixture.redisPool(backends).timeout(5_000).build();
      walnut = ProxyFixture.start(base, THREADS);
      ProxyFixture proxy = walnut;
      Latency latency = proxy.proxy.stats().pools().get(0).latency();
      // A pool whose listener cannot bind: a reload with it fails after making its generations.
      PoolConfig unbindable = PoolConfig.builder("other")
          .listen(Endpoint.tcp("127.0.0.1", taken.getLocalPort())).redis(true)
          .servers(base.servers()).build();
      try (WireClient idle = WireClient.openResp2(proxy.port());
          WireClient busy = WireClient.openResp2(proxy.port())) {
        long seen = 0;
        for (int i = 0; i < RELOADS; i++) {
          assertEquals("+OK\r\n", busy.call("SET", "gen:k", "v" + i).raw());
          assertEquals("$" + ("v" + i).length() + "\r\nv" + i + "\r\n",
              busy.call("GET", "gen:k").raw());
          // Each reload changes the pool, so each makes a generation.
          PoolConfig next = base.toBuilder().timeout(5_000 + i + 1).build();
          if (i % 40 == 39) {
            assertThrows(IllegalStateException.class,
                () -> proxy.proxy.reload(ProxyConfig.of(next, unbindable)));
          } else {
            proxy.proxy.reload(ProxyConfig.of(next));
          }
          // The current generation, the busy client's previous one (it moves with its next
          // request) and the idle client's first one.
          Poll.until(SETTLE, () -> proxy.proxy.generations() <= 3,
              "at most 3 generations after reload " + i + ": " + proxy.proxy.generations());
          Poll.until(SETTLE, () -> latency.recorders() <= 3 * THREADS,
              "at most 3 generations' recorders: " + latency.recorders());
          long count = latency.snapshot().getTotalCount();
          assertTrue(count >= seen, "the latency count went back: " + seen + " -> " + count);
          seen = count;
        }
      }
      Poll.until(SETTLE, () -> proxy.proxy.generations() == 1,
          "one generation once the clients are gone: " + proxy.proxy.generations());
      Poll.until(SETTLE, () -> latency.recorders() == THREADS,
          "one recorder per loop: " + latency.recorders());
      assertEquals(2L * RELOADS, latency.snapshot().getTotalCount(),
          "every request's latency counted once");
      assertEquals(2L * RELOADS, proxy.serverStat(ServerStat.REQUESTS),
          "every request counted once");
    } finally {
      ProxyFixture.closeAll(walnut, backends);
    }
  }
}
