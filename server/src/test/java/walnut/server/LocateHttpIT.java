package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisException;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ProxyStats;
import walnut.testing.FreePorts;
import walnut.testing.KeyPlacement;
import walnut.testing.KvDialect;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.SingleTransport;
import walnut.testing.JsonText;

/**
 * {@code GET /locate?pool=P&key=K} on the metrics port (README, "Where a key lives"):
 * the server the live proxy sends a key to now. Before any trouble it agrees with where keys land
 * and with {@code walnut --locate}; once the server holding a key is stopped and ejected
 * ({@code auto_eject_hosts}, {@code server_failure_limit: 1}), it names the server the proxy now
 * writes the key to, while the CLI, which reads the configuration alone, keeps naming the first.
 */
@SingleTransport
class LocateHttpIT {

  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final List<String> NAMES = List.of("s1", "s2", "s3");

  @TempDir
  Path dir;

  private final List<RedisServer> backends = new ArrayList<>();
  private OpsFixture walnut;

  @BeforeEach
  void start() throws Exception {
    for (int i = 0; i < 3; i++) {
      backends.add(RedisServer.start());
    }
    StringBuilder servers = new StringBuilder();
    for (int i = 0; i < backends.size(); i++) {
      servers.append("   - 127.0.0.1:").append(backends.get(i).port()).append(":1 ")
          .append(NAMES.get(i)).append('\n');
    }
    Path conf = Files.writeString(dir.resolve("locate.yml"), """
        alpha:
          listen: 127.0.0.1:%d
          redis: true
          hash: fnv1a_64
          distribution: ketama
          hash_tag: "{}"
          auto_eject_hosts: true
          server_failure_limit: 1
          server_retry_timeout: 60000
          timeout: 400
          servers:
        %s
        scattered:
          listen: 127.0.0.1:%d
          redis: true
          distribution: random
          servers:
        %s
        """.formatted(FreePorts.next(), servers.toString().stripTrailing(), FreePorts.next(),
        servers.toString().stripTrailing()));
    walnut = OpsFixture.startWith(conf, 1);
  }

  @AfterEach
  void stop() {
    if (walnut != null) {
      walnut.close();
    }
    backends.forEach(RedisServer::close);
  }

  @Test
  void eachKeyIsLocatedWhereTheProxyPutsItAndWhereTheCliSays() throws Exception {
    List<String> keys = new ArrayList<>(IntStream.range(0, 30).mapToObj(n -> "user:" + n)
        .toList());
    keys.addAll(List.of("key with spaces", "clé ü", "ключ😀", "{user7}:a", "{user7}:b",
        "a&b=c+d%/?#", "50%"));
    Map<String, Integer> placement = KeyPlacement.of(KvDialect.REDIS, proxy(), backends, keys);
    WalnutProcess.Streams cli = WalnutProcess.run(
        (String.join("\n", keys) + "\n").getBytes(StandardCharsets.UTF_8), "",
        "-c", walnut.conf.toString(), "--locate", "alpha", "-");
    assertEquals(0, cli.exit(), cli.err());
    Map<String, String> cliAnswers = cli.out().lines()
        .collect(Collectors.toMap(l -> l.split("\t")[0], l -> l.split("\t", 2)[1]));

    for (String key : keys) {
      int b = placement.get(key);
      Map<String, Object> answer = ok(locate("alpha", key));
      assertEquals(located("alpha", key, b, "serving"), answer, key);
      assertEquals(NAMES.get(b) + "\t" + address(b), cliAnswers.get(key), key);
    }
    assertEquals(placement.get("{user7}:a"), placement.get("{user7}:b"), "one tag, one server");
  }

  @Test
  void severalKeysAnswerInOneDocumentInTheirOrder() throws Exception {
    List<String> keys = List.of("user:1", "{user7}:a", "a b", "user:2", "user:1");
    Map<String, Integer> placement = KeyPlacement.of(KvDialect.REDIS, proxy(), backends, keys);
    // Both spellings of a space: the form's '+' and %20.
    String query = "pool=alpha&key=user%3A1&key=%7Buser7%7D%3Aa&key=a%20b&key=user:2&key=user:1";
    Map<String, Object> answer = ok(get("/locate?" + query));
    List<Object> each = new ArrayList<>();
    for (String key : keys) {
      Map<String, Object> one = located("alpha", key, placement.get(key), "serving");
      one.remove("pool");
      each.add(one);
    }
    Map<String, Object> expected = new LinkedHashMap<>();
    expected.put("pool", "alpha");
    expected.put("keys", each);
    assertEquals(expected, answer);
    assertEquals(ok(locate("alpha", "a b")).get("server"),
        ok(get("/locate?pool=alpha&key=a+b")).get("server"));
  }

