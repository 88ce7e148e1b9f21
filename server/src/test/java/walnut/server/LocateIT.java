package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import walnut.testing.FreePorts;
import walnut.testing.KeyPlacement;
import walnut.testing.KvDialect;
import walnut.testing.MemcachedServer;
import walnut.testing.RedisServer;
import walnut.testing.ServerFixture;
import walnut.testing.SingleTransport;

/**
 * {@code walnut --locate} agrees with the proxy itself (issue #25): keys are written through a
 * running Walnut, each real backend is asked which keys it holds, and the packaged
 * {@code bin/walnut -c FILE --locate POOL KEY...} must name that backend for every key, for every
 * hash the plug-in registry knows, ketama and modula, with and without {@code hash_tag}.
 *
 * <p>One configuration holds every combination as its own pool (a listen port each, all over the
 * same three redis-servers), so one proxy serves them all; the backends are flushed between pools,
 * so what a backend holds is what that pool put there. Pools vary what placement depends on:
 * named servers ({@code s1}) and unnamed ones (named {@code host:port}), weights other than 1, and
 * the order of the server list. The CLI is a JVM start per pool, the test's main cost: every run
 * is started up front, two at a time, and each pool's test waits for its own.
 */
@SingleTransport
class LocateIT {

  private static final List<String> DISTRIBUTIONS = List.of("ketama", "modula");
  private static final String RANDOM_NOTE = "has distribution random: each request goes to a"
      + " server picked at random (printed as '*')";
  /**
   * Short-lived CLI runs spend most of their CPU in the JIT's second tier; C1 alone halves a run's
   * cost on a 2-core CI machine, and the placement code is the same either way.
   */
  private static final String QUICK_JVM = "-XX:TieredStopAtLevel=1";
  private static final int TAGS = 15;
  private static final java.util.regex.Pattern TAGGED =
      java.util.regex.Pattern.compile(".*:([abc]):\\{user\\d+}:\\1");
  /**
   * Whether this JVM passes a non-ASCII argument to a child as its UTF-8 bytes: it encodes
   * arguments in its locale's charset ({@code sun.jnu.encoding}), so under {@code LANG=C} such
   * keys would reach bin/walnut as '?'. The standard-input run carries them byte for byte anyway.
   */
  private static final boolean UTF8_ARGUMENTS =
      "UTF-8".equals(System.getProperty("sun.jnu.encoding"));

  /** One pool of the configuration and what its placement depends on. */
  record Pool(String name, String hash, String distribution, boolean tagged, boolean named,
      boolean weighted, int rotation, KvDialect dialect, int servers) {

    String describe() {
      return "pool " + name + " (hash " + hash + ", distribution " + distribution + ", hash_tag "
          + (tagged ? "\"{}\"" : "unset") + ", " + (named ? "named" : "unnamed") + " servers"
          + (weighted ? ", weights 3/1/2" : "") + ")";
    }

    /** The index among the backends of the pool's {@code i}-th server line. */
    int backend(int i) {
      return (i + rotation) % servers;
    }

    int weight(int backend) {
      return weighted ? new int[] {3, 1, 2}[backend] : 1;
    }

    /** The server's twemproxy name: its own, or {@code host:port} when the line names none. */
    String serverName(int backend, ServerFixture server) {
      return named ? "s" + (backend + 1) : "127.0.0.1:" + server.port();
    }
  }

  /** One run of the CLI. */
  record Located(WalnutProcess.Streams streams, List<String> keys) {}

  @TempDir
  static Path dir;

  private static final List<RedisServer> redis = new ArrayList<>();
  private static final List<MemcachedServer> memcached = new ArrayList<>();
  private static final Map<String, Pool> pools = new LinkedHashMap<>();
  private static final Map<String, Future<Located>> located = new LinkedHashMap<>();
  private static ExecutorService cli;
  private static OpsFixture walnut;
  private static Path conf;

  static List<String> placedPools() {
    return pools().stream().filter(p -> !p.distribution().equals("random") || p.servers() == 1)
        .map(Pool::name).toList();
  }

