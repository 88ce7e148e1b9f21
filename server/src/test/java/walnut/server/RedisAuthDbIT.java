package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.server.RedisCommandTableIT.bytes;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.Jedis;
import walnut.core.config.PoolConfig;
import walnut.testing.Poll;
import walnut.testing.RedisServer;

/**
 * {@code redis_auth} on both sides (docs/compatibility.md#redis_auth) and {@code redis_db}
 * (docs/compatibility.md#redis_db), against real redis-servers started with {@code --requirepass}:
 * clients must AUTH, a wrong password de-authenticates, Walnut authenticates its own backend
 * connections and says so clearly when the backend refuses its password, data lands in the
 * configured database, and with both keys AUTH goes before SELECT so the data lands there too
 * (twemproxy 0.5.0 puts it in DB 0). TCP servers.
 */
class RedisAuthDbIT {

  private static final String PASSWORD = "s3cret-pw";
  private static final String NOAUTH = "-NOAUTH Authentication required\r\n";

  @Test
  void clientsMustAuthenticateAndAWrongPasswordDeauthenticates() throws Exception {
    List<RedisServer> backends = startThree("--requirepass", PASSWORD);
    try (ProxyFixture walnut = ProxyFixture.start(
        ProxyFixture.redisPool(backends).redisAuth(PASSWORD).build(), 2);
        WireClient client = WireClient.openResp2(walnut.port());
        WireClient other = WireClient.openResp2(walnut.port())) {
      // Everything that parses is refused before AUTH, PING and multi-key commands included.
      assertEquals(NOAUTH, client.call("PING").raw());
      assertEquals(NOAUTH, client.call("GET", "auth:k").raw());
      assertEquals(NOAUTH, client.call("SET", "auth:k", "v").raw());
      assertEquals(NOAUTH, client.call("MGET", "auth:a", "auth:b").raw());
      assertEquals(NOAUTH, client.call("EVAL", "return 1", "1", "auth:k").raw());
      assertEquals("-ERR invalid password\r\n", client.call("AUTH", "wrong").raw());
      assertEquals(NOAUTH, client.call("GET", "auth:k").raw());
      // The right password: requests reach the backends, which Walnut authenticated itself.
      assertEquals("+OK\r\n", client.call("AUTH", PASSWORD).raw());
      assertEquals("+OK\r\n", client.call("SET", "auth:k", "v").raw());
      assertEquals("$1\r\nv\r\n", client.call("GET", "auth:k").raw());
      assertEquals("+OK\r\n", client.call("MSET", "auth:a", "1", "auth:b", "2").raw());
      assertEquals("*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\nv\r\n",
          client.call("MGET", "auth:a", "auth:b", "auth:k").raw());
      // A wrong password afterwards takes the authentication away again.
      assertEquals("-ERR invalid password\r\n", client.call("AUTH", PASSWORD + "x").raw());
      assertEquals(NOAUTH, client.call("GET", "auth:k").raw());
      // Pipelined: AUTH and the request after it in one write.
      client.send(List.of(bytes("AUTH"), bytes(PASSWORD)));
      client.send(List.of(bytes("GET"), bytes("auth:k")));
      client.flush();
      assertEquals("+OK\r\n", client.read().raw());
      assertEquals("$1\r\nv\r\n", client.read().raw());
      // Authentication belongs to one connection.
      assertEquals(NOAUTH, other.call("GET", "auth:k").raw());
      // The data is on the backends, in DB 0.
      assertEquals(3, count(backends, PASSWORD, 0, List.of("auth:k", "auth:a", "auth:b")));
    } finally {
      backends.forEach(RedisServer::close);
    }
  }

