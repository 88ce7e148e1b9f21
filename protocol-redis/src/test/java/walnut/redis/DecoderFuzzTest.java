package walnut.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import walnut.core.config.PoolConfig;
import walnut.core.spi.Conversation;
import walnut.core.spi.KeyRouter;
import walnut.core.spi.Request;
import walnut.core.spi.Splitter;
import walnut.testing.Chunking;
import walnut.testing.ReplyDecoderHarness;
import walnut.testing.TrackingAllocator;

/**
 * Millions of decodes of generated traffic: valid request and reply streams, the same streams
 * truncated, corrupted, spliced with absurd headers ({@code *2147483647}, {@code $-5}), and plain
 * random bytes. Every input is decoded whole as the reference, then again split at every byte
 * boundary (for inputs up to {@link #EVERY_BOUNDARY} bytes, else at random ones), one byte per
 * write, and in random pieces; each decode must give exactly the reference's output, however the
 * input was split. On the way: the request decoder never throws, nothing comes after a closing
 * reply, no frame exceeds the limit, no large array is allocated, every buffer is released; the
 * reply decoder fails only with a {@link DecoderException}.
 *
 * <p>The seed is printed; replay a failure with {@code -Dwalnut.seed=<seed>}. {@code
 * -Dwalnut.fuzz.inputs=<n>} sets the number of inputs per decoder (default 12,000 request streams,
 * some 1.7 million decodes, and 8,000 reply streams, some 0.4 million: about 15 s together on two
 * idle cores; a failing reply decode costs an exception, hence fewer of them).
 */
class DecoderFuzzTest {

  private static final int REQUEST_INPUTS = Integer.getInteger("walnut.fuzz.inputs", 12_000);
  private static final int REPLY_INPUTS = Integer.getInteger("walnut.fuzz.inputs", 8_000);
  /** Inputs up to this size are split at every boundary; longer ones at this many random ones. */
  private static final int EVERY_BOUNDARY = 400;
  private static final long[] LIMITS = {64, 300, 4096, PoolConfig.DEFAULT_REDIS_MAX_REQUEST_SIZE};
  private static final List<RedisCommand> COMMANDS = CommandTable.all();

  /** Headers that must be refused, spliced into valid traffic. */
  private static final String[] EVIL = {
      "*2147483647\r\n", "*-1\r\n", "*-2147483648\r\n", "$2147483647\r\n", "$-5\r\n",
      "*99999999999\r\n", "$536870913\r\n", "*1\r\n$4096\r\n", "*3\r", "\r\n", "\n", "*", "$",
      "\"", "'", "*1\r\n$x\r\n", "*1048577\r\n", "*12\r\n", "*2\r\n$4\r\nAUTH\r\n$20000\r\n",
  };
  private static final String[] REPLY_EVIL = {
      "$2147483647\r\n", "*-2\r\n", "$-5\r\n", ":x\r\n", "+no-crlf\n", "-OOM no\r\n",
      "-BUSY\r\n", "-LOADING x\r\n", "*3\r\n", "$", "*", "\r\n", "~1\r\n",
      ":99999999999999999999\r\n",
  };

  @BeforeAll
  static void printSeed() {
    System.out.println(Chunking.describeSeed(DecoderFuzzTest.class));
  }

  @Test
  void requestDecodingIsTheSameHoweverTheInputIsSplit() {
    Random random = new Random(Chunking.seed());
    long decodes = 0;
    long start = System.nanoTime();
    int closed = 0;
    for (int n = 0; n < REQUEST_INPUTS; n++) {
      byte[] input = mutate(random, requestStream(random), EVIL);
      String password = random.nextInt(3) == 0 ? "pw" : null;
      long limit = LIMITS[random.nextInt(LIMITS.length)];
      RequestRun reference = decodeRequests(input, password, limit, new int[0], n);
      closed += reference.closed ? 1 : 0;
      for (int[] cuts : splits(random, input.length)) {
        RequestRun run = decodeRequests(input, password, limit, cuts, n);
        if (!run.output.equals(reference.output)) {
          fail("input " + n + " split at " + Arrays.toString(cuts) + " decodes differently\n"
              + "input:     " + HexFormat.of().formatHex(input) + "\nreference: "
              + reference.output + "\nsplit:     " + run.output);
        }
        decodes++;
      }
    }
    report("request", decodes, REQUEST_INPUTS, start);
    // The generator must reach both outcomes, or it tests less than it claims.
    assertTrue(closed > REQUEST_INPUTS / 20 && closed < REQUEST_INPUTS - REQUEST_INPUTS / 20,
        "closed: " + closed);
  }

