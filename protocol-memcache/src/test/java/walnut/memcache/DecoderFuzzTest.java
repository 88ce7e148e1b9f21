package walnut.memcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.DecoderException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import walnut.core.spi.KeyRouter;
import walnut.core.spi.Request;
import walnut.core.spi.Splitter;
import walnut.testing.Chunking;
import walnut.testing.TrackingAllocator;

/**
 * Generated, mutated, truncated and random traffic: the request decoder never throws and a closing
 * reply is the last request a connection ever produces; the reply decoder throws nothing but
 * {@link CorruptedFrameException}; nothing leaks; no buffer is sized from a declared length; every
 * split request merges back in the client's key order; and a valid stream decodes the same however
 * it is cut into reads. Replay a failure with {@code -Dwalnut.seed=<seed>}; {@code
 * -Dwalnut.fuzz.rounds=<n>} runs longer.
 */
class DecoderFuzzTest {

  private static final int ROUNDS = Integer.getInteger("walnut.fuzz.rounds", 100_000);
  private static final String[] VALID_REQUESTS = {
      "get k\r\n", "get a b c\r\n", "gets a a\r\n", "gat 10 a b\r\n", "gats -1 k\r\n",
      "get  x\0y z\r\n", "set k 0 0 1\r\nv\r\n", "set k 0 0 5 noreply\r\nhello\r\n",
      "cas k 0 0 1 5\r\nv\r\n", "add k 1 -1 0\r\n\r\n", "append k 0 0 2\r\n\r\n\r\n",
      "prepend k 0 0 1\n\n\r\n", "delete k\r\n", "delete k 0 noreply\r\n", "incr k 5\r\n",
      "decr k 1 noreply\r\n", "touch k 10\r\n", "version\r\n", "mn\r\n", "mg k v q O1\r\n",
      "mg Zm9v b v\r\n", "ms k 2 q T1\r\nhi\r\n", "ms Zm9v 3 b\r\nbar\r\n", "md k q\r\n",
      "ma k v q D5\r\n", "me k\r\n", "me Zm9v b\r\n", "stats\r\n", "\r\n", "mg k x\r\n",
      "set k 0 0 100\r\n" + "d".repeat(100) + "\r\n", "get " + "k".repeat(251) + "\r\n",
      "set " + "k".repeat(251) + " 0 0 1\r\nv\r\n", "gat x k\r\n", "ms k 2 x\r\nhi\r\n",
      "mg Zm9 b\r\n", "get a b c d e f g h i j k l m n o p q r s t u v w x y z 0 1 2 3 4\r\n",
  };
  private static final String[] REQUEST_PIECES = {
      "set k 0 0 ", "get ", "ms k ", "\r\n", "\n", "\r", " ", "noreply", " q", " b", "\0", "mg",
      "9999999999", "2147483645", "-1", "quit\r\n", "x".repeat(8200), "get " + "k ".repeat(4100),
  };
  private static final String[] REPLY_PIECES = {
      "STORED\r\n", "END\r\n", "VALUE k 0 1\r\nv\r\nEND\r\n", "VALUE a 0 0 7\r\n\r\n",
      "VA 2 O1\r\nhi\r\n", "HD\r\n", "EN\r\n", "NF O1 kfoo\r\n", "ERROR\r\n", "42\r\n",
      "CLIENT_ERROR x\r\n", "SERVER_ERROR y\r\n", "VERSION 1.6.18\r\n", "MN\r\n", "VALUE ", "VA ",
      "\r\n", "\n", " ", "1073741824", "END",
  };
  /** Keys go to server 0 or 1 by their first byte; keys ending in an even byte are found. */
  private static final KeyRouter ROUTER = (buf, offset, length) -> buf.getByte(offset) & 1;

  @BeforeAll
  static void printSeed() {
    System.out.println(Chunking.describeSeed(DecoderFuzzTest.class) + ", " + ROUNDS + " rounds");
  }

