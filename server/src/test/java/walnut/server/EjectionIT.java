package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;
import walnut.core.config.Endpoint;
import walnut.core.config.ServerConfig;
import walnut.core.stats.PoolStat;
import walnut.testing.FreePorts;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.SingleTransport;

/**
 * {@code auto_eject_hosts} as twemproxy 0.5.0 does it (docs/compatibility.md#ejection), checked
 * against its verified sequence with {@code server_failure_limit: 2}: refused, refused, then served
 * by the server the ring moves the key to; after {@code server_retry_timeout}, the dead server is
 * tried again, twice, before the next ejection. Walnut's connect back-off must not change this
 * count.
 */
// Kept on nio only, as the file-name globs had it; it proxies through ProxyFixture, so it could
// run on every transport, at the cost of build time.
@SingleTransport
class EjectionIT {

  private static final int RETRY_MS = 1_000;

  @Test
  void aDeadServerIsEjectedAfterTheFailureLimitAndTriedAgainAfterTheRetryTimeout()
      throws Exception {
    try (RedisServer live = RedisServer.start()) {
      int deadPort = FreePorts.next(); // nothing listens there: connections are refused
      var pool = ProxyFixture.redisPool(List.of(live))
          .servers(List.of(new ServerConfig("live", Endpoint.tcp("127.0.0.1", live.port()), 1),
              new ServerConfig("dead", Endpoint.tcp("127.0.0.1", deadPort), 1)))
          .autoEjectHosts(true).serverFailureLimit(2).serverRetryTimeout(RETRY_MS).build();
      try (ProxyFixture walnut = ProxyFixture.start(pool, 1);
          Jedis jedis = new Jedis("127.0.0.1", walnut.port(), 30_000)) {
        String key = keyOnTheDeadServer(jedis);
        // That was the first failure; the second ejects.
        assertEquals("ERR Connection refused", setError(jedis, key));
        assertEquals(1, walnut.proxy.stats().pools().get(0).counters().get(PoolStat.SERVER_EJECTS));
        long ejectedAt = System.nanoTime();
        assertEquals("OK", jedis.set(key, "moved"));
        assertEquals("moved", live.command("GET", key));
        assertEquals("OK", jedis.set(key, "moved again"));

        Poll.until(Duration.ofSeconds(10),
            () -> System.nanoTime() - ejectedAt > Duration.ofMillis(RETRY_MS + 50).toNanos(),
            "the retry timeout passes");
        List<String> after = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
          try {
            after.add(jedis.set(key, "back"));
          } catch (JedisDataException e) {
            after.add(e.getMessage());
          }
        }
        assertEquals(List.of("ERR Connection refused", "ERR Connection refused", "OK"), after);
        assertEquals(2, walnut.proxy.stats().pools().get(0).counters().get(PoolStat.SERVER_EJECTS));
      }
    }
  }

  /** Finds a key the ring puts on the dead server: its first SET is refused. */
  private static String keyOnTheDeadServer(Jedis jedis) {
    for (int i = 0; i < 1000; i++) {
      String key = "eject:" + i;
      String error = setError(jedis, key);
      if (error != null) {
        assertEquals("ERR Connection refused", error);
        return key;
      }
    }
    throw new AssertionError("no key of 1000 landed on the dead server");
  }

  private static String setError(Jedis jedis, String key) {
    try {
      jedis.set(key, "v");
      return null;
    } catch (JedisDataException e) {
      return e.getMessage();
    }
  }
}