  @Test
  void replyDecodingIsTheSameHoweverTheInputIsSplit() {
    Random random = new Random(Chunking.seed() + 1);
    long decodes = 0;
    long start = System.nanoTime();
    int failed = 0;
    for (int n = 0; n < REPLY_INPUTS; n++) {
      byte[] input = mutate(random, replyStream(random), REPLY_EVIL);
      ReplyRun reference = decodeReplies(input, new int[0]);
      failed += reference.failed ? 1 : 0;
      for (int[] cuts : splits(random, input.length)) {
        ReplyRun run = decodeReplies(input, cuts);
        if (!run.equals(reference)) {
          fail("input " + n + " split at " + Arrays.toString(cuts) + " decodes differently\n"
              + "input:     " + HexFormat.of().formatHex(input) + "\nreference: " + reference
              + "\nsplit:     " + run);
        }
        decodes++;
      }
    }
    report("reply", decodes, REPLY_INPUTS, start);
    assertTrue(failed > REPLY_INPUTS / 20 && failed < REPLY_INPUTS - REPLY_INPUTS / 20,
        "failed: " + failed);
  }

  private static void report(String what, long decodes, int inputs, long start) {
    System.out.printf("DecoderFuzzTest: %,d %s decodes of %,d inputs in %.1f s%n", decodes, what,
        inputs, (System.nanoTime() - start) / 1e9);
  }

  // ---- decoding

  private record RequestRun(String output, boolean closed) {}

  /** Decodes {@code input} cut at {@code cuts} on a fresh decoder; checks what holds for any. */
  private static RequestRun decodeRequests(byte[] input, String password, long limit, int[] cuts,
      int n) {
    TrackingAllocator alloc = new TrackingAllocator();
    EmbeddedChannel ch = new EmbeddedChannel(new RedisRequestDecoder(password, limit));
    ch.config().setAllocator(alloc);
    StringBuilder out = new StringBuilder();
    boolean closed = false;
    int from = 0;
    for (int i = 0; i <= cuts.length; i++) {
      int to = i < cuts.length ? cuts[i] : input.length;
      if (to > from) {
        ch.writeInbound(alloc.copyOf(Arrays.copyOfRange(input, from, to)));
      }
      from = to;
      for (Request r; (r = ch.readInbound()) != null; ) {
        try {
          assertFalse(closed, () -> "a request after a closing reply, input " + n);
          closed = r.closeAfterReply();
          check(r, limit, alloc, n);
          // A HELLO reply names the connection's id, new for each run: compared without it.
          out.append(r.kind()).append(r.closeAfterReply() ? "+close " : " ")
              .append(r.frame().toString(StandardCharsets.ISO_8859_1)
                  .replaceFirst("\\$2\r\nid\r\n:\\d+", "\\$2\r\nid\r\n:ID"))
              .append(" dialect ").append(r.dialect());
          if (r.hasKey()) {
            out.append(" key@").append(r.keyIndex()).append('+').append(r.keyLength());
          }
          out.append(r.splitter() == null ? "" : " " + r.splitter()).append('\n');
        } finally {
          r.release();
        }
      }
    }
    assertFalse(ch.finish());
    alloc.assertAllReleased();
    // Nothing sized by a declared length: the cumulation grows with what arrived, at most doubled.
    assertTrue(alloc.largestArray() <= Math.max(1024, 4 * input.length),
        () -> "largest array " + alloc.largestArray() + " for " + input.length + " bytes");
    return new RequestRun(out.toString(), closed);
  }

