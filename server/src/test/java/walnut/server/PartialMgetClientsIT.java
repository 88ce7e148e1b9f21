package walnut.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.api.StatefulRedisConnection;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;
import walnut.testing.KeyPlacement;
import walnut.testing.KvDialect;
import walnut.testing.RedisServer;
import walnut.testing.SingleTransport;

/**
 * What the client libraries do with an MGET answered in part ({@code mget_partial_errors}), as the
 * README's table says: one of three servers is down, so the middle key of an MGET over the three
 * gets {@code -ERR Connection refused} in its place. redis-py gives the values with a
 * {@code ResponseError} in place, and node-redis with a {@code SimpleError}, in RESP2 and RESP3;
 * Jedis's {@code byte[]} MGET gives them with a
 * {@code JedisDataException}, while its {@code String} MGET throws; Lettuce throws. Every
 * connection stays usable. A library that changes its mind fails here, and the table with it.
 */
@SingleTransport
@Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PartialMgetClientsIT {

  private static final String REFUSED = "Connection refused";

  private static final List<RedisServer> backends = new ArrayList<>();
  private static ProxyFixture walnut;
  /** One key per server, in server order; the middle one's server is down. */
  private static final List<String> keys = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    Resp3ClientLibrariesIT.installClients();
    backends.addAll(ProxyFixture.redisServers(3));
    walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).mgetPartialErrors(true)
        .build(), 2);
    List<String> candidates = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      candidates.add(i + ":pc"); // the varying part first: fnv1a_64 bunches common prefixes
    }
    Map<String, Integer> placement = KeyPlacement.of(KvDialect.REDIS,
        new InetSocketAddress("127.0.0.1", walnut.port()), backends, candidates);
    for (int s = 0; s < backends.size(); s++) {
      String key = KeyPlacement.on(placement, candidates, s).get(0);
      keys.add(key);
      backends.get(s).command("SET", key, "v-" + key);
    }
    backends.get(1).kill();
  }

  @AfterAll
  static void stop() throws Exception {
    ProxyFixture.closeAll(walnut, backends);
  }

  @Test
  void jedisBytesMgetGivesTheValuesAndAnExceptionInPlaceAndItsStringMgetThrows() {
    try (Jedis jedis = new Jedis("127.0.0.1", walnut.port(), 30_000)) {
      List<?> reply = jedis.mget(bytes(keys.get(0)), bytes(keys.get(1)), bytes(keys.get(2)));
      assertEquals(3, reply.size());
      assertArrayEquals(bytes("v-" + keys.get(0)), (byte[]) reply.get(0));
      JedisDataException error = assertInstanceOf(JedisDataException.class, reply.get(1));
      assertEquals("ERR " + REFUSED, error.getMessage());
      assertArrayEquals(bytes("v-" + keys.get(2)), (byte[]) reply.get(2));
      assertThrows(ClassCastException.class, () -> jedis.mget(keys.toArray(String[]::new)));
      assertEquals("PONG", jedis.ping());
      assertEquals("v-" + keys.get(2), jedis.get(keys.get(2)));
    }
  }

  @Test
  void lettuceMgetThrowsTheErrorAndTheConnectionGoesOn() {
    RedisClient client = RedisClient.create("redis://127.0.0.1:" + walnut.port());
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      RedisCommandExecutionException e = assertThrows(RedisCommandExecutionException.class,
          () -> connection.sync().mget(keys.toArray(String[]::new)));
      assertEquals("ERR " + REFUSED, e.getMessage());
      assertEquals("PONG", connection.sync().ping());
      assertEquals("v-" + keys.get(0), connection.sync().get(keys.get(0)));
    } finally {
      client.shutdown();
    }
  }

  @Test
  void redisPyMgetGivesTheValuesAndAResponseErrorInPlaceInBothProtocols() throws Exception {
    Path script = Resp3ClientLibrariesIT.copyScript("redis_py_partial.py",
        Resp3ClientLibrariesIT.CLIENTS);
    List<String> command = new ArrayList<>(List.of(Resp3ClientLibrariesIT.PYTHON.toString(),
        script.toString(), Integer.toString(walnut.port())));
    command.addAll(keys);
    String out = Resp3ClientLibrariesIT.run(command, Resp3ClientLibrariesIT.CLIENTS);
    for (int protocol : new int[] {2, 3}) {
      String expected = "{\"protocol\": " + protocol + ", \"mget\": [[\"bytes\", \"v-"
          + keys.get(0) + "\"], [\"ResponseError\", \"" + REFUSED + "\"], [\"bytes\", \"v-"
          + keys.get(2) + "\"]], \"ping\": true}";
      assertTrue(out.contains(expected), "expected " + expected + " in\n" + out);
    }
  }

  @Test
  void nodeRedisMgetGivesTheValuesAndAnErrorInPlaceInBothProtocols() throws Exception {
    Path script = Resp3ClientLibrariesIT.copyScript("node_redis_partial.mjs",
        Resp3ClientLibrariesIT.NODE);
    List<String> command = new ArrayList<>(List.of("node", script.toString(),
        Integer.toString(walnut.port())));
    command.addAll(keys);
    String out = Resp3ClientLibrariesIT.run(command, Resp3ClientLibrariesIT.NODE);
    for (int resp : new int[] {2, 3}) {
      String expected = "{\"RESP\":" + resp + ",\"mget\":[[\"string\",\"v-" + keys.get(0)
          + "\"],[\"SimpleError\",\"ERR " + REFUSED + "\"],[\"string\",\"v-" + keys.get(2)
          + "\"]],\"ping\":\"PONG\"}";
      assertTrue(out.contains(expected), "expected " + expected + " in\n" + out);
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
