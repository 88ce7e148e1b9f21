package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanIterator;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.protocol.ProtocolVersion;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.RedisProtocol;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.resps.ScanResult;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ProxyConfig;
import walnut.core.config.ServerConfig;
import walnut.core.stats.PoolStat;
import walnut.server.WireClient.Err;
import walnut.testing.FreePorts;
import walnut.testing.KeyPlacement;
import walnut.testing.KvDialect;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.SingleTransport;

/**
 * The commands twemproxy refuses that Walnut runs over the whole pool (docs/compatibility.md#scan,
 * #info, #dbsize, #scripts), against three real redis-servers with keys on all of them, through
 * redis-cli, Jedis, Lettuce and redis-py in RESP2 and RESP3: SCAN walks every server, INFO and
 * DBSIZE answer for the pool (INFO even with servers down), scripts loaded through Walnut survive a
 * server's restart, and an EVAL whose keys are on different servers runs nowhere.
 */
@SingleTransport
@Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PoolWideCommandsIT {

  private static final List<RedisServer> backends = new ArrayList<>();
  private static ProxyFixture walnut;
  /** One key per backend, in backend order (set to "placement"). */
  private static final List<String> perServer = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    Resp3ClientLibrariesIT.installClients();
    backends.addAll(ProxyFixture.redisServers(3));
    walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).hashTag("{}").build(), 2);
    List<String> candidates = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      candidates.add(i + ":ps");
    }
    Map<String, Integer> placement = KeyPlacement.of(KvDialect.REDIS,
        new InetSocketAddress("127.0.0.1", walnut.port()), backends, candidates);
    for (int s = 0; s < backends.size(); s++) {
      perServer.add(KeyPlacement.on(placement, candidates, s).get(0));
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (walnut != null) {
      try (WireClient c = WireClient.openResp2(walnut.port())) {
        c.call("SCRIPT", "FLUSH"); // the registry is per pool name, and ITs share "test"
      } catch (Exception e) {
        // the servers are closed next either way
      }
    }
    ProxyFixture.closeAll(walnut, backends);
  }

  /** Sets {@code n} keys {@code i:<suffix>} through Walnut; asserts every server got some. */
  private static Set<String> fill(String suffix, int n) throws Exception {
    Set<String> keys = new HashSet<>();
    try (WireClient c = WireClient.openResp2(walnut.port())) {
      List<byte[]> mset = new ArrayList<>();
      mset.add(bytes("MSET"));
      for (int i = 0; i < n; i++) {
        String key = i + ":" + suffix;
        keys.add(key);
        mset.add(bytes(key));
        mset.add(bytes("v" + i));
      }
      assertEquals("+OK\r\n", c.call(mset).raw());
    }
    for (RedisServer b : backends) {
      assertFalse(((List<?>) b.command("KEYS", "*:" + suffix)).isEmpty(), b + " holds keys");
    }
    return keys;
  }

  /** A key on backend {@code server}: its placed key as the hash tag, then {@code suffix}. */
  private static String onServer(int server, String suffix) {
    return "{" + perServer.get(server) + "}" + suffix;
  }

  private static Set<String> jedisScan(Jedis jedis, String pattern, int count) {
    Set<String> seen = new HashSet<>();
    String cursor = ScanParams.SCAN_POINTER_START;
    int steps = 0;
    do {
      ScanResult<String> r = jedis.scan(cursor, new ScanParams().match(pattern).count(count));
      seen.addAll(r.getResult());
      cursor = r.getCursor();
      assertTrue(++steps < 10_000, "the scan ends");
    } while (!cursor.equals("0"));
    return seen;
  }

  @Test
  void scanWithMatchAndCountReturnsEveryKeyOfEveryServerThroughJedisLettuceAndRedisCli()
      throws Exception {
    Set<String> keys = fill("scan", 600);
    try (Jedis resp2 = new Jedis("127.0.0.1", walnut.port());
        Jedis resp3 = new Jedis(new HostAndPort("127.0.0.1", walnut.port()),
            DefaultJedisClientConfig.builder().protocol(RedisProtocol.RESP3).build())) {
      assertEquals(keys, jedisScan(resp2, "*:scan", 50));
      assertEquals(keys, jedisScan(resp3, "*:scan", 7));
    }
    for (ProtocolVersion version : ProtocolVersion.values()) {
      RedisClient client = RedisClient.create("redis://127.0.0.1:" + walnut.port());
      client.setOptions(ClientOptions.builder().protocolVersion(version).build());
      try (StatefulRedisConnection<String, String> connection = client.connect()) {
        Set<String> seen = new HashSet<>();
        ScanIterator.scan(connection.sync(), ScanArgs.Builder.matches("*:scan").limit(40))
            .forEachRemaining(seen::add);
        assertEquals(keys, seen, version.toString());
      } finally {
        client.shutdown();
      }
    }
    for (String protocol : new String[] {"-2", "-3"}) {
      String out = Resp3ClientLibrariesIT.run(List.of("redis-cli", protocol, "-p",
          Integer.toString(walnut.port()), "--scan", "--pattern", "*:scan"),
          Resp3ClientLibrariesIT.CLIENTS);
      assertEquals(keys, new HashSet<>(List.of(out.split("\n"))), "redis-cli " + protocol);
    }
  }

  @Test
  void scanPassesTypeOnAndRefusesBadCursorsAsRedisDoes() throws Exception {
    fill("typed", 30);
    try (WireClient c = WireClient.openResp2(walnut.port())) {
      for (int i = 0; i < 3; i++) {
        assertEquals(":1\r\n", c.call("RPUSH", onServer(i, ":list"), "x").raw());
      }
      Set<String> lists = new HashSet<>();
      String cursor = "0";
      do {
        List<?> reply = (List<?>) c.call("SCAN", cursor, "TYPE", "list", "COUNT", "100").value();
        cursor = (String) reply.get(0);
        for (Object k : (List<?>) reply.get(1)) {
          lists.add((String) k);
        }
      } while (!cursor.equals("0"));
      assertEquals(Set.of(onServer(0, ":list"), onServer(1, ":list"),
          onServer(2, ":list")), lists);
      for (String bad : new String[] {"abc", "-1", "3", "9223372036854775808", "1027"}) {
        assertEquals("-ERR invalid cursor\r\n", c.call("SCAN", bad).raw(), bad);
      }
      assertEquals("-ERR syntax error\r\n", c.call("SCAN", "0", "COUNT", "0").raw());
      assertEquals("PONG", c.call("PING").value());
    }
  }

  /**
   * Redis's guarantee, across servers: a key present for the whole scan is returned at least
   * once, while keys are added and removed between steps.
   */
  @Test
  void everyKeyPresentThroughoutIsReturnedWhileOthersComeAndGo() throws Exception {
    Set<String> stable = fill("live", 300);
    try (WireClient c = WireClient.openResp2(walnut.port())) {
      for (int i = 0; i < 150; i++) {
        c.call("SET", i + ":doomed:live", "x");
      }
      Set<String> seen = new HashSet<>();
      String cursor = "0";
      int step = 0;
      do {
        List<?> reply = (List<?>) c.call("SCAN", cursor, "MATCH", "*:live", "COUNT", "10")
            .value();
        cursor = (String) reply.get(0);
        for (Object k : (List<?>) reply.get(1)) {
          seen.add((String) k);
        }
        c.call("SET", step + ":new:live", "x");
        if (step < 150) {
          c.call("DEL", step + ":doomed:live");
        }
        step++;
      } while (!cursor.equals("0"));
      assertTrue(step > 10, "several steps: " + step);
      Set<String> missing = new HashSet<>(stable);
      missing.removeAll(seen);
      assertEquals(Set.of(), missing, "keys present throughout that the scan missed");
    }
  }

  @Test
  void redisPyScanIterInfoDbsizeAndScriptsWorkInBothProtocols() throws Exception {
    Set<String> keys = fill("py", 200);
    try (WireClient c = WireClient.openResp2(walnut.port())) {
      for (String key : perServer) { // again: a restart in another test may have emptied one
        assertEquals("+OK\r\n", c.call("SET", key, KeyPlacement.VALUE).raw());
      }
    }
    Path script = Resp3ClientLibrariesIT.copyScript("redis_py_pool_wide.py",
        Resp3ClientLibrariesIT.CLIENTS);
    List<String> command = new ArrayList<>(List.of(Resp3ClientLibrariesIT.PYTHON.toString(),
        script.toString(), Integer.toString(walnut.port()), "*:py"));
    command.addAll(perServer);
    long dbsize = dbsizeOfBackends();
    String out = Resp3ClientLibrariesIT.run(command, Resp3ClientLibrariesIT.CLIENTS);
    String sorted = String.join("\", \"", keys.stream().sorted().toList());
    for (int protocol : new int[] {2, 3}) {
      String expected = "{\"protocol\": " + protocol + ", \"scan\": [\"" + sorted + "\"], "
          + "\"redis_version\": \"7.0.15\", \"redis_mode\": \"proxy\", \"servers_up\": 3, "
          + "\"dbsize\": " + dbsize + ", \"script\": [\"placement\", \"placement\", "
          + "\"placement\"]}";
      assertTrue(out.contains(expected), "expected " + expected + " in\n" + out);
    }
  }

  private static long dbsizeOfBackends() {
    long sum = 0;
    for (RedisServer b : backends) {
      sum += (Long) b.command("DBSIZE");
    }
    return sum;
  }

  @Test
  void infoAndDbsizeAnswerForThePoolInBothProtocols() throws Exception {
    fill("info", 50);
    try (WireClient c = WireClient.openResp2(walnut.port())) {
      String info = c.call("INFO").raw();
      assertTrue(info.startsWith("$") && info.contains("\r\n# Server\r\nredis_version:7.0.15\r\n"
          + "redis_mode:proxy\r\n"), info);
      assertTrue(info.contains("\r\n\r\n# Clients\r\nconnected_clients:"), info);
      assertTrue(info.contains("\r\n\r\n# Walnut\r\nwalnut_version:")
          && info.contains("\r\npool:test\r\nservers:3\r\nservers_up:3\r\nservers_ejected:0\r\n"
          + "server0:name=127.0.0.1:"), info);
      String server = c.call("INFO", "SERVER").raw();
      assertTrue(server.contains("redis_version:7.0.15") && !server.contains("# Walnut"), server);
      String walnutOnly = c.call("info", "walnut", "clients").raw();
      assertTrue(walnutOnly.contains("# Clients") && walnutOnly.contains("# Walnut")
          && !walnutOnly.contains("# Server"), walnutOnly);
      assertEquals("$0\r\n\r\n", c.call("INFO", "keyspace").raw());
      assertEquals(":" + dbsizeOfBackends() + "\r\n", c.call("DBSIZE").raw());
    }
    RedisClient client = RedisClient.create("redis://127.0.0.1:" + walnut.port());
    client.setOptions(ClientOptions.builder().protocolVersion(ProtocolVersion.RESP3).build());
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      RedisCommands<String, String> sync = connection.sync();
      String info = sync.info();
      assertTrue(info.startsWith("# Server\r\nredis_version:7.0.15\r\nredis_mode:proxy"), info);
      assertTrue(sync.info("walnut").contains("servers_up:3"));
      assertEquals(dbsizeOfBackends(), sync.dbsize());
    } finally {
      client.shutdown();
    }
    try (Jedis resp3 = new Jedis(new HostAndPort("127.0.0.1", walnut.port()),
        DefaultJedisClientConfig.builder().protocol(RedisProtocol.RESP3).build())) {
      assertTrue(resp3.info("server").contains("redis_mode:proxy"));
      assertEquals(dbsizeOfBackends(), resp3.dbSize());
    }
  }

  @Test
  void withServersStoppedInfoStillAnswersAndDbsizeIsTheError() throws Exception {
    try (WireClient c = WireClient.openResp2(walnut.port())) {
      backends.get(2).kill();
      String info = c.call("INFO").raw();
      assertTrue(info.contains("redis_version:7.0.15") && info.contains("# Walnut"), info);
      Object dbsize = c.call("DBSIZE").value();
      assertInstanceOf(Err.class, dbsize);
      backends.get(0).kill();
      backends.get(1).kill();
      info = c.call("INFO").raw();
      assertFalse(info.contains("redis_version"), info);
      assertTrue(info.contains("redis_mode:proxy") && info.contains("# Walnut"), info);
      assertInstanceOf(Err.class, c.call("DBSIZE").value());
    } finally {
      backends.forEach(RedisServer::restart);
    }
    Poll.until(Duration.ofSeconds(10), () -> {
      try (WireClient c = WireClient.openResp2(walnut.port())) {
        return c.call("DBSIZE").raw().equals(":0\r\n");
      } catch (Exception e) {
        return false;
      }
    }, "DBSIZE answers again once the servers are back");
  }

  /**
   * An ejected server (nothing listens on its port): with {@code auto_eject_remap: true} its keys
   * live on the others, so SCAN skips it and returns every key of the live one; with
   * {@code false} its step answers the ejection's error. INFO shows it ejected either way.
   */
  @Test
  void anEjectedServerIsSkippedWithRemapAndAnswersItsErrorWithout() throws Exception {
    for (boolean remap : new boolean[] {true, false}) {
      try (RedisServer live = RedisServer.start()) {
        PoolConfig pool = ProxyFixture.redisPool(List.of(live))
            .servers(List.of(new ServerConfig("a-live", Endpoint.tcp("127.0.0.1", live.port()), 1),
                new ServerConfig("b-dead", Endpoint.tcp("127.0.0.1", FreePorts.next()), 1)))
            .autoEjectHosts(true).autoEjectRemap(remap).serverFailureLimit(1)
            .serverRetryTimeout(120_000).build();
        try (ProxyFixture proxy = ProxyFixture.start(pool, 1);
            WireClient c = WireClient.openResp2(proxy.port())) {
          Set<String> keys = new HashSet<>();
          for (int i = 0; i < 40; i++) {
            live.command("SET", i + ":ej", "v");
            keys.add(i + ":ej");
          }
          Poll.until(Duration.ofSeconds(10), () -> {
            try {
              c.call("DBSIZE"); // the dead server's fragment fails: one failure ejects it
              return proxy.proxy.stats().pools().get(0).counters()
                  .get(PoolStat.SERVER_EJECTS) >= 1;
            } catch (java.io.IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          }, "the dead server is ejected");
          String info = c.call("INFO", "walnut").raw();
          assertTrue(info.contains("servers_up:1\r\nservers_ejected:1\r\n")
              && info.contains(":name=b-dead,state=ejected\r\n"), info);
          Set<String> seen = new HashSet<>();
          List<String> errors = new ArrayList<>();
          String cursor = "0";
          do {
            WireClient.Reply r = c.call("SCAN", cursor, "COUNT", "7");
            if (r.value() instanceof Err e) {
              errors.add(e.text());
              break;
            }
            List<?> reply = (List<?>) r.value();
            cursor = (String) reply.get(0);
            for (Object k : (List<?>) reply.get(1)) {
              seen.add((String) k);
            }
          } while (!cursor.equals("0"));
          if (remap) {
            assertEquals(List.of(), errors);
            assertEquals(keys, seen);
          } else {
            assertEquals(1, errors.size(), errors::toString);
            assertTrue(errors.get(0).startsWith("ERR server 'b-dead' is ejected"),
                errors::toString);
          }
        }
      }
    }
  }

  private static final String INCR = "return redis.call('INCR', KEYS[1])";

  private static String sha1(String body) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1")
        .digest(body.getBytes(StandardCharsets.UTF_8)));
  }

  /**
   * SCRIPT LOAD reaches every server; EVALSHA then works for keys on each of them, also on a
   * server that restarted empty: Walnut loads the scripts loaded through it in every new server
   * connection's handshake, so no client ever sees NOSCRIPT.
   */
  @Test
  void scriptLoadThenEvalshaOnEveryServerAlsoAfterARestart() throws Exception {
    String sha = sha1(INCR);
    try (Jedis jedis = new Jedis("127.0.0.1", walnut.port())) {
      assertEquals(sha, jedis.scriptLoad(INCR));
      assertEquals(List.of(true, false), jedis.scriptExists(sha, "0".repeat(40)));
      for (int i = 0; i < 3; i++) {
        String key = onServer(i, ":n");
        jedis.del(key);
        assertEquals(1L, jedis.evalsha(sha, List.of(key), List.of()));
      }
      for (RedisServer b : backends) {
        assertEquals(List.of(1L), b.command("SCRIPT", "EXISTS", sha), b + " has the script");
      }
    }
    backends.get(1).restart(); // by pid, then a fresh empty one on the same port
    assertEquals(List.of(0L), backends.get(1).command("SCRIPT", "EXISTS", sha));
    String key = onServer(1, ":n");
    List<String> seen = new ArrayList<>();
    Poll.until(Duration.ofSeconds(10), () -> {
      try (WireClient c = WireClient.openResp2(walnut.port())) {
        String r = c.call("EVALSHA", sha, "1", key).raw();
        seen.add(r);
        assertFalse(r.startsWith("-NOSCRIPT"), "NOSCRIPT after the restart: " + seen);
        return r.equals(":1\r\n"); // the restarted server is empty
      } catch (java.io.IOException e) {
        seen.add(e.toString());
        return false;
      }
    }, () -> "EVALSHA on the restarted server: " + seen);
    assertEquals(List.of(1L), backends.get(1).command("SCRIPT", "EXISTS", sha));
    RedisClient client = RedisClient.create("redis://127.0.0.1:" + walnut.port());
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      RedisCommands<String, String> sync = connection.sync();
      assertEquals(sha, sync.scriptLoad(INCR));
      for (int i = 0; i < 3; i++) {
        long n = sync.evalsha(sha, ScriptOutputType.INTEGER, onServer(i, ":n"));
        assertTrue(n >= 2, "incremented again: " + n);
      }
      assertEquals("OK", sync.scriptFlush());
      assertEquals(List.of(false), sync.scriptExists(sha));
    } finally {
      client.shutdown();
    }
    for (RedisServer b : backends) {
      assertEquals(List.of(0L), b.command("SCRIPT", "EXISTS", sha), b + " flushed");
    }
  }

  /** A server a reload adds gets the scripts loaded through Walnut before any request needs one. */
  @Test
  void aServerAddedByAReloadHasTheScriptsLoadedBefore() throws Exception {
    String sha = sha1(INCR);
    List<RedisServer> servers = new ArrayList<>(List.of(RedisServer.start()));
    try {
      PoolConfig one = ProxyFixture.redisPool(servers).hashTag("{}").build();
      try (ProxyFixture proxy = ProxyFixture.start(one, 2);
          WireClient c = WireClient.openResp2(proxy.port())) {
        assertEquals("$40\r\n" + sha + "\r\n", c.call("SCRIPT", "LOAD", INCR).raw());
        servers.add(RedisServer.start());
        proxy.proxy.reload(ProxyConfig.of(ProxyFixture.redisPool(servers).hashTag("{}").build()));
        assertEquals(List.of(0L), servers.get(1).command("SCRIPT", "EXISTS", sha), "not yet");
        List<String> candidates = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
          candidates.add(i + ":added");
        }
        Map<String, Integer> placement = KeyPlacement.of(KvDialect.REDIS,
            new InetSocketAddress("127.0.0.1", proxy.port()), servers, candidates);
        String key = "{" + KeyPlacement.on(placement, candidates, 1).get(0) + "}:n";
        assertEquals(":1\r\n", c.call("EVALSHA", sha, "1", key).raw());
        assertEquals(List.of(1L), servers.get(1).command("SCRIPT", "EXISTS", sha));
        assertEquals("+OK\r\n", c.call("SCRIPT", "FLUSH").raw());
      }
    } finally {
      servers.forEach(RedisServer::close);
    }
  }

  @Test
  void anEvalWhoseKeysAreOnDifferentServersIsRefusedAndRunsNowhere() throws Exception {
    String a = onServer(0, ":x");
    String b = onServer(1, ":x");
    String setBoth = "redis.call('SET', KEYS[1], 'x'); redis.call('SET', KEYS[2], 'x');"
        + " return 'done'";
    try (Jedis jedis = new Jedis("127.0.0.1", walnut.port())) {
      JedisDataException e = assertThrows(JedisDataException.class,
          () -> jedis.eval(setBoth, List.of(a, b), List.of()));
      assertEquals("ERR EVAL's keys are on different servers of the pool, and a script runs on"
          + " one server: give them a common hash tag, e.g. {user1}a {user1}b", e.getMessage());
      assertThrows(JedisDataException.class,
          () -> jedis.evalsha(sha1(setBoth), List.of(a, b), List.of()));
      for (RedisServer backend : backends) {
        assertEquals(0L, backend.command("EXISTS", a, b), backend + " ran nothing");
      }
      assertEquals("done", jedis.eval(setBoth, List.of("{t}:a", "{t}:b"), List.of()));
      assertEquals("x", jedis.get("{t}:b"));
      assertNotEquals(null, jedis.evalReadonly("return redis.call('GET', KEYS[1])",
          List.of("{t}:a"), List.of()));
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