  @Test
  void anEjectionMovesTheAnswerToTheServerThatNowTakesTheKey() throws Exception {
    String key = "{moving}:1";
    int first = KeyPlacement.of(KvDialect.REDIS, proxy(), backends, List.of(key)).get(key);
    assertEquals(located("alpha", key, first, "serving"), ok(locate("alpha", key)));

    backends.get(first).close(); // by its pid: the proxy's next request to it fails
    try (Jedis jedis = new Jedis("127.0.0.1", walnut.port("alpha"), 5_000)) {
      Poll.until(Duration.ofSeconds(20), () -> {
        try {
          jedis.set(key, "again");
        } catch (JedisException e) {
          // refused or closed: the failure that ejects it
        }
        return ejects() == 1;
      }, () -> "the stopped server " + NAMES.get(first) + " ejected; stats:\n" + stats());
    }
    Map<String, Object> moved = ok(locate("alpha", key));
    int now = (int) (long) (Long) moved.get("index");
    assertNotEquals(first, now, "the answer still names the stopped server: " + moved);
    assertEquals(located("alpha", key, now, "serving"), moved);

    backends.get(now).command("DEL", key);
    try (Jedis jedis = new Jedis("127.0.0.1", walnut.port("alpha"), 5_000)) {
      assertEquals("OK", jedis.set(key, "moved"));
    }
    assertEquals("moved", backends.get(now).command("GET", key), "the proxy writes it there");

    Map<String, Object> status = JsonText.parseFull(ok(get("/status.json"), "status.json"));
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> pools = (List<Map<String, Object>>) status.get("pools");
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> servers = (List<Map<String, Object>>) pools.stream()
        .filter(p -> p.get("name").equals("alpha")).findFirst().orElseThrow().get("servers");
    for (int i = 0; i < servers.size(); i++) {
      assertEquals(NAMES.get(i), servers.get(i).get("name"));
      assertEquals(i == first ? "ejected" : "serving", servers.get(i).get("state"),
          servers.get(i).toString());
    }
    long returnsIn = (Long) servers.get(first).get("returns_in_ms");
    assertTrue(returnsIn > 0 && returnsIn <= 60_000, servers.get(first).toString());
  }

  /**
   * A key whose bytes are not UTF-8 (a binary key, %XX in the query): the proxy routes its bytes,
   * so /locate must either name the server of those bytes or refuse the key (400), as --locate
   * refuses keys the locale could not read. It must not silently answer for U+FFFD's bytes.
   */
  @Test
  void aKeyThatIsNotUtf8IsLocatedByItsBytesOrRefused() throws Exception {
    List<String> wrong = new ArrayList<>();
    try (Jedis jedis = new Jedis("127.0.0.1", walnut.port("alpha"), 5_000)) {
      for (int b = 0x80; b <= 0xff; b++) {
        byte[] key = {'k', (byte) b};
        assertEquals("OK", jedis.set(key, "v".getBytes(StandardCharsets.US_ASCII)));
        int holder = -1;
        for (int i = 0; i < backends.size(); i++) {
          try (Jedis direct = new Jedis("127.0.0.1", backends.get(i).port(), 5_000)) {
            if (direct.exists(key)) {
              holder = i;
            }
          }
        }
        HttpResponse<String> r = get("/locate?pool=alpha&key=k%" + String.format("%02X", b));
        if (r.statusCode() == 400) {
          continue; // refused: fine
        }
        Map<String, Object> answer = ok(r);
        if (!NAMES.get(holder).equals(answer.get("server"))) {
          wrong.add(String.format("k\\x%02x: proxy wrote it to %s, /locate says %s (key echoed"
              + " as %s)", b, NAMES.get(holder), answer.get("server"), answer.get("key")));
        }
      }
    }
    assertTrue(wrong.isEmpty(), wrong.size() + " of 128 binary keys misplaced by /locate:\n"
        + String.join("\n", wrong.subList(0, Math.min(5, wrong.size()))));
  }

