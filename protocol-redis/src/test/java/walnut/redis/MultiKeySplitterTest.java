package walnut.redis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static walnut.redis.RequestHarness.resp;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import walnut.core.spi.KeyRouter;
import walnut.core.spi.Request;
import walnut.core.spi.Splitter.Split;
import walnut.testing.Chunking;
import walnut.testing.TrackingAllocator;

/**
 * Splitting and merging with a fake router: a key goes to the server named by its first byte
 * ({@code a} → 0, {@code b} → 1, …), and a key starting with {@code !} has no live server.
 */
class MultiKeySplitterTest {

  private static final KeyRouter ROUTER = (buf, offset, length) -> {
    if (length == 0) {
      return 0;
    }
    byte first = buf.getByte(offset);
    return first == '!' ? KeyRouter.NO_SERVER : first - 'a';
  };

  private final TrackingAllocator alloc = new TrackingAllocator();

  @BeforeAll
  static void printSeed() {
    System.out.println(Chunking.describeSeed(MultiKeySplitterTest.class));
  }

  @AfterEach
  void releaseAll() {
    alloc.releaseHeldAndAssertAllReleased();
  }

  private ByteBuf buf(String s) {
    return alloc.held(s);
  }

  private Split split(MultiKeySplitter splitter, String... argv) {
    return splitter.split(buf(resp(argv)), ROUTER, alloc);
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
    return text(split.merge(bufs, alloc));
  }

  /** A merge's result as text, released; {@code null} when there is none. */
  private static String text(ByteBuf merged) {
    if (merged == null) {
      return null;
    }
    try {
      return merged.toString(StandardCharsets.ISO_8859_1);
    } finally {
      merged.release();
    }
  }

  @Test
  void mgetGroupsKeysPerServerInServerOrderAndMergesInKeyOrder() {
    Split split = split(MultiKeySplitter.MGET, "MGET", "c1", "a1", "b1", "a2", "c2", "a1");
    assertArrayEquals(new int[] {0, 1, 2}, servers(split));
    assertEquals(List.of(resp("mget", "a1", "a2", "a1"), resp("mget", "b1"),
        resp("mget", "c1", "c2")), fragments(split));
    String merged = merge(split,
        "*3\r\n$2\r\nA1\r\n$-1\r\n$2\r\nA1\r\n", "*1\r\n$0\r\n\r\n", "*2\r\n$3\r\nC\r\n\r\n$-1\r\n");
    assertEquals("*6\r\n$3\r\nC\r\n\r\n$2\r\nA1\r\n$0\r\n\r\n$-1\r\n$-1\r\n$2\r\nA1\r\n", merged);
  }

  /** {@code null} replies are failed fragments; {@code error} stands in each of their keys. */
  private String mergePartial(Split split, String error, String... replies) {
    ByteBuf[] bufs = new ByteBuf[replies.length];
    ByteBuf[] errors = new ByteBuf[replies.length];
    for (int i = 0; i < replies.length; i++) {
      if (replies[i] == null) {
        errors[i] = buf(error);
      } else {
        bufs[i] = buf(replies[i]);
      }
    }
    return text(split.mergePartial(bufs, errors, alloc));
  }

  @Test
  void mgetMergedInPartPutsTheFailedFragmentsErrorInEachOfItsKeysPlaces() {
    Split split = split(MultiKeySplitter.MGET, "MGET", "c1", "a1", "b1", "a2");
    fragments(split);
    String error = "-ERR Connection timed out\r\n";
    assertEquals("*4\r\n$1\r\nC\r\n" + error + "$-1\r\n" + error,
        mergePartial(split, error, null, "*1\r\n$-1\r\n", "*1\r\n$1\r\nC\r\n"));
  }

  @Test
  void mgetMergedInPartPutsAServersOwnErrorReplyInEachOfItsKeysPlaces() {
    Split split = split(MultiKeySplitter.MGET, "MGET", "a1", "b1", "a2");
    fragments(split);
    String loading = "-LOADING Redis is loading the dataset in memory\r\n";
    assertEquals("*3\r\n" + loading + "$1\r\nB\r\n" + loading,
        mergePartial(split, null, loading, "*1\r\n$1\r\nB\r\n"));
    Split resp3 = split(MultiKeySplitter.MGET, "MGET", "a1", "b1");
    fragments(resp3);
    assertEquals("*2\r\n_\r\n!5\r\nOOPS!\r\n",
        mergePartial(resp3, null, "*1\r\n_\r\n", "!5\r\nOOPS!\r\n"), "RESP3's blob error");
  }

  @Test
  void onlyMgetIsMergedInPart() {
    Split del = split(MultiKeySplitter.DEL, "DEL", "a1", "b1");
    fragments(del);
    assertNull(mergePartial(del, "-ERR x\r\n", null, ":1\r\n"), "a count has no place for it");
    Split mset = split(MultiKeySplitter.MSET, "MSET", "a1", "v", "b1", "v");
    fragments(mset);
    assertNull(mergePartial(mset, "-ERR x\r\n", null, "+OK\r\n"));
  }

