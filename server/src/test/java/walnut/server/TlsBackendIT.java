package walnut.server;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import redis.clients.jedis.Jedis;
import walnut.testing.FreePorts;
import walnut.testing.KvDialect;
import walnut.testing.MemcachedServer;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.ServerTls;
import walnut.testing.SingleTransport;
import walnut.testing.TestPki;

/**
 * Walnut's side of the backend handshake (issue 23), with both TLS engines: a server with a
 * certificate from another CA, or for another name, is refused with the reason logged and its keys
 * get {@code TLS handshake failed} while a good server of the same pool serves on; a server that
 * never answers the handshake costs the pool's timeout; Walnut's client certificate (PKCS#1 and
 * PKCS#8 keys) opens a redis and a memcached that demand one; {@code server_tls_server_name} and
 * {@code server_tls_verify: false} as documented; AUTH and SELECT after the handshake. The pools
 * listen in plain TCP: the backend side is what is tested here.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
@SingleTransport
class TlsBackendIT {

  private static final String PASSWORD = "tls-s3cret";
  private static final int DB = 3;

  @TempDir
  static Path tmp;

  private static TestPki pki;
  private static final List<AutoCloseable> servers = new CopyOnWriteArrayList<>();
  private static RedisServer good;
  private static RedisServer otherCa;
  private static RedisServer otherName;
  private static RedisServer wantsClientCert;
  private static RedisServer withPassword;
  private static MemcachedServer goodMc;
  private static MemcachedServer otherCaMc;
  private static MemcachedServer mcWantsClientCert;
  /** Accepts TCP connections (the kernel does, from its backlog) and never says a word. */
  private static ServerSocket silent;
  /** Each engine's Walnut, with its own pools on their own ports. */
  private static TlsRig.Engines engines;

  @BeforeAll
  static void start() throws Exception {
    pki = TlsRig.pki();
    ServerTls tls = ServerTls.serving(pki.server());
    List<AutoCloseable> started = TlsRig.inParallel(List.<Callable<AutoCloseable>>of(
        () -> keep(RedisServer.startTls(tls)),
        () -> keep(RedisServer.startTls(ServerTls.serving(pki.otherCaServer()))),
        () -> keep(RedisServer.startTls(ServerTls.serving(pki.otherName())
            .verifiedAs(TestPki.OTHER_NAME))),
        () -> keep(RedisServer.startTls(tls.requiringClientCertificate(pki.client()))),
        () -> keep(RedisServer.startTls(tls, "--requirepass", PASSWORD)),
        () -> keep(MemcachedServer.startTls(tls)),
        () -> keep(MemcachedServer.startTls(ServerTls.serving(pki.otherCaServer()))),
        () -> keep(MemcachedServer.startTls(tls.requiringClientCertificate(pki.client())))));
    good = (RedisServer) started.get(0);
    otherCa = (RedisServer) started.get(1);
    otherName = (RedisServer) started.get(2);
    wantsClientCert = (RedisServer) started.get(3);
    withPassword = (RedisServer) started.get(4);
    goodMc = (MemcachedServer) started.get(5);
    otherCaMc = (MemcachedServer) started.get(6);
    mcWantsClientCert = (MemcachedServer) started.get(7);
    silent = new ServerSocket();
    silent.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), FreePorts.next()), 16);

    engines = TlsRig.Engines.start(tmp, TlsBackendIT::pools, "--threads", "2");
  }

  /** {@code server}, remembered for {@link #stop} as soon as it runs. */
  private static <T extends AutoCloseable> T keep(T server) {
    servers.add(server);
    return server;
  }

  /** The pools of one engine's Walnut: every case below, each on a fresh port. */
  private static Map<String, TlsRig.Pool> pools() {
    Map<String, TlsRig.Pool> pools = new LinkedHashMap<>();
    add(pools, new TlsRig.Pool("mixed", true).serverTls(pki).server(good, "s0")
        .server(otherCa, "s1").server(otherName, "s2"));
    add(pools, new TlsRig.Pool("mixed_mc", false).serverTls(pki).server(goodMc, "s0")
        .server(otherCaMc, "s1"));
    add(pools, new TlsRig.Pool("silent", true).serverTls(pki).key("timeout", 300)
        .server(silent.getLocalPort(), "s0"));
    add(pools, new TlsRig.Pool("cert_pkcs1", true).serverTls(pki)
        .key("server_tls_cert_file", pki.client().cert())
        .key("server_tls_key_file", pki.client().keyPkcs1()).server(wantsClientCert, "s0"));
    add(pools, new TlsRig.Pool("cert_pkcs8", true).serverTls(pki)
        .key("server_tls_cert_file", pki.client().cert())
        .key("server_tls_key_file", pki.client().key()).server(wantsClientCert, "s0"));
    add(pools, new TlsRig.Pool("no_cert", true).serverTls(pki).server(wantsClientCert, "s0"));
    add(pools, new TlsRig.Pool("mc_cert", false).serverTls(pki)
        .key("server_tls_cert_file", pki.client().cert())
        .key("server_tls_key_file", pki.client().key()).server(mcWantsClientCert, "s0"));
    add(pools, new TlsRig.Pool("named", true).serverTls(pki)
        .key("server_tls_server_name", TestPki.OTHER_NAME).server(otherName, "s0"));
    add(pools, new TlsRig.Pool("sni", true).serverTls(pki)
        .key("server_tls_server_name", TestPki.SERVER_NAME).server(good, "s0"));
    add(pools, new TlsRig.Pool("wrong_name", true).serverTls(pki)
        .key("server_tls_server_name", TestPki.OTHER_NAME).server(good, "s0"));
    add(pools, new TlsRig.Pool("ejecting", true).serverTls(pki).key("auto_eject_hosts", true)
        .key("server_failure_limit", 2).key("server_retry_timeout", 60_000)
        .server(good, "s0").server(otherCa, "s1"));
    add(pools, new TlsRig.Pool("unverified", true).key("server_tls", true)
        .key("server_tls_verify", false).server(otherCa, "s0"));
    add(pools, new TlsRig.Pool("auth", true).serverTls(pki).key("redis_auth", PASSWORD)
        .key("redis_db", DB).server(withPassword, "s0"));
    return pools;
  }

  private static void add(Map<String, TlsRig.Pool> pools, TlsRig.Pool pool) {
    pools.put(pool.name, pool);
  }

  @AfterAll
  static void stop() throws InterruptedException {
    List<AutoCloseable> all = new ArrayList<>(engines == null ? List.of() : engines.walnuts());
    all.addAll(servers);
    all.add(silent);
    TlsRig.closeAll(all);
  }

  private static TlsRig.Walnut walnut(String engine) {
    return engines.walnut(engine);
  }

  private static int port(String engine, String pool) {
    return engines.port(engine, pool);
  }

  /** The one log line with all of {@code parts}, waiting for it (log lines are written async). */
  private static String logLine(TlsRig.Walnut walnut, String... parts) {
    String[] found = {null};
    Poll.until(Duration.ofSeconds(10), () -> {
      found[0] = walnut.log().lines()
          .filter(l -> List.of(parts).stream().allMatch(l::contains)).findFirst().orElse(null);
      return found[0] != null;
    }, () -> "a log line with " + List.of(parts) + "; the log:\n" + walnut.log());
    return found[0];
  }

  @ParameterizedTest
  @ValueSource(strings = {"openssl", "jdk"})
  void aServerFromAnotherCaOrForAnotherNameIsRefusedWithTheReasonAndTheGoodOneServes(
      String engine) throws Exception {
    TlsRig.Walnut walnut = walnut(engine);
    List<String> keys = IntStream.range(0, 30).mapToObj(i -> i + ":mixed:" + engine)
        .toList();
    Set<String> stored = new HashSet<>();
    List<String> errors = new ArrayList<>();
    KvDialect redis = KvDialect.REDIS;
    try (TlsRig.TlsConn conn = TlsRig.TlsConn.plain(port(engine, "mixed"))) {
      for (String key : keys) {
        KvDialect.Reply reply = conn.call(redis, redis.set(key, "v"), key);
        if (reply.kind() == KvDialect.Kind.STORED) {
          stored.add(key);
        } else {
          assertEquals(new KvDialect.Reply(KvDialect.Kind.ERROR, "TLS handshake failed"), reply,
              key);
          errors.add(key);
        }
      }
    }
    // Exactly the keys of the good server were stored, on it; the rest got the error.
    assertEquals(redis.held(good, keys), stored, "the keys the good server holds");
    assertFalse(stored.isEmpty(), "some keys are the good server's");
    assertTrue(errors.size() >= 2, "keys of both refused servers: " + errors);
    assertTrue(redis.held(otherCa, keys).isEmpty() && redis.held(otherName, keys).isEmpty(),
        "nothing reached the refused servers");
    // The good server still serves after the failures, on the same client connection as well.
    try (Jedis jedis = new Jedis(TlsRig.HOST, port(engine, "mixed"), 30_000)) {
      String key = stored.iterator().next();
      assertEquals("v", jedis.get(key));
    }
    // The reasons, one WARN per refused server (the OpenSSL engine's top message says nothing:
    // the reason is deeper in its cause chain).
    String caLine = logLine(walnut, "TLS handshake", ":" + otherCa.port());
    assertTrue(Pattern.compile("(?i)PKIX|certification path|unknown ca|certificate verify|"
        + "trust").matcher(caLine).find(), "the other CA's reason: " + caLine);
    String nameLine = logLine(walnut, "TLS handshake", ":" + otherName.port());
    assertTrue(Pattern.compile("(?i)subject alternative|hostname|name.*match|"
        + "certificate_unknown").matcher(nameLine).find(), "the other name's reason: " + nameLine);
    Poll.until(Duration.ofSeconds(5), () -> walnut.metric("walnut_tls_handshake_failures_total",
        "pool", "mixed", "side", "server", "reason", "failed") >= 2,
        "both refused servers counted as server-side handshake failures");
  }

  @ParameterizedTest
  @ValueSource(strings = {"openssl", "jdk"})
  void aMemcachedFromAnotherCaIsRefusedAndTheGoodOneServes(String engine) throws Exception {
    List<String> keys = IntStream.range(0, 20).mapToObj(i -> i + ":mixed_mc:" + engine)
        .toList();
    Set<String> stored = new HashSet<>();
    int errors = 0;
    KvDialect mc = KvDialect.MEMCACHE;
    try (TlsRig.TlsConn conn = TlsRig.TlsConn.plain(port(engine, "mixed_mc"))) {
      for (String key : keys) {
        KvDialect.Reply reply = conn.call(mc, mc.set(key, "v"), key);
        if (reply.kind() == KvDialect.Kind.STORED) {
          stored.add(key);
        } else {
          assertEquals(new KvDialect.Reply(KvDialect.Kind.ERROR, "TLS handshake failed"), reply,
              key);
          errors++;
        }
      }
    }
    assertEquals(mc.held(goodMc, keys), stored);
    assertFalse(stored.isEmpty(), "some keys are the good server's");
    assertTrue(errors > 0, "some keys are the refused server's");
    assertTrue(mc.held(otherCaMc, keys).isEmpty(), "nothing reached the refused server");
    logLine(walnut(engine), "TLS handshake", ":" + otherCaMc.port());
  }

  @ParameterizedTest
  @ValueSource(strings = {"openssl", "jdk"})
  void aServerThatNeverAnswersTheHandshakeCostsThePoolsTimeout(String engine) throws Exception {
    TlsRig.Walnut walnut = walnut(engine);
    KvDialect redis = KvDialect.REDIS;
    try (TlsRig.TlsConn conn = TlsRig.TlsConn.plain(port(engine, "silent"))) {
      long start = System.nanoTime();
      KvDialect.Reply reply = conn.call(redis, redis.get("silent:" + engine), "silent");
      long millis = (System.nanoTime() - start) / 1_000_000;
      assertEquals(KvDialect.Kind.ERROR, reply.kind(), reply.toString());
      assertTrue(reply.text().contains("TLS handshake timed out"), () -> reply.text()
          + "; the log:\n" + walnut.logOf("silent"));
      assertTrue(millis >= 250 && millis < 5_000, "answered after " + millis
          + " ms; the pool's timeout is 300 ms");
    }
    logLine(walnut, "TLS handshake timed out", ":" + silent.getLocalPort());
    Poll.until(Duration.ofSeconds(5), () -> walnut.metric("walnut_tls_handshake_failures_total",
        "pool", "silent", "side", "server", "reason", "timeout") >= 1, "a server timeout counted");
  }

  @ParameterizedTest
  @ValueSource(strings = {"openssl", "jdk"})
  void walnutsClientCertificateWithAPkcs1OrPkcs8KeyOpensARedisThatDemandsOne(String engine) {
    for (String pool : List.of("cert_pkcs1", "cert_pkcs8")) {
      // Several clients, so that both event loops open a connection (the second may resume).
      for (int c = 0; c < 4; c++) {
        try (Jedis jedis = new Jedis(TlsRig.HOST, port(engine, pool), 30_000)) {
          String key = pool + ":" + engine + ":" + c;
          assertEquals("OK", jedis.set(key, "v" + c), pool);
          assertEquals("v" + c, jedis.get(key), pool);
          assertEquals("v" + c, wantsClientCert.command("GET", key), "stored on the server");
        }
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"openssl", "jdk"})
  void withoutAClientCertificateARedisThatDemandsOneIsAFailedHandshake(String engine)
      throws Exception {
    TlsRig.Walnut walnut = walnut(engine);
    KvDialect redis = KvDialect.REDIS;
    String key = "no_cert:" + engine;
    // Under TLS 1.3 the client finishes its handshake before the server has checked the client's
    // certificate: redis's refusal (an alert) may come before or after the first request is
    // written. Either way the contract calls it a failed handshake; several tries meet both.
    List<String> replies = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      try (TlsRig.TlsConn conn = TlsRig.TlsConn.plain(port(engine, "no_cert"))) {
        KvDialect.Reply reply = conn.call(redis, redis.set(key, "v"), key);
        replies.add(reply.kind() + " " + reply.text());
      }
    }
    assertNull(wantsClientCert.command("GET", key), "nothing stored");
    boolean counted = Poll.within(Duration.ofSeconds(3), () -> walnut.metric(
        "walnut_tls_handshake_failures_total", "pool", "no_cert", "side", "server", "reason",
        "failed") >= 1);
    String log = walnut.logOf("no_cert");
    String port = ":" + wantsClientCert.port();
    assertAll(
        () -> assertTrue(replies.stream().allMatch(r -> r.equals("ERROR TLS handshake failed")),
            "every reply is ERR TLS handshake failed: " + replies + "; the log:\n" + log),
        () -> assertTrue(log.lines().anyMatch(l -> l.contains("TLS handshake")
            && l.contains(port) && l.toLowerCase().contains("certificate")),
            "a WARN with the reason (the server's alert: certificate required); the log:\n"
                + log),
        () -> assertTrue(counted, "a server-side handshake failure counted"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"openssl", "jdk"})
  void walnutsClientCertificateOpensAMemcachedThatDemandsOne(String engine) throws Exception {
    KvDialect mc = KvDialect.MEMCACHE;
    // Four clients over two event loops: two backend connections from one context, so the
    // second handshake may resume the first's session (memcached 1.6.18 needs its session cache).
    for (int c = 0; c < 4; c++) {
      String key = "mc_cert:" + engine + ":" + c;
      try (TlsRig.TlsConn conn = TlsRig.TlsConn.plain(port(engine, "mc_cert"))) {
        assertEquals(KvDialect.Kind.STORED, conn.call(mc, mc.set(key, "v" + c), key).kind());
        assertEquals(new KvDialect.Reply(KvDialect.Kind.VALUE, "v" + c),
            conn.call(mc, mc.get(key), key));
      }
      assertEquals("v" + c, mcWantsClientCert.get(key), "stored on the server");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"openssl", "jdk"})
  void serverTlsServerNameIsTheNameVerified(String engine) {
    // The server's certificate names only other.walnut.test; the pool says that is whom it dials.
    try (Jedis jedis = new Jedis(TlsRig.HOST, port(engine, "named"), 30_000)) {
      assertEquals("OK", jedis.set("named:" + engine, "v"));
      assertEquals("v", otherName.command("GET", "named:" + engine));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"openssl", "jdk"})
  void aServerTlsServerNameTheCertificateDoesNotNameIsRefused(String engine) throws Exception {
    TlsRig.Walnut walnut = walnut(engine);
    KvDialect redis = KvDialect.REDIS;
    String key = "wrong_name:" + engine;
    try (TlsRig.TlsConn conn = TlsRig.TlsConn.plain(port(engine, "wrong_name"))) {
      assertEquals(new KvDialect.Reply(KvDialect.Kind.ERROR, "TLS handshake failed"),
          conn.call(redis, redis.set(key, "v"), key));
    }
    String line = logLine(walnut, "TLS handshake", ":" + good.port(), "'wrong_name'");
    assertTrue(Pattern.compile("(?i)subject alternative|hostname|name.*match|"
        + "certificate_unknown").matcher(line).find(), "the reason: " + line);
    // The same server, dialled by a name its certificate has (a dotted one, sent as SNI).
    try (Jedis jedis = new Jedis(TlsRig.HOST, port(engine, "sni"), 30_000)) {
      assertEquals("OK", jedis.set(key, "v"));
      assertEquals("v", good.command("GET", key));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"openssl", "jdk"})
  void withAutoEjectHostsAFailedHandshakeCountsLikeAFailedConnect(String engine)
      throws Exception {
    TlsRig.Walnut walnut = walnut(engine);
    KvDialect redis = KvDialect.REDIS;
    // Keys of the refused server (s1) fail until it is ejected; then they go to the good one.
    List<String> keys = IntStream.range(0, 20).mapToObj(i -> i + ":ejecting:" + engine).toList();
    List<String> failedFirst = new ArrayList<>();
    try (TlsRig.TlsConn conn = TlsRig.TlsConn.plain(port(engine, "ejecting"))) {
      for (String key : keys) {
        KvDialect.Reply reply = conn.call(redis, redis.set(key, "v"), key);
        if (reply.kind() == KvDialect.Kind.ERROR) {
          assertEquals("TLS handshake failed", reply.text(), key);
          failedFirst.add(key);
        } else {
          assertEquals(KvDialect.Kind.STORED, reply.kind(), key + ": " + reply);
        }
      }
      assertFalse(failedFirst.isEmpty(), "some keys are the refused server's");
      assertTrue(failedFirst.size() <= 2, "the server is ejected after server_failure_limit (2) "
          + "failed handshakes: " + failedFirst);
      for (String key : failedFirst) {
        assertEquals(KvDialect.Kind.STORED, conn.call(redis, redis.set(key, "v"), key).kind(),
            key + " goes to the good server once the refused one is ejected");
      }
    }
    assertEquals(new HashSet<>(keys), redis.held(good, keys), "every key on the good server");
    Poll.until(Duration.ofSeconds(5), () -> walnut.metric("walnut_pool_server_ejects_total",
        "pool", "ejecting") == 1, () -> "one ejection; the log:\n" + walnut.logOf("ejecting"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"openssl", "jdk"})
  void serverTlsVerifyFalseTrustsAnyCertificateAndSaysSoAtStart(String engine) {
    try (Jedis jedis = new Jedis(TlsRig.HOST, port(engine, "unverified"), 30_000)) {
      assertEquals("OK", jedis.set("unverified:" + engine, "v"));
      assertEquals("v", otherCa.command("GET", "unverified:" + engine));
    }
    String warn = logLine(walnut(engine), "WARN", "server_tls_verify");
    assertTrue(warn.contains("unverified"), "names the pool: " + warn);
  }

  @ParameterizedTest
  @ValueSource(strings = {"openssl", "jdk"})
  void redisAuthAndRedisDbAreSentAfterTheHandshake(String engine) {
    String key = "auth:" + engine;
    try (Jedis jedis = new Jedis(TlsRig.HOST, port(engine, "auth"), 30_000)) {
      assertEquals("OK", jedis.auth(PASSWORD));
      assertEquals("OK", jedis.set(key, "v"));
      assertEquals("v", jedis.get(key));
    }
    // Directly, over TLS: the value is in database DB, not 0.
    try (Jedis direct = TlsRig.jedis(withPassword.port(), null, pki.ca().cert(), PASSWORD)) {
      assertNull(direct.get(key), "not in database 0");
      direct.select(DB);
      assertEquals("v", direct.get(key), "in database " + DB);
    }
  }
}
