package walnut.memcache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import walnut.core.spi.KeyRouter;
import walnut.core.spi.Request;
import walnut.core.spi.Splitter.Split;
import walnut.testing.TrackingAllocator;

/**
 * Splitting and merging with a fake router: a key goes to the server named by its first byte
 * ({@code a} → 0, {@code b} → 1, …), and a key starting with {@code !} has no live server.
 */
class MultiGetSplitterTest {

  private static final KeyRouter ROUTER = (buf, offset, length) -> {
    byte first = buf.getByte(offset);
    return first == '!' ? KeyRouter.NO_SERVER : first - 'a';
  };

  private final TrackingAllocator alloc = new TrackingAllocator();
  private final List<ByteBuf> held = new ArrayList<>();

  @AfterEach
  void releaseAll() {
    held.forEach(ByteBuf::release);
    alloc.assertAllReleased();
  }

  private ByteBuf buf(String s) {
    ByteBuf b = alloc.copyOf(s.getBytes(StandardCharsets.ISO_8859_1));
    held.add(b);
    return b;
  }

  /** Splits {@code line}, whose frame is released at once, as the engine does. */
  private Split split(String line) {
    ByteBuf frame = alloc.copyOf(line.getBytes(StandardCharsets.ISO_8859_1));
    try {
      return MultiGetSplitter.INSTANCE.split(frame, ROUTER, alloc);
    } finally {
      frame.release();
    }
  }

