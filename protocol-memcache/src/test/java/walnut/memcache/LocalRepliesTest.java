package walnut.memcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.memcache.MemcacheRequestDecoderTest.decode;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import walnut.memcache.RequestHarness.Decoded;
import walnut.testing.Chunking;

/**
 * What the decoder answers itself: unknown commands, bad arguments and limits, each in its turn
 * among the client's requests, and whether the connection survives.
 */
class LocalRepliesTest {

  private static final String KEY_251 = "k".repeat(251);
  private static final String BAD_FORMAT = "LOCAL CLIENT_ERROR bad command line format\\r\\n";
  private static final String AFTER = "ROUTED key=after get after\\r\\n";

  @BeforeAll
  static void printSeed() {
    System.out.println(Chunking.describeSeed(LocalRepliesTest.class));
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void unknownOrMalformedCommandsGetErrorAndKeepTheConnection(Chunking chunking) {
    String[] lines = {
        "stats", "STATS", "flush_all", "verbosity 1", "GET k", "Set k 0 0 1", "foo", "", "\r",
        "   ", "g k", "mz k", "bget k", "get", "gets", "gat", "gats", "set k 0 0", "set",
        "set k 0 0 1 noreply more", "cas k 0 0 1", "incr k", "incr k 1 noreply x", "touch k",
        "delete", "delete k 0 noreply x", "mg", "md", "ma", "ms", "shutdown", "watch",
        "x".repeat(MemcacheRequestDecoder.MAX_LINE - 1),
    };
    List<String> expected = new ArrayList<>();
    expected.add("ROUTED key=before get before\\r\\n");
    StringBuilder in = new StringBuilder("get before\r\n");
    for (String line : lines) {
      in.append(line).append("\r\n");
      expected.add("LOCAL ERROR\\r\\n");
    }
    expected.add(AFTER);
    assertEquals(expected, decode(in.append("get after\r\n").toString(), chunking));
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void keysOver250BytesAreRefusedAsMemcachedRefusesThem(Chunking chunking) {
    assertEquals(List.of(BAD_FORMAT, BAD_FORMAT, BAD_FORMAT, BAD_FORMAT, BAD_FORMAT,
            BAD_FORMAT, BAD_FORMAT, BAD_FORMAT, BAD_FORMAT, BAD_FORMAT, AFTER),
        decode("get " + KEY_251 + "\r\n" + "gets a b " + KEY_251 + " c\r\n"
            + "gat 1 a " + KEY_251 + "\r\n" + "delete " + KEY_251 + "\r\n"
            + "incr " + KEY_251 + " 1\r\n" + "touch " + KEY_251 + " 1\r\n"
            + "mg " + KEY_251 + " v\r\n" + "md " + KEY_251 + "\r\n" + "ma " + KEY_251 + "\r\n"
            + "me " + KEY_251 + "\r\n"
            // noreply silences the error, as in memcached
            + "delete " + KEY_251 + " noreply\r\n" + "incr " + KEY_251 + " 1 noreply\r\n"
            + "get after\r\n", chunking));
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void badStorageArgumentsSkipTheDataBlock(Chunking chunking) {
    assertEquals(List.of(BAD_FORMAT, BAD_FORMAT, BAD_FORMAT, BAD_FORMAT, BAD_FORMAT, BAD_FORMAT,
            BAD_FORMAT, BAD_FORMAT, BAD_FORMAT, AFTER),
        decode("set " + KEY_251 + " 0 0 5\r\nhello\r\n" + "set k -1 0 1\r\nv\r\n"
            + "set k x 0 1\r\nv\r\n" + "set k 18446744073709551616 0 1\r\nv\r\n"
            + "set k 0 1.5 1\r\nv\r\n" + "set k 0 9223372036854775808 1\r\nv\r\n"
            + "cas k 0 0 1 -1\r\nv\r\n" + "cas k 0 0 1 x\r\nv\r\n"
            // the data is skipped silently with noreply: "delete!" is data, not a command
            + "set " + KEY_251 + " 0 0 5 noreply\r\nhello\r\n" + "cas k 0 0 7 x noreply\r\n"
            + "delete!\r\n" + "set " + KEY_251 + " 0 0 3\r\nabc\r\n" + "get after\r\n",
            chunking));
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void dataOverTheLimitIsTooLargeAndSkippedWithoutBeingKept(Chunking chunking) {
    RequestHarness h = new RequestHarness(Chunking.seed(), new MemcacheRequestDecoder(100));
    String tooLarge = "LOCAL SERVER_ERROR object too large for cache\\r\\n";
    List<String> out = h.send("set k 0 0 101\r\n" + "x".repeat(101) + "\r\n"
        + "set k 0 0 100\r\n" + "y".repeat(100) + "\r\n"
        + "ms k 101 T1\r\n" + "\r\n".repeat(50) + "z\r\n"
        + "set k 0 0 200 noreply\r\n" + "get\r\n".repeat(40) + "\r\n"
        + "get after\r\n", chunking).stream().map(Decoded::toString).toList();
    assertEquals(List.of(tooLarge, "ROUTED key=k set k 0 0 100\\r\\n" + "y".repeat(100) + "\\r\\n",
        tooLarge, AFTER), out);
    h.finish();

    // The largest length memcached reads: skipped as it comes, never buffered.
    RequestHarness big = new RequestHarness(Chunking.seed());
    List<Decoded> first = big.send("set k 0 0 2147483645\r\n" + "x".repeat(70_000), chunking);
    assertEquals(List.of(tooLarge), first.stream().map(Decoded::toString).toList());
    for (int i = chunking == Chunking.BYTE_BY_BYTE ? 18 : 0; i < 20; i++) {
      assertEquals(List.of(), big.send("get k\r\n".repeat(10_000), chunking));
    }
    assertTrue(big.alloc.largestArray() < 128 * 1024, "largest: " + big.alloc.largestArray());
    big.finish();
  }

  static Stream<Arguments> brokenFraming() {
    String[][] cases = {
        {"set k 0 0 2\r\nabc\r\n", "CLIENT_ERROR bad data chunk"},
        {"set k 0 0 2\r\nab\n\r", "CLIENT_ERROR bad data chunk"},
        {"set k 0 0 2 noreply\r\nabcd", "CLIENT_ERROR bad data chunk"},
        {"ms k 1\r\nab\r\n", "CLIENT_ERROR bad data chunk"},
        {"set k 0 0 -1\r\n", "CLIENT_ERROR bad command line format"},
        {"set k 0 0 abc\r\n", "CLIENT_ERROR bad command line format"},
        {"set k 0 0 1x\r\n", "CLIENT_ERROR bad command line format"},
        {"set k 0 0 2147483646\r\n", "CLIENT_ERROR bad command line format"},
        {"set k 0 0 99999999999999999999\r\n", "CLIENT_ERROR bad command line format"},
        {"set " + KEY_251 + " 0 0 x\r\n", "CLIENT_ERROR bad command line format"},
        {"set k 0 0 noreply\r\n", "CLIENT_ERROR bad command line format"},
        {"ms k x\r\n", "CLIENT_ERROR bad command line format"},
        {"ms k -5 T1\r\n", "CLIENT_ERROR bad command line format"},
        {"x".repeat(MemcacheRequestDecoder.MAX_LINE + 1), "CLIENT_ERROR line too long"},
        {"x".repeat(MemcacheRequestDecoder.MAX_LINE) + "\r\n", "CLIENT_ERROR line too long"},
        {"set k " + "0".repeat(MemcacheRequestDecoder.MAX_LINE) + " 0 1\r\n",
            "CLIENT_ERROR line too long"},
        // memcached itself only lets get and gets lines run longer, after at most 100 spaces
        {"gat 0 " + "k ".repeat(1100) + "\r\n", "CLIENT_ERROR line too long"},
        {"mg k " + " ".repeat(MemcacheRequestDecoder.MAX_LINE), "CLIENT_ERROR line too long"},
        {" ".repeat(101) + "get " + "k ".repeat(1100) + "\r\n", "CLIENT_ERROR line too long"},
    };
    return Stream.of(Chunking.values()).flatMap(c -> Stream.of(cases)
        .map(x -> Arguments.of(c, x[0], x[1])));
  }

  @ParameterizedTest(name = "{0}: {2}")
  @MethodSource("brokenFraming")
  void brokenFramingAnswersThenClosesAfterEarlierRequests(Chunking chunking, String broken,
      String error) {
    RequestHarness h = new RequestHarness(Chunking.seed());
    List<String> out = h.send("get before\r\n" + broken, chunking).stream()
        .map(Decoded::toString).toList();
    assertEquals(List.of("ROUTED key=before get before\\r\\n",
        "LOCAL+close+error " + error + "\\r\\n"), out);
    // Every later byte is discarded, even a valid request.
    assertEquals(List.of(), h.send("get after\r\nmn\r\n", chunking));
    h.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void longRetrievalLinesAreAcceptedUpToTheRequestLimit(Chunking chunking) {
    String keys = "key ".repeat(chunking == Chunking.BYTE_BY_BYTE ? 3_000 : 100_000);
    RequestHarness h = new RequestHarness(Chunking.seed());
    List<Decoded> out = h.send(" ".repeat(100) + "get " + keys + "\r\ngets " + keys + "\r\n",
        chunking);
    assertEquals(2, out.size());
    h.finish();
    // Past max_request_size even a retrieval line is too long.
    RequestHarness small = new RequestHarness(Chunking.seed(), new MemcacheRequestDecoder(20_000));
    assertEquals(List.of("LOCAL+close+error CLIENT_ERROR line too long\\r\\n"),
        small.send("get " + "k ".repeat(10_000) + "\r\nget after\r\n", chunking).stream()
            .map(Decoded::toString).toList());
    small.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void argumentErrorsUseMemcachedsWords(Chunking chunking) {
    assertEquals(List.of(
        "LOCAL CLIENT_ERROR invalid exptime argument\\r\\n",
        "LOCAL CLIENT_ERROR invalid exptime argument\\r\\n",
        "LOCAL END\\r\\n",
        "LOCAL CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\\r\\n",
        "LOCAL CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\\r\\n",
        "ROUTED key=noreply delete noreply\\r\\n",
        AFTER),
        decode("gat abc k\r\n" + "gats 1.5 a b\r\n" + "gat 10\r\n" + "delete k x\r\n"
            + "delete k noreply 0\r\n" + "delete k x noreply\r\n" + "delete noreply\r\n"
            + "get after\r\n", chunking));
  }
}
