package walnut.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import redis.clients.jedis.Jedis;
import walnut.testing.KeyPlacement;
import walnut.testing.KvDialect;
import walnut.testing.MemcachedServer;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.ServerFixture;
import walnut.testing.ServerTls;
import walnut.testing.SingleTransport;
import walnut.testing.TestPki;

/**
 * Issue 23's core case with both TLS engines: the packaged Walnut with a TLS listener in front of
 * three TLS redis-servers and three TLS memcacheds. On every transport (the suite runs this class
 * on nio, epoll and io_uring): Jedis over TLS runs PING, SET, GET, MGET and an 8 MiB value; a raw
 * TLS client reads a 64 MiB value streamed through both TLS legs, pausing after its head long
 * enough to see the server hold the rest (back-pressure); a TLS text-protocol client runs set,
 * get, multi-get and a 5 MiB value against memcached. On the default transport only: redis-cli
 * --tls, Jedis and Lettuce run the basic commands and read the 64 MiB value (Jedis through both
 * engines, redis-cli and Lettuce through one each), and keys land on the server they land on
 * without TLS (each Walnut also serves plain pools over plain servers with the same server names,
 * and the backend holding each key, asked directly, must be the same one).
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TlsProxyIT {

  private static final int BIG_SIZE = 64 << 20;
  /**
   * The 64 MiB value every TLS redis holds under {@link #BIG_KEY} from the start: bytes 0 to 250
   * over and over. Every byte value the framing could trip on occurs (CR, LF, '$'), and with a
   * period of 251, prime, a TLS record of 16 KiB lost, doubled or swapped shows.
   */
  private static final byte[] BIG = new byte[BIG_SIZE];
  private static final String BIG_KEY = "big:stored";
  /** Makes {@link #BIG} server-side: sending it would cost a 64 MiB upload per server. */
  private static final String BIG_SCRIPT = String.join("\n",
      "local t = {}",
      "for i = 0, 250 do t[#t + 1] = string.char(i) end",
      "local p = table.concat(t)",
      "local n = tonumber(ARGV[1])",
      "local v = string.rep(p, math.floor(n / 251)) .. string.sub(p, 1, n % 251)",
      "redis.call('SET', KEYS[1], v)",
      "return #v");
  /**
   * The engine whose Walnut redis-cli reads the 64 MiB value through, and Lettuce's (the other):
   * each client reads it once, each engine sends it to Jedis and to the raw client on every
   * transport. (Lettuce takes seconds for it, its buffers tracked by the paranoid leak detector.)
   */
  private static final String CLI_LONG_ENGINE = "openssl";
  private static final String LETTUCE_LONG_ENGINE = "jdk";
  /** Sent through Walnut by Jedis, so requests cross TLS in many records too. */
  private static final int UPLOAD_SIZE = 8 << 20;
  /** Above memcached's default 1 MiB item limit: the TLS memcacheds run with -I 8m. */
  private static final int LARGE_MC = 5 << 20;
  private static final int PLACED_KEYS = 200;
  /**
   * What redis must hold of the 64 MiB reply while the client pauses: more than Walnut's client
   * channel takes before it stops being writable (16 MiB) and the sockets' buffers between could
   * leave it, far less than all.
   */
  private static final long HELD_AT_SERVER = 16L << 20;
  private static final java.util.regex.Pattern OMEM =
      java.util.regex.Pattern.compile("\\bomem=(\\d+)");

  @TempDir
  static Path tmp;

  private static TestPki pki;
  private static final List<RedisServer> tlsRedis = new ArrayList<>();
  private static final List<RedisServer> plainRedis = new ArrayList<>();
  private static final List<MemcachedServer> tlsMc = new ArrayList<>();
  private static final List<MemcachedServer> plainMc = new ArrayList<>();
  private static final List<AutoCloseable> running = new CopyOnWriteArrayList<>();
  private static final Map<String, Rig> rigs = new ConcurrentHashMap<>();

  /** One Walnut (one engine) and its four pools. */
  private record Rig(TlsRig.Walnut walnut, TlsRig.Pool redis, TlsRig.Pool plainRedis,
      TlsRig.Pool mc, TlsRig.Pool plainMc) {}

  @BeforeAll
  static void start() throws Exception {
    for (int i = 0; i < BIG_SIZE; i++) {
      BIG[i] = (byte) (i % 251);
    }
    pki = TlsRig.pki();
    ServerTls tls = ServerTls.serving(pki.server());
    List<Callable<ServerFixture>> servers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      servers.add(() -> keep(RedisServer.startTls(tls)));
      servers.add(() -> keep(RedisServer.start()));
      servers.add(() -> keep(MemcachedServer.startTls(tls, "-I", "8m")));
      servers.add(() -> keep(MemcachedServer.start()));
    }
    List<ServerFixture> started = TlsRig.inParallel(servers);
    for (int i = 0; i < 3; i++) {
      tlsRedis.add((RedisServer) started.get(4 * i));
      plainRedis.add((RedisServer) started.get(4 * i + 1));
      tlsMc.add((MemcachedServer) started.get(4 * i + 2));
      plainMc.add((MemcachedServer) started.get(4 * i + 3));
    }
    List<Callable<Object>> more = new ArrayList<>();
    for (RedisServer backend : tlsRedis) {
      // On every server: wherever Walnut routes the key, the value is there.
      more.add(() -> backend.command(Duration.ofSeconds(30), "EVAL", BIG_SCRIPT, "1", BIG_KEY,
          Integer.toString(BIG_SIZE)));
    }
    for (String engine : TlsRig.ENGINES) {
      more.add(() -> rigs.put(engine, rig(engine)));
    }
    List<Object> done = TlsRig.inParallel(more);
    for (int i = 0; i < tlsRedis.size(); i++) {
      assertEquals((long) BIG_SIZE, done.get(i), "the value made on " + tlsRedis.get(i));
    }
  }

  private static <T extends AutoCloseable> T keep(T started) {
    running.add(started);
    return started;
  }

  private static Rig rig(String engine) throws Exception {
    TlsRig.Pool redis = new TlsRig.Pool("tls_redis", true)
        .listenerTls(pki.server(), pki.server().key()).serverTls(pki).servers(tlsRedis);
    TlsRig.Pool plain = new TlsRig.Pool("plain_redis", true).servers(plainRedis);
    TlsRig.Pool mc = new TlsRig.Pool("tls_mc", false).key("max_request_size", "8m")
        .listenerTls(pki.server(), pki.server().key()).serverTls(pki).servers(tlsMc);
    TlsRig.Pool plainMcPool = new TlsRig.Pool("plain_mc", false).servers(plainMc);
    TlsRig.Walnut walnut = keep(TlsRig.start(tmp.resolve(engine),
        TlsRig.yaml(redis, plain, mc, plainMcPool), "--transport", TlsRig.transport(),
        "--tls-provider", engine, "--threads", "2",
        // A client that pauses may hold its server connection this long before Walnut gathers
        // the rest for it: the back-pressure test watches the server meanwhile.
        "--slow-reader-limit", "10000"));
    return new Rig(walnut, redis, plain, mc, plainMcPool);
  }

  @AfterAll
  static void stop() throws InterruptedException {
    TlsRig.closeAll(running); // a Walnut's close fails on a leak its log reports
  }

  private static Rig rig(String engine, String test) {
    Rig rig = rigs.get(engine);
    assertTrue(rig != null, "no walnut for " + engine + " (" + test + ")");
    return rig;
  }

  /** One key on each of the three servers, chosen by where the plain pool puts them. */
  private static List<String> oneKeyPerServer(Rig rig, String prefix) {
    // The varying part first: twemproxy's fnv1a_64 (the default hash) is 32 bits with a small
    // multiplier, so keys that differ only in their last bytes hash close together and fall on
    // one point of the continuum.
    List<String> candidates = IntStream.range(0, 60).mapToObj(i -> i + ":" + prefix).toList();
    Map<String, Integer> placed = KeyPlacement.of(KvDialect.REDIS,
        new java.net.InetSocketAddress(TlsRig.HOST, rig.plainRedis().port), plainRedis,
        candidates);
    List<String> keys = new ArrayList<>();
    for (int s = 0; s < 3; s++) {
      keys.add(KeyPlacement.on(placed, candidates, s).get(0));
    }
    return keys;
  }

  @ParameterizedTest
  @ValueSource(strings = {"openssl", "jdk"})
  void walnutLogsTheEngineItWasAskedFor(String engine) {
    Rig rig = rig(engine, "engine line");
    assertTrue(rig.walnut().log().contains(TlsRig.engineLine(engine)), rig.walnut().log());
  }

  @SingleTransport // the client's side; the I/O core runs on every transport below
  @ParameterizedTest
  @ValueSource(strings = {"openssl", "jdk"})
  void redisCliOverTlsRunsPingSetGetMgetAndAStreamedLongGet(String engine) throws Exception {
    Rig rig = rig(engine, "redis-cli");
    int port = rig.redis().port;
    TlsRig.Run ping = TlsRig.redisCli(port, null, "PING");
    assertEquals("PONG", ping.out().strip(), ping.err());
    List<String> keys = oneKeyPerServer(rig, "cli:" + engine);
    for (int i = 0; i < keys.size(); i++) {
      TlsRig.Run set = TlsRig.redisCli(port, null, "SET", keys.get(i), "v" + i);
      assertEquals("OK", set.out().strip(), set.err());
    }
    TlsRig.Run get = TlsRig.redisCli(port, null, "GET", keys.get(1));
    assertEquals("v1", get.out().strip(), get.err());
    List<String> mgetArgs = new ArrayList<>(List.of("MGET"));
    mgetArgs.addAll(keys);
    mgetArgs.add(keys.get(0) + ":missing");
    TlsRig.Run mget = TlsRig.redisCli(port, null, mgetArgs.toArray(String[]::new));
    assertEquals(List.of("v0", "v1", "v2", ""), mget.out().lines().toList(), mget.err());

    if (!engine.equals(CLI_LONG_ENGINE)) {
      return; // the 64 MiB read: see CLI_LONG_ENGINE
    }
    Path out = tmp.resolve("cli-" + engine + ".out");
    TlsRig.Run long64 = TlsRig.redisCli(port, out, "GET", BIG_KEY);
    assertEquals(0, long64.exit(), long64.err());
    byte[] got = Files.readAllBytes(out);
    Files.delete(out);
    // redis-cli writes a bulk string raw when its output is no terminal, then a newline.
    assertEquals(BIG_SIZE + 1, got.length, "bytes redis-cli printed");
    assertTrue(Arrays.equals(got, 0, BIG_SIZE, BIG, 0, BIG_SIZE), "the 64 MiB value unchanged");
  }

  @ParameterizedTest
  @ValueSource(strings = {"openssl", "jdk"})
  void jedisOverTlsRunsPingSetGetMgetAndAnEightMebibyteValue(String engine) {
    Rig rig = rig(engine, "jedis");
    List<String> keys = oneKeyPerServer(rig, "jedis:" + engine);
    byte[] upload = new byte[UPLOAD_SIZE];
    new Random(8).nextBytes(upload);
    byte[] uploadKey = bytes("upload:" + engine);
    try (Jedis jedis = TlsRig.jedis(rig.redis().port)) {
      assertEquals("PONG", jedis.ping());
      for (int i = 0; i < keys.size(); i++) {
        assertEquals("OK", jedis.set(keys.get(i), "v" + i));
      }
      assertEquals("v2", jedis.get(keys.get(2)));
      assertEquals(Arrays.asList("v0", "v1", "v2", null),
          jedis.mget(keys.get(0), keys.get(1), keys.get(2), keys.get(0) + ":missing"));
      assertEquals("OK", jedis.set(uploadKey, upload));
      assertArrayEquals(upload, jedis.get(uploadKey));
      assertEquals("PONG", jedis.ping(), "in step after the long value");
    }
  }

  @SingleTransport // the client's side; the I/O core runs on every transport above and below
  @ParameterizedTest
  @ValueSource(strings = {"openssl", "jdk"})
  void jedisOverTlsReadsAStreamed64MebibyteValue(String engine) {
    Rig rig = rig(engine, "jedis 64 MiB");
    try (Jedis jedis = TlsRig.jedis(rig.redis().port)) {
      assertArrayEquals(BIG, jedis.get(bytes(BIG_KEY)));
      assertEquals("PONG", jedis.ping(), "in step after the long reply");
    }
  }

  /**
   * Back-pressure through both TLS legs: a client that reads the head of the 64 MiB reply and
   * then pauses makes Walnut stop reading the server, which then holds the rest in its own output
   * buffer (redis's {@code omem}); read on, the client gets every byte. Walnut held whole would
   * read all 64 MiB at once and leave redis nothing to hold.
   */
  @ParameterizedTest
  @ValueSource(strings = {"openssl", "jdk"})
  void aLongReplyToAClientThatPausesIsHeldBackAtTheServerThenStreamedWhole(String engine)
      throws Exception {
    Rig rig = rig(engine, "back-pressure");
    try (TlsRig.TlsConn conn = TlsRig.TlsConn.open(rig.redis().port)) {
      conn.send(KvDialect.REDIS.get(BIG_KEY));
      assertEquals("$" + BIG_SIZE, conn.line());
      long[] most = {0};
      Poll.until(Duration.ofSeconds(8), () -> {
        most[0] = Math.max(most[0], heldByRedis());
        return most[0] >= HELD_AT_SERVER;
      }, () -> "redis holding at least " + HELD_AT_SERVER + " bytes of the reply while the "
          + "client pauses; at most " + most[0] + " seen");
      byte[] rest = conn.exactly(BIG_SIZE);
      assertTrue(Arrays.equals(rest, BIG), "the 64 MiB value unchanged after the pause");
      assertEquals("", conn.line());
      conn.send(KvDialect.REDIS.get("pressure:after:" + engine));
      assertEquals("$-1", conn.line(), "in step after the long reply");
    }
  }

  /** The most any client of the TLS redis-servers has waiting in its output buffer now. */
  private static long heldByRedis() {
    long most = 0;
    for (RedisServer backend : tlsRedis) {
      Object list = backend.command("CLIENT", "LIST");
      java.util.regex.Matcher m = OMEM.matcher(String.valueOf(list));
      while (m.find()) {
        most = Math.max(most, Long.parseLong(m.group(1)));
      }
    }
    return most;
  }

  @SingleTransport // the client's side; the I/O core runs on every transport below
  @ParameterizedTest
  @ValueSource(strings = {"openssl", "jdk"})
  void lettuceOverTlsRunsPingSetGetMgetAndAStreamedLongGet(String engine) {
    Rig rig = rig(engine, "lettuce");
    List<String> keys = oneKeyPerServer(rig, "lettuce:" + engine);
    RedisClient client = TlsRig.lettuce(rig.redis().port);
    try (StatefulRedisConnection<byte[], byte[]> connection =
        client.connect(ByteArrayCodec.INSTANCE)) {
      RedisCommands<byte[], byte[]> redis = connection.sync();
      assertEquals("PONG", redis.ping());
      for (int i = 0; i < keys.size(); i++) {
        assertEquals("OK", redis.set(bytes(keys.get(i)), bytes("v" + i)));
      }
      assertEquals("v0", new String(redis.get(bytes(keys.get(0))), StandardCharsets.UTF_8));
      List<KeyValue<byte[], byte[]>> values = redis.mget(bytes(keys.get(0)), bytes(keys.get(1)),
          bytes(keys.get(2)), bytes(keys.get(0) + ":missing"));
      List<String> got = values.stream().map(kv -> kv.hasValue()
          ? new String(kv.getValue(), StandardCharsets.UTF_8) : null).toList();
      assertEquals(Arrays.asList("v0", "v1", "v2", null), got);
      if (engine.equals(LETTUCE_LONG_ENGINE)) { // see LETTUCE_LONG_ENGINE
        assertArrayEquals(BIG, redis.get(bytes(BIG_KEY)));
        assertEquals("PONG", redis.ping(), "in step after the long reply");
      }
    } finally {
      client.shutdown(0, 5, TimeUnit.SECONDS);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"openssl", "jdk"})
  void aMemcachedClientOverTlsRunsSetGetMultiGetAndALargeValue(String engine) throws Exception {
    Rig rig = rig(engine, "memcached");
    List<String> candidates = IntStream.range(0, 60).mapToObj(i -> i + ":mc:" + engine)
        .toList();
    Map<String, Integer> placed = KeyPlacement.of(KvDialect.MEMCACHE,
        new java.net.InetSocketAddress(TlsRig.HOST, rig.plainMc().port), plainMc, candidates);
    List<String> keys = new ArrayList<>();
    for (int s = 0; s < 3; s++) {
      keys.add(KeyPlacement.on(placed, candidates, s).get(0));
    }
    KvDialect mc = KvDialect.MEMCACHE;
    try (TlsRig.TlsConn conn = TlsRig.TlsConn.open(rig.mc().port)) {
      conn.send("version\r\n");
      assertTrue(conn.line().startsWith("VERSION "), "version");
      for (int i = 0; i < keys.size(); i++) {
        assertEquals(KvDialect.Kind.STORED, conn.call(mc, mc.set(keys.get(i), "v" + i),
            keys.get(i)).kind());
      }
      assertEquals(new KvDialect.Reply(KvDialect.Kind.VALUE, "v1"),
          conn.call(mc, mc.get(keys.get(1)), keys.get(1)));
      List<String> multi = List.of(keys.get(0), keys.get(1), keys.get(2), "mc:missing");
      conn.send(mc.multiGet(multi));
      assertEquals(Arrays.asList("v0", "v1", "v2", null), mc.readMulti(conn.in, multi).values());

      byte[] large = new byte[LARGE_MC];
      new Random(5).nextBytes(large);
      String key = "mc:large:" + engine;
      conn.send(("set " + key + " 7 0 " + LARGE_MC + "\r\n").getBytes(StandardCharsets.US_ASCII));
      conn.out.write(large);
      conn.send("\r\n");
      assertEquals("STORED", conn.line());
      conn.send("get " + key + "\r\n");
      assertEquals("VALUE " + key + " 7 " + LARGE_MC, conn.line());
      assertArrayEquals(large, conn.exactly(LARGE_MC));
      assertEquals("", conn.line());
      assertEquals("END", conn.line());
    }
    // Stored on the backend the plain pool names, read there directly.
    for (int s = 0; s < 3; s++) {
      assertEquals("v" + s, tlsMc.get(s).get(keys.get(s)), keys.get(s) + " on server " + s);
    }
  }

  @SingleTransport // placement does not depend on the transport
  @ParameterizedTest
  @ValueSource(strings = {"openssl", "jdk"})
  void keysLandOnTheServersTheyLandOnWithoutTls(String engine) throws Exception {
    Rig rig = rig(engine, "placement");
    check(KvDialect.REDIS, rig.plainRedis(), plainRedis, rig.redis(), tlsRedis,
        "place:r:" + engine);
    check(KvDialect.MEMCACHE, rig.plainMc(), plainMc, rig.mc(), tlsMc, "place:m:" + engine);
  }

  private static void check(KvDialect dialect, TlsRig.Pool plainPool,
      List<? extends ServerFixture> plainBackends, TlsRig.Pool tlsPool,
      List<? extends ServerFixture> tlsBackends, String prefix) throws Exception {
    List<String> keys = IntStream.range(0, PLACED_KEYS).mapToObj(i -> i + ":" + prefix).toList();
    Map<String, Integer> plain = KeyPlacement.of(dialect,
        new java.net.InetSocketAddress(TlsRig.HOST, plainPool.port), plainBackends, keys);
    Map<String, Integer> tls = TlsRig.placementThroughTls(dialect, tlsPool.port, tlsBackends,
        keys);
    assertEquals(3, new HashSet<>(plain.values()).size(), "the keys spread over all servers");
    assertEquals(plain, tls, dialect + ": the server of each key, without TLS and with it");
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
