package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.exceptions.JedisDataException;
import walnut.core.stats.PoolStat;
import walnut.testing.Poll;
import walnut.testing.RedisServer;

/** Walnut in front of three real redis-servers, driven by real clients, on one and two loops. */
class RedisProxyIT {

  private static final List<RedisServer> backends = new ArrayList<>();

  @BeforeAll
  static void startBackends() {
    for (int i = 0; i < 3; i++) {
      backends.add(RedisServer.start());
    }
  }

  @AfterAll
  static void stopBackends() {
    backends.forEach(RedisServer::close);
  }

  @ParameterizedTest(name = "threads={0}")
  @ValueSource(ints = {1, 2})
  void singleKeyCommandsWorkThroughJedis(int threads) throws Exception {
    try (ProxyFixture walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).build(), threads);
        Jedis jedis = new Jedis("127.0.0.1", walnut.port(), 30_000)) {
      String p = "single" + threads + ":";
      assertEquals("OK", jedis.set(p + "k", "v1"));
      assertEquals("v1", jedis.get(p + "k"));
      assertEquals(1, jedis.incr(p + "n"));
      assertEquals(11, jedis.incrBy(p + "n", 10));
      assertEquals(1, jedis.expire(p + "k", 100));
      long ttl = jedis.ttl(p + "k");
      assertTrue(ttl > 0 && ttl <= 100, "ttl " + ttl);
      assertEquals(1, jedis.hset(p + "h", "f", "x"));
      assertEquals(Map.of("f", "x"), jedis.hgetAll(p + "h"));
      assertEquals(3, jedis.lpush(p + "l", "a", "b", "c"));
      assertEquals(List.of("c", "b", "a"), jedis.lrange(p + "l", 0, -1));
      assertEquals(1, jedis.sadd(p + "s", "m"));
      assertTrue(jedis.sismember(p + "s", "m"));
      assertNull(jedis.get(p + "missing"));
      assertEquals("PONG", jedis.ping());
      // A backend error is passed through unchanged.
      JedisDataException wrongType = assertThrows(JedisDataException.class,
          () -> jedis.get(p + "h"));
      assertTrue(wrongType.getMessage().startsWith("WRONGTYPE"), wrongType.getMessage());
    }
  }

  @ParameterizedTest(name = "threads={0}")
  @ValueSource(ints = {1, 2})
  void tenThousandPipelinedCommandsAreAnsweredInOrder(int threads) throws Exception {
    try (ProxyFixture walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).build(), threads);
        Jedis jedis = new Jedis("127.0.0.1", walnut.port(), 30_000)) {
      String p = "pipe" + threads + ":";
      Pipeline pipeline = jedis.pipelined();
      List<Response<String>> sets = new ArrayList<>();
      List<Response<String>> gets = new ArrayList<>();
      for (int i = 0; i < 5_000; i++) {
        sets.add(pipeline.set(p + i, "value-" + i));
        gets.add(pipeline.get(p + i));
      }
      pipeline.sync();
      for (int i = 0; i < 5_000; i++) {
        assertEquals("OK", sets.get(i).get());
        assertEquals("value-" + i, gets.get(i).get(), "reply " + i);
      }
    }
  }

  @ParameterizedTest(name = "threads={0}")
  @ValueSource(ints = {1, 2})
  void hundredConcurrentClientsEachSeeOnlyTheirOwnReplies(int threads) throws Exception {
    try (ProxyFixture walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).build(),
        threads)) {
      ExecutorService pool = Executors.newFixedThreadPool(100);
      try {
        List<Future<Integer>> results = new ArrayList<>();
        for (int c = 0; c < 100; c++) {
          int client = c;
          results.add(pool.submit(() -> {
            int checked = 0;
            try (Jedis jedis = new Jedis("127.0.0.1", walnut.port(), 30_000)) {
              for (int r = 0; r < 100; r++) {
                String value = "client-" + client + "-request-" + r;
                String key = "conc" + threads + ":" + client + ":" + (r % 10);
                Pipeline pipeline = jedis.pipelined();
                Response<String> set = pipeline.set(key, value);
                Response<String> get = pipeline.get(key);
                Response<String> echo = pipeline.get("conc-missing:" + client);
                pipeline.sync();
                assertEquals("OK", set.get());
                assertEquals(value, get.get());
                assertNull(echo.get());
                checked++;
              }
            }
            return checked;
          }));
        }
        for (Future<Integer> result : results) {
          assertEquals(100, result.get(60, TimeUnit.SECONDS));
        }
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Test
  void unsupportedCommandGetsAnErrorAndTheConnectionKeepsWorking() throws Exception {
    try (ProxyFixture walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).build(), 1);
        Socket socket = new Socket("127.0.0.1", walnut.port())) {
      socket.setSoTimeout(5_000);
      OutputStream out = socket.getOutputStream();
      InputStream in = socket.getInputStream();
      // Pipelined: a supported command, an unsupported one, then another supported one.
      out.write(("*3\r\n$3\r\nSET\r\n$5\r\nunsup\r\n$1\r\nx\r\n"
          + "*1\r\n$4\r\nKEYS\r\n"
          + "*2\r\n$3\r\nGET\r\n$5\r\nunsup\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      assertEquals("+OK", readLine(in));
      String error = readLine(in);
      assertTrue(error.startsWith("-ERR unknown command"), error);
      assertEquals("$1", readLine(in));
      assertEquals("x", readLine(in));
      out.write("*1\r\n$4\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      assertEquals("+PONG", readLine(in));
    }
  }

  @Test
  void quitAnswersOkAndCloses() throws Exception {
    try (ProxyFixture walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).build(), 1);
        Socket socket = new Socket("127.0.0.1", walnut.port())) {
      socket.setSoTimeout(5_000);
      socket.getOutputStream().write(
          "*2\r\n$3\r\nGET\r\n$4\r\nquit\r\n*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n"
              .getBytes(StandardCharsets.US_ASCII));
      InputStream in = socket.getInputStream();
      assertEquals("$-1", readLine(in));
      assertEquals("+OK", readLine(in));
      assertEquals(-1, in.read(), "the connection closes after QUIT's reply");
    }
  }

  @Test
  void lettuceConnectsWithDefaultSettings() throws Exception {
    try (ProxyFixture walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).build(), 2)) {
      RedisClient client = RedisClient.create("redis://127.0.0.1:" + walnut.port());
      try (StatefulRedisConnection<String, String> connection = client.connect()) {
        RedisCommands<String, String> redis = connection.sync();
        assertEquals("OK", redis.set("lettuce:k", "v"));
        assertEquals("v", redis.get("lettuce:k"));
        assertEquals(5L, redis.incrby("lettuce:n", 5));
        assertEquals("PONG", redis.ping());
      } finally {
        client.shutdown(0, 2, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void redisCliWorksThroughTheProxy() throws Exception {
    try (ProxyFixture walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).build(), 1)) {
      assertEquals("OK", redisCli(walnut.port(), "set", "cli:k", "hello"));
      assertEquals("hello", redisCli(walnut.port(), "get", "cli:k"));
      assertEquals("PONG", redisCli(walnut.port(), "ping"));
      String error = redisCli(walnut.port(), "keys", "*");
      assertTrue(error.contains("unknown command"), error);
    }
  }

  @Test
  void clientHalfCloseStillGetsEveryReply() throws Exception {
    try (ProxyFixture walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).build(), 1);
        Socket socket = new Socket("127.0.0.1", walnut.port())) {
      socket.setSoTimeout(5_000);
      StringBuilder requests = new StringBuilder();
      for (int i = 0; i < 100; i++) {
        requests.append("*3\r\n$3\r\nSET\r\n$8\r\nhalf:").append(String.format("%03d", i))
            .append("\r\n$1\r\nv\r\n");
      }
      socket.getOutputStream().write(requests.toString().getBytes(StandardCharsets.US_ASCII));
      socket.shutdownOutput();
      InputStream in = socket.getInputStream();
      for (int i = 0; i < 100; i++) {
        assertEquals("+OK", readLine(in), "reply " + i);
      }
      assertEquals(-1, in.read());
    }
  }

  @Test
  void halfCloseAfterALargeReplyStartedStillDeliversAllOfIt() throws Exception {
    try (ProxyFixture walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).build(), 1);
        Jedis jedis = new Jedis("127.0.0.1", walnut.port(), 30_000);
        Socket socket = new Socket("127.0.0.1", walnut.port())) {
      byte[] big = new byte[12 << 20];
      java.util.Arrays.fill(big, (byte) 'v');
      assertEquals("OK", jedis.set("half:big".getBytes(StandardCharsets.US_ASCII), big));
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(
          "*2\r\n$3\r\nGET\r\n$8\r\nhalf:big\r\n".getBytes(StandardCharsets.US_ASCII));
      InputStream in = socket.getInputStream();
      assertEquals("$" + big.length, readLine(in));
      // The reply is being written and nothing is owed any more: now the client sends FIN.
      socket.shutdownOutput();
      long received = 0;
      byte[] chunk = new byte[64 << 10];
      for (int n; (n = in.read(chunk)) > 0; ) {
        received += n;
      }
      assertEquals(big.length + 2, received, "the whole value and its CRLF");
    }
  }

  @Test
  void brokenFramingGetsAProtocolErrorThenACloseCountedAsClientError() throws Exception {
    try (ProxyFixture walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).build(), 1);
        Socket socket = new Socket("127.0.0.1", walnut.port())) {
      socket.setSoTimeout(5_000);
      socket.getOutputStream().write("*1\r\n$4\r\nPING\r\n*x\r\n*1\r\n$4\r\nPING\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      InputStream in = socket.getInputStream();
      assertEquals("+PONG", readLine(in), "replies before the bad frame are kept");
      String error = readLine(in);
      assertTrue(error.startsWith("-ERR Protocol error"), error);
      assertEquals(-1, in.read(), "closed after the protocol error");
      var counters = walnut.proxy.stats().pools().get(0).counters();
      Poll.until(java.time.Duration.ofSeconds(5),
          () -> counters.get(PoolStat.CLIENT_ERR) == 1, "client_err is 1");
      assertEquals(0, counters.get(PoolStat.CLIENT_EOF));
    }
  }

  static String redisCli(int port, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("redis-cli", "-h", "127.0.0.1", "-p",
        Integer.toString(port)));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      assertTrue(process.waitFor(10, TimeUnit.SECONDS), "redis-cli finished");
      return new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    } finally {
      process.destroyForcibly();
    }
  }

  static String readLine(InputStream in) throws IOException {
    StringBuilder b = new StringBuilder();
    for (;;) {
      int c = in.read();
      assertFalse(c < 0, "connection closed after '" + b + "'");
      if (c == '\r') {
        assertEquals('\n', in.read());
        return b.toString();
      }
      b.append((char) c);
    }
  }
}