  @Test
  void requestDecoderNeverThrowsLeaksNorAllocatesFromDeclaredLengths() {
    Random random = new Random(Chunking.seed());
    long pieces = 0;
    long[] kinds = new long[Request.Kind.values().length];
    for (int round = 0; round < ROUNDS; round++) {
      TrackingAllocator alloc = TrackingAllocator.unwatched();
      long limit = new long[] {64, 4096, 1 << 20}[random.nextInt(3)];
      EmbeddedChannel ch = new EmbeddedChannel(new MemcacheRequestDecoder(limit));
      ch.config().setAllocator(alloc);
      int[] count = new int[1];
      byte[] input = input(random, count);
      pieces += count[0];
      chunking(round, input).write(ch, alloc, input, random);
      boolean closed = false;
      for (Request r; (r = ch.readInbound()) != null; ) {
        try {
          assertFalse(closed, "a request after a closing reply, round " + round);
          closed = r.closeAfterReply();
          kinds[r.kind().ordinal()]++;
          check(r, alloc, random);
        } finally {
          r.release();
        }
      }
      assertFalse(ch.finish());
      alloc.assertAllReleased();
      assertTrue(alloc.largestArray() <= Math.max(64 * 1024, 2 * input.length),
          "round " + round + " allocated " + alloc.largestArray());
    }
    System.out.println("decoded " + pieces + " generated pieces into "
        + Arrays.toString(Request.Kind.values()) + " requests " + Arrays.toString(kinds));
    assertTrue(kinds[Request.Kind.SPLIT.ordinal()] > ROUNDS / 10, "too few splits to be useful");
  }

  @Test
  void validStreamsDecodeTheSameHoweverTheyAreCut() {
    Random random = new Random(Chunking.seed() + 1);
    for (int round = 0; round < ROUNDS / 10; round++) {
      StringBuilder b = new StringBuilder();
      for (int n = 1 + random.nextInt(30); n > 0; n--) {
        b.append(VALID_REQUESTS[random.nextInt(VALID_REQUESTS.length)]);
      }
      byte[] input = b.toString().getBytes(StandardCharsets.ISO_8859_1);
      List<String> whole = decodeAll(input, Chunking.WHOLE, random);
      assertEquals(whole, decodeAll(input, Chunking.RANDOM, random), "round " + round);
      if (round % 50 == 0) {
        assertEquals(whole, decodeAll(input, Chunking.BYTE_BY_BYTE, random), "round " + round);
      }
    }
  }

  @Test
  void replyDecoderFailsOnlyOnUnparseableRepliesAndNeverLeaks() {
    Random random = new Random(Chunking.seed() + 2);
    for (int round = 0; round < ROUNDS; round++) {
      TrackingAllocator alloc = TrackingAllocator.unwatched();
      EmbeddedChannel ch = new EmbeddedChannel(new MemcacheReplyDecoder());
      ch.config().setAllocator(alloc);
      byte[] input = mutate(random, pieces(random, REPLY_PIECES, REPLY_PIECES, new int[1]));
      try {
        chunking(round, input).write(ch, alloc, input, random);
      } catch (DecoderException e) {
        assertInstanceOf(CorruptedFrameException.class, e, "round " + round);
      }
      for (ByteBuf b; (b = ch.readInbound()) != null; ) {
        assertTrue(b.isReadable());
        b.release();
      }
      assertFalse(ch.finish());
      alloc.assertAllReleased();
      assertTrue(alloc.largestArray() <= Math.max(64 * 1024, 2 * input.length));
    }
  }

  private static List<String> decodeAll(byte[] input, Chunking chunking, Random random) {
    RequestHarness h = new RequestHarness(random.nextLong(), new MemcacheRequestDecoder(64),
        TrackingAllocator.unwatched());
    List<String> out = h.send(input, chunking).stream().map(Object::toString).toList();
    h.finish();
    return out;
  }

  /** The three ways in turn; one byte per write only for inputs short enough to keep it quick. */
  private static Chunking chunking(int round, byte[] input) {
    Chunking c = Chunking.values()[round % 3];
    return c == Chunking.BYTE_BY_BYTE && input.length > 2048 ? Chunking.RANDOM : c;
  }

  /** Valid requests and pieces of them, some random bytes, some bytes mutated, perhaps cut. */
  private static byte[] input(Random random, int[] count) {
    return mutate(random, pieces(random, VALID_REQUESTS, REQUEST_PIECES, count));
  }

  private static String pieces(Random random, String[] valid, String[] fragments, int[] count) {
    StringBuilder b = new StringBuilder();
    int n = 1 + random.nextInt(30);
    count[0] = n;
    for (int i = 0; i < n; i++) {
      int kind = random.nextInt(10);
      if (kind == 0) {
        for (int j = random.nextInt(20); j > 0; j--) {
          b.append((char) random.nextInt(256));
        }
      } else if (kind < 3) {
        b.append(fragments[random.nextInt(fragments.length)]);
      } else {
        b.append(valid[random.nextInt(valid.length)]);
      }
    }
    return b.toString();
  }