  @Test
  void mgetMergeRefusesRepliesOfTheWrongShape() {
    String[][] bad = {
        {"-READONLY You can't write against a read only replica.\r\n", "*1\r\n$1\r\nb\r\n"},
        {"*2\r\n$1\r\na\r\n$1\r\nb\r\n", "*1\r\n$1\r\nb\r\n"},
        {"*1\r\n$1\r\na\r\n", "*-1\r\n"},
        {"*1\r\n:1\r\n", "*1\r\n$1\r\nb\r\n"},
        {"*1\r\n$5\r\na\r\n", "*1\r\n$1\r\nb\r\n"},
        {"*1\r\n$1\r\naXY", "*1\r\n$1\r\nb\r\n"},
        {"*1\r\n$1\r\na\r\n+extra\r\n", "*1\r\n$1\r\nb\r\n"},
        {"", "*1\r\n$1\r\nb\r\n"},
    };
    for (String[] replies : bad) {
      Split split = split(MultiKeySplitter.MGET, "MGET", "a", "b");
      fragments(split);
      assertNull(merge(split, replies), String.join(" | ", replies));
    }
  }

  @ParameterizedTest
  @EnumSource(value = Kind.class)
  void integerCommandsSumTheirSubReplies(Kind kind) {
    Split split = split(kind.splitter, kind.name(), "a", "b", "bb", "c");
    assertEquals(List.of(resp(kind.lower(), "a"), resp(kind.lower(), "b", "bb"),
        resp(kind.lower(), "c")), fragments(split));
    assertEquals(":3\r\n", merge(split, ":1\r\n", ":2\r\n", ":0\r\n"));
    Split again = split(kind.splitter, kind.name(), "a", "b");
    fragments(again);
    assertNull(merge(again, ":1\r\n", "-ERR oops\r\n"));
    Split third = split(kind.splitter, kind.name(), "a", "b");
    fragments(third);
    assertNull(merge(third, ":1\r\n", ":x\r\n"));
  }

  /** The commands whose replies are summed. */
  enum Kind {
    DEL(MultiKeySplitter.DEL), UNLINK(MultiKeySplitter.UNLINK), TOUCH(MultiKeySplitter.TOUCH),
    EXISTS(MultiKeySplitter.EXISTS);

    final MultiKeySplitter splitter;

    Kind(MultiKeySplitter splitter) {
      this.splitter = splitter;
    }

    String lower() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  @Test
  void msetKeepsValuesWithKeysAndAnswersOkOnlyIfAllDid() {
    Split split = split(MultiKeySplitter.MSET, "MSET", "b1", "v1", "a1", "", "b2", "v\r\n2");
    assertArrayEquals(new int[] {0, 1}, servers(split));
    assertEquals(List.of(resp("mset", "a1", ""), resp("mset", "b1", "v1", "b2", "v\r\n2")),
        fragments(split));
    assertEquals("+OK\r\n", merge(split, "+OK\r\n", "+OK\r\n"));
    Split failed = split(MultiKeySplitter.MSET, "MSET", "a", "1", "b", "2");
    fragments(failed);
    assertNull(merge(failed, "+OK\r\n", "-READONLY You can't write\r\n"));
  }

  @Test
  void keysOnOneServerStillBecomeOneRewrittenSubRequest() {
    Split split = split(MultiKeySplitter.DEL, "Del", "a1", "a2");
    assertArrayEquals(new int[] {0}, servers(split));
    assertEquals(List.of(resp("del", "a1", "a2")), fragments(split));
    assertEquals(":2\r\n", merge(split, ":2\r\n"));
  }

  @Test
  void keysWithoutALiveServerFormAFragmentMarkedNoServer() {
    Split split = split(MultiKeySplitter.MGET, "MGET", "b", "!x", "a");
    assertArrayEquals(new int[] {KeyRouter.NO_SERVER, 0, 1}, servers(split));
    assertEquals(List.of(resp("mget", "!x"), resp("mget", "a"), resp("mget", "b")),
        fragments(split));
  }

  @Test
  void discardReleasesFragmentsNotTaken() {
    Split split = split(MultiKeySplitter.MGET, "MGET", "a", "b", "c");
    split.fragment(1).release();
    assertThrows(IllegalStateException.class, () -> split.fragment(1));
    split.discard();
    split.discard();
  }

  @Test
  void splitsTheFrameTheDecoderEmitted() {
    RequestHarness h = new RequestHarness(null, Chunking.seed());
    h.ch.writeInbound(h.alloc.copyOf(
        resp("GET", "x", "y").replace("GET", "FOO").concat(resp("MGET", "b", "a"))
            .getBytes(StandardCharsets.ISO_8859_1)));
    Request unknown = h.ch.readInbound();
    unknown.frame().release();
    Request mget = h.ch.readInbound();
    Split split = mget.splitter().split(mget.frame(), ROUTER, h.alloc);
    mget.frame().release();
    assertEquals(List.of(resp("mget", "a"), resp("mget", "b")), fragments(split));
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }
}
