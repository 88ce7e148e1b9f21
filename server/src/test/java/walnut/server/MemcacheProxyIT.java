package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import net.rubyeye.xmemcached.GetsResponse;
import net.rubyeye.xmemcached.MemcachedClient;
import net.rubyeye.xmemcached.XMemcachedClientBuilder;
import net.rubyeye.xmemcached.utils.AddrUtil;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import walnut.core.stats.PoolStat;
import walnut.testing.MemcachedServer;

/**
 * Walnut in front of three real memcached servers, compared with one memcached spoken to
 * directly: real clients (xmemcached, spymemcached, memcslap) and raw sockets for the meta
 * commands and {@code noreply}. The backends run with {@code -I 2m} so that a value of a full
 * MiB, Walnut's default limit, is one they store.
 */
class MemcacheProxyIT {

  private static final List<MemcachedServer> backends = new ArrayList<>();
  private static MemcachedServer reference;
  private static ProxyFixture walnut;

  @BeforeAll
  static void start() throws Exception {
    for (int i = 0; i < 3; i++) {
      backends.add(MemcachedServer.start("-I", "2m"));
    }
    reference = MemcachedServer.start("-I", "2m");
    // murmur rather than the default fnv1a_64: twemproxy's fnv1a_64 + ketama puts look-alike
    // keys (down:0 .. down:99) 90/10/0 over three servers, and Walnut, rightly, does the same.
    walnut = ProxyFixture.start(ProxyFixture.memcachePool(backends).hash("murmur").build(), 2);
  }