  @Test
  void withNoServerLiveTheAnswerIsNull() throws Exception {
    List<String> keys = IntStream.range(0, 60).mapToObj(n -> "k" + n).toList();
    Map<String, Integer> placement = KeyPlacement.of(KvDialect.REDIS, proxy(), backends, keys);
    backends.forEach(RedisServer::close);
    try (Jedis jedis = new Jedis("127.0.0.1", walnut.port("alpha"), 5_000)) {
      Poll.until(Duration.ofSeconds(20), () -> {
        for (int b = 0; b < backends.size(); b++) {
          for (String key : KeyPlacement.on(placement, keys, b)) {
            try {
              jedis.set(key, "v"); // one key a server: each server's first failure ejects it
            } catch (JedisException e) {
              // expected
            }
            break;
          }
        }
        return ejects() == backends.size();
      }, () -> "all three servers ejected; stats:\n" + stats());
    }
    Map<String, Object> expected = new LinkedHashMap<>();
    expected.put("pool", "alpha");
    expected.put("key", "k1");
    expected.put("server", null);
    expected.put("address", null);
    expected.put("index", -1L);
    expected.put("state", null);
    assertEquals(expected, ok(locate("alpha", "k1")));
  }

  @Test
  void aRandomPoolHasNoServerForAKey() throws Exception {
    Map<String, Object> expected = new LinkedHashMap<>();
    expected.put("pool", "scattered");
    expected.put("key", "user:1");
    expected.put("server", "*");
    expected.put("address", "*");
    expected.put("index", -1L);
    expected.put("state", null);
    expected.put("random", true);
    assertEquals(expected, ok(locate("scattered", "user:1")));
  }

  @Test
  void aMissingPoolOrKeyIs400AndAnUnknownPool404() throws Exception {
    for (String query : List.of("", "?pool=alpha", "?key=user:1")) {
      HttpResponse<String> r = get("/locate" + query);
      assertEquals(400, r.statusCode(), query + ": " + r.body());
      assertJson(r);
      assertTrue(JsonText.parseFull(r.body()).get("error") instanceof String, r.body());
    }
    HttpResponse<String> r = locate("nope", "a");
    assertEquals(404, r.statusCode(), r.body());
    assertJson(r);
    assertEquals(Map.of("error", "no pool named 'nope'"), JsonText.parseFull(r.body()));
  }

  /** The contract's answer for a key on server {@code index} of pool alpha's configured order. */
  private Map<String, Object> located(String pool, String key, int index, String state) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("pool", pool);
    m.put("key", key);
    m.put("server", NAMES.get(index));
    m.put("address", address(index));
    m.put("index", (long) index);
    m.put("state", state);
    return m;
  }

  private String address(int index) {
    return "127.0.0.1:" + backends.get(index).port();
  }

  private InetSocketAddress proxy() {
    return new InetSocketAddress("127.0.0.1", walnut.port("alpha"));
  }

  private long ejects() {
    for (ProxyStats.Pool pool : walnut.running.proxy().stats().pools()) {
      if (pool.name().equals("alpha")) {
        return pool.counters().get(PoolStat.SERVER_EJECTS);
      }
    }
    throw new AssertionError("no pool alpha in the stats");
  }

  private String stats() {
    try {
      return walnut.stats();
    } catch (IOException e) {
      return "(stats port: " + e + ")";
    }
  }

  private HttpResponse<String> locate(String pool, String key) throws Exception {
    return get("/locate?pool=" + URLEncoder.encode(pool, StandardCharsets.UTF_8) + "&key="
        + URLEncoder.encode(key, StandardCharsets.UTF_8));
  }

  private HttpResponse<String> get(String pathAndQuery) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + walnut.metricsPort() + pathAndQuery))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static Map<String, Object> ok(HttpResponse<String> r) {
    return JsonText.parseFull(ok(r, "/locate"));
  }

  private static String ok(HttpResponse<String> r, String what) {
    assertEquals(200, r.statusCode(), what + ": " + r.body());
    assertJson(r);
    return r.body();
  }

  private static void assertJson(HttpResponse<String> r) {
    assertEquals("application/json; charset=utf-8",
        r.headers().firstValue("Content-Type").orElse(null), r.uri().toString());
  }
}