  private static void check(Request r, long limit, TrackingAllocator alloc, int n) {
    ByteBuf frame = r.frame();
    assertTrue(frame.isReadable());
    if (r.kind() == Request.Kind.LOCAL || r.step() == Conversation.Step.REFUSED) {
      assertTrue("+-$:*%_".indexOf(frame.getByte(frame.readerIndex())) >= 0, "reply " + n);
      return;
    }
    assertEquals('*', frame.getByte(frame.readerIndex()));
    // A forwarded frame is a slice of what the client sent (an inline command is rebuilt as RESP).
    assertTrue(frame.unwrap() == null || frame.readableBytes() <= limit,
        () -> "frame over the limit, input " + n);
    if (r.hasKey()) {
      assertTrue(r.keyIndex() >= frame.readerIndex()
          && r.keyIndex() + r.keyLength() <= frame.writerIndex(), "key outside its frame");
    }
    if (r.kind() == Request.Kind.SPLIT) {
      exerciseSplit(r, alloc);
    }
  }

  /** A pool of two servers: a key goes to the one its first byte's low bit names. */
  private static final KeyRouter TWO_SERVERS = new KeyRouter() {
    @Override
    public int serverFor(ByteBuf buf, int offset, int length) {
      return length == 0 ? 0 : buf.getByte(offset) & 1;
    }

    @Override
    public int servers() {
      return 2;
    }

    @Override
    public String serverName(int server) {
      return "s" + server;
    }

    @Override
    public String poolName() {
      return "fuzz";
    }

    @Override
    public long connectedClients() {
      return 1;
    }

    @Override
    public long startedMillis() {
      return 0;
    }
  };

  /** Splits with a two-server router, and merges plausible replies. */
  private static void exerciseSplit(Request r, TrackingAllocator alloc) {
    Splitter.Split split = r.splitter().split(r.frame(), TWO_SERVERS, alloc);
    ByteBuf refused = split.refusal(alloc);
    if (refused != null) {
      assertTrue(refused.isReadable());
      refused.release();
      split.discard();
      return;
    }
    ByteBuf[] replies = new ByteBuf[split.size()];
    for (int i = 0; i < split.size(); i++) {
      ByteBuf fragment = split.fragment(i);
      assertEquals('*', fragment.getByte(0));
      fragment.release();
      replies[i] = alloc.copyOf(":1\r\n".getBytes(StandardCharsets.US_ASCII));
    }
    ByteBuf merged = split.merge(replies, alloc);
    if (merged != null) {
      assertTrue(":$=".indexOf(merged.getByte(0)) >= 0, merged.toString(StandardCharsets.UTF_8));
      merged.release();
    }
    for (ByteBuf reply : replies) {
      reply.release();
    }
  }

  private record ReplyRun(List<String> replies, boolean failed) {}

  private static ReplyRun decodeReplies(byte[] input, int[] cuts) {
    ReplyDecoderHarness h = new ReplyDecoderHarness(new RedisReplyDecoder());
    List<String> replies = new ArrayList<>();
    boolean failed = false;
    int from = 0;
    for (int i = 0; i <= cuts.length && !failed; i++) {
      int to = i < cuts.length ? cuts[i] : input.length;
      try {
        if (to > from) {
          h.ch.writeInbound(h.alloc.copyOf(Arrays.copyOfRange(input, from, to)));
        }
      } catch (DecoderException expected) {
        failed = true; // the engine closes the backend connection: nothing more is read
      }
      from = to;
      int before = replies.size();
      h.drainInto(replies); // a long bulk, streamed in parts, comes back whole
      for (int r = before; r < replies.size(); r++) {
        assertTrue("+-:$*_,#(!=%~>|".indexOf(replies.get(r).charAt(0)) >= 0);
      }
    }
    h.finish();
    return new ReplyRun(replies, failed);
  }

