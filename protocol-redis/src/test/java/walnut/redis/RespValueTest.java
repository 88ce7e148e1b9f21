package walnut.redis;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import walnut.testing.Chunking;
import walnut.testing.ReplyDecoderHarness;

/**
 * What the proxy reads of a sentinel's replies ({@link RespValue}), and the bounds that keep a
 * broken or hostile sentinel from holding memory or the event loop: a reply is at most
 * {@link SentinelConnection#MAX_REPLY} bytes, held or not, and nests at most
 * {@link RespValue#MAX_DEPTH} deep.
 */
class RespValueTest {

  private static Object read(String resp) {
    ByteBuf frame = Unpooled.copiedBuffer(resp, ISO_8859_1);
    try {
      return RespValue.read(frame);
    } finally {
      frame.release();
    }
  }

  @Test
  void repliesReadAsJavaValues() {
    assertEquals(List.of("ip", "127.0.0.1", "port", "6379"),
        read("*4\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n+6379\r\n"));
    assertEquals(new RespValue.Error("ERR No such master with that name"),
        read("-ERR No such master with that name\r\n"));
    assertEquals(42L, read(":42\r\n"));
    assertNull(read("$-1\r\n"));
    assertNull(read("*-1\r\n"));
    assertEquals(List.of("a", "b"), read("%1\r\n+a\r\n+b\r\n"), "a map, flattened");
  }

  @Test
  void aReplyNestedDeeperThanASentinelAnswersIsRefusedNotRecursedInto() {
    String deep = "*1\r\n".repeat(RespValue.MAX_DEPTH + 1) + ":1\r\n";
    assertThrows(IllegalArgumentException.class, () -> read(deep));
    String ok = "*1\r\n".repeat(RespValue.MAX_DEPTH) + ":1\r\n";
    assertInstanceOf(List.class, read(ok));
    String wide = "*" + 100_000 + "\r\n" + ":1\r\n".repeat(100_000);
    assertEquals(100_000, ((List<?>) read(wide)).size(), "wide is fine: bounded by bytes");
  }

  @Test
  void aSentinelsReplyIsBoundedHeldOrNot() {
    ReplyDecoderHarness h = new ReplyDecoderHarness(
        new RedisReplyDecoder(false, SentinelConnection.MAX_REPLY));
    char[] big = new char[SentinelConnection.MAX_REPLY];
    Arrays.fill(big, 'x');
    Throwable[] failure = new Throwable[1];
    // An array whose elements keep coming: never complete, refused once it is too long.
    List<String> out = h.feed(("*3\r\n$" + big.length + "\r\n" + new String(big))
        .getBytes(ISO_8859_1), Chunking.WHOLE, failure);
    assertEquals(List.of(), out);
    assertInstanceOf(io.netty.handler.codec.CorruptedFrameException.class, failure[0]);
    h.finish();

    ReplyDecoderHarness lines = new ReplyDecoderHarness(
        new RedisReplyDecoder(false, SentinelConnection.MAX_REPLY));
    Throwable[] failed = new Throwable[1];
    lines.feed(("*100000\r\n" + "+x\r\n".repeat(20_000)).getBytes(ISO_8859_1), Chunking.RANDOM,
        failed);
    assertInstanceOf(io.netty.handler.codec.CorruptedFrameException.class, failed[0],
        "many small elements count too");
    lines.finish();
  }
}
