package walnut.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.redis.RequestHarness.resp;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ServerConfig;
import walnut.core.spi.Request.Kind;
import walnut.redis.RequestHarness.Decoded;
import walnut.testing.Chunking;

/** Broken framing: one closing error reply in its turn, then the rest of the connection ignored. */
class ProtocolErrorTest {

  @BeforeAll
  static void printSeed() {
    System.out.println(Chunking.describeSeed(ProtocolErrorTest.class));
  }

  static Stream<Arguments> brokenFrames() {
    String[][] cases = {
        {"*x\r\n", "invalid multibulk length"},
        {"*-1\r\n", "invalid multibulk length"},
        {"*\r\n", "invalid multibulk length"},
        {"*01\r\n", "invalid multibulk length"},
        {"*1048577\r\n", "invalid multibulk length"},
        {"*99999999999\r\n", "invalid multibulk length"},
        {"*1\rX", "invalid multibulk length"},
        {"*2147483647\r\n", "invalid multibulk length"},
        {"*2147483648\r\n", "invalid multibulk length"},
        {"*-2147483648\r\n", "invalid multibulk length"},
        {"*1\n", "invalid multibulk length"},
        {"*+1\r\n", "invalid multibulk length"},
        {"* 1\r\n", "invalid multibulk length"},
        {"*1 \r\n", "invalid multibulk length"},
        {"*0x1\r\n", "invalid multibulk length"},
        {"*1.0\r\n", "invalid multibulk length"},
        {"*\u0000\u00ff\u0080", "invalid multibulk length"},
        {"*1\r\n$x\r\n", "invalid bulk length"},
        {"*1\r\n$-1\r\n", "invalid bulk length"},
        {"*1\r\n$\r\n", "invalid bulk length"},
        {"*1\r\n$536870913\r\n", "invalid bulk length"},
        {"*1\r\n$3 \r\n", "invalid bulk length"},
        {"*1\r\n$2147483647\r\n", "invalid bulk length"},
        {"*1\r\n$99999999999\r\n", "invalid bulk length"},
        {"*1\r\n$-5\r\n", "invalid bulk length"},
        {"*1\r\n$01\r\n", "invalid bulk length"},
        {"*1\r\n$1\n", "invalid bulk length"},
        {"*1\r\n$1\r\r", "invalid bulk length"},
        {"*1\r\n$\u00ff\u00fe", "invalid bulk length"},
        {"*1\r\nGET\r\n", "expected '$', got 'G'"},
        {"*1\r\n:1\r\n", "expected '$', got ':'"},
        {"*1\r\n\r\n", "expected '$', got '\\x0d'"},
        {"*1\r\n\u0000", "expected '$', got '\\x00'"},
        {"*2\r\n$3\r\nGET\r\n*1\r\n", "expected '$', got '*'"},
        {"*1\r\n$3\r\nGETxx", "bulk string not terminated by CRLF"},
        {"*1\r\n$3\r\nGET\n\r", "bulk string not terminated by CRLF"},
        {"*2\r\n$3\r\nGET\r\n$1\r\nab\r\n", "bulk string not terminated by CRLF"},
        {"*1\r\n$0\r\n\n\r", "bulk string not terminated by CRLF"},
        {"GET \"abc\r\n", "unbalanced quotes in request"},
        {"GET 'a'b\r\n", "unbalanced quotes in request"},
        {"x".repeat(RedisRequestDecoder.MAX_INLINE + 1), "too big inline request"},
        {"x".repeat(RedisRequestDecoder.MAX_INLINE + 1) + "\r\n", "too big inline request"},
    };
    return Stream.of(Chunking.values()).flatMap(c -> Stream.of(cases)
        .map(x -> Arguments.of(c, x[0], x[1])));
  }