  /** Takes every fragment as text, releasing it. */
  private static List<String> fragments(Split split) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < split.size(); i++) {
      ByteBuf f = split.fragment(i);
      out.add(f.toString(StandardCharsets.ISO_8859_1));
      f.release();
    }
    return out;
  }

  private static int[] servers(Split split) {
    int[] s = new int[split.size()];
    for (int i = 0; i < s.length; i++) {
      s[i] = split.server(i);
    }
    return s;
  }

  private String merge(Split split, String... replies) {
    ByteBuf[] bufs = new ByteBuf[replies.length];
    for (int i = 0; i < replies.length; i++) {
      bufs[i] = buf(replies[i]);
    }
    ByteBuf merged = split.merge(bufs, alloc);
    for (ByteBuf b : bufs) {
      assertEquals(0, b.readerIndex(), "replies are only read");
    }
    if (merged == null) {
      return null;
    }
    try {
      return merged.toString(StandardCharsets.ISO_8859_1);
    } finally {
      merged.release();
    }
  }

  private static String value(String key, String data) {
    return "VALUE " + key + " 0 " + data.length() + "\r\n" + data + "\r\n";
  }

  @Test
  void groupsKeysPerServerInServerOrderAndMergesInTheClientsKeyOrder() {
    Split split = split("get c1 a1 b1 a2 c2 a1\r\n");
    assertArrayEquals(new int[] {0, 1, 2}, servers(split));
    assertEquals(List.of("get a1 a2 a1\r\n", "get b1\r\n", "get c1 c2\r\n"), fragments(split));
    // a2 and c2 missed; a1 asked twice is found twice.
    String merged = merge(split, value("a1", "A") + value("a1", "A") + "END\r\n",
        value("b1", "\r\nB") + "END\r\n", value("c1", "") + "END\r\n");
    assertEquals(value("c1", "") + value("a1", "A") + value("b1", "\r\nB") + value("a1", "A")
        + "END\r\n", merged);
  }

  @Test
  void everyMissMergesToASingleEnd() {
    Split split = split("gets a b\r\n");
    assertEquals(List.of("gets a\r\n", "gets b\r\n"), fragments(split));
    assertEquals("END\r\n", merge(split, "END\r\n", "END\r\n"));
  }

  @Test
  void casValuesAreKeptAsTheServerSentThem() {
    Split split = split("gets b a\r\n");
    fragments(split);
    assertEquals("VALUE b 1 2 77\r\nhi\r\nVALUE a 0 0 5\r\n\r\nEND\r\n",
        merge(split, "VALUE a 0 0 5\r\n\r\nEND\r\n", "VALUE b 1 2 77\r\nhi\r\nEND\r\n"));
  }

  @Test
  void getAndTouchKeepsItsExptimeInEveryFragment() {
    Split split = split("gat   -1   b a   b\r\n");
    assertEquals(List.of("gat -1 a\r\n", "gat -1 b b\r\n"), fragments(split));
    Split gats = split("gats +30 a b\n");
    assertEquals(List.of("gats +30 a\r\n", "gats +30 b\r\n"), fragments(gats));
  }

  @Test
  void linesAreCutAsMemcachedCutsThem() {
    // Bytes after a NUL are invisible to memcached; a CR before the LF is not part of a key.
    Split split = split("  get  a\tx  b\0 c\r\n");
    assertEquals(List.of("get a\tx\r\n", "get b\r\n"), fragments(split));
  }

  @Test
  void mergeRefusesRepliesOfAnyOtherShape() {
    String[][] bad = {
        {"SERVER_ERROR out of memory writing get response\r\n", "END\r\n"},
        {"CLIENT_ERROR bad command line format\r\n", "END\r\n"},
        {"ERROR\r\n", "END\r\n"},
        {"", "END\r\n"},
        {"END\r\nEND\r\n", "END\r\n"},
        {value("b", "x") + "END\r\n", "END\r\n"},
        {value("a", "x") + value("a", "x") + "END\r\n", "END\r\n"},
        {value("a", "x"), "END\r\n"},
        {"VALUE a 0 5\r\nx\r\nEND\r\n", "END\r\n"},
        {"VALUE a 0\r\nx\r\nEND\r\n", "END\r\n"},
        {"VALUE a 0 1\r\nxyEND\r\n", "END\r\n"},
        {"VALUE a 0 x\r\nx\r\nEND\r\n", "END\r\n"},
        {"VALUE a 0 1\nx\r\nEND\r\n", "END\r\n"},
        {"VALUE  0 1\r\nx\r\nEND\r\n", "END\r\n"},
        {"VALUE a 0 99999999999\r\nx\r\nEND\r\n", "END\r\n"},
        {"END\r\n", "HD\r\n"},
    };
    for (String[] replies : bad) {
      Split split = split("get a b\r\n");
      fragments(split);
      assertNull(merge(split, replies), String.join(" | ", replies));
    }
  }

  @Test
  void keysWithoutALiveServerFormAFragmentMarkedNoServer() {
    Split split = split("get b !x a !y\r\n");
    assertArrayEquals(new int[] {KeyRouter.NO_SERVER, 0, 1}, servers(split));
    assertEquals(List.of("get !x !y\r\n", "get a\r\n", "get b\r\n"), fragments(split));
  }

  @Test
  void discardReleasesFragmentsNotTaken() {
    Split split = split("get a b c\r\n");
    split.fragment(1).release();
    assertThrows(IllegalStateException.class, () -> split.fragment(1));
    split.discard();
    split.discard();
    Split other = split("get a b\r\n");
    fragments(other);
    assertThrows(IllegalArgumentException.class, () -> other.merge(new ByteBuf[1], alloc));
  }

  @Test
  void splitsTheFrameTheDecoderEmitted() {
    RequestHarness h = new RequestHarness(0);
    h.ch.writeInbound(h.alloc.copyOf("foo\r\nget  b a\r\n".getBytes(StandardCharsets.US_ASCII)));
    Request unknown = h.ch.readInbound();
    unknown.release();
    Request get = h.ch.readInbound();
    Split split = get.splitter().split(get.frame(), ROUTER, h.alloc);
    get.release();
    List<String> out = new ArrayList<>();
    for (int i = 0; i < split.size(); i++) {
      ByteBuf f = split.fragment(i);
      out.add(f.toString(StandardCharsets.US_ASCII));
      f.release();
    }
    assertEquals(List.of("get a\r\n", "get b\r\n"), out);
    h.finish();
  }
}
