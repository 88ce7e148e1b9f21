package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lettuce.core.RedisClient;
import io.lettuce.core.ScoredValue;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.RedisProtocol;
import redis.clients.jedis.exceptions.JedisDataException;
import walnut.core.proxy.EngineOptions;
import walnut.core.stats.ServerStat;
import walnut.testing.RedisServer;
import walnut.testing.SingleTransport;

/**
 * RESP3 end to end (issue 19) with Java clients: Lettuce at its default settings negotiates RESP3
 * through Walnut, Jedis with RESP3 selected too, their requests reach the servers on RESP3
 * connections (the servers' CLIENT LIST says resp=3), and RESP2 and RESP3 clients interleaved on one
 * event loop each get their own protocol's replies. With {@code resp3: false}, HELLO 3 is refused
 * and Lettuce falls back to RESP2. The protocol is not an I/O path: one transport.
 */
@SingleTransport
class Resp3IT {

  private static final List<RedisServer> backends = new ArrayList<>();

  @BeforeAll
  static void start() {
    backends.addAll(ProxyFixture.redisServers(3));
  }

  @AfterAll
  static void stop() throws Exception {
    ProxyFixture.closeAll(null, backends);
  }

  @Test
  void lettuceAtItsDefaultsSpeaksResp3ThroughWalnut() throws Exception {
    try (ProxyFixture walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).build(), 2)) {
      RedisClient client = RedisClient.create("redis://127.0.0.1:" + walnut.port());
      try (StatefulRedisConnection<String, String> connection = client.connect()) {
        RedisCommands<String, String> redis = connection.sync();
        assertEquals("OK", redis.set("l3:s", "v"));
        assertEquals(2L, redis.hset("l3:h", Map.of("a", "1", "b", "2")));
        assertEquals(Map.of("a", "1", "b", "2"), redis.hgetall("l3:h"));
        redis.zadd("l3:z", 1.5, "x");
        redis.zadd("l3:z", 2.25, "y");
        assertEquals(List.of(ScoredValue.just(1.5, "x"), ScoredValue.just(2.25, "y")),
            redis.zrangeWithScores("l3:z", 0, -1));
        assertEquals(List.of("v", "(none)"), redis.mget("l3:s", "l3:missing").stream()
            .map(kv -> kv.getValueOrElse("(none)")).toList());
        assertEquals(3L, redis.incrby("l3:n", 3));
        assertResp3ClientOnEveryServerWithKeys();
      } finally {
        client.shutdown(0, 2, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void jedisWithResp3SelectedGetsResp3Shapes() throws Exception {
    try (ProxyFixture walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).build(), 1);
        Jedis jedis = new Jedis("127.0.0.1", walnut.port(),
            DefaultJedisClientConfig.builder().protocol(RedisProtocol.RESP3).build())) {
      Object hello = jedis.sendCommand(redis.clients.jedis.Protocol.Command.HELLO);
      assertInstanceOf(List.class, hello); // a RESP3 map, as Jedis gives it raw
      assertEquals("OK", jedis.set("j3:s", "v"));
      jedis.hset("j3:h", Map.of("a", "1"));
      assertEquals(Map.of("a", "1"), jedis.hgetAll("j3:h"));
      assertEquals(Arrays.asList("v", null), jedis.mget("j3:s", "j3:missing"));
      assertEquals(1.5, jedis.zincrby("j3:z", 1.5, "m"));
    }
  }

  @Test
  void resp2AndResp3ClientsOnOneLoopEachGetTheirOwnReplies() throws Exception {
    try (ProxyFixture walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).build(),
        EngineOptions.threads(1))) {
      try (Jedis setup = new Jedis("127.0.0.1", walnut.port())) {
        for (int k = 0; k < 20; k++) {
          setup.hset("mix:h" + k, Map.of("f", "v" + k));
          setup.set("mix:s" + k, "s" + k);
        }
      }
      ExecutorService pool = Executors.newFixedThreadPool(8);
      try {
        List<Future<Integer>> done = new ArrayList<>();
        for (int c = 0; c < 8; c++) {
          boolean three = c % 2 == 0;
          done.add(pool.submit(() -> exercise(walnut.port(), three)));
        }
        int checked = 0;
        for (Future<Integer> f : done) {
          checked += f.get(60, TimeUnit.SECONDS);
        }
        assertEquals(8 * 50 * 20 * 2, checked, "every reply checked, none misdelivered");
      } finally {
        pool.shutdownNow();
      }
    }
  }

  /** Pipelined HGETALL and MGET, whose replies' shapes differ between RESP2 and RESP3. */
  private static int exercise(int port, boolean resp3) {
    int checked = 0;
    try (Jedis jedis = new Jedis("127.0.0.1", port, DefaultJedisClientConfig.builder()
        .protocol(resp3 ? RedisProtocol.RESP3 : RedisProtocol.RESP2).build())) {
      for (int round = 0; round < 50; round++) {
        Pipeline p = jedis.pipelined();
        List<redis.clients.jedis.Response<Map<String, String>>> hashes = new ArrayList<>();
        List<redis.clients.jedis.Response<List<String>>> mgets = new ArrayList<>();
        for (int k = 0; k < 20; k++) {
          hashes.add(p.hgetAll("mix:h" + k));
          mgets.add(p.mget("mix:s" + k, "mix:none" + k, "mix:s" + ((k + 1) % 20)));
        }
        p.sync();
        for (int k = 0; k < 20; k++) {
          assertEquals(Map.of("f", "v" + k), hashes.get(k).get());
          assertEquals(Arrays.asList("s" + k, null, "s" + ((k + 1) % 20)), mgets.get(k).get());
          checked += 2;
        }
      }
    }
    return checked;
  }

  @Test
  void withResp3FalseHello3IsRefusedAndLettuceFallsBackToResp2() throws Exception {
    try (ProxyFixture walnut = ProxyFixture.start(
        ProxyFixture.redisPool(backends).resp3(false).build(), 1)) {
      try (Jedis jedis = new Jedis("127.0.0.1", walnut.port())) {
        JedisDataException refused = assertThrows(JedisDataException.class,
            () -> jedis.sendCommand(redis.clients.jedis.Protocol.Command.HELLO, "3"));
        assertTrue(refused.getMessage().startsWith("NOPROTO"), refused.getMessage());
      }
      RedisClient client = RedisClient.create("redis://127.0.0.1:" + walnut.port());
      try (StatefulRedisConnection<String, String> connection = client.connect()) {
        RedisCommands<String, String> redis = connection.sync();
        assertEquals("OK", redis.set("l2:s", "v"));
        redis.hset("l2:h", Map.of("a", "1"));
        assertEquals(Map.of("a", "1"), redis.hgetall("l2:h"));
      } finally {
        client.shutdown(0, 2, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void aServerWithoutResp3MakesWalnutRefuseHello3FromThenOn() throws Exception {
    // HELLO renamed away: the server answers it as Redis 5 did, with an unknown-command error.
    try (RedisServer old = RedisServer.start("--rename-command", "HELLO", "");
        ProxyFixture walnut = ProxyFixture.start(
            ProxyFixture.redisPool(List.of(old)).build(), 1)) {
      try (Jedis first = new Jedis("127.0.0.1", walnut.port(),
          DefaultJedisClientConfig.builder().protocol(RedisProtocol.RESP3).build())) {
        // Walnut answered its HELLO 3 before it knew; its request meets the refusal.
        JedisDataException refused = assertThrows(JedisDataException.class,
            () -> first.get("k"));
        assertEquals("ERR Protocol not supported", refused.getMessage());
      }
      try (Jedis jedis = new Jedis("127.0.0.1", walnut.port())) {
        JedisDataException noproto = assertThrows(JedisDataException.class,
            () -> jedis.sendCommand(redis.clients.jedis.Protocol.Command.HELLO, "3"));
        assertTrue(noproto.getMessage().startsWith("NOPROTO"), noproto.getMessage());
        assertEquals("OK", jedis.set("k", "v"), "RESP2 is served as before");
      }
      RedisClient client = RedisClient.create("redis://127.0.0.1:" + walnut.port());
      try (StatefulRedisConnection<String, String> connection = client.connect()) {
        assertEquals("v", connection.sync().get("k"), "Lettuce falls back to RESP2");
      } finally {
        client.shutdown(0, 2, TimeUnit.SECONDS);
      }
      assertEquals(0, walnut.serverStat(ServerStat.SERVER_ERR));
    }
  }

  /** Each backend that holds keys of the test served them to a RESP3 connection of Walnut's. */
  private static void assertResp3ClientOnEveryServerWithKeys() {
    for (RedisServer backend : backends) {
      String clients = String.valueOf(backend.command("CLIENT", "LIST"));
      if (clients.contains("cmd=set") || clients.contains("cmd=hset")
          || clients.contains("cmd=zadd")) {
        assertTrue(clients.contains("resp=3"), clients);
      }
    }
    assertTrue(backends.stream().anyMatch(
        b -> String.valueOf(b.command("CLIENT", "LIST")).contains("resp=3")));
  }
}