  private static List<Pool> pools() {
    // The built-ins: the test class path also holds the example plug-in (djb2), which the
    // packaged bin/walnut does not.
    List<String> hashes = OpsFixture.PLUGINS.hashFunctions().entrySet().stream()
        .filter(e -> e.getValue().getClass().getName().startsWith("walnut.hashing."))
        .map(Map.Entry::getKey).sorted().toList();
    List<Pool> all = new ArrayList<>();
    for (int h = 0; h < hashes.size(); h++) {
      for (int d = 0; d < DISTRIBUTIONS.size(); d++) {
        for (int t = 0; t < 2; t++) {
          String hash = hashes.get(h);
          String distribution = DISTRIBUTIONS.get(d);
          all.add(new Pool(hash + "_" + distribution + (t == 1 ? "_tag" : ""), hash,
              distribution, t == 1, (h + t) % 2 == 0, h % 4 >= 2, (h + d + t) % 3,
              KvDialect.REDIS, 3));
        }
      }
    }
    all.add(new Pool("memcache", "murmur", "ketama", true, true, true, 1, KvDialect.MEMCACHE, 3));
    all.add(new Pool("random_one", "fnv1a_64", "random", false, false, false, 0, KvDialect.REDIS,
        1));
    all.add(new Pool("random", "fnv1a_64", "random", true, true, false, 0, KvDialect.REDIS, 3));
    return all;
  }

  @BeforeAll
  static void start() throws Exception {
    for (int i = 0; i < 3; i++) {
      redis.add(RedisServer.start());
      memcached.add(MemcachedServer.start());
    }
    StringBuilder yaml = new StringBuilder();
    for (Pool pool : pools()) {
      pools.put(pool.name(), pool);
      yaml.append(pool.name()).append(":\n  listen: 127.0.0.1:").append(FreePorts.next())
          .append("\n  redis: ").append(pool.dialect().isRedis())
          .append("\n  hash: ").append(pool.hash())
          .append("\n  distribution: ").append(pool.distribution())
          .append(pool.tagged() ? "\n  hash_tag: \"{}\"" : "")
          .append("\n  servers:\n");
      for (int i = 0; i < pool.servers(); i++) {
        int b = pool.backend(i);
        ServerFixture server = backends(pool).get(b);
        yaml.append("   - 127.0.0.1:").append(server.port()).append(':').append(pool.weight(b))
            .append(pool.named() ? " " + pool.serverName(b, server) : "").append('\n');
      }
    }
    conf = Files.writeString(dir.resolve("locate.yml"), yaml);
    walnut = OpsFixture.start(conf, 1, false, false);

    cli = Executors.newFixedThreadPool(2);
    byte[] none = new byte[0];
    for (String pool : placedPools()) {
      List<String> keys = keys(pools.get(pool));
      located.put(pool, locate(none, keys, withKeys(keys, "--locate", pool)));
    }
    located.put("-", locate(stdin(stdinKeys()), stdinKeys(),
        List.of("--locate", stdinPool().name(), "-")));
    List<String> some = List.of("a", "{user1}:b", "key with spaces");
    located.put("random", locate(none, some, withKeys(some, "--locate", "random")));
    located.put("unknown", locate(none, List.of(), List.of("--locate", "nope", "a")));
    located.put("none", locate(none, List.of(), List.of("--locate", "random")));
  }