  private static byte[] mutate(Random random, String text) {
    byte[] bytes = text.getBytes(StandardCharsets.ISO_8859_1);
    for (int m = random.nextInt(3); m > 0 && bytes.length > 0; m--) {
      bytes[random.nextInt(bytes.length)] = (byte) random.nextInt(256);
    }
    if (random.nextInt(4) == 0 && bytes.length > 0) {
      bytes = Arrays.copyOf(bytes, random.nextInt(bytes.length));
    }
    return bytes;
  }

  /** What every request must satisfy; split requests are split and merged. */
  private static void check(Request r, TrackingAllocator alloc, Random random) {
    ByteBuf frame = r.frame();
    switch (r.kind()) {
      case LOCAL -> assertTrue(!frame.isReadable() || endsWithCrlf(frame), r::toString);
      case ROUTED -> {
        assertTrue(endsWithCrlf(frame) || frame.getByte(frame.writerIndex() - 1) == '\n');
        if (r.hasKey()) {
          ByteBuf key = r.routingKey() != null ? r.routingKey() : frame;
          assertTrue(r.keyLength() > 0 && r.keyLength() <= 250);
          assertTrue(r.keyIndex() >= key.readerIndex()
              && r.keyIndex() + r.keyLength() <= key.writerIndex());
        }
      }
      case SPLIT -> splitAndMerge(r, alloc, random);
    }
  }

  private static void splitAndMerge(Request r, TrackingAllocator alloc, Random random) {
    List<String> keys = keysOf(r.frame().toString(StandardCharsets.ISO_8859_1));
    Splitter.Split split = r.splitter().split(r.frame(), ROUTER, alloc);
    ByteBuf[] replies = new ByteBuf[split.size()];
    boolean broken = random.nextInt(8) == 0;
    try {
      for (int i = 0; i < split.size(); i++) {
        ByteBuf fragment = split.fragment(i);
        String text = fragment.toString(StandardCharsets.ISO_8859_1);
        fragment.release();
        assertTrue(text.endsWith("\r\n"));
        StringBuilder reply = new StringBuilder();
        for (String key : keysOf(text)) {
          assertEquals(split.server(i), key.charAt(0) & 1);
          if (found(key)) {
            reply.append(block(key));
          }
        }
        reply.append(broken && i == 0 ? "SERVER_ERROR out of memory\r\n" : "END\r\n");
        replies[i] = alloc.copyOf(reply.toString().getBytes(StandardCharsets.ISO_8859_1));
      }
      ByteBuf merged = split.merge(replies, alloc);
      if (broken) {
        assertNull(merged);
        return;
      }
      assertNotNull(merged);
      StringBuilder expected = new StringBuilder();
      keys.stream().filter(DecoderFuzzTest::found).forEach(k -> expected.append(block(k)));
      assertEquals(expected.append("END\r\n").toString(),
          merged.toString(StandardCharsets.ISO_8859_1));
      merged.release();
    } finally {
      for (ByteBuf b : replies) {
        if (b != null) {
          b.release();
        }
      }
    }
  }

  /** The keys of a retrieval line, cut as memcached cuts it. */
  private static List<String> keysOf(String line) {
    String content = line.endsWith("\r\n") && line.length() > 2
        ? line.substring(0, line.length() - 2) : line.substring(0, line.length() - 1);
    int nul = content.indexOf('\0');
    content = nul < 0 ? content : content.substring(0, nul);
    List<String> tokens = new ArrayList<>();
    for (String t : content.split(" ")) {
      if (!t.isEmpty()) {
        tokens.add(t);
      }
    }
    return tokens.subList(tokens.get(0).charAt(1) == 'a' ? 2 : 1, tokens.size());
  }

  private static boolean found(String key) {
    return (key.charAt(key.length() - 1) & 1) == 0;
  }

  private static String block(String key) {
    return "VALUE " + key + " 0 " + key.length() + "\r\n" + key + "\r\n";
  }

  private static boolean endsWithCrlf(ByteBuf b) {
    int end = b.writerIndex();
    return end - b.readerIndex() >= 2 && b.getByte(end - 2) == '\r' && b.getByte(end - 1) == '\n';
  }
}