  @Test
  void jedisLettuceAndRedisCliAuthenticateThroughTheProxy() throws Exception {
    List<RedisServer> backends = startThree("--requirepass", PASSWORD);
    try (ProxyFixture walnut = ProxyFixture.start(
        ProxyFixture.redisPool(backends).redisAuth(PASSWORD).build(), 2)) {
      try (Jedis jedis = new Jedis("127.0.0.1", walnut.port(),
          DefaultJedisClientConfig.builder().password(PASSWORD).build())) {
        assertEquals("OK", jedis.set("clients:jedis", "j"));
        assertEquals("j", jedis.get("clients:jedis"));
      }
      // Lettuce's defaults: HELLO 3 with AUTH first, then (refused) AUTH on RESP2.
      RedisClient lettuce = RedisClient.create(RedisURI.builder().withHost("127.0.0.1")
          .withPort(walnut.port()).withPassword(PASSWORD.toCharArray()).build());
      try (StatefulRedisConnection<String, String> connection = lettuce.connect()) {
        assertEquals("OK", connection.sync().set("clients:lettuce", "l"));
        assertEquals("l", connection.sync().get("clients:lettuce"));
      } finally {
        lettuce.shutdown(0, 2, TimeUnit.SECONDS);
      }
      assertEquals("OK", RedisProxyIT.redisCli(walnut.port(), "-a", PASSWORD,
          "--no-auth-warning", "SET", "clients:cli", "c"));
      assertEquals("j l c", RedisProxyIT.redisCli(walnut.port(), "-a", PASSWORD,
          "--no-auth-warning", "MGET", "clients:jedis", "clients:lettuce", "clients:cli")
          .replace('\n', ' '));
      assertTrue(RedisProxyIT.redisCli(walnut.port(), "GET", "clients:cli")
          .contains("NOAUTH Authentication required"));
    } finally {
      backends.forEach(RedisServer::close);
    }
  }

  @Test
  void aBackendRefusingWalnutsPasswordFailsRequestsAndIsLoggedClearly() throws Exception {
    // The backends want another password than the pool's.
    List<RedisServer> backends = startThree("--requirepass", "the-backends-own");
    try (LogCapture log = new LogCapture();
        ProxyFixture walnut = ProxyFixture.start(
            ProxyFixture.redisPool(backends).redisAuth(PASSWORD).build(), 1);
        WireClient client = WireClient.openResp2(walnut.port())) {
      assertEquals("+OK\r\n", client.call("AUTH", PASSWORD).raw());
      // The backend's own refusal reaches the client, as in twemproxy
      // (docs/compatibility.md#redis_auth).
      String reply = client.call("GET", "wrongpw:k").raw();
      assertTrue(reply.startsWith("-NOAUTH"), reply);
      Pattern line = Pattern.compile("pool 'test': server '127\\.0\\.0\\.1:(\\d+)': AUTH to "
          + "backend failed: -WRONGPASS invalid username-password pair or user is disabled\\.");
      Poll.until(Duration.ofSeconds(5), () -> line.matcher(log.text()).find(),
          "a log line naming the pool, the server and the refused AUTH");
      Matcher m = line.matcher(log.text());
      assertTrue(m.find());
      int port = Integer.parseInt(m.group(1));
      assertTrue(backends.stream().anyMatch(b -> b.port() == port), "names a backend: " + port);
      assertEquals("+PONG\r\n", client.call("PING").raw(), "the client connection goes on");
    } finally {
      backends.forEach(RedisServer::close);
    }
  }

  @Test
  void redisDbPutsTheDataInThatDatabase() throws Exception {
    List<RedisServer> backends = startThree();
    try (ProxyFixture walnut = ProxyFixture.start(
        ProxyFixture.redisPool(backends).redisDb(3).build(), 2);
        WireClient client = WireClient.openResp2(walnut.port())) {
      List<String> keys = keys("db3", 60);
      for (String key : keys) {
        assertEquals("+OK\r\n", client.call("SET", key, "v").raw());
      }
      // A client's SELECT 0 is answered by Walnut and changes nothing.
      assertEquals("+OK\r\n", client.call("SELECT", "0").raw());
      assertEquals(":" + keys.size() + "\r\n", client.call(exists(keys)).raw());
      assertEquals(keys.size(), count(backends, null, 3, keys));
      assertEquals(0, count(backends, null, 0, keys));
      for (RedisServer backend : backends) {
        assertEquals(0L, backend.command("DBSIZE"), "nothing in DB 0 of " + backend);
      }
    } finally {
      backends.forEach(RedisServer::close);
    }
  }