  /** The ways an input is split: at every boundary (or many random ones), bytes, pieces. */
  private static List<int[]> splits(Random random, int length) {
    List<int[]> splits = new ArrayList<>();
    if (length <= EVERY_BOUNDARY) {
      for (int cut = 1; cut < length; cut++) {
        splits.add(new int[] {cut});
      }
    } else {
      for (int i = 0; i < EVERY_BOUNDARY; i++) {
        splits.add(new int[] {1 + random.nextInt(length - 1)});
      }
    }
    int[] bytes = new int[Math.max(0, length - 1)];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = i + 1;
    }
    splits.add(bytes);
    for (int k = 0; k < 3 && length > 1; k++) {
      int[] cuts = random.ints(1 + random.nextInt(Math.min(length - 1, 16)), 1, length)
          .sorted().distinct().toArray();
      splits.add(cuts);
    }
    return splits;
  }

  // ---- generating

  /** One to six requests of every kind the decoder sees. */
  private static byte[] requestStream(Random random) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 1 + random.nextInt(6); i > 0; i--) {
      switch (random.nextInt(12)) {
        case 0 -> write(out, "*0\r\n");
        case 1 -> write(out, inline(random));
        case 2 -> writeArray(out, List.of(word(random, 1 + random.nextInt(12)),
            bytes(random, random.nextInt(5))));
        case 3 -> writeArray(out, List.of(caseOf(random, "AUTH"),
            (random.nextBoolean() ? "pw" : "nope").getBytes(StandardCharsets.US_ASCII)));
        case 4 -> writeArray(out, List.of(caseOf(random, "EVAL"), bytes(random, 3),
            "1".getBytes(StandardCharsets.US_ASCII), bytes(random, 2), bytes(random, 2)));
        case 5 -> write(out, random.nextInt(4) == 0 ? "*1\r\n$4\r\nQUIT\r\n"
            : "*1\r\n$4\r\nPING\r\n");
        default -> writeArray(out, command(random));
      }
    }
    return out.toByteArray();
  }

  /** A known command, mostly with an argument count it accepts, with binary arguments. */
  private static List<byte[]> command(Random random) {
    RedisCommand c = COMMANDS.get(random.nextInt(COMMANDS.size()));
    if (c.action == RedisCommand.Action.QUIT) {
      c = COMMANDS.get(0);
    }
    int argc = random.nextInt(8);
    for (int tries = 0; tries < 8 && random.nextInt(4) != 0 && !c.arity.accepts(argc); tries++) {
      argc = random.nextInt(8);
    }
    List<byte[]> argv = new ArrayList<>();
    argv.add(caseOf(random, c.name));
    for (int a = 0; a < argc; a++) {
      argv.add(bytes(random, random.nextInt(20) == 0 ? random.nextInt(300) : random.nextInt(8)));
    }
    return argv;
  }

  private static String inline(Random random) {
    StringBuilder b = new StringBuilder();
    for (int w = random.nextInt(4); w >= 0; w--) {
      String word = new String(word(random, 1 + random.nextInt(6)), StandardCharsets.US_ASCII);
      b.append(switch (random.nextInt(5)) {
        case 0 -> "\"" + word + " \\x41\\n\"";
        case 1 -> "'" + word + "\\''";
        default -> word;
      }).append(random.nextBoolean() ? " " : "\t");
    }
    return b.append(random.nextBoolean() ? "\r\n" : "\n").toString();
  }

  /** Zero to three replies, arrays nested up to three deep. */
  private static byte[] replyStream(Random random) {
    StringBuilder b = new StringBuilder();
    for (int i = 1 + random.nextInt(4); i > 0; i--) {
      reply(random, b, 0);
    }
    return b.toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  private static void reply(Random random, StringBuilder b, int depth) {
    if (random.nextInt(3) == 0) {
      resp3(random, b, depth);
      return;
    }
    switch (random.nextInt(depth < 3 ? 8 : 6)) {
      case 0 -> b.append('+').append(new String(word(random, random.nextInt(6)),
          StandardCharsets.US_ASCII)).append("\r\n");
      case 1 -> b.append(random.nextBoolean() ? "-ERR no\r\n" : "-WRONGTYPE x\r\n");
      case 2 -> b.append(':').append(random.nextInt() >> random.nextInt(32)).append("\r\n");
      case 3 -> b.append("$-1\r\n");
      case 4, 5 -> {
        byte[] v = bytes(random, random.nextInt(10) == 0 ? random.nextInt(600) : random.nextInt(6));
        b.append('$').append(v.length).append("\r\n")
            .append(new String(v, StandardCharsets.ISO_8859_1)).append("\r\n");
      }
      default -> {
        int n = random.nextInt(5) - 1;
        b.append('*').append(n).append("\r\n");
        for (int i = 0; i < n; i++) {
          reply(random, b, depth + 1);
        }
      }
    }
  }

  /** A RESP3 value: the simple types, blob error and verbatim, and the aggregates. */
  private static void resp3(Random random, StringBuilder b, int depth) {
    switch (random.nextInt(depth < 3 ? 12 : 7)) {
      case 0 -> b.append("_\r\n");
      case 1 -> b.append(',').append(random.nextBoolean() ? "3.25" : "-inf").append("\r\n");
      case 2 -> b.append(random.nextBoolean() ? "#t\r\n" : "#f\r\n");
      case 3 -> b.append('(').append(random.nextLong()).append(random.nextInt(1000)).append("\r\n");
      case 4, 5 -> {
        byte[] v = bytes(random, random.nextInt(8));
        b.append(random.nextBoolean() ? '!' : '=').append(v.length).append("\r\n")
            .append(new String(v, StandardCharsets.ISO_8859_1)).append("\r\n");
      }
      case 6 -> b.append("-ERR resp2 error\r\n");
      default -> {
        char type = "%~>|*".charAt(random.nextInt(5));
        int n = random.nextInt(4);
        b.append(type).append(n).append("\r\n");
        int elements = type == '%' || type == '|' ? 2 * n : n;
        for (int i = 0; i < elements; i++) {
          reply(random, b, depth + 1);
        }
        if (type == '|') {
          reply(random, b, depth + 1); // the value the attribute is about
        }
      }
    }
  }

  /**
   * Half the inputs are left valid; the rest are truncated, corrupted, spliced with an evil
   * header, or replaced by random bytes.
   */
  private static byte[] mutate(Random random, byte[] valid, String[] evil) {
    byte[] in = valid;
    switch (random.nextInt(10)) {
      case 0 -> in = Arrays.copyOf(in, random.nextInt(in.length + 1));
      case 1, 2 -> {
        in = in.clone();
        for (int m = 1 + random.nextInt(3); m > 0; m--) {
          in[random.nextInt(in.length)] = (byte) random.nextInt(256);
        }
      }
      case 3 -> {
        byte[] piece = evil[random.nextInt(evil.length)].getBytes(StandardCharsets.ISO_8859_1);
        int at = random.nextInt(in.length + 1);
        byte[] spliced = new byte[in.length + piece.length];
        System.arraycopy(in, 0, spliced, 0, at);
        System.arraycopy(piece, 0, spliced, at, piece.length);
        System.arraycopy(in, at, spliced, at + piece.length, in.length - at);
        in = spliced;
      }
      case 4 -> in = bytes(random, random.nextInt(64));
      default -> { }
    }
    return in;
  }

  private static byte[] bytes(Random random, int n) {
    byte[] b = new byte[n];
    // Mostly letters, with the bytes that matter to framing and the high half mixed in.
    for (int i = 0; i < n; i++) {
      int k = random.nextInt(10);
      b[i] = (byte) (k < 6 ? 'a' + random.nextInt(26) : k < 8 ? "\r\n*$\"' \u0000".charAt(
          random.nextInt(8)) : random.nextInt(256));
    }
    return b;
  }

  private static byte[] word(Random random, int n) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) ('A' + random.nextInt(26) + (random.nextBoolean() ? 32 : 0));
    }
    return b;
  }

  private static byte[] caseOf(Random random, String name) {
    byte[] b = name.getBytes(StandardCharsets.US_ASCII);
    for (int i = 0; i < b.length; i++) {
      if (random.nextBoolean() && b[i] >= 'A' && b[i] <= 'Z') {
        b[i] += 32;
      }
    }
    return b;
  }

  private static void writeArray(ByteArrayOutputStream out, List<byte[]> argv) {
    write(out, "*" + argv.size() + "\r\n");
    for (byte[] a : argv) {
      write(out, "$" + a.length + "\r\n");
      out.writeBytes(a);
      write(out, "\r\n");
    }
  }

  private static void write(ByteArrayOutputStream out, String s) {
    out.writeBytes(s.getBytes(StandardCharsets.ISO_8859_1));
  }

  @Test
  void generatorsMakeValidTrafficWhenNotMutated() {
    // A sanity check of the generator itself: unmutated streams never hit a framing error.
    Random random = new Random(Chunking.seed() + 2);
    for (int n = 0; n < 2_000; n++) {
      byte[] input = requestStream(random);
      RequestRun run = decodeRequests(input, null, PoolConfig.DEFAULT_REDIS_MAX_REQUEST_SIZE,
          new int[0], n);
      assertFalse(run.output.contains("Protocol error"), run.output);
      assertFalse(decodeReplies(replyStream(random), new int[0]).failed);
    }
  }
}
