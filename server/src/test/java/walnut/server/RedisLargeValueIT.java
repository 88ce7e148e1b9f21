package walnut.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.Jedis;
import walnut.testing.RedisServer;

/** A 64 MiB value set and read back through Walnut with Jedis, byte for byte. */
class RedisLargeValueIT {

  private static final int SIZE = 64 << 20;

  private static final List<RedisServer> backends = new ArrayList<>();
  private static ProxyFixture walnut;

  @BeforeAll
  static void start() throws Exception {
    backends.addAll(ProxyFixture.redisServers(3));
    walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).build(), 2);
  }

  @AfterAll
  static void stop() throws Exception {
    ProxyFixture.closeAll(walnut, backends);
  }

  @Test
  void aSixtyFourMebibyteValueIsSetAndReadBackUnchanged() {
    byte[] value = new byte[SIZE];
    // Random bytes: CR, LF and '$' all occur inside the value, so framing by scanning would fail.
    new Random(64).nextBytes(value);
    byte[] key = "large:64mib".getBytes(StandardCharsets.US_ASCII);
    try (Jedis jedis = new Jedis("127.0.0.1", walnut.port(),
        DefaultJedisClientConfig.builder().socketTimeoutMillis(60_000).build())) {
      assertEquals("OK", jedis.set(key, value));
      assertEquals(SIZE, jedis.strlen(key));
      assertArrayEquals(value, jedis.get(key));
      // A small command after it on the same connection is still in step.
      assertEquals("PONG", jedis.ping());
      assertEquals(1, jedis.del(key));
    }
  }
}
