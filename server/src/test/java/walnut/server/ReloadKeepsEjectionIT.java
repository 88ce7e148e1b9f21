package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;
import walnut.core.config.PoolConfig;
import walnut.core.config.ProxyConfig;
import walnut.core.stats.PoolStat;
import walnut.testing.KeyPlacement;
import walnut.testing.KvDialect;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.SingleTransport;

/**
 * A configuration reload does not put a dead server back (issue #21's review): the reloaded pool
 * gets a new router, which takes the ejections of the one it replaces, so with
 * {@code health_check_interval} and {@code auto_eject_remap: false} the dead server's keys keep
 * getting the "is ejected" error at once, instead of a connection attempt to the dead server, and
 * the server returns when a probe of the new generation succeeds.
 */
@SingleTransport
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ReloadKeepsEjectionIT {

  private static final int RETRY_MS = 1_000;
  private static final int INTERVAL_MS = 100;

  @Test
  void anEjectedServerStaysOutAcrossAReloadAndReturnsWhenAProbeSucceeds() throws Exception {
    List<RedisServer> backends = ProxyFixture.redisServers(3);
    PoolConfig.Builder pool = ProxyFixture.redisPool(backends).timeout(300).autoEjectHosts(true)
        .serverFailureLimit(1).serverRetryTimeout(RETRY_MS).healthCheckInterval(INTERVAL_MS)
        .autoEjectRemap(false);
    ProxyFixture walnut = ProxyFixture.start(pool.build(), 2);
    try (Jedis jedis = new Jedis("127.0.0.1", walnut.port(), 30_000)) {
      List<String> candidates = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        candidates.add(i + ":rk");
      }
      Map<String, Integer> placement = KeyPlacement.of(KvDialect.REDIS,
          new InetSocketAddress("127.0.0.1", walnut.port()), backends, candidates);
      String key = KeyPlacement.on(placement, candidates, 1).get(0);
      String name = walnut.pool.servers().stream() // sorted by name: find backend 1's
          .filter(sc -> sc.endpoint().port() == backends.get(1).port()).findFirst().orElseThrow()
          .name();
      String ejected = "ERR server '" + name + "' is ejected: ";

      backends.get(1).kill();
      Poll.until(Duration.ofSeconds(10), () -> error(jedis, key).startsWith(ejected),
          "the dead server is ejected");
      long ejects = ejects(walnut);

      walnut.proxy.reload(ProxyConfig.of(pool.timeout(301).build()));
      for (int i = 0; i < 20; i++) {
        String reply = error(jedis, key);
        assertTrue(reply.startsWith(ejected), "after the reload: " + reply);
      }
      assertEquals(ejects, ejects(walnut), "nothing reached the dead server to eject it again");

      backends.get(1).restart();
      long restarted = System.nanoTime();
      Poll.until(Duration.ofSeconds(10), () -> "OK".equals(set(jedis, key)),
          "the restarted server returns");
      long returnedMs = (System.nanoTime() - restarted) / 1_000_000;
      assertTrue(returnedMs < RETRY_MS + INTERVAL_MS + 400,
          "returned " + returnedMs + " ms after the restart");
      assertEquals("v", jedis.get(key));
    } finally {
      ProxyFixture.closeAll(walnut, backends);
    }
  }

  private static long ejects(ProxyFixture walnut) {
    return walnut.proxy.stats().pools().get(0).counters()
        .get(PoolStat.SERVER_EJECTS);
  }

  /** The error a GET of {@code key} gets, or "" when it gets a value. */
  private static String error(Jedis jedis, String key) {
    try {
      jedis.get(key);
      return "";
    } catch (JedisDataException e) {
      return e.getMessage();
    }
  }

  private static String set(Jedis jedis, String key) {
    try {
      return jedis.set(key, "v");
    } catch (JedisDataException e) {
      return e.getMessage();
    }
  }
}
