package walnut.memcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import walnut.core.spi.KeyRouter;
import walnut.core.spi.Request;
import walnut.core.spi.Splitter;
import walnut.testing.Chunking;
import walnut.testing.MemcachedServer;
import walnut.testing.TrackingAllocator;

/**
 * The decoder's own answers, the quiet filters, the reply decoder and the multi-get merge, each
 * held against what a real memcached answers to the same bytes. Where Walnut deliberately answers
 * differently, the test says what memcached does.
 */
class LocalRepliesIT {

  private static final String KEY_251 = "k".repeat(251);
  private static final String CLOSED = "<closed>";

  private static MemcachedServer memcached;
  private static String versionLine;

  @BeforeAll
  static void start() {
    memcached = MemcachedServer.start();
    versionLine = memcached.command("version");
    assertTrue(versionLine.startsWith("VERSION 1.6"), versionLine);
  }

  @AfterAll
  static void stop() {
    memcached.close();
  }

  /**
   * What memcached answers to {@code input} on a new connection: everything it writes before the
   * answer to a {@code version} sent after it, or up to the point it closed (then ending with
   * {@link #CLOSED}).
   */
  private static String memcached(String input) {
    return memcached(input, "version\r\n");
  }

  /** Sends {@code input} then {@code end}; with no {@code end}, reads until memcached closes. */
  private static String memcached(String input, String end) {
    try (Socket socket = new Socket()) {
      socket.connect(memcached.address(), 5000);
      socket.setSoTimeout(5000);
      socket.getOutputStream().write((input + end).getBytes(StandardCharsets.ISO_8859_1));
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buf = new byte[65536];
      for (;;) {
        int n = in.read(buf);
        if (n < 0) {
          return out.toString(StandardCharsets.ISO_8859_1) + CLOSED;
        }
        out.write(buf, 0, n);
        String text = out.toString(StandardCharsets.ISO_8859_1);
        if (!end.isEmpty() && text.endsWith(versionLine)) {
          return text.substring(0, text.length() - versionLine.length());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** What the proxy answers itself to {@code input}: its local replies, then {@link #CLOSED}. */
  private static String proxy(String input) {
    RequestHarness h = new RequestHarness(0);
    StringBuilder out = new StringBuilder();
    for (RequestHarness.Decoded d : h.send(input, Chunking.WHOLE)) {
      assertEquals(Request.Kind.LOCAL, d.kind(), () -> "forwarded: " + d);
      out.append(d.frame());
      if (d.closeAfter()) {
        out.append(CLOSED);
      }
    }
    h.finish();
    return out.toString();
  }

  private static void assertSameAnswer(String input, String expected) {
    assertEquals(expected, memcached(input), "memcached, to " + input.strip());
    assertEquals(expected, proxy(input), "Walnut, to " + input.strip());
  }

  /**
   * memcached writes nothing for these: an answer from Walnut, which does not forward them, would
   * be read as the reply to the client's next request (pymemcache sends {@code flush_all noreply}
   * by default). Delayed and level-0 forms, so the shared memcached keeps its items and log.
   */
  @Test
  void administrativeCommandsWithNoreplyGetNothingFromBoth() {
    for (String line : List.of("flush_all 3600 noreply", "verbosity 0 noreply",
        "verbosity noreply")) {
      assertSameAnswer(line + "\r\n", "");
    }
    assertEquals("", proxy("cache_memlimit 4096 noreply\r\n"));
    assertEquals("ERROR\r\nERROR\r\n", proxy("foo noreply\r\nstats noreply\r\n"),
        "noreply silences only the commands memcached lets it silence");
  }

  @Test
  void unknownCommandsAndEmptyLinesGetErrorFromBoth() {
    for (String line : List.of("foo", "STATS", "GET k", "", "   ", "get", "gat", "set k 0 0",
        "cas k 0 0 1", "incr k", "delete", "mz k", "mg", "md", "ma", "ms")) {
      assertSameAnswer(line + "\r\n", "ERROR\r\n");
    }
  }

  @Test
  void argumentErrorsAreWordedAsMemcachedWordsThem() {
    assertSameAnswer("get " + KEY_251 + "\r\n", "CLIENT_ERROR bad command line format\r\n");
    assertSameAnswer("get a " + KEY_251 + "\r\n", "CLIENT_ERROR bad command line format\r\n");
    assertSameAnswer("incr " + KEY_251 + " 1\r\n", "CLIENT_ERROR bad command line format\r\n");
    assertSameAnswer("mg " + KEY_251 + " v\r\n", "CLIENT_ERROR bad command line format\r\n");
    assertSameAnswer("incr " + KEY_251 + " 1 noreply\r\n", "");
    assertSameAnswer("gat abc k\r\n", "CLIENT_ERROR invalid exptime argument\r\n");
    assertSameAnswer("gat 10\r\n", "END\r\n");
    assertSameAnswer("delete k x\r\n",
        "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
    assertSameAnswer("delete k x noreply\r\n", "");
    assertSameAnswer("mn\r\n", "MN\r\n");
  }

  @Test
  void metaFlagErrorsAreWordedAsMemcachedWordsThem() {
    assertSameAnswer("mg k x\r\n", "CLIENT_ERROR invalid flag\r\n");
    assertSameAnswer("mg k q q\r\n", "CLIENT_ERROR duplicate flag\r\n");
    assertSameAnswer("mg k \u00c0\r\n", "CLIENT_ERROR duplicate flag\r\n");
    assertSameAnswer("md k x\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n");
    assertSameAnswer("ma k v v\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n");
    assertSameAnswer("mg Zm9 b\r\n", "CLIENT_ERROR error decoding key\r\n");
    assertSameAnswer("mg A=== b\r\n", "CLIENT_ERROR error decoding key\r\n");
    assertSameAnswer("md Zm9 b\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n");
    assertSameAnswer("me Zm9 b\r\n", "CLIENT_ERROR bad command line format\r\n");
    assertSameAnswer("me\r\n", "CLIENT_ERROR bad command line format\r\n");
    assertSameAnswer("ms k\r\n", "CLIENT_ERROR bad command line format\r\n");
    // ms: memcached swallows the data block after an error in the flags, and so does Walnut.
    assertSameAnswer("ms k 2 x\r\nhi\r\n", "CLIENT_ERROR invalid flag\r\n");
    assertSameAnswer("ms k 2 q qq\r\nhi\r\n", "CLIENT_ERROR duplicate flag\r\n");
    assertSameAnswer("ms Zm9 1 b\r\nx\r\n", "CLIENT_ERROR error decoding key\r\n");
    String flags18 = " c f h k l s t u v O1 P L I q T1 N1 R1 C1";
    assertSameAnswer("mg k" + flags18 + "\r\n", "CLIENT_ERROR options flags are too long\r\n");
    assertSameAnswer("md k" + flags18 + "\r\n", "CLIENT_ERROR options flags too long\r\n");
  }

  @Test
  void tooLargeDataIsRefusedAndSwallowedByBoth() {
    String data = "x".repeat(2_000_000);
    assertSameAnswer("set k 0 0 2000000\r\n" + data + "\r\n",
        "SERVER_ERROR object too large for cache\r\n");
    assertSameAnswer("ms k 2000000 T0\r\n" + data + "\r\n",
        "SERVER_ERROR object too large for cache\r\n");
    assertSameAnswer("set k 0 0 2000000 noreply\r\n" + data + "\r\n", "");
  }

  @Test
  void whereWalnutDeliberatelyDiffers() {
    // A bad key or argument in a storage command: memcached then reads the data block as a
    // command (ERROR); Walnut skips it, so client data never runs as commands.
    assertEquals("CLIENT_ERROR bad command line format\r\nERROR\r\n",
        memcached("set " + KEY_251 + " 0 0 5\r\nhello\r\n"));
    assertEquals("CLIENT_ERROR bad command line format\r\n",
        proxy("set " + KEY_251 + " 0 0 5\r\nhello\r\n"));
    assertEquals("CLIENT_ERROR bad command line format\r\nERROR\r\n",
        memcached("set k -1 0 1\r\nv\r\n"));
    assertEquals("CLIENT_ERROR bad command line format\r\n", proxy("set k -1 0 1\r\nv\r\n"));
    assertEquals("CLIENT_ERROR bad command line format\r\nERROR\r\n",
        memcached("ms " + KEY_251 + " 2\r\nhi\r\n"));
    assertEquals("CLIENT_ERROR bad command line format\r\n",
        proxy("ms " + KEY_251 + " 2\r\nhi\r\n"));
    // A bad data chunk: memcached goes on reading after it; Walnut closes, the framing is lost.
    assertEquals("CLIENT_ERROR bad data chunk\r\nERROR\r\n", memcached("set k 0 0 2\r\nabc\r\n"));
    assertEquals("CLIENT_ERROR bad data chunk\r\n" + CLOSED, proxy("set k 0 0 2\r\nabc\r\n"));
    // A bad length: memcached keeps the connection and reads the data as commands; Walnut closes.
    assertEquals("CLIENT_ERROR bad command line format\r\n", memcached("set k 0 0 -1\r\n"));
    assertEquals("CLIENT_ERROR bad command line format\r\n" + CLOSED, proxy("set k 0 0 -1\r\n"));
    // A line with no end: memcached closes silently; Walnut says why.
    assertEquals(CLOSED, memcached("x".repeat(9000), ""));
    assertEquals("CLIENT_ERROR line too long\r\n" + CLOSED, proxy("x".repeat(9000)));
    // quit: both close without a word.
    assertSameAnswer("quit\r\n", CLOSED);
  }

  /**
   * Each quiet request sent to memcached as the client wrote it, against the proxy's way: the
   * request without {@code q} to memcached, and its reply through the filter.
   */
  @Test
  void quietFiltersLeaveWhatMemcachedsQuietModeLeaves() {
    String setup = "set hit 0 0 1\r\n5\r\nset text 0 0 1\r\nx\r\ndelete miss\r\n";
    String[] requests = {
        "mg miss q v\r\n", "mg miss q k O7\r\n", "mg hit q v\r\n", "mg hit q\r\n",
        "mg hit q k t O1\r\n", "ms new 2 q\r\nhi\r\n", "ms hit 2 q ME\r\nhi\r\n",
        "ms hit 2 q C1\r\nhi\r\n", "ms miss 2 q MR\r\nhi\r\n", "ms hit 2 q T-1 F1 c\r\nhi\r\n",
        "md hit q\r\n", "md miss q\r\n", "md hit q C1\r\n", "md hit q I T30\r\n",
        "ma hit q\r\n", "ma hit q v\r\n", "ma miss q\r\n", "ma text q\r\n", "ma hit q C1\r\n",
        "mg hit q Tx\r\n", "ms aGl0 1 b q\r\nz\r\n", "mg aGl0 b q v k\r\n", "md bWlzcw== b q\r\n",
    };
    for (String request : requests) {
      String direct = memcached(setup + request);
      RequestHarness h = new RequestHarness(0);
      h.ch.writeInbound(h.alloc.copyOf(request.getBytes(StandardCharsets.ISO_8859_1)));
      Request r = h.ch.readInbound();
      assertNotNull(r.replyFilter(), request);
      String forwarded = r.frame().toString(StandardCharsets.ISO_8859_1);
      Request.ReplyFilter filter = r.replyFilter();
      r.release();
      h.finish();
      assertFalse(forwarded.contains(" q"), forwarded);
      String reply = memcached(setup + forwarded);
      String prefix = "STORED\r\nSTORED\r\n";
      assertTrue(direct.startsWith(prefix) && reply.startsWith(prefix), direct + reply);
      direct = direct.substring(prefix.length()).replaceFirst("^(DELETED|NOT_FOUND)\r\n", "");
      reply = reply.substring(prefix.length()).replaceFirst("^(DELETED|NOT_FOUND)\r\n", "");
      ByteBuf buf = io.netty.buffer.Unpooled.copiedBuffer(reply, StandardCharsets.ISO_8859_1);
      String throughProxy = filter.suppress(buf) ? "" : reply;
      buf.release();
      assertEquals(direct, throughProxy.replaceAll(" c[0-9]+", " c"),
          request.strip() + " (server answered " + reply.strip() + ")");
    }
  }

  @Test
  void base64KeysAreHashedAsMemcachedDecodesThem() {
    // {as stored, as fetched}: memcached's decoder skips foreign bytes and stops after padding.
    String[][] spellings = {{"A=AA", "AAA="}, {"Zg==Zm9v", "Zg=="}, {"Z!m9\tv", "Zm9v"}};
    for (String[] pair : spellings) {
      assertEquals("HD\r\nVA 1\r\nx\r\n",
          memcached("ms " + pair[0] + " 1 b\r\nx\r\nmg " + pair[1] + " b v\r\n"));
      RequestHarness h = new RequestHarness(0);
      List<RequestHarness.Decoded> out = h.send("mg " + pair[0] + " b\r\nmg " + pair[1]
          + " b\r\n", Chunking.WHOLE);
      h.finish();
      assertEquals(out.get(0).key(), out.get(1).key(), String.join(" ", pair));
    }
  }

  @Test
  void replyDecoderFramesEveryReplyARealServerSends() {
    String[] requests = {
        "set a 0 0 1\r\n1\r\n", "set b 7 0 3\r\n\r\n\n\r\n", "add a 0 0 1\r\nx\r\n",
        "get a\r\n", "gets a b nokey a\r\n", "gat 100 a\r\n", "gats 100 b\r\n", "get nokey\r\n",
        "incr a 41\r\n", "decr a 100\r\n", "incr nokey 1\r\n", "touch a 10\r\n",
        "touch nokey 1\r\n", "cas a 0 0 1 1\r\nx\r\n", "append nokey 0 0 1\r\nx\r\n",
        "delete a\r\n", "delete a\r\n", "version\r\n", "mg b v k O1 t f s c h l\r\n",
        "mg nokey v k O1\r\n", "ms c 3 T0 c\r\nabc\r\n", "md c\r\n", "md c\r\n",
        "ma n N0 J5 v\r\n", "ma n\r\n", "ma b\r\n", "me b\r\n", "me nokey\r\n", "mn\r\n",
        "incr " + KEY_251 + " 1\r\n", "foo\r\n", "mg k x\r\n",
    };
    String all = memcached(String.join("", requests));
    TrackingAllocator alloc = new TrackingAllocator();
    EmbeddedChannel ch = new EmbeddedChannel(new MemcacheReplyDecoder());
    ch.config().setAllocator(alloc);
    ch.writeInbound(alloc.copyOf(all.getBytes(StandardCharsets.ISO_8859_1)));
    List<String> replies = new ArrayList<>();
    for (ByteBuf b; (b = ch.readInbound()) != null; ) {
      replies.add(b.toString(StandardCharsets.ISO_8859_1));
      b.release();
    }
    assertFalse(ch.finish());
    alloc.assertAllReleased();
    assertEquals(requests.length, replies.size(), replies::toString);
    assertEquals(all, String.join("", replies));
    assertEquals("VALUE a 0 1\r\n1\r\nEND\r\n", replies.get(3));
    assertTrue(replies.get(4).startsWith("VALUE a 0 1 ") && replies.get(4).endsWith("END\r\n"));
  }

  @Test
  void mergedMultiGetEqualsWhatOneServerAnswers() {
    memcached("set a 0 0 1\r\n1\r\nset b 3 0 2\r\n\r\n\r\nset c 0 0 0\r\n\r\n");
    // Keys starting with a or c to one fragment, the rest to the other; both to this server.
    KeyRouter router = (buf, offset, length) -> buf.getByte(offset) & 1;
    for (String line : List.of("get a b c\r\n", "get c nokey b a a b\r\n", "get x y\r\n",
        "gets b a c a\r\n", "gat 0 c b a\r\n", "gats 0 a b\r\n")) {
      TrackingAllocator alloc = new TrackingAllocator();
      ByteBuf frame = alloc.copyOf(line.getBytes(StandardCharsets.ISO_8859_1));
      Splitter.Split split = MultiGetSplitter.INSTANCE.split(frame, router, alloc);
      frame.release();
      ByteBuf[] replies = new ByteBuf[split.size()];
      for (int i = 0; i < split.size(); i++) {
        ByteBuf fragment = split.fragment(i);
        String reply = memcached(fragment.toString(StandardCharsets.ISO_8859_1));
        fragment.release();
        replies[i] = alloc.copyOf(reply.getBytes(StandardCharsets.ISO_8859_1));
      }
      ByteBuf merged = split.merge(replies, alloc);
      assertNotNull(merged, line);
      assertEquals(memcached(line), merged.toString(StandardCharsets.ISO_8859_1), line);
      merged.release();
      for (ByteBuf r : replies) {
        r.release();
      }
      alloc.assertAllReleased();
    }
  }
}
