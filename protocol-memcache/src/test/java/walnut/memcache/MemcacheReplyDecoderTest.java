package walnut.memcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
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

class MemcacheReplyDecoderTest {

  private final ReplyDecoderHarness h = new ReplyDecoderHarness(new MemcacheReplyDecoder());

  @BeforeAll
  static void printSeed() {
    System.out.println(Chunking.describeSeed(MemcacheReplyDecoderTest.class));
  }

  @org.junit.jupiter.api.Test
  void aReplyNoOneWantsIsFramedWithoutBeingKept() {
    MemcacheReplyDecoder decoder = new MemcacheReplyDecoder();
    ReplyDecoderHarness d = new ReplyDecoderHarness(decoder);
    String block = "VALUE k 0 10\r\n0123456789\r\n";
    List<String> out = new ArrayList<>(d.feed(block + block + "VALUE k 0 10\r\n01234", Chunking.WHOLE));
    assertEquals(List.of(), out);
    int before = decoder.partialReplyBytes();
    decoder.dropPartialReply();
    assertEquals(before, decoder.partialReplyBytes(), "dropped bytes still count as received");
    assertTrue(decoder.heldBytes() <= 2, "at most the CRLF of the block under way");
    out.addAll(d.feed("56789\r\n", Chunking.WHOLE));
    for (int i = 0; i < 1000; i++) {
      out.addAll(d.feed(block, Chunking.WHOLE));
      assertTrue(decoder.heldBytes() < block.length(), "kept " + decoder.heldBytes());
    }
    out.addAll(d.feed("END\r\nSTORED\r\n", Chunking.WHOLE));
    assertEquals(List.of("END\r\n", "STORED\r\n"), out, "the dropped reply's tail, then the next");
    d.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void framesEveryReplyByteForByte(Chunking chunking) {
    List<String> replies = List.of("STORED\r\n", "NOT_STORED\r\n", "EXISTS\r\n", "NOT_FOUND\r\n",
        "DELETED\r\n", "TOUCHED\r\n", "END\r\n", "ERROR\r\n", "VERSION 1.6.18\r\n", "42\r\n",
        "18446744073709551615\r\n", "7  \r\n", "CLIENT_ERROR bad command line format\r\n",
        "SERVER_ERROR object too large for cache\r\n",
        "VALUE k 0 1\r\nv\r\nEND\r\n",
        "VALUE a 5 3 99\r\nEND\r\nVALUE b 0 0 100\r\n\r\nVALUE a 5 3 99\r\n\r\n\n\r\nEND\r\n",
        "VA 2 O1 kfoo\r\nhi\r\n", "VA 0\r\n\r\n", "HD\r\n", "HD c5 O1 kfoo\r\n", "EN\r\n",
        "NF O1\r\n", "NS\r\n", "EX\r\n", "MN\r\n",
        "ME foo exp=-1 la=1 cas=10 fetch=no cls=1 size=63\r\n", "OK\r\n");
    assertEquals(replies, h.feed(String.join("", replies), chunking));
    h.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void framesLargeValuesArrivingInManyReads(Chunking chunking) {
    int size = chunking == Chunking.BYTE_BY_BYTE ? 50_000 : 8 << 20;
    byte[] head = ("VALUE big 0 " + size + "\r\n").getBytes(StandardCharsets.US_ASCII);
    byte[] tail = "\r\nEND\r\nSTORED\r\n".getBytes(StandardCharsets.US_ASCII);
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
    assertNull(failure[0]);
    assertEquals(2, out.size());
    assertEquals(all.length - "STORED\r\n".length(), out.get(0).length());
    h.finish();
  }

  static Stream<Arguments> unparseable() {
    return Stream.of(Chunking.values()).flatMap(c -> Stream.of(
        "WHAT\r\n", "stored\r\n", "\r\n", "STORED\n", "STORED\rX\n", "VALUE k 0\r\n",
        "VALUE k 0 x\r\n", "VALUE k 0 3\r\nabcXY", "VALUE k 0 1\r\nv\r\nSTORED\r\n",
        "VALUE k 0 1073741825\r\n", "VALUE k 0 99999999999\r\n", "VA x\r\n", "VA\r\n",
        "VA 2\r\nabc\r\n", "H\r\n", "HDX\r\n", "12a\r\n", "-1\r\n",
        "CLIENT_ERROR" + "x".repeat(MemcacheReplyDecoder.MAX_LINE) + "\r\n",
        "x".repeat(MemcacheReplyDecoder.MAX_LINE + 1)).map(r -> Arguments.of(c, r)));
  }

  @ParameterizedTest(name = "{0}: {1}")
  @MethodSource("unparseable")
  void unparseableRepliesFailTheConnection(Chunking chunking, String reply) {
    Throwable[] failure = new Throwable[1];
    List<String> out = h.feed(("STORED\r\n" + reply).getBytes(StandardCharsets.ISO_8859_1),
        chunking, failure);
    assertEquals(List.of("STORED\r\n"), out);
    assertInstanceOf(CorruptedFrameException.class, failure[0]);
    // The stream can no longer be matched to requests: the rest is discarded.
    assertEquals(List.of(), h.feed("STORED\r\n", chunking));
    h.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void partialReplyAtCloseIsReleased(Chunking chunking) {
    assertEquals(List.of("END\r\n"), h.feed("END\r\nVALUE k 0 10\r\n01", chunking));
    h.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void hugeDeclaredValueAllocatesNothing(Chunking chunking) {
    assertEquals(List.of(), h.feed("VALUE k 0 1073741824\r\nabc", chunking));
    // What follows is the value's data, counted and never parsed.
    assertEquals(List.of(), h.feed("END\r\nSTORED\r\n".repeat(1000), chunking));
    assertTrue(h.alloc.largestArray() < 64 * 1024, "largest: " + h.alloc.largestArray());
    h.finish();
  }
}