  @Test
  void redisAuthAndRedisDbTogetherSendAuthBeforeSelectSoTheDataLandsInThatDatabase()
      throws Exception {
    List<RedisServer> backends = startThree("--requirepass", PASSWORD);
    PoolConfig pool = ProxyFixture.redisPool(backends).redisAuth(PASSWORD).redisDb(5).build();
    try (LogCapture log = new LogCapture();
        ProxyFixture walnut = ProxyFixture.start(pool, 2);
        WireClient client = WireClient.openResp2(walnut.port())) {
      assertEquals("+OK\r\n", client.call("AUTH", PASSWORD).raw());
      List<String> keys = keys("db5", 60);
      for (String key : keys) {
        assertEquals("+OK\r\n", client.call("SET", key, "v").raw());
      }
      assertEquals(":" + keys.size() + "\r\n", client.call(exists(keys)).raw());
      assertEquals(keys.size(), count(backends, PASSWORD, 5, keys));
      assertEquals(0, count(backends, PASSWORD, 0, keys));
      assertTrue(!log.text().contains("to backend failed"), log.text());
    } finally {
      backends.forEach(RedisServer::close);
    }
  }

  @Test
  void aDatabaseTheBackendRefusesIsLoggedAndRequestsGoToDbZeroAsInTwemproxy() throws Exception {
    List<RedisServer> backends = startThree("--databases", "4");
    try (LogCapture log = new LogCapture();
        ProxyFixture walnut = ProxyFixture.start(
            ProxyFixture.redisPool(backends).redisDb(9).build(), 1);
        WireClient client = WireClient.openResp2(walnut.port())) {
      assertEquals("+OK\r\n", client.call("SET", "db9:k", "v").raw());
      assertEquals(1, count(backends, null, 0, List.of("db9:k")));
      Poll.until(Duration.ofSeconds(5), () -> log.text().contains(
          "SELECT 9 to backend failed: -ERR DB index is out of range"),
          "a log line for the refused SELECT; log was:\n" + log.text());
    } finally {
      backends.forEach(RedisServer::close);
    }
  }

  // ---- helpers

  private static List<RedisServer> startThree(String... args) {
    List<RedisServer> servers = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        servers.add(RedisServer.start(args));
      }
      return servers;
    } catch (RuntimeException e) {
      servers.forEach(RedisServer::close);
      throw e;
    }
  }

  private static List<String> keys(String prefix, int n) {
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      keys.add(RedisMultiKeyIT.key(prefix, i));
    }
    return keys;
  }

  private static List<byte[]> exists(List<String> keys) {
    List<byte[]> args = new ArrayList<>();
    args.add(bytes("EXISTS"));
    keys.forEach(k -> args.add(bytes(k)));
    return args;
  }

  /** How many of {@code keys} the backends hold in database {@code db}, asked directly. */
  private static long count(List<RedisServer> backends, String password, int db,
      List<String> keys) throws IOException {
    long found = 0;
    for (RedisServer backend : backends) {
      try (WireClient direct = WireClient.openResp2(backend.port())) {
        if (password != null) {
          assertEquals("+OK\r\n", direct.call("AUTH", password).raw());
        }
        assertEquals("+OK\r\n", direct.call("SELECT", Integer.toString(db)).raw());
        found += (Long) direct.call(exists(keys)).value();
      }
    }
    return found;
  }

  /**
   * Copies what is written to {@code System.out} and {@code System.err} while open, and still
   * passes it through: the log lines reach the console through one of them (slf4j-simple writes
   * to stderr, Logback's default console appender to stdout; both look the stream up on every
   * write). Tests in one JVM run one at a time, so one capture at a time is enough.
   */
  static final class LogCapture implements AutoCloseable {
    private final PrintStream out = System.out;
    private final PrintStream err = System.err;
    private final ByteArrayOutputStream copy = new ByteArrayOutputStream();

    LogCapture() {
      System.setOut(tee(out));
      System.setErr(tee(err));
    }

    private PrintStream tee(PrintStream original) {
      return new PrintStream(new OutputStream() {
        @Override
        public void write(int b) {
          synchronized (copy) {
            copy.write(b);
          }
          original.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) {
          synchronized (copy) {
            copy.write(b, off, len);
          }
          original.write(b, off, len);
        }
      }, true);
    }

    String text() {
      synchronized (copy) {
        return copy.toString(StandardCharsets.UTF_8);
      }
    }

    @Override
    public void close() {
      System.setOut(out);
      System.setErr(err);
    }
  }
}
