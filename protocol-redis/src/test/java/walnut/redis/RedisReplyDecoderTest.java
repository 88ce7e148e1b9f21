package walnut.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.CorruptedFrameException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import walnut.testing.Chunking;
import walnut.testing.ReplyDecoderHarness;

class RedisReplyDecoderTest {

  private final ReplyDecoderHarness h = new ReplyDecoderHarness(new RedisReplyDecoder());

  @BeforeAll
  static void printSeed() {
    System.out.println(Chunking.describeSeed(RedisReplyDecoderTest.class));
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void framesEveryReplyTypeByteForByte(Chunking chunking) {
    List<String> replies = List.of("+OK\r\n", "+\r\n", "-ERR unknown\r\n",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        "-BUSYKEY Target key name already exists.\r\n", "-OOMPH not transient\r\n",
        ":0\r\n", ":-42\r\n", ":9223372036854775807\r\n", "$3\r\nfoo\r\n", "$0\r\n\r\n",
        "$-1\r\n", "$4\r\na\r\nb\r\n", "*-1\r\n", "*0\r\n", "*2\r\n$1\r\na\r\n$-1\r\n",
        "*3\r\n*2\r\n:1\r\n*0\r\n*-1\r\n+x\r\n",
        "*2\r\n-OOM inside an array is passed on\r\n*1\r\n*1\r\n$2\r\nhi\r\n");
    assertEquals(replies, h.feed(String.join("", replies), chunking));
    h.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void framesEveryResp3TypeByteForByte(Chunking chunking) {
    List<String> replies = List.of("_\r\n", ",3.14\r\n", ",-inf\r\n", ",nan\r\n", "#t\r\n",
        "#f\r\n", "(3492890328409238509324850943850943825024385\r\n", "(-1\r\n",
        "!21\r\nSYNTAX invalid syntax\r\n", "=15\r\ntxt:Some string\r\n", "!0\r\n\r\n",
        "%2\r\n+first\r\n:1\r\n+second\r\n_\r\n", "%0\r\n", "~3\r\n:1\r\n#t\r\n,2.5\r\n",
        "~0\r\n", "*2\r\n%1\r\n$1\r\nk\r\n~1\r\n_\r\n_\r\n",
        // An attribute and the value after it are one reply, or one element.
        "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.19\r\n$1\r\nb\r\n,0.54\r\n*2\r\n:2039\r\n:9\r\n",
        "*2\r\n|1\r\n+ttl\r\n:3600\r\n:1\r\n:2\r\n", "|0\r\n+after an empty attribute\r\n");
    assertEquals(replies, h.feed(String.join("", replies), chunking));
    assertEquals(0, h.pushes());
    h.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void aTopLevelPushComesApartFromTheReplies(Chunking chunking) {
    String push = ">3\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\nfoo\r\n_\r\n";
    String nested = "*1\r\n>1\r\n+inside a reply is a reply\r\n";
    assertEquals(List.of("+OK\r\n", push, nested), h.feed("+OK\r\n" + push + nested, chunking));
    assertEquals(1, h.pushes());
    h.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void refusesMalformedResp3(Chunking chunking) {
    for (String bad : List.of("_x\r\n", "#x\r\n", "#tt\r\n", ",\r\n", "(12a\r\n", "%-1\r\n",
        "~-1\r\n", ">-1\r\n", "!-1\r\n", "%1073741824\r\n")) {
      ReplyDecoderHarness fresh = new ReplyDecoderHarness(new RedisReplyDecoder());
      Throwable[] failure = new Throwable[1];
      fresh.feed(bad.getBytes(StandardCharsets.US_ASCII), chunking, failure);
      assertInstanceOf(CorruptedFrameException.class, failure[0], bad);
      fresh.finish();
    }
  }

  @org.junit.jupiter.api.Test
  void aReplyNoOneWantsIsFramedWithoutBeingKept() {
    RedisReplyDecoder decoder = new RedisReplyDecoder();
    ReplyDecoderHarness d = new ReplyDecoderHarness(decoder);
    List<String> out = new ArrayList<>(d.feed("*2001\r\n$5\r\nhello\r\n$3\r\nab", Chunking.WHOLE));
    assertEquals(List.of(), out);
    assertTrue(decoder.partialReplyBytes() > 15);
    int before = decoder.partialReplyBytes();
    decoder.dropPartialReply();
    assertEquals(before, decoder.partialReplyBytes(), "dropped bytes still count as received");
    assertTrue(decoder.heldBytes() <= 4, "at most the element under way");
    String element = "$10\r\n0123456789\r\n";
    out.addAll(d.feed("c\r\n", Chunking.WHOLE));
    for (int i = 0; i < 999; i++) {
      out.addAll(d.feed(element + "*2\r\n:1\r\n,2.5\r\n", Chunking.WHOLE));
      assertTrue(decoder.heldBytes() < element.length(), "kept " + decoder.heldBytes());
    }
    out.addAll(d.feed("$4\r\nlast\r\n+OK\r\n", Chunking.WHOLE));
    assertEquals(2, out.size(), "the dropped reply's tail, then the next reply whole: " + out);
    assertTrue(out.get(0).endsWith("$4\r\nlast\r\n"));
    assertEquals("+OK\r\n", out.get(1));
    d.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void framesArraysNestedBeyondThePresizedStack(Chunking chunking) {
    String deep = "*1\r\n".repeat(1000) + "$1\r\nx\r\n";
    String wide = "*3\r\n" + "*2\r\n".repeat(20) + ":1\r\n" + ":2\r\n".repeat(20)
        + "+a\r\n$-1\r\n";
    assertEquals(List.of(deep, wide, "+after\r\n"), h.feed(deep + wide + "+after\r\n", chunking));
    h.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void framesLargeBulksArrivingInManyReads(Chunking chunking) {
    int size = chunking == Chunking.BYTE_BY_BYTE ? 50_000 : 8 << 20;
    byte[] head = ("*2\r\n$" + size + "\r\n").getBytes(StandardCharsets.US_ASCII);
    byte[] tail = "\r\n:7\r\n".getBytes(StandardCharsets.US_ASCII);
    byte[] all = new byte[head.length + size + tail.length];
    System.arraycopy(head, 0, all, 0, head.length);
    Arrays.fill(all, head.length, head.length + size, (byte) '\n');
    System.arraycopy(tail, 0, all, head.length + size, tail.length);
    Throwable[] failure = new Throwable[1];
    List<String> out = new ArrayList<>();
    int step = chunking == Chunking.WHOLE ? all.length : 65_536;
    for (int at = 0; at < all.length; at += step) {
      out.addAll(h.feed(Arrays.copyOfRange(all, at, Math.min(all.length, at + step)), chunking,
          failure));
    }
    assertEquals(null, failure[0]);
    assertEquals(1, out.size());
    assertEquals(all.length, out.get(0).length());
    h.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void streamsALongTopLevelBulkAsItArrives(Chunking chunking) {
    int size = chunking == Chunking.BYTE_BY_BYTE ? RedisReplyDecoder.STREAM_FROM : 4 << 20;
    String value = "\r\n$*x".repeat(size / 5 + 1).substring(0, size);
    String bulk = "$" + size + "\r\n" + value + "\r\n";
    String all = "+before\r\n" + bulk + ":7\r\n";
    Throwable[] failure = new Throwable[1];
    List<String> out = new ArrayList<>();
    List<Integer> afterEachRead = new ArrayList<>();
    int step = 65_536;
    for (int at = 0; at < all.length(); at += step) {
      out.addAll(h.feed(all.substring(at, Math.min(all.length(), at + step))
          .getBytes(StandardCharsets.ISO_8859_1), chunking, failure));
      afterEachRead.add(h.parts());
    }
    assertEquals(null, failure[0]);
    assertEquals(List.of("+before\r\n", bulk, ":7\r\n"), out);
    // Passed on read by read, never held whole: some part came out of every read but the last.
    assertTrue(h.parts() >= all.length() / step, "parts: " + h.parts());
    for (int i = 1; i < afterEachRead.size() - 1; i++) {
      assertTrue(afterEachRead.get(i) > afterEachRead.get(i - 1), "read " + i + " passed nothing on");
    }
    h.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void streamsALongTopLevelVerbatimStringOrBlobErrorLikeABulk(Chunking chunking) {
    int size = RedisReplyDecoder.STREAM_FROM;
    String verbatim = "=" + size + "\r\ntxt:" + "v".repeat(size - 4) + "\r\n";
    String blobError = "!" + size + "\r\nERR " + "e".repeat(size - 4) + "\r\n";
    String all = verbatim + blobError + "_\r\n";
    List<String> out = new ArrayList<>();
    Throwable[] failure = new Throwable[1];
    for (int at = 0; at < all.length(); at += 65_536) {
      out.addAll(h.feed(all.substring(at, Math.min(all.length(), at + 65_536))
          .getBytes(StandardCharsets.ISO_8859_1), chunking, failure));
    }
    assertEquals(null, failure[0]);
    assertEquals(List.of(verbatim, blobError, "_\r\n"), out);
    assertTrue(h.parts() > 2, "streamed in parts: " + h.parts());
    h.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void aStreamedBulkWithoutItsCrlfFailsTheConnection(Chunking chunking) {
    int size = RedisReplyDecoder.STREAM_FROM;
    String head = "$" + size + "\r\n" + "v".repeat(size);
    Throwable[] failure = new Throwable[1];
    h.feed(head.substring(0, 1000).getBytes(StandardCharsets.ISO_8859_1), chunking, failure);
    assertEquals(null, failure[0]);
    assertTrue(h.parts() > 0);
    h.feed((head.substring(1000) + "\rX+OK\r\n").getBytes(StandardCharsets.ISO_8859_1), chunking,
        failure);
    assertInstanceOf(CorruptedFrameException.class, failure[0]);
    assertEquals(List.of(), h.feed("+OK\r\n", chunking));
    h.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void aBulkThatArrivesWholeIsOneReplyHoweverLong(Chunking chunking) {
    if (chunking != Chunking.WHOLE) {
      return; // only one read holds all of it
    }
    String bulk = "$" + (1 << 20) + "\r\n" + "w".repeat(1 << 20) + "\r\n";
    assertEquals(List.of(bulk), h.feed(bulk, chunking));
    assertEquals(0, h.parts());
    h.finish();
  }

  static Stream<Arguments> transientErrors() {
    return Stream.of(Chunking.values()).flatMap(c -> Stream.of(
        "-OOM command not allowed when used memory > 'maxmemory'.\r\n",
        "-BUSY Redis is busy running a script.\r\n",
        "-LOADING Redis is loading the dataset in memory\r\n",
        "-LOADING\r\n", "-OOM\r\n").map(e -> Arguments.of(c, e)));
  }

  /**
   * A top-level -OOM, -BUSY or -LOADING is the server's own trouble: it comes whole, as a
   * {@link walnut.core.spi.ServerTrouble} in its place among the replies, and the stream goes on
   * (every reply still matches its request). Inside an array, or as -OOMPH, it is a plain reply.
   */
  @ParameterizedTest(name = "{0}: {1}")
  @MethodSource("transientErrors")
  void transientServerErrorsComeAsServerTroubleInTheirPlace(Chunking chunking, String error) {
    List<String> out = h.feed("+OK\r\n" + error + ":1\r\n", chunking);
    assertEquals(List.of("+OK\r\n", error, ":1\r\n"), out);
    assertEquals(1, h.troubles());
    // A busy server is some client's script at work: it never counts against the server.
    assertEquals(error.startsWith("-BUSY") ? 0 : 1, h.troublesCounted());
    assertEquals(List.of("+OK\r\n"), h.feed("+OK\r\n", chunking));
    assertEquals(1, h.troubles(), "a plain reply is no trouble");
    h.finish();
  }

  static Stream<Arguments> unparseable() {
    return Stream.of(Chunking.values()).flatMap(c -> Stream.of(
        "?what\r\n", "$abc\r\n", "$-2\r\n", "*-5\r\n", "$03\r\nabc\r\n", "$3\r\nabcXY",
        ":12a\r\n", ":\r\n", "+OK\n", "*1\r\n!x\r\n", "$99999999999\r\n",
        "$2147483647\r\n").map(r -> Arguments.of(c, r)));
  }

  @ParameterizedTest(name = "{0}: {1}")
  @MethodSource("unparseable")
  void unparseableRepliesFailTheConnection(Chunking chunking, String reply) {
    Throwable[] failure = new Throwable[1];
    List<String> out = h.feed((":1\r\n" + reply).getBytes(StandardCharsets.ISO_8859_1), chunking,
        failure);
    assertEquals(List.of(":1\r\n"), out);
    assertInstanceOf(CorruptedFrameException.class, failure[0]);
    assertEquals(List.of(), h.feed("+OK\r\n", chunking));
    h.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void partialReplyAtCloseIsReleased(Chunking chunking) {
    assertEquals(List.of("+OK\r\n"), h.feed("+OK\r\n*2\r\n$3\r\nabc\r\n$10\r\n01", chunking));
    h.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void hugeDeclaredBulkAllocatesNothing(Chunking chunking) {
    assertEquals(List.of(), h.feed("$2147483000\r\nabc", chunking));
    assertTrue(h.alloc.largestArray() < 64 * 1024);
    // What follows is the bulk's data, skipped by length and never parsed.
    assertEquals(List.of(), h.feed("*1\r\n$1\r\nab", chunking));
    h.finish();
  }

  /** In a pool with sentinels a top-level -READONLY says the master moved; elsewhere a reply. */
  @ParameterizedTest
  @EnumSource(Chunking.class)
  void readOnlyIsATroubleThatNeverCountsOnlyInASentinelPool(Chunking chunking) {
    String readOnly = "-READONLY You can't write against a read only replica.\r\n";
    ReplyDecoderHarness sentinel = new ReplyDecoderHarness(new RedisReplyDecoder(true));
    assertEquals(List.of(readOnly, "*1\r\n-READONLY x\r\n"),
        sentinel.feed(readOnly + "*1\r\n-READONLY x\r\n", chunking));
    assertEquals(1, sentinel.troubles(), "top level only");
    assertEquals(0, sentinel.troublesCounted(), "never a failure of the server");
    sentinel.finish();
    assertEquals(List.of(readOnly), h.feed(readOnly, chunking));
    assertEquals(0, h.troubles(), "without sentinels: a plain reply");
    h.finish();
  }
}
