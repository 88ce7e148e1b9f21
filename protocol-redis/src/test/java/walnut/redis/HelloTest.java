package walnut.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.redis.RequestHarness.resp;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ServerConfig;
import walnut.core.spi.Request.Kind;
import walnut.redis.RequestHarness.Decoded;
import walnut.testing.Chunking;

/**
 * {@code HELLO}, answered by the proxy as Redis 7 answers it: the protocol switch, its reply in
 * the protocol switched to, its AUTH and SETNAME options, Redis's errors, and the pool's
 * {@code resp3} key; after {@code HELLO 3} the client's forwarded requests need RESP3 connections.
 */
class HelloTest {

  private static final String NOPROTO = "-NOPROTO unsupported protocol version\r\n";

  private static String map(int proto) {
    String pairs = "$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n"
        + "$5\r\nproto\r\n:" + proto + "\r\n$2\r\nid\r\n:ID\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
        + "$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n";
    return (proto == 3 ? "%7\r\n" : "*14\r\n") + pairs;
  }

  /** The frames, HELLO replies with their client id as {@code ID}, forwarded ones as KIND/dialect. */
  private static List<String> replies(RequestHarness h, Chunking chunking, String... requests) {
    List<Decoded> out = h.send(String.join("", requests), chunking);
    return out.stream().map(d -> d.kind() == Kind.LOCAL
        ? d.frame().replaceFirst(":\\d+\r\n\\$4\r\nmode", ":ID\r\n\\$4\r\nmode")
        : d.kind().name() + "/" + d.dialect()).toList();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void hello3SwitchesToResp3AndHello2Back(Chunking chunking) {
    RequestHarness h = new RequestHarness(null, Chunking.seed());
    assertEquals(List.of(map(2), "ROUTED/0", map(3), "ROUTED/1", "SPLIT/1", "_\r\n", map(3),
        map(2), "ROUTED/0", "$-1\r\n"),
        replies(h, chunking, resp("HELLO"), resp("GET", "k"), resp("HELLO", "3"),
            resp("GET", "k"), resp("MGET", "a", "b"), resp("CLIENT", "GETNAME"), resp("hello"),
            resp("HELLO", "2"), resp("GET", "k"), resp("CLIENT", "GETNAME")));
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void badVersionsAndOptionsGetRedisErrorsAndSwitchNothing(Chunking chunking) {
    RequestHarness h = new RequestHarness(null, Chunking.seed());
    String notInteger = "-ERR Protocol version is not an integer or out of range\r\n";
    assertEquals(List.of(NOPROTO, NOPROTO, NOPROTO, notInteger, notInteger,
        "-ERR Syntax error in HELLO option 'SETNAME'\r\n",
        "-ERR Syntax error in HELLO option 'bogus'\r\n",
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
        "ROUTED/0", "$-1\r\n"),
        replies(h, chunking, resp("HELLO", "4"), resp("HELLO", "1"), resp("HELLO", "-3"),
            resp("HELLO", "03"), resp("HELLO", "three"),
            resp("HELLO", "3", "SETNAME"), resp("HELLO", "3", "bogus"),
            resp("HELLO", "3", "SETNAME", "a b"), resp("GET", "k"), resp("CLIENT", "GETNAME")));
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void helloAuthenticatesAndNamesTheClient(Chunking chunking) {
    RequestHarness h = new RequestHarness("s3cret", Chunking.seed());
    String wrongpass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    List<String> out = replies(h, chunking, resp("HELLO", "3", "AUTH", "default", "nope"),
        resp("GET", "k"), resp("HELLO", "3", "AUTH", "bob", "s3cret"),
        resp("HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "app"),
        resp("GET", "k"), resp("CLIENT", "GETNAME"));
    assertEquals(List.of(wrongpass, "-NOAUTH Authentication required\r\n", wrongpass, map(3),
        "ROUTED/1", "$3\r\napp\r\n"), out);
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void withoutAPasswordTheDefaultUserTakesAnyPasswordAndNoOtherUserExists(Chunking chunking) {
    RequestHarness h = new RequestHarness(null, Chunking.seed());
    assertEquals(List.of(
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n", "ROUTED/0",
        map(3), "ROUTED/1"), replies(h, chunking, resp("HELLO", "3", "AUTH", "bob", "x"),
        resp("GET", "k"), resp("HELLO", "3", "AUTH", "default", "whatever"), resp("GET", "k")));
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void resp3FalseRefusesHello3(Chunking chunking) {
    PoolConfig pool = PoolConfig.builder("p").listen(Endpoint.tcp("127.0.0.1", 1)).redis(true)
        .server(ServerConfig.of(Endpoint.tcp("127.0.0.1", 7000), 1)).resp3(false).build();
    RequestHarness h = new RequestHarness(Chunking.seed(), new RedisRequestDecoder(() -> pool));
    assertEquals(List.of(NOPROTO, "ROUTED/0", map(2)), replies(h, chunking,
        resp("HELLO", "3"), resp("GET", "k"), resp("HELLO", "2")));
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void clientTrackingIsRefusedWithTheReason(Chunking chunking) {
    RequestHarness h = new RequestHarness(null, Chunking.seed());
    List<String> out = replies(h, chunking, resp("CLIENT", "TRACKING", "on"));
    assertTrue(out.get(0).startsWith("-ERR CLIENT TRACKING is not supported through the proxy"),
        out.get(0));
    h.alloc.assertAllReleased();
  }
}
