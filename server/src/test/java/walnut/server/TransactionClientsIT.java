package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.TransactionResult;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.protocol.ProtocolVersion;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.RedisProtocol;
import redis.clients.jedis.Transaction;
import redis.clients.jedis.exceptions.JedisDataException;
import walnut.testing.SingleTransport;

/**
 * Transactions through Walnut with the client libraries at their default settings (issue #24),
 * in RESP2 and RESP3: redis-cli, Jedis {@code multi()}/{@code watch()}, Lettuce's synchronous
 * {@code multi()}/{@code exec()}, redis-py's {@code pipeline(transaction=True)} with and without
 * {@code watch()}. Each gets the results of EXEC, learns of a concurrent write to a watched key as
 * it would from Redis (Jedis: {@code exec()} gives null; Lettuce: {@code wasDiscarded()}; redis-py:
 * {@code WatchError}), and of a transaction spanning servers as an error, nothing of it run.
 */
@SingleTransport
@Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TransactionClientsIT {

  private static PinnedRig rig;
  private static int serial;

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    Resp3ClientLibrariesIT.installClients();
    rig = PinnedRig.start(dir);
  }

  @AfterAll
  static void stop() {
    if (rig != null) {
      rig.close();
    }
  }

  @AfterEach
  void nothingStaysPinned() {
    rig.awaitNonePinned("alpha", Duration.ofSeconds(10));
  }

  private static String key(int s, String name) {
    return rig.key(s, name + ":" + (++serial));
  }

  private static Jedis jedis(int protocol) {
    return new Jedis("127.0.0.1", rig.port(), DefaultJedisClientConfig.builder()
        .protocol(protocol == 3 ? RedisProtocol.RESP3 : RedisProtocol.RESP2)
        .socketTimeoutMillis(10_000).build());
  }

  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void jedisMultiAndWatch(int protocol) {
    String k = key(0, "j");
    String n = key(0, "jn");
    String far = key(1, "jfar");
    try (Jedis jedis = jedis(protocol); Jedis other = jedis(2)) {
      Transaction t = jedis.multi();
      t.set(k, "1");
      t.incr(n);
      t.get(k);
      assertEquals(List.of("OK", 1L, "1"), t.exec());

      jedis.watch(k);
      other.set(k, "theirs");
      t = jedis.multi();
      t.set(k, "mine");
      assertNull(t.exec(), "EXEC after a concurrent write to a watched key");
      assertEquals("theirs", jedis.get(k));

      jedis.watch(k);
      t = jedis.multi();
      t.set(k, "mine");
      assertEquals(List.of("OK"), t.exec());
      assertEquals("mine", jedis.get(k));

      t = jedis.multi();
      t.set(n, "x");
      t.set(far, "y");
      Transaction aborted = t;
      JedisDataException e = assertThrows(JedisDataException.class, aborted::exec);
      assertTrue(e.getMessage().contains("EXECABORT"), e.getMessage());
      assertEquals("1", jedis.get(n), "nothing of the refused transaction ran");
      assertNull(jedis.get(far));
      assertEquals("PONG", jedis.ping());
    }
    assertFalse(rig.anywhere(far));
  }

  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void lettuceSyncMultiExec(int protocol) {
    String k = key(2, "l");
    String n = key(2, "ln");
    String far = key(0, "lfar");
    RedisClient client = RedisClient.create(RedisURI.create("127.0.0.1", rig.port()));
    if (protocol == 2) {
      client.setOptions(ClientOptions.builder().protocolVersion(ProtocolVersion.RESP2).build());
    } // RESP3 is Lettuce's default: it sends HELLO 3
    try (StatefulRedisConnection<String, String> conn = client.connect();
        StatefulRedisConnection<String, String> otherConn = client.connect()) {
      RedisCommands<String, String> sync = conn.sync();
      sync.setTimeout(Duration.ofSeconds(10));
      RedisCommands<String, String> other = otherConn.sync();
      assertEquals("OK", sync.multi());
      sync.set(k, "1");
      sync.incr(n);
      sync.get(k);
      TransactionResult result = sync.exec();
      assertFalse(result.wasDiscarded());
      assertEquals(List.of("OK", 1L, "1"), result.stream().toList());

      assertEquals("OK", sync.watch(k));
      other.set(k, "theirs");
      sync.multi();
      sync.set(k, "mine");
      assertTrue(sync.exec().wasDiscarded(), "EXEC after a concurrent write to a watched key");
      assertEquals("theirs", sync.get(k));

      sync.multi();
      sync.set(n, "x");
      sync.set(far, "y");
      Exception e = assertThrows(Exception.class, sync::exec);
      assertTrue(String.valueOf(e.getMessage()).contains("EXECABORT"), e.toString());
      assertEquals("1", sync.get(n));
      assertEquals("PONG", sync.ping());
    } finally {
      client.shutdown(0, 5, TimeUnit.SECONDS);
    }
    assertFalse(rig.anywhere(far));
  }

  @ParameterizedTest(name = "protocol {0}")
  @ValueSource(strings = {"default", "2"})
  void redisPyPipelineTransactionsAndWatch(String protocol) throws Exception {
    Path script = Resp3ClientLibrariesIT.copyScript("redis_py_transactions.py",
        Resp3ClientLibrariesIT.CLIENTS);
    String k1 = key(1, "py1");
    String k2 = rig.key(1, "py2:" + serial);
    String far = key(2, "pyfar");
    String out = Resp3ClientLibrariesIT.run(List.of(Resp3ClientLibrariesIT.PYTHON.toString(),
        script.toString(), Integer.toString(rig.port()), protocol, k1, k2, far),
        Resp3ClientLibrariesIT.CLIENTS);
    assertTrue(out.contains("\"library\": \"redis-py 8."), out);
    assertTrue(out.contains("\"proto\": " + (protocol.equals("2") ? 2 : 3)), out);
    assertTrue(out.contains("\"transaction\": [true, 1, \"1\"]"), out);
    assertTrue(out.contains("\"watch_calm\": [true]"), out);
    assertTrue(out.contains("\"watch_conflict\": \"WatchError\""), out);
    assertTrue(out.contains("\"after_conflict\": \"theirs\""), out);
    assertTrue(out.contains("\"cross\": \"ResponseError: "), out);
    assertTrue(out.contains("\"after_cross\": [\"1\", null]"), out);
    assertTrue(out.contains("\"ping\": true"), out);
    assertFalse(rig.anywhere(far));
  }

  /** redis-py names the refused command and Walnut's reason for it. */
  @ParameterizedTest(name = "protocol {0}")
  @ValueSource(strings = {"default", "2"})
  void redisPyNamesTheRefusedCommandOfATransactionAcrossServers(String protocol)
      throws Exception {
    Path script = Resp3ClientLibrariesIT.copyScript("redis_py_transactions.py",
        Resp3ClientLibrariesIT.CLIENTS);
    String k1 = key(1, "pyx1");
    String k2 = rig.key(1, "pyx2:" + serial);
    String far = key(2, "pyxfar");
    String out = Resp3ClientLibrariesIT.run(List.of(Resp3ClientLibrariesIT.PYTHON.toString(),
        script.toString(), Integer.toString(rig.port()), protocol, k1, k2, far),
        Resp3ClientLibrariesIT.CLIENTS);
    assertTrue(out.contains("\"cross\": \"ResponseError: Command # 2 (SET " + far
        + " y) of pipeline caused error: its key is on server 'C', the transaction's on 'B'"
        + " (a hash tag keeps keys together)\""), out);
  }

  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void redisCli(int protocol) throws Exception {
    String k = key(0, "cli");
    String far = key(2, "clifar");
    String input = String.join("\n", "MULTI", "SET " + k + " 1", "INCR " + k, "EXEC",
        "MULTI", "SET " + k + " 5", "SET " + far + " 6", "EXEC", "GET " + k, "");
    List<String> command = protocol == 3
        ? List.of("redis-cli", "-3", "--no-raw", "-p", Integer.toString(rig.port()))
        : List.of("redis-cli", "--no-raw", "-p", Integer.toString(rig.port()));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      p.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
      p.getOutputStream().close();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
      assertEquals(String.join("\n", "OK", "QUEUED", "QUEUED", "1) OK", "2) (integer) 2",
          "OK", "QUEUED",
          "(error) ERR its key is on server 'C', the transaction's on 'A' (a hash tag keeps"
              + " keys together)",
          "(error) EXECABORT Transaction discarded because of previous errors.",
          "\"2\"", ""), out);
    } finally {
      p.destroyForcibly();
    }
    assertFalse(rig.anywhere(far));
  }
}