  @ParameterizedTest(name = "{0}: {2}")
  @MethodSource("brokenFrames")
  void brokenFramingAnswersThenClosesAfterEarlierReplies(Chunking chunking, String broken,
      String message) {
    RequestHarness h = new RequestHarness(null, Chunking.seed());
    List<Decoded> out = h.send(resp("GET", "before") + broken, chunking);
    assertEquals(2, out.size(), out::toString);
    assertEquals("before", out.get(0).key());
    Decoded error = out.get(1);
    assertEquals(Kind.LOCAL, error.kind());
    assertTrue(error.closeAfter());
    assertEquals("-ERR Protocol error: " + message + "\r\n", error.frame());
    // Every later byte is discarded, even a valid request.
    assertEquals(List.of(), h.send(resp("GET", "after") + "PING\r\n", chunking));
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void hugeDeclaredLengthsAllocateNothing(Chunking chunking) {
    RequestHarness h = new RequestHarness(null, Chunking.seed());
    // Nearly the largest legal bulk, and the largest legal argument count: nothing may be sized
    // by them.
    long bulk = PoolConfig.DEFAULT_REDIS_MAX_REQUEST_SIZE - 100;
    List<Decoded> out = h.send("*2\r\n$3\r\nSET\r\n$" + bulk + "\r\n" + "abc".repeat(100),
        chunking);
    assertEquals(List.of(), out);
    assertTrue(h.alloc.largestArray() < 64 * 1024, "largest array: " + h.alloc.largestArray());
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();

    RequestHarness h2 = new RequestHarness(null, Chunking.seed());
    assertEquals(List.of(), h2.send("*1048576\r\n$1\r\na\r\n$1\r\nb\r\n", chunking));
    assertTrue(h2.alloc.largestArray() < 64 * 1024, "largest array: " + h2.alloc.largestArray());
    assertFalse(h2.ch.finish());
    h2.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void requestsOverTheLimitAreRefusedFromTheirHeaders(Chunking chunking) {
    RequestHarness h = new RequestHarness(Chunking.seed(), new RedisRequestDecoder(null, 100));
    // 20 bytes, then a bulk of 74 would make 101: refused before its bytes arrive.
    List<Decoded> out = h.send("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$74\r\n", chunking);
    assertEquals(1, out.size());
    assertEquals("-ERR Protocol error: request too big: at least 101 bytes (expected: <= 100)"
        + "\r\n", out.get(0).frame());
    assertTrue(out.get(0).closeAfter());
    RequestHarness h2 = new RequestHarness(Chunking.seed(), new RedisRequestDecoder(null, 100));
    out = h2.send(resp("SET", "k", "v".repeat(73)), chunking);
    assertEquals(100, out.get(0).frame().length(), "exactly the limit is accepted");
    assertFalse(h.ch.finish());
    assertFalse(h2.ch.finish());
    h.alloc.assertAllReleased();
    h2.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void lengthsThatCannotFitTheLimitUseRedisWording(Chunking chunking) {
    // A limit of 100 bytes: no bulk above 100, no more than 100 / 6 = 16 arguments.
    String[][] cases = {
        {"*2\r\n$3\r\nGET\r\n$101\r\n", "invalid bulk length"},
        {"*17\r\n", "invalid multibulk length"},
        {"*2\r\n$3\r\nGET\r\n$100\r\n",
            "request too big: at least 121 bytes (expected: <= 100)"},
    };
    for (String[] c : cases) {
      RequestHarness h = new RequestHarness(Chunking.seed(), new RedisRequestDecoder(null, 100));
      List<Decoded> out = h.send(c[0], chunking);
      assertEquals(List.of("-ERR Protocol error: " + c[1] + "\r\n"),
          out.stream().map(Decoded::frame).toList(), c[0]);
      assertFalse(h.ch.finish());
      h.alloc.assertAllReleased();
    }
    RequestHarness h = new RequestHarness(Chunking.seed(), new RedisRequestDecoder(null, 100));
    assertEquals(List.of(), h.send("*16\r\n", chunking), "16 arguments may still fit");
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void thePoolsMaxRequestSizeIsTheLimit(Chunking chunking) {
    PoolConfig small = pool(1000);
    RequestHarness h = new RequestHarness(Chunking.seed(), new RedisRequestDecoder(small));
    List<Decoded> out = h.send(resp("SET", "k", "v".repeat(900))
        + "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1001\r\n", chunking);
    assertEquals(2, out.size(), out::toString);
    assertEquals(Kind.ROUTED, out.get(0).kind());
    assertEquals("-ERR Protocol error: invalid bulk length\r\n", out.get(1).frame());
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();

    // 0 means Redis's default, 512 MiB; above 2 GiB the limit is what one buffer holds.
    assertEquals(PoolConfig.DEFAULT_REDIS_MAX_REQUEST_SIZE, pool(0).maxRequestSize());
    String[][] cases = {
        {"0", "*2\r\n$3\r\nGET\r\n$536870913\r\n", "invalid bulk length"},
        {"0", "*2\r\n$3\r\nGET\r\n$536870912\r\n",
            "request too big: at least 536870939 bytes (expected: <= 536870912)"},
        {"8589934592", "*2\r\n$3\r\nGET\r\n$2147483640\r\n", "invalid bulk length"},
    };
    for (String[] c : cases) {
      RequestHarness hc = new RequestHarness(Chunking.seed(),
          new RedisRequestDecoder(pool(Long.parseLong(c[0]))));
      assertEquals(List.of("-ERR Protocol error: " + c[2] + "\r\n"),
          hc.send(c[1], chunking).stream().map(Decoded::frame).toList(), c[1]);
      assertFalse(hc.ch.finish());
      hc.alloc.assertAllReleased();
    }
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void clientsThatMustAuthenticateAreHeldToRedisSmallLimits(Chunking chunking) {
    String[][] cases = {
        {resp("MGET", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"),
            "unauthenticated multibulk length"},
        {resp("AUTH", "x".repeat(16 * 1024 + 1)), "unauthenticated bulk length"},
        {resp("AUTH", "wrong") + resp("GET", "x".repeat(16 * 1024 + 1)),
            "unauthenticated bulk length"},
    };
    for (String[] c : cases) {
      RequestHarness h = new RequestHarness("pw", Chunking.seed());
      List<Decoded> out = h.send(c[0], chunking);
      Decoded last = out.get(out.size() - 1);
      assertEquals("-ERR Protocol error: " + c[1] + "\r\n", last.frame(), out::toString);
      assertTrue(last.closeAfter());
      assertFalse(h.ch.finish());
      h.alloc.assertAllReleased();
    }
    // Ten arguments of 16 KiB are allowed (and answered NOAUTH); after AUTH anything goes.
    RequestHarness h = new RequestHarness("pw", Chunking.seed());
    String big = "x".repeat(16 * 1024);
    List<Decoded> out = h.send(resp("MGET", "1", "2", "3", "4", "5", "6", "7", "8", big)
        + resp("AUTH", "pw") + resp("MGET", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10",
        big + "y"), chunking);
    assertEquals(List.of("-NOAUTH Authentication required\r\n", "+OK\r\n", "SPLIT"),
        out.stream().map(d -> d.kind() == Kind.LOCAL ? d.frame() : d.kind().name()).toList());
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void binaryGarbageIsAnInlineLineRedisWouldRefuseToo(Chunking chunking) {
    RequestHarness h = new RequestHarness(null, Chunking.seed());
    // Not starting with '*', garbage is an inline line: an unknown command (the connection stays),
    // nothing at all after a NUL (Redis reads a C string), and at 64 KiB without a line end a
    // closing error.
    List<Decoded> out = h.send("\u00ff\u00fe\u0001\r\n\u0000\u00ff junk\r\n"
        + resp("GET", "k") + "\u0080".repeat(RedisRequestDecoder.MAX_INLINE + 1), chunking);
    assertEquals(List.of(
        "-ERR unknown command '\u00ff\u00fe\u0001', with args beginning with: \r\n",
        "ROUTED", "-ERR Protocol error: too big inline request\r\n"),
        out.stream().map(d -> d.kind() == Kind.LOCAL ? d.frame() : d.kind().name()).toList());
    assertTrue(out.get(2).closeAfter());
    assertTrue(h.alloc.largestArray() < 4 * RedisRequestDecoder.MAX_INLINE,
        "largest array: " + h.alloc.largestArray());
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  private static PoolConfig pool(long maxRequestSize) {
    return PoolConfig.builder("p").listen(Endpoint.tcp("127.0.0.1", 1)).redis(true)
        .redisAuth(null).maxRequestSize(maxRequestSize)
        .server(ServerConfig.of(Endpoint.tcp("127.0.0.1", 2), 1)).build();
  }
}
