package walnut.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static walnut.redis.RequestHarness.resp;

import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ServerConfig;
import walnut.core.spi.Request.Kind;
import walnut.redis.RequestHarness.Decoded;
import walnut.testing.Chunking;

/**
 * A reload changes {@code redis_auth} and {@code max_request_size} under a client connected
 * before it: the decoder reads the pool's settings as each request starts, so the new ones apply
 * from the client's next request, and a request partly received keeps the settings it started
 * with. A client that authenticated before the password changed stays authenticated, as in
 * Redis when {@code requirepass} changes; one that never sent a password must send the new one.
 */
class ReloadedSettingsTest {

  private static final String NOAUTH = "-NOAUTH Authentication required\r\n";

  /** The pool's settings as the proxy serves them now; a test's reload sets them. */
  private final AtomicReference<PoolConfig> settings = new AtomicReference<>();

  private static PoolConfig pool(String password, long maxRequestSize) {
    return PoolConfig.builder("p").listen(Endpoint.tcp("127.0.0.1", 1)).redis(true)
        .server(ServerConfig.of(Endpoint.tcp("127.0.0.1", 7000), 1)).redisAuth(password)
        .maxRequestSize(maxRequestSize).build();
  }

  /** A client connected while the pool is {@code initial}. */
  private RequestHarness connect(PoolConfig initial) {
    settings.set(initial);
    return new RequestHarness(Chunking.seed(),
        (RedisRequestDecoder) new RedisProtocol().newLiveRequestDecoder(settings::get));
  }

  private static List<String> replies(RequestHarness h, Chunking chunking, String... requests) {
    List<Decoded> out = h.send(String.join("", requests), chunking);
    return out.stream().map(d -> d.kind() == Kind.LOCAL ? d.frame() : d.kind().name()).toList();
  }

  private static void finish(RequestHarness h) {
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void aClientConnectedBeforeARotationAuthenticatesWithTheNewPassword(Chunking chunking) {
    RequestHarness h = connect(pool("old", 0));
    assertEquals(List.of(NOAUTH), replies(h, chunking, resp("GET", "k")));
    settings.set(pool("new", 0));
    assertEquals(List.of("-ERR invalid password\r\n", NOAUTH, "+OK\r\n", "ROUTED"),
        replies(h, chunking, resp("AUTH", "old"), resp("GET", "k"), resp("AUTH", "new"),
            resp("GET", "k")));
    finish(h);
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void aClientAuthenticatedBeforeARotationStaysAuthenticated(Chunking chunking) {
    RequestHarness h = connect(pool("old", 0));
    assertEquals(List.of("+OK\r\n", "ROUTED"),
        replies(h, chunking, resp("AUTH", "old"), resp("GET", "k")));
    settings.set(pool("new", 0));
    // It showed a password that was right when it showed it; the old one no longer works.
    assertEquals(List.of("ROUTED", "-ERR invalid password\r\n", NOAUTH, "+OK\r\n", "ROUTED"),
        replies(h, chunking, resp("GET", "k"), resp("AUTH", "old"), resp("GET", "k"),
            resp("AUTH", "new"), resp("GET", "k")));
    finish(h);
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void aPasswordSetOnAnOpenPoolShutsOutClientsThatNeverSentOne(Chunking chunking) {
    RequestHarness h = connect(pool(null, 0));
    assertEquals(List.of("ROUTED"), replies(h, chunking, resp("GET", "k")));
    settings.set(pool("pw", 0));
    assertEquals(List.of(NOAUTH, "+OK\r\n", "ROUTED"),
        replies(h, chunking, resp("GET", "k"), resp("AUTH", "pw"), resp("GET", "k")));
    // And once the password is gone again, AUTH is refused as on any open pool.
    settings.set(pool(null, 0));
    assertEquals(List.of("-ERR Client sent AUTH, but no password is set\r\n", "ROUTED"),
        replies(h, chunking, resp("AUTH", "pw"), resp("GET", "k")));
    finish(h);
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void aPasswordRemovedLetsInClientsThatNeverSentOne(Chunking chunking) {
    RequestHarness h = connect(pool("pw", 0));
    assertEquals(List.of(NOAUTH), replies(h, chunking, resp("GET", "k")));
    settings.set(pool(null, 0));
    assertEquals(List.of("ROUTED"), replies(h, chunking, resp("GET", "k")));
    finish(h);
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void theUnauthenticatedLimitsFollowThePassword(Chunking chunking) {
    RequestHarness h = connect(pool(null, 0));
    String big = "x".repeat(20_000); // above the 16 KiB a client that must AUTH may send
    assertEquals(List.of("ROUTED"), replies(h, chunking, resp("SET", "k", big)));
    settings.set(pool("pw", 0));
    assertEquals(List.of("-ERR Protocol error: unauthenticated bulk length\r\n"),
        replies(h, chunking, resp("SET", "k", big)));
    finish(h);
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void aLowerMaxRequestSizeAppliesFromTheNextRequest(Chunking chunking) {
    RequestHarness h = connect(pool(null, 1024));
    String value = "v".repeat(200);
    assertEquals(List.of("ROUTED"), replies(h, chunking, resp("SET", "k", value)));
    settings.set(pool(null, 100));
    // A bulk longer than the whole limit: Redis's words for a bulk over proto-max-bulk-len.
    assertEquals(List.of("-ERR Protocol error: invalid bulk length\r\n"),
        replies(h, chunking, resp("SET", "k", value)));
    finish(h);
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void aHigherMaxRequestSizeAppliesFromTheNextRequest(Chunking chunking) {
    RequestHarness h = connect(pool(null, 100));
    settings.set(pool(null, 1024));
    assertEquals(List.of("ROUTED"), replies(h, chunking, resp("SET", "k", "v".repeat(200))));
    finish(h);
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void aRequestPartlyReceivedAtTheReloadKeepsTheSettingsItStartedWith(Chunking chunking) {
    RequestHarness h = connect(pool(null, 1024));
    String set = resp("SET", "k", "v".repeat(200));
    String get = resp("GET", "k");
    // Half a SET (its value's header validated against 1024), then the reload, then the rest.
    assertEquals(List.of(), replies(h, chunking, set.substring(0, 40)));
    settings.set(pool("pw", 100));
    assertEquals(List.of("ROUTED", NOAUTH),
        replies(h, chunking, set.substring(40), get));
    // Half a GET before a reload that lifts the password: the GET is judged as it started.
    assertEquals(List.of(), replies(h, chunking, get.substring(0, 10)));
    settings.set(pool(null, 100));
    assertEquals(List.of(NOAUTH, "ROUTED"), replies(h, chunking, get.substring(10), get));
    finish(h);
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void anInlineCommandTakesTheSettingsToo(Chunking chunking) {
    RequestHarness h = connect(pool("old", 0));
    settings.set(pool("new", 0));
    assertEquals(List.of("-ERR invalid password\r\n", "+OK\r\n", "ROUTED"),
        replies(h, chunking, "AUTH old\r\n", "AUTH new\r\n", "GET k\r\n"));
    finish(h);
  }
}
