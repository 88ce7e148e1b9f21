package walnut.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import walnut.core.spi.Request;
import walnut.core.spi.Splitter;

/**
 * Random bytes, mutated and truncated valid traffic: the request decoder never throws, the reply
 * decoder throws only {@link DecoderException}s, nothing leaks, and a closing error is the last
 * request a client connection ever produces. Replay a failure with {@code -Dwalnut.seed=<seed>}.
 */
class DecoderFuzzTest {

  private static final int ROUNDS = 10_000;
  private static final String[] REQUEST_PIECES = {
      "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "*3\r\n$4\r\nMGET\r\n$1\r\na\r\n$1\r\nb\r\n",
      "*5\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n", "PING\r\n",
      "*1\r\n$4\r\nPING\r\n", "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n", "*1\r\n$4\r\nQUIT\r\n",
      "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n", "GET \"a b\" 'c'\r\n", "*0\r\n", "*1\r\n$-1\r\n",
      "*4\r\n$4\r\nEVAL\r\n$1\r\ns\r\n$1\r\n1\r\n$1\r\nk\r\n", "$", "*", "\r\n", "\n", "\"",
      "*3\r\n$3\r\nDEL\r\n$0\r\n\r\n$1\r\nx\r\n", "*2\r\n$6\r\nCLIENT\r\n$7\r\nGETNAME\r\n",
  };
  private static final String[] REPLY_PIECES = {
      "+OK\r\n", "-ERR x\r\n", ":1\r\n", "$3\r\nabc\r\n", "$-1\r\n", "*-1\r\n", "*0\r\n",
      "*2\r\n$1\r\na\r\n:2\r\n", "*1\r\n*1\r\n+x\r\n", "-OOM no\r\n", "-BUSY\r\n", "$", "*",
      "\r\n", ":", "*3\r\n",
  };

  @BeforeAll
  static void printSeed() {
    System.out.println(Chunking.describeSeed(DecoderFuzzTest.class));
  }

  @Test
  void requestDecoderNeverThrowsNorLeaks() {
    Random random = new Random(Chunking.seed());
    KeyRoutingSplits splits = new KeyRoutingSplits();
    for (int round = 0; round < ROUNDS; round++) {
      TrackingAllocator alloc = new TrackingAllocator();
      EmbeddedChannel ch = new EmbeddedChannel(
          new RedisRequestDecoder(random.nextBoolean() ? null : "pw", 4096));
      ch.config().setAllocator(alloc);
      byte[] input = input(random, REQUEST_PIECES);
      Chunking.values()[round % 3].write(ch, alloc, input, random);
      boolean closed = false;
      for (Request r; (r = ch.readInbound()) != null; ) {
        assertFalse(closed, "a request after a closing reply, round " + round);
        closed = r.closeAfterReply();
        splits.exercise(r, alloc);
        r.frame().release();
      }
      assertFalse(ch.finish());
      alloc.assertAllReleased();
    }
  }

  @Test
  void replyDecoderFailsOnlyWithDecoderExceptionsAndNeverLeaks() {
    Random random = new Random(Chunking.seed());
    for (int round = 0; round < ROUNDS; round++) {
      TrackingAllocator alloc = new TrackingAllocator();
      EmbeddedChannel ch = new EmbeddedChannel(new RedisReplyDecoder());
      ch.config().setAllocator(alloc);
      byte[] input = input(random, REPLY_PIECES);
      try {
        Chunking.values()[round % 3].write(ch, alloc, input, random);
      } catch (DecoderException expected) {
        // A broken or transient reply; later input is discarded.
      }
      for (ByteBuf b; (b = ch.readInbound()) != null; ) {
        assertTrue(b.isReadable());
        b.release();
      }
      assertFalse(ch.finish());
      alloc.assertAllReleased();
    }
  }

  /** Valid pieces, some mutated, some random bytes, sometimes cut short. */
  private static byte[] input(Random random, String[] pieces) {
    StringBuilder b = new StringBuilder();
    int n = 1 + random.nextInt(12);
    for (int i = 0; i < n; i++) {
      if (random.nextInt(5) == 0) {
        for (int j = random.nextInt(20); j > 0; j--) {
          b.append((char) random.nextInt(256));
        }
      } else {
        b.append(pieces[random.nextInt(pieces.length)]);
      }
    }
    byte[] bytes = b.toString().getBytes(StandardCharsets.ISO_8859_1);
    for (int m = random.nextInt(3); m > 0 && bytes.length > 0; m--) {
      bytes[random.nextInt(bytes.length)] = (byte) random.nextInt(256);
    }
    if (random.nextInt(4) == 0 && bytes.length > 0) {
      bytes = java.util.Arrays.copyOf(bytes, random.nextInt(bytes.length));
    }
    return bytes;
  }

  /** Splits every SPLIT request with a two-server router and merges plausible replies. */
  private static final class KeyRoutingSplits {
    void exercise(Request r, TrackingAllocator alloc) {
      if (r.kind() != Request.Kind.SPLIT) {
        return;
      }
      Splitter.Split split = r.splitter().split(r.frame(), (buf, offset, length) ->
          length == 0 ? 0 : buf.getByte(offset) & 1, alloc);
      ByteBuf[] replies = new ByteBuf[split.size()];
      for (int i = 0; i < split.size(); i++) {
        split.fragment(i).release();
        replies[i] = alloc.copyOf(":1\r\n".getBytes(StandardCharsets.US_ASCII));
      }
      ByteBuf merged = split.merge(replies, alloc);
      if (merged != null) {
        assertEquals(':', merged.getByte(0));
        merged.release();
      }
      for (ByteBuf reply : replies) {
        reply.release();
      }
    }
  }
}