  @AfterAll
  static void stop() throws Exception {
    if (walnut != null) {
      walnut.close();
    }
    backends.forEach(MemcachedServer::close);
    if (reference != null) {
      reference.close();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Real clients

  @Test
  void xmemcachedGetsTheSameAnswersThroughWalnutAsFromMemcachedItself() throws Exception {
    MemcachedClient proxied = xmemcached(walnut.port());
    MemcachedClient direct = xmemcached(reference.port());
    try {
      assertEquals(xmemcachedScript(direct, "xm:"), xmemcachedScript(proxied, "xm:"));
    } finally {
      proxied.shutdown();
      direct.shutdown();
    }
  }

  /** Runs every command xmemcached has for the text protocol; returns what each answered. */
  private static List<Object> xmemcachedScript(MemcachedClient c, String p) throws Exception {
    List<Object> out = new ArrayList<>();
    out.add(c.set(p + "a", 0, "alpha"));
    out.add(c.get(p + "a"));
    out.add(c.add(p + "a", 0, "again"));
    out.add(c.add(p + "b", 0, "beta"));
    out.add(c.replace(p + "b", 0, "BETA"));
    out.add(c.replace(p + "missing", 0, "x"));
    out.add(c.append(p + "b", "-tail"));
    out.add(c.prepend(p + "b", "head-"));
    out.add(c.get(p + "b"));
    GetsResponse<String> gets = c.gets(p + "b");
    out.add(gets.getValue());
    out.add(c.cas(p + "b", 0, "swapped", gets.getCas()));
    out.add(c.cas(p + "b", 0, "stale", gets.getCas()));
    out.add(c.get(p + "b"));
    out.add(c.set(p + "n", 0, "10"));
    out.add(c.incr(p + "n", 5));
    out.add(c.decr(p + "n", 3));
    out.add(c.decr(p + "n", 100));
    out.add(c.touch(p + "a", 100));
    out.add(c.touch(p + "missing", 100));
    out.add(c.delete(p + "a"));
    out.add(c.delete(p + "a"));
    out.add(c.get(p + "a"));
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      if (i % 3 != 0) {
        c.set(p + "multi" + i, 0, "v" + i);
      }
      keys.add(p + "multi" + i);
    }
    out.add(new java.util.TreeMap<>(c.<String>get(keys)));
    Map<String, GetsResponse<String>> bulkGets = c.gets(keys);
    Map<String, String> values = new java.util.TreeMap<>();
    bulkGets.forEach((k, v) -> values.put(k, v.getValue()));
    out.add(values);
    c.setWithNoReply(p + "quiet", 0, "q");
    out.add(c.get(p + "quiet"));
    c.deleteWithNoReply(p + "quiet");
    out.add(c.get(p + "quiet"));
    return out;
  }

  private static MemcachedClient xmemcached(int port) throws IOException {
    XMemcachedClientBuilder builder =
        new XMemcachedClientBuilder(AddrUtil.getAddresses("127.0.0.1:" + port));
    builder.setConnectTimeout(5_000);
    builder.setOpTimeout(10_000);
    return builder.build();
  }

  @Test
  void spymemcachedBulkGetOfAThousandKeysOverThreeServersWithSomeMissing() throws Exception {
    net.spy.memcached.MemcachedClient spy = new net.spy.memcached.MemcachedClient(
        new InetSocketAddress("127.0.0.1", walnut.port()));
    try {
      Map<String, Object> expected = new HashMap<>();
      List<String> keys = new ArrayList<>();
      for (int i = 0; i < 1000; i++) {
        String key = "spy:" + i;
        keys.add(key);
        if (i % 7 != 0) {
          assertTrue(spy.set(key, 0, "value-" + i).get(10, TimeUnit.SECONDS));
          expected.put(key, "value-" + i);
        }
      }
      assertEquals(expected, spy.getBulk(keys));
      for (MemcachedServer backend : backends) {
        assertTrue(keys.stream().anyMatch(k -> backend.get(k) != null),
            "every backend holds some of the keys: " + backend);
      }
    } finally {
      spy.shutdown(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void memcslapRunsThroughWalnutWithoutErrors() throws Exception {
    for (String test : List.of("set", "get", "mget")) {
      Process process = new ProcessBuilder("memcslap", "--servers=127.0.0.1:" + walnut.port(),
          "--test=" + test, "--concurrency=4", "--execute-number=2000")
          .redirectErrorStream(true).start();
      try {
        byte[] output = process.getInputStream().readAllBytes();
        assertTrue(process.waitFor(120, TimeUnit.SECONDS), "memcslap finished");
        String text = new String(output, StandardCharsets.UTF_8);
        assertEquals(0, process.exitValue(), text);
        // memcslap exits 0 even when every request failed: its error lines are the verdict.
        assertFalse(text.contains("error") || text.contains("Failed") || text.contains("FAIL"),
            text);
        assertTrue(java.util.regex.Pattern.compile("Time to " + test + " +8000 keys by +4 threads")
            .matcher(text).find(), text);
      } finally {
        process.destroyForcibly();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Raw protocol, compared byte for byte with memcached itself

  @Test
  void storageRetrievalAndNoreplyAnswerAsMemcachedDoes() throws Exception {
    String script = ""
        + "set raw:a 5 0 3\r\nabc\r\n"
        + "set raw:b 0 0 2 noreply\r\nxy\r\n"
        + "add raw:a 0 0 1\r\nz\r\n"
        + "add raw:c 0 0 1 noreply\r\nz\r\n"
        + "append raw:a 0 0 2\r\nde\r\n"
        + "prepend raw:a 0 0 2\r\n__\r\n"
        + "replace raw:zz 0 0 1\r\nq\r\n"
        + "get raw:a raw:b raw:c raw:zz raw:a\r\n"
        + "get raw:b\r\n"
        + "incr raw:zz 1\r\n"
        + "set raw:n 0 0 2\r\n41\r\n"
        + "incr raw:n 1\r\n"
        + "decr raw:n 50 noreply\r\n"
        + "get raw:n\r\n"
        + "touch raw:a 100\r\n"
        + "touch raw:b 100 noreply\r\n"
        + "gat 100 raw:a raw:b raw:missing\r\n"
        + "delete raw:c\r\n"
        + "delete raw:b noreply\r\n"
        + "delete raw:b\r\n"
        + "version\r\n"
        + "mn\r\n";
    assertEquals(exchange(reference.port(), script, endsWithMn(1)),
        exchange(walnut.port(), script, endsWithMn(1)));
  }

  @Test
  void metaCommandsWithOpaqueQuietAndBase64KeysAnswerAsMemcachedDoes() throws Exception {
    StringBuilder script = new StringBuilder();
    for (int i = 0; i < 30; i++) {
      script.append("ms meta:").append(i).append(" 2 T0 F").append(i).append(" O").append(i)
          .append("\r\nv").append(i % 10).append("\r\n");
    }
    // Quiet: hits and failures only, in order, across every server; misses stay silent.
    for (int i = 0; i < 40; i++) {
      script.append("mg meta:").append(i).append(" v f k q O").append(i).append("\r\n");
    }
    script.append("mn\r\n");
    script.append("ms meta:counter 1\r\n5\r\n");
    for (int i = 0; i < 40; i += 3) {
      script.append("md meta:").append(i).append(" q O").append(i).append("\r\n");
      script.append("ma meta:n").append(i).append(" q O").append(i).append("\r\n");
      script.append("ma meta:counter q D2 O").append(i).append("\r\n");
    }
    script.append("mn\r\n");
    String b64 = Base64.getEncoder().encodeToString("meta:1".getBytes(StandardCharsets.UTF_8));
    script.append("mg ").append(b64).append(" b v k\r\n");
    script.append("ms ").append(Base64.getEncoder().encodeToString(
        "meta:b64".getBytes(StandardCharsets.UTF_8))).append(" 3 b\r\nxyz\r\n");
    script.append("mg meta:b64 v s\r\n");
    script.append("ma meta:n4 v D3\r\n");
    script.append("mg meta:nothing v\r\n");
    script.append("mn\r\n");
    String s = script.toString();
    assertEquals(exchange(reference.port(), s, endsWithMn(3)),
        exchange(walnut.port(), s, endsWithMn(3)));
  }

  @Test
  void aBase64KeyLandsWhereThePlainKeyDoes() throws Exception {
    String b64 = Base64.getEncoder().encodeToString("where:k".getBytes(StandardCharsets.UTF_8));
    assertEquals("HD\r\n", exchange(walnut.port(), "ms " + b64 + " 1 b\r\nv\r\n",
        r -> r.endsWith("\r\n")));
    long holders = backends.stream().filter(b -> "v".equals(b.get("where:k"))).count();
    assertEquals(1, holders, "stored once, under the decoded key");
    assertEquals("VALUE where:k 0 1\r\nv\r\nEND\r\n",
        exchange(walnut.port(), "get where:k\r\n", r -> r.endsWith("END\r\n")));
  }

  @Test
  void aThousandKeyGetMergesInTheClientsOrderWithOneEnd() throws Exception {
    StringBuilder get = new StringBuilder("get");
    StringBuilder expected = new StringBuilder();
    Random random = new Random(42);
    for (int i = 0; i < 1000; i++) {
      int k = random.nextInt(700); // duplicates, and keys never set
      get.append(" order:").append(k);
      if (k < 500) {
        expected.append("VALUE order:").append(k).append(" 0 ").append(("v" + k).length())
            .append("\r\nv").append(k).append("\r\n");
      }
    }
    StringBuilder sets = new StringBuilder();
    for (int k = 0; k < 500; k++) {
      sets.append("set order:").append(k).append(" 0 0 ").append(("v" + k).length())
          .append(" noreply\r\nv").append(k).append("\r\n");
    }
    long fragmentsBefore = fragments();
    String reply = exchange(walnut.port(), sets + get.toString() + "\r\n",
        r -> r.endsWith("END\r\n"));
    assertEquals(expected + "END\r\n", reply);
    assertEquals(3, fragments() - fragmentsBefore, "one sub-request per server");
  }

  private static long fragments() {
    return walnut.proxy.stats().pools().get(0).counters().get(PoolStat.FRAGMENTS);
  }

  @Test
  void aValueOfOneMibGoesThroughAndOneByteMoreIsRefusedAsMemcachedRefusesIt() throws Exception {
    byte[] value = new byte[1 << 20];
    new Random(7).nextBytes(value);
    for (int i = 0; i < value.length; i++) {
      value[i] = (byte) ('a' + (value[i] & 15)); // printable, so the reply reads as text
    }
    String v = new String(value, StandardCharsets.US_ASCII);
    assertEquals("STORED\r\n", exchange(walnut.port(),
        "set big:1 0 0 " + value.length + "\r\n" + v + "\r\n", r -> r.endsWith("\r\n")));
    String reply = exchange(walnut.port(), "get big:1\r\n", r -> r.endsWith("END\r\n"));
    assertEquals("VALUE big:1 0 " + value.length + "\r\n" + v + "\r\nEND\r\n", reply);
    String tooBig = "set big:2 0 0 " + (value.length + 1) + "\r\n" + v + "x\r\nget big:1\r\n";
    String refused = exchange(walnut.port(), tooBig, r -> r.endsWith("END\r\n"));
    assertTrue(refused.startsWith("SERVER_ERROR object too large for cache\r\nVALUE big:1 "),
        refused.substring(0, Math.min(200, refused.length())));
  }

  @Test
  void badInputGetsMemcachedsAnswersAndTheConnectionStays() throws Exception {
    String key251 = "k".repeat(251);
    for (String command : List.of("bogus command\r\n", "GET raw:a\r\n",
        "get " + key251 + "\r\n", "incr raw:nothing abc\r\n", "\r\n",
        "mg meta:x v v\r\n", "touch raw:a soon\r\n")) {
      assertEquals(exchange(reference.port(), command + "mn\r\n", endsWithMn(1)),
          exchange(walnut.port(), command + "mn\r\n", endsWithMn(1)), command);
    }
    // Not proxied (as twemproxy): memcached's own ERROR, the connection kept.
    assertEquals("ERROR\r\nMN\r\n", exchange(walnut.port(), "stats\r\nmn\r\n", endsWithMn(1)));
    // memcached reads the data block of a refused storage command as a command of its own;
    // Walnut skips it, so a client's data never runs as a command.
    assertEquals("CLIENT_ERROR bad command line format\r\nMN\r\n",
        exchange(walnut.port(), "set " + key251 + " 0 0 1\r\nx\r\nmn\r\n", endsWithMn(1)));
  }

  @Test
  void aWrongDataLengthClosesTheConnectionAfterEarlierReplies() throws Exception {
    String reply = exchange(walnut.port(), "set frame:ok 0 0 1\r\nx\r\nset frame:bad 0 0 2\r\n"
        + "xyz\r\nget frame:ok\r\n", r -> false);
    assertEquals("STORED\r\nCLIENT_ERROR bad data chunk\r\n", reply);
  }

  @Test
  void quitClosesAfterTheRepliesOwed() throws Exception {
    String reply = exchange(walnut.port(), "set quit:k 0 0 1\r\nx\r\nget quit:k\r\nquit\r\n"
        + "get quit:k\r\n", r -> false);
    assertEquals("STORED\r\nVALUE quit:k 0 1\r\nx\r\nEND\r\n", reply);
  }

  @Test
  void aFailedFragmentGivesOneServerErrorAndTheConnectionStaysUsable() throws Exception {
    List<MemcachedServer> own = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      own.add(MemcachedServer.start());
    }
    try (ProxyFixture proxy = ProxyFixture.start(
            ProxyFixture.memcachePool(own).hash("murmur").build(), 1);
        Socket socket = connect(proxy.port())) {
      StringBuilder get = new StringBuilder("get");
      for (int i = 0; i < 100; i++) {
        get.append(" down:").append(i);
      }
      get.append("\r\n");
      assertEquals("END\r\n", roundTrip(socket, get.toString(), r -> r.endsWith("END\r\n")));
      assertEquals(3, proxy.proxy.stats().pools().get(0).counters().get(PoolStat.FRAGMENTS),
          "the 100 keys spread over the 3 servers");
      own.get(1).kill();
      String reply = roundTrip(socket, get.toString(), r -> r.endsWith("\r\n"));
      assertTrue(reply.startsWith("SERVER_ERROR "), reply);
      assertFalse(reply.contains("END"), reply);
      String live = liveKey(proxy, own);
      assertEquals("STORED\r\n", roundTrip(socket, "set " + live + " 0 0 1\r\nx\r\n",
          r -> r.endsWith("\r\n")));
      assertEquals("VALUE " + live + " 0 1\r\nx\r\nEND\r\n",
          roundTrip(socket, "get " + live + "\r\n", r -> r.endsWith("END\r\n")));
    } finally {
      own.forEach(MemcachedServer::close);
    }
  }

  /** A key that lands on a server still running. */
  private static String liveKey(ProxyFixture proxy, List<MemcachedServer> own) throws Exception {
    for (int i = 0; ; i++) {
      String key = "live:" + i;
      String reply = exchange(proxy.port(), "set " + key + " 0 0 1\r\nx\r\n",
          r -> r.endsWith("\r\n"));
      if (reply.equals("STORED\r\n")) {
        return key;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  private static Predicate<String> endsWithMn(int count) {
    return r -> r.endsWith("MN\r\n") && countOf(r, "MN\r\n") >= count;
  }

  private static int countOf(String text, String part) {
    int n = 0;
    for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + part.length())) {
      n++;
    }
    return n;
  }

  private static Socket connect(int port) throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    socket.setSoTimeout(15_000);
    return socket;
  }

  /**
   * Sends {@code request} on a new connection and reads until {@code done} holds or the server
   * closes the connection (a predicate that never holds reads to the close).
   */
  private static String exchange(int port, String request, Predicate<String> done)
      throws IOException {
    try (Socket socket = connect(port)) {
      return roundTrip(socket, request, done);
    }
  }

  private static String roundTrip(Socket socket, String request, Predicate<String> done)
      throws IOException {
    socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
    socket.getOutputStream().flush();
    InputStream in = socket.getInputStream();
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    byte[] buffer = new byte[65536];
    while (!done.test(got.toString(StandardCharsets.ISO_8859_1))) {
      int n = in.read(buffer);
      if (n < 0) {
        break;
      }
      got.write(buffer, 0, n);
    }
    return got.toString(StandardCharsets.ISO_8859_1);
  }
}
