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
import walnut.core.spi.Request.Kind;
import walnut.redis.RequestHarness.Decoded;

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
        {"*1\r\n$x\r\n", "invalid bulk length"},
        {"*1\r\n$-1\r\n", "invalid bulk length"},
        {"*1\r\n$\r\n", "invalid bulk length"},
        {"*1\r\n$536870913\r\n", "invalid bulk length"},
        {"*1\r\n$3 \r\n", "invalid bulk length"},
        {"*1\r\nGET\r\n", "expected '$', got 'G'"},
        {"*1\r\n:1\r\n", "expected '$', got ':'"},
        {"*1\r\n\r\n", "expected '$', got '\\x0d'"},
        {"*1\r\n$3\r\nGETxx", "bulk string not terminated by CRLF"},
        {"*1\r\n$3\r\nGET\n\r", "bulk string not terminated by CRLF"},
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
    // The largest legal bulk, and the largest legal argument count: nothing may be sized by them.
    List<Decoded> out = h.send("*2\r\n$3\r\nSET\r\n$536870912\r\n" + "abc".repeat(100), chunking);
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
    assertEquals("-ERR Protocol error: request too big (limit: 100 bytes)\r\n",
        out.get(0).frame());
    RequestHarness h2 = new RequestHarness(Chunking.seed(), new RedisRequestDecoder(null, 100));
    out = h2.send(resp("SET", "k", "v".repeat(73)), chunking);
    assertEquals(100, out.get(0).frame().length(), "exactly the limit is accepted");
    assertFalse(h.ch.finish());
    assertFalse(h2.ch.finish());
    h.alloc.assertAllReleased();
    h2.alloc.assertAllReleased();
  }
}