  @AfterAll
  static void stop() {
    if (cli != null) {
      cli.shutdownNow();
    }
    if (walnut != null) {
      walnut.close();
    }
    redis.forEach(RedisServer::close);
    memcached.forEach(MemcachedServer::close);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("placedPools")
  void locateNamesTheServerTheProxyWroteEachKeyTo(String name) throws Exception {
    Pool pool = pools.get(name);
    Located run = await(name);
    assertEquals(0, run.streams().exit(), run.streams().err());
    assertEquals("", run.streams().err());
    Map<String, String> answers = answers(run);
    Map<String, Integer> placement = placement(pool, run.keys());
    assertAgree(pool, run.keys(), placement, answers);

    List<List<String>> groups = tagGroups(run.keys());
    long split = groups.stream()
        .filter(g -> g.stream().map(placement::get).distinct().count() > 1).count();
    if (pool.tagged()) {
      assertEquals(0, split, pool.describe() + ": keys sharing a {tag} on different servers");
    } else if (placement.values().stream().distinct().count() > 1) {
      // Only where the hash spreads keys at all: twemproxy's crc32 is 15 bits wide, so on a
      // ketama ring of 32-bit points every key falls on the same arc.
      assertTrue(split > 0, pool.describe() + ": without hash_tag, the " + groups.size()
          + " groups of keys sharing a {tag} each landed together: the tag was hashed alone?");
    }
  }

  @Test
  void keysReadFromStandardInputLineByLineAgreeWithTheProxyToo() throws Exception {
    Located run = await("-");
    assertEquals(0, run.streams().exit(), run.streams().err());
    // Every third line ends in CRLF: the CR is not part of the key, in the output or the hash.
    assertEquals(run.keys(), run.streams().out().lines().map(l -> l.split("\t", -1)[0]).toList());
    assertAgree(stdinPool(), run.keys(), placement(stdinPool(), run.keys()), answers(run));
  }

  @Test
  void aRandomPoolPrintsStarsAndSaysWhyOnStandardError() throws Exception {
    Located run = await("random");
    assertEquals(0, run.streams().exit(), run.streams().err());
    assertEquals(run.keys().stream().map(k -> k + "\t*\t*\n").collect(Collectors.joining()),
        run.streams().out());
    assertEquals("walnut: pool 'random' " + RANDOM_NOTE + "\n", run.streams().err());
  }

  @Test
  void anUnknownPoolExitsWithOneNamingIt() throws Exception {
    Located run = await("unknown");
    assertEquals(1, run.streams().exit(), run.streams().out());
    assertEquals("", run.streams().out());
    assertTrue(run.streams().err().startsWith("walnut: no pool named 'nope' (pools: "),
        run.streams().err());
  }

  @Test
  void noKeysExitsWithOne() throws Exception {
    Located run = await("none");
    assertEquals(1, run.streams().exit(), run.streams().out());
    assertEquals("", run.streams().out());
    assertTrue(run.streams().err().contains("--locate requires keys"), run.streams().err());
  }

  /**
   * The keys of one pool: plain ones, groups sharing a tag, and the awkward ones: a space and
   * bytes above 0x7f (which twemproxy hashes as signed chars), an empty tag (hashed whole), an
   * unclosed one and one closed before it opens. Memcached keys have no spaces.
   */
  private static List<String> keys(Pool pool) {
    String p = pool.name() + ":";
    List<String> keys = new ArrayList<>();
    IntStream.range(0, 40).forEach(n -> keys.add(p + "plain:" + n));
    for (int u = 0; u < TAGS; u++) {
      for (String s : List.of("a", "b", "c")) {
        // Different at the start too: with fnv1 or crc, keys that differ in their last byte
        // alone often hash to one arc of the ring, and the groups would land together untagged.
        keys.add(p + s + ":{user" + u + "}:" + s);
      }
    }
    for (int n = 0; n < 4; n++) {
      if (pool.dialect().isRedis()) {
        keys.add(p + "with spaces " + n);
      }
      if (UTF8_ARGUMENTS) {
        keys.add(p + "clé_ü_" + n);
        keys.add(p + "ключ😀" + n);
      }
      keys.add(p + "{}:" + n);
      keys.add(p + "{open" + n);
      keys.add(p + "x}{user" + n + "}");
    }
    return keys;
  }

  /** The groups of keys written as {@code …a:{userN}:a}, {@code b:…:b} and {@code c:…:c}. */
  private static List<List<String>> tagGroups(List<String> keys) {
    Map<String, List<String>> groups = new LinkedHashMap<>();
    for (String key : keys) {
      int open = key.indexOf("{user");
      if (TAGGED.matcher(key).matches()) {
        groups.computeIfAbsent(key.substring(open, key.indexOf('}', open) + 1),
            t -> new ArrayList<>()).add(key);
      }
    }
    return List.copyOf(groups.values());
  }

  /** The pool the standard-input run locates: ketama, a hash tag, weights. */
  private static Pool stdinPool() {
    return pools.values().stream().filter(p -> p.distribution().equals("ketama") && p.tagged()
        && p.weighted() && p.dialect() == KvDialect.REDIS).findFirst().orElseThrow();
  }

  private static List<String> stdinKeys() {
    return IntStream.range(0, 3000).mapToObj(n -> switch (n % 4) {
      case 0 -> "bulk:" + n;
      case 1 -> "{bulk" + n % 100 + "}:" + n;
      case 2 -> "clé ü:" + n; // bytes above 0x7f, byte for byte whatever the locale
      default -> "{ключ" + n % 50 + "}😀" + n;
    }).toList();
  }

  private static byte[] stdin(List<String> keys) {
    ByteArrayOutputStream in = new ByteArrayOutputStream();
    for (int i = 0; i < keys.size(); i++) {
      in.writeBytes(keys.get(i).getBytes(StandardCharsets.UTF_8));
      if (i < keys.size() - 1) { // the last line has no end: it is a key all the same
        in.writeBytes((i % 3 == 0 ? "\r\n" : "\n").getBytes(StandardCharsets.US_ASCII));
      }
    }
    return in.toByteArray();
  }

  /** Runs {@code bin/walnut -c CONF args} in the background; {@code keys}: the keys it locates. */
  private static Future<Located> locate(byte[] stdin, List<String> keys, List<String> args) {
    List<String> all = new ArrayList<>(List.of("-c", conf.toString()));
    all.addAll(args);
    return cli.submit(() -> new Located(
        WalnutProcess.run(stdin, QUICK_JVM, all.toArray(String[]::new)), keys));
  }

  private static List<String> withKeys(List<String> keys, String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(keys);
    return all;
  }

  private static Located await(String run) throws InterruptedException {
    try {
      return located.get(run).get();
    } catch (ExecutionException e) {
      throw new AssertionError("running bin/walnut for " + run, e.getCause());
    }
  }

  /** Each key's {@code SERVER-NAME <tab> ADDRESS}, from the CLI's lines. */
  private static Map<String, String> answers(Located run) {
    Map<String, String> answers = new LinkedHashMap<>();
    for (String line : run.streams().out().split("\n", -1)) {
      if (!line.isEmpty()) {
        int tab = line.indexOf('\t');
        answers.put(line.substring(0, tab), line.substring(tab + 1));
      }
    }
    assertEquals(run.keys().size(), answers.size(), "one line a key:\n" + run.streams().out());
    return answers;
  }

  /** Which backend each key is on once written through the proxy's port for {@code pool}. */
  private static Map<String, Integer> placement(Pool pool, List<String> keys) {
    List<? extends ServerFixture> backends = backends(pool);
    if (pool.dialect().isRedis()) {
      redis.forEach(r -> r.command("FLUSHALL"));
    }
    return KeyPlacement.of(pool.dialect(), new java.net.InetSocketAddress("127.0.0.1",
        walnut.port(pool.name())), backends, keys);
  }

  private static void assertAgree(Pool pool, List<String> keys, Map<String, Integer> placement,
      Map<String, String> answers) {
    List<? extends ServerFixture> backends = backends(pool);
    List<String> disagreements = new ArrayList<>();
    for (String key : keys) {
      int b = placement.get(key);
      String proxy = pool.serverName(b, backends.get(b)) + "\t127.0.0.1:" + backends.get(b).port();
      if (!proxy.equals(answers.get(key))) {
        disagreements.add("key '" + key + "': the proxy wrote it to " + proxy.replace('\t', ' ')
            + ", --locate says " + String.valueOf(answers.get(key)).replace('\t', ' '));
      }
    }
    assertEquals(List.of(), disagreements.subList(0, Math.min(10, disagreements.size())),
        pool.describe() + ": " + disagreements.size() + " of " + keys.size()
            + " keys disagree");
  }

  private static List<? extends ServerFixture> backends(Pool pool) {
    return pool.dialect().isRedis() ? redis : memcached;
  }
}
