package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.server.RedisCommandTableIT.bytes;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import redis.clients.jedis.Jedis;
import walnut.core.stats.PoolStat;
import walnut.testing.Poll;
import walnut.testing.RedisServer;

/**
 * MGET, DEL, UNLINK, TOUCH, EXISTS and MSET with a thousand keys spread over three redis-servers,
 * missing and duplicate keys among them: every reply is byte for byte what one redis-server holding
 * the same data answers (docs/compatibility.md#fragmented-commands). The {@code fragments} stat
 * counts the sub-requests. With one backend down or stopped, the whole request gets one error reply
 * with twemproxy's text (docs/compatibility.md#server-side-failures) and the connection goes on.
 */
class RedisMultiKeyIT {

  private static final int KEYS = 1_000;
  /** What a client may read when a backend was killed, depending on when Walnut notices. */
  private static final Set<String> DOWN_ERRORS = Set.of("-ERR Connection refused\r\n",
      "-ERR Connection reset by peer\r\n", "-ERR unknown\r\n", "-ERR Broken pipe\r\n");

  private static final List<RedisServer> backends = new ArrayList<>();
  private static RedisServer direct;
  private static ProxyFixture walnut;

  @BeforeAll
  static void start() throws Exception {
    backends.addAll(ProxyFixture.redisServers(3));
    direct = RedisServer.start();
    walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).hashTag("{}").build(), 2);
  }

  @AfterAll
  static void stop() throws Exception {
    List<RedisServer> servers = new ArrayList<>(backends);
    if (direct != null) {
      servers.add(direct);
    }
    ProxyFixture.closeAll(walnut, servers);
  }

  /**
   * Key {@code i} of {@code name}, the number first: twemproxy's fnv1a_64 (32-bit FNV-1a with a
   * truncated prime, docs/compatibility.md#fnv1a_64) barely moves keys that differ only in their
   * last bytes, so
   * {@code name:0} … {@code name:9} would all land on one server and a thousand such keys on a
   * dozen spots of the ring, sometimes missing a server altogether.
   */
  static String key(String name, int i) {
    return i + ":" + name;
  }

  /**
   * The thousand keys of {@code name}, only the even ones set, in a shuffled order with a hundred
   * duplicates mixed in: what a client asks for.
   */
  private static List<String> keys(String name, Random random) {
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < KEYS; i++) {
      keys.add(key(name, i));
    }
    Collections.shuffle(keys, random);
    for (int i = 0; i < 100; i++) {
      keys.add(random.nextInt(keys.size()), keys.get(random.nextInt(KEYS)));
    }
    return keys;
  }

  /** Sets the even keys of {@code name} (with values of varied sizes) through both. */
  private static void fill(String name, WireClient proxied, WireClient straight) throws Exception {
    List<byte[]> mset = new ArrayList<>();
    mset.add(bytes("MSET"));
    for (int i = 0; i < KEYS; i += 2) {
      mset.add(bytes(key(name, i)));
      mset.add(bytes("value-" + i + "-" + "x".repeat(i % 37)));
    }
    assertEquals("+OK\r\n", proxied.call(mset).raw());
    assertEquals("+OK\r\n", straight.call(mset).raw());
  }

  private static List<byte[]> command(String name, List<String> keys) {
    List<byte[]> args = new ArrayList<>();
    args.add(bytes(name));
    keys.forEach(k -> args.add(bytes(k)));
    return args;
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"MGET", "EXISTS", "TOUCH", "DEL", "UNLINK"})
  void aThousandKeysWithMissingAndDuplicateKeysGetWhatOneRedisAnswers(String name)
      throws Exception {
    Random random = new Random(name.hashCode());
    String prefix = "mk-" + name.toLowerCase();
    List<String> keys = keys(prefix, random);
    try (WireClient proxied = WireClient.openResp2(walnut.port());
        WireClient straight = WireClient.openResp2(direct.port())) {
      fill(prefix, proxied, straight);
      for (RedisServer backend : backends) {
        assertTrue(holds(backend, keys) > 0, backend + " holds some of the keys");
      }
      long before = fragments();
      String expected = straight.call(command(name, keys)).raw();
      assertEquals(expected, proxied.call(command(name, keys)).raw());
      // One sub-request per server: the thousand keys reach all three.
      assertEquals(before + 3, fragments());
      // Afterwards the data agree too (DEL and UNLINK removed the same keys).
      List<String> all = new ArrayList<>();
      for (int i = 0; i < KEYS; i++) {
        all.add(key(prefix, i));
      }
      assertEquals(straight.call(command("MGET", all)).raw(),
          proxied.call(command("MGET", all)).raw());
    }
  }

  @Test
  void msetWithDuplicateKeysKeepsTheLastValueAsRedisDoes() throws Exception {
    Random random = new Random(7);
    List<byte[]> mset = new ArrayList<>();
    mset.add(bytes("MSET"));
    List<String> all = new ArrayList<>();
    for (int i = 0; i < KEYS; i++) {
      all.add(key("mset", i));
    }
    for (int i = 0; i < KEYS + 200; i++) {
      // A fifth of the pairs repeat an earlier key with a new value: the last one must win.
      String key = i < KEYS ? all.get(i) : all.get(random.nextInt(KEYS));
      mset.add(bytes(key));
      mset.add(bytes("v" + i));
    }
    try (WireClient proxied = WireClient.openResp2(walnut.port());
        WireClient straight = WireClient.openResp2(direct.port())) {
      long before = fragments();
      assertEquals("+OK\r\n", straight.call(mset).raw());
      assertEquals("+OK\r\n", proxied.call(mset).raw());
      assertEquals(before + 3, fragments());
      assertEquals(straight.call(command("MGET", all)).raw(),
          proxied.call(command("MGET", all)).raw());
    }
  }

  @Test
  void jedisMgetOfAThousandKeysMatchesRedis() {
    List<String> keys = keys("jedis-mk", new Random(3));
    try (Jedis proxied = new Jedis("127.0.0.1", walnut.port());
        Jedis straight = new Jedis("127.0.0.1", direct.port())) {
      for (int i = 0; i < KEYS; i += 3) {
        proxied.set(key("jedis-mk", i), "v" + i);
        straight.set(key("jedis-mk", i), "v" + i);
      }
      String[] asked = keys.toArray(new String[0]);
      assertEquals(straight.mget(asked), proxied.mget(asked));
      assertEquals(straight.exists(asked), proxied.exists(asked));
      assertEquals(straight.del(asked), proxied.del(asked));
      assertEquals(straight.mget(asked), proxied.mget(asked));
    }
  }

  @Test
  void aPipelineMixingSplitAndSingleKeyRequestsGetsRedisRepliesInOrder() throws Exception {
    Random random = new Random(5);
    List<List<byte[]>> pipeline = new ArrayList<>();
    for (int i = 0; i < 2_000; i++) {
      String name = List.of("SET", "GET", "MGET", "DEL", "EXISTS", "MSET", "INCR", "TOUCH",
          "UNLINK").get(random.nextInt(9));
      List<byte[]> command = new ArrayList<>();
      command.add(bytes(name));
      int keys = name.equals("SET") || name.equals("GET") || name.equals("INCR") ? 1
          : 1 + random.nextInt(8);
      for (int k = 0; k < keys; k++) {
        command.add(bytes(key("mix", random.nextInt(60))));
        if (name.equals("SET") || name.equals("MSET")) {
          // Binary values, CR and LF included, sometimes large.
          byte[] value = new byte[random.nextInt(10) == 0 ? 20_000 : random.nextInt(20)];
          random.nextBytes(value);
          command.add(value);
        }
      }
      pipeline.add(command);
    }
    try (WireClient proxied = WireClient.openResp2(walnut.port());
        WireClient straight = WireClient.openResp2(direct.port())) {
      // Written from other threads while this one reads, so neither side waits on the other.
      CompletableFuture<Void> writers = CompletableFuture.allOf(
          CompletableFuture.runAsync(() -> sendAll(proxied, pipeline)),
          CompletableFuture.runAsync(() -> sendAll(straight, pipeline)));
      for (int i = 0; i < pipeline.size(); i++) {
        assertEquals(straight.read().raw(), proxied.read().raw(), "reply " + i);
      }
      writers.get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void fragmentsCountsSubRequestsNotSingleKeyForms() throws Exception {
    try (WireClient client = WireClient.openResp2(walnut.port())) {
      long before = fragments();
      // One key: forwarded unchanged, no fragment (docs/compatibility.md#fragmented-commands).
      assertEquals("*1\r\n$-1\r\n", client.call("MGET", "frag:a").raw());
      assertEquals(":0\r\n", client.call("DEL", "frag:a").raw());
      assertEquals(before, fragments());
      // Keys on one server (one hash tag): still rewritten into one sub-request.
      assertEquals("*2\r\n$-1\r\n$-1\r\n", client.call("MGET", "{f}a", "{f}b").raw());
      assertEquals(before + 1, fragments());
      assertEquals("+OK\r\n", client.call("MSET", "{f}a", "1", "{f}b", "2").raw());
      assertEquals(before + 2, fragments());
    }
  }

  @Test
  void aKilledBackendGivesOneErrorForTheWholeRequestAndTheConnectionGoesOn() throws Exception {
    List<RedisServer> own = startThree();
    try (ProxyFixture proxy = ProxyFixture.start(ProxyFixture.redisPool(own).build(), 1);
        WireClient client = WireClient.openResp2(proxy.port())) {
      List<String> keys = keys("down", new Random(11));
      List<byte[]> mset = new ArrayList<>();
      mset.add(bytes("MSET"));
      keys.forEach(k -> {
        mset.add(bytes(k));
        mset.add(bytes("v"));
      });
      assertEquals("+OK\r\n", client.call(mset).raw());
      RedisServer victim = own.get(1);
      assertTrue(holds(victim, keys) > 0, "the victim holds some of the keys");
      String liveKey = keyOn(own.get(0), keys);
      victim.kill();
      // However soon Walnut notices, each request gets exactly one error reply, and the replies
      // stay in step: each command is followed by a PING whose +PONG must come right after.
      for (String name : List.of("MGET", "EXISTS", "TOUCH", "DEL", "UNLINK")) {
        client.send(command(name, keys));
        client.send(List.of(bytes("PING")));
        client.flush();
        String error = client.read().raw();
        assertTrue(DOWN_ERRORS.contains(error), name + " answered " + error);
        assertEquals("+PONG\r\n", client.read().raw());
      }
      client.send(mset);
      client.send(List.of(bytes("PING")));
      client.flush();
      String error = client.read().raw();
      assertTrue(DOWN_ERRORS.contains(error), "MSET answered " + error);
      assertEquals("+PONG\r\n", client.read().raw());
      // Once the connection's loss is noticed, a new connect is refused: twemproxy's text.
      Poll.until(Duration.ofSeconds(10), () -> call(client, command("MGET", keys))
          .equals("-ERR Connection refused\r\n"), "MGET answered Connection refused");
      // Keys on live servers still work on the same connection (the failed DEL removed this one
      // from its live server: a split request is not atomic, in Redis Cluster either).
      assertEquals("+OK\r\n", client.call("SET", liveKey, "again").raw());
      assertEquals("$5\r\nagain\r\n", client.call("GET", liveKey).raw());
      assertEquals("+PONG\r\n", client.call("PING").raw());
      assertFalse(victim.isRunning());
    } finally {
      own.forEach(RedisServer::close);
    }
  }

  @Test
  void aStoppedBackendTimesOutTheWholeRequestWithOneErrorAndTheConnectionGoesOn()
      throws Exception {
    List<RedisServer> own = startThree();
    try (ProxyFixture proxy = ProxyFixture.start(
        ProxyFixture.redisPool(own).timeout(300).build(), 1);
        WireClient client = WireClient.openResp2(proxy.port())) {
      List<String> keys = keys("paused", new Random(12));
      List<byte[]> mset = new ArrayList<>();
      mset.add(bytes("MSET"));
      keys.forEach(k -> {
        mset.add(bytes(k));
        mset.add(bytes("v"));
      });
      assertEquals("+OK\r\n", client.call(mset).raw());
      RedisServer victim = own.get(2);
      assertTrue(holds(victim, keys) > 0, "the victim holds some of the keys");
      victim.pause();
      try {
        // Read-only commands: requests already sent to the stopped server run when it resumes.
        for (String name : List.of("MGET", "EXISTS", "TOUCH")) {
          client.send(command(name, keys));
          client.send(List.of(bytes("PING")));
          client.flush();
          assertEquals("-ERR Connection timed out\r\n", client.read().raw(), name);
          assertEquals("+PONG\r\n", client.read().raw());
        }
      } finally {
        victim.resume();
      }
      // Back again: the whole request succeeds on the same client connection.
      Poll.until(Duration.ofSeconds(10), () -> call(client, command("EXISTS", keys))
          .startsWith(":"), "EXISTS answered once the backend is back");
      assertEquals("+OK\r\n", client.call(mset).raw());
      assertEquals(":" + keys.size() + "\r\n", client.call(command("EXISTS", keys)).raw());
    } finally {
      own.forEach(RedisServer::close);
    }
  }

  private static void sendAll(WireClient client, List<List<byte[]>> commands) {
    try {
      for (List<byte[]> command : commands) {
        client.send(command);
      }
      client.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static List<RedisServer> startThree() {
    List<RedisServer> own = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        own.add(RedisServer.start());
      }
      return own;
    } catch (RuntimeException e) {
      own.forEach(RedisServer::close);
      throw e;
    }
  }

  /** How many of {@code keys} {@code backend} holds, asked directly. */
  private static long holds(RedisServer backend, List<String> keys) throws IOException {
    try (WireClient client = WireClient.openResp2(backend.port())) {
      return (Long) client.call(command("EXISTS", keys)).value();
    }
  }

  /** One of {@code keys} that {@code backend} holds. */
  private static String keyOn(RedisServer backend, List<String> keys) {
    for (String key : keys) {
      if (Long.valueOf(1).equals(backend.command("EXISTS", key))) {
        return key;
      }
    }
    throw new AssertionError(backend + " holds none of the keys");
  }

  private static String call(WireClient client, List<byte[]> command) {
    try {
      return client.call(command).raw();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static long fragments() {
    LongSupplier read = () -> walnut.proxy.stats().pools().get(0).counters()
        .get(PoolStat.FRAGMENTS);
    return read.getAsLong();
  }
}
