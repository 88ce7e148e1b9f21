package walnut.memcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import walnut.core.spi.Request.Kind;
import walnut.memcache.RequestHarness.Decoded;
import walnut.testing.Chunking;

/** Framing and routing of the ASCII commands that are forwarded. */
class MemcacheRequestDecoderTest {

  @BeforeAll
  static void printSeed() {
    System.out.println(Chunking.describeSeed(MemcacheRequestDecoderTest.class));
  }

  /** Decodes {@code input} on a fresh decoder; every buffer must be released afterwards. */
  static List<String> decode(String input, Chunking chunking) {
    RequestHarness h = new RequestHarness(Chunking.seed());
    List<String> out = h.send(input, chunking).stream().map(Decoded::toString).toList();
    h.finish();
    return out;
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void forwardsStorageCommandsByteForByte(Chunking chunking) {
    assertEquals(List.of(
        "ROUTED key=k set k 0 0 1\\r\\nv\\r\\n",
        "ROUTED key=k2 add k2 5 -1 0\\r\\n\\r\\n",
        "ROUTED key=k3 replace k3 4294967295 2592001 4\\r\\na\\r\\nb\\r\\n",
        "ROUTED key=k4 append   k4  0 0 2 \\r\\nxy\\r\\n",
        "ROUTED key=k5 prepend k5 0 0 1\\r\\n\n\\r\\n",
        "ROUTED key=k6 cas k6 0 0 1 18446744073709551615\\r\\nv\\r\\n",
        "ROUTED key=k7 set k7 +1 -2147483648 +2\\r\\nab\\r\\n",
        "ROUTED key=k8 set k8 0 0 1 extra\\r\\nv\\r\\n"),
        decode("set k 0 0 1\r\nv\r\n" + "add k2 5 -1 0\r\n\r\n"
            + "replace k3 4294967295 2592001 4\r\na\r\nb\r\n" + "append   k4  0 0 2 \r\nxy\r\n"
            + "prepend k5 0 0 1\r\n\n\r\n" + "cas k6 0 0 1 18446744073709551615\r\nv\r\n"
            + "set k7 +1 -2147483648 +2\r\nab\r\n" + "set k8 0 0 1 extra\r\nv\r\n", chunking));
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void noreplyCommandsAreForwardedWithoutTakingAPlace(Chunking chunking) {
    assertEquals(List.of(
        "ROUTED+noreply key=k set k 0 0 1 noreply\\r\\nv\\r\\n",
        "ROUTED+noreply key=k cas k 0 0 1 7 noreply\\r\\nv\\r\\n",
        "ROUTED+noreply key=k delete k noreply\\r\\n",
        "ROUTED+noreply key=k delete k 0 noreply\\r\\n",
        "ROUTED+noreply key=k incr k 1 noreply\\r\\n",
        "ROUTED+noreply key=k decr k 1 noreply\\r\\n",
        "ROUTED+noreply key=k touch k -1 noreply\\r\\n",
        // memcached reads the last token as noreply and then stays silent about the bad value.
        "ROUTED+noreply key=k incr k noreply\\r\\n",
        "ROUTED+noreply key=k touch k noreply\\r\\n",
        "ROUTED key=k set k 0 0 1 NOREPLY\\r\\nv\\r\\n"),
        decode("set k 0 0 1 noreply\r\nv\r\n" + "cas k 0 0 1 7 noreply\r\nv\r\n"
            + "delete k noreply\r\n" + "delete k 0 noreply\r\n" + "incr k 1 noreply\r\n"
            + "decr k 1 noreply\r\n" + "touch k -1 noreply\r\n" + "incr k noreply\r\n"
            + "touch k noreply\r\n" + "set k 0 0 1 NOREPLY\r\nv\r\n", chunking));
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void singleKeyRetrievalsAreRoutedUnchanged(Chunking chunking) {
    assertEquals(List.of(
        "ROUTED key=k get k\\r\\n",
        "ROUTED key=k2 gets k2\\r\\n",
        "ROUTED key=k3 gat 10 k3\\r\\n",
        "ROUTED key=k4 gats -1 k4\\r\\n",
        "ROUTED key=k5   get   k5  \\r\\n",
        "ROUTED key=k6 get k6\n",
        "ROUTED key=a\tb get a\tb\\r\\n",
        "ROUTED key=a\rb get a\rb\\r\\n",
        "ROUTED key=" + "x".repeat(250) + " get " + "x".repeat(250) + "\\r\\n"),
        decode("get k\r\n" + "gets k2\r\n" + "gat 10 k3\r\n" + "gats -1 k4\r\n"
            + "  get   k5  \r\n" + "get k6\n" + "get a\tb\r\n" + "get a\rb\r\n"
            + "get " + "x".repeat(250) + "\r\n", chunking));
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void multiKeyRetrievalsAreSplit(Chunking chunking) {
    RequestHarness h = new RequestHarness(Chunking.seed());
    List<Decoded> out = h.send("get a b\r\n" + "gets a b c\r\n" + "gat 0 a b\r\n"
        + "gats 0 a a\r\n" + "get " + "k ".repeat(5000) + "\r\n", chunking);
    assertEquals(5, out.size());
    for (Decoded d : out) {
      assertEquals(Kind.SPLIT, d.kind());
      assertSame(MultiGetSplitter.INSTANCE, d.splitter());
      assertEquals(null, d.key());
    }
    assertEquals("gat 0 a b\r\n", out.get(2).frame());
    h.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void deleteIncrDecrTouchAndVersionAreForwarded(Chunking chunking) {
    assertEquals(List.of(
        "ROUTED key=k delete k\\r\\n",
        "ROUTED key=k delete k 0\\r\\n",
        "ROUTED key=k incr k 5\\r\\n",
        "ROUTED key=k decr k x\\r\\n",
        "ROUTED key=k touch k 10\\r\\n",
        "ROUTED version\\r\\n",
        "ROUTED version with words\\r\\n"),
        decode("delete k\r\n" + "delete k 0\r\n" + "incr k 5\r\n" + "decr k x\r\n"
            + "touch k 10\r\n" + "version\r\n" + "version with words\r\n", chunking));
    RequestHarness h = new RequestHarness(Chunking.seed());
    Decoded version = h.send("version\r\n", chunking).get(0);
    assertEquals(null, version.key(), "version is keyless: routed as twemproxy routes those");
    h.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void quitClosesWithoutAReplyAfterEarlierRequests(Chunking chunking) {
    assertEquals(List.of("ROUTED key=a get a\\r\\n", "LOCAL+close "),
        decode("get a\r\nquit\r\nget after\r\nset k 0 0 1\r\nv\r\n", chunking));
    assertEquals(List.of("LOCAL+close "), decode("quit now\r\n", chunking));
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void bytesAfterANulAreInvisibleAsToMemcached(Chunking chunking) {
    // memcached reads the command line as a C string: "get a\0b c" is "get a".
    assertEquals(List.of(
        "ROUTED key=a get a\0b c\\r\\n",
        "ROUTED key=k set k 0 0 1\0 junk\\r\\nv\\r\\n",
        "LOCAL ERROR\\r\\n"),
        decode("get a\0b c\r\n" + "set k 0 0 1\0 junk\r\nv\r\n" + "\0get a\r\n", chunking));
  }

  @Test
  void everySplitPointGivesTheSameRequests() {
    String pipeline = "get a\r\nset k 0 0 5 noreply\r\nhello\r\nget a b c\r\nmg k v q\r\n"
        + "ms Zm9v 3 b q T10\r\nbar\r\nmn\r\nfoo\r\nset " + "x".repeat(251)
        + " 0 0 2\r\nab\r\nmg k x\r\nme Zm9v b\r\ngat 1 k\r\ndelete k noreply\r\n"
        + "set big 0 0 200\r\n" + "z".repeat(200) + "\r\nincr k 1\r\nversion\r\n"
        + "set k 0 0 2\r\nabc\r\nget never\r\n";
    byte[] bytes = pipeline.getBytes(StandardCharsets.ISO_8859_1);
    List<String> expected = decodeIn(bytes, bytes.length);
    assertEquals(16, expected.size(), expected::toString);
    for (int at = 0; at <= bytes.length; at++) {
      assertEquals(expected, decodeIn(bytes, at), "split at " + at);
    }
  }

  /** Decodes {@code bytes} written as two pieces, split at {@code at}. */
  private static List<String> decodeIn(byte[] bytes, int at) {
    RequestHarness h = new RequestHarness(0, new MemcacheRequestDecoder(100));
    List<String> out = new ArrayList<>();
    h.ch.writeInbound(h.alloc.copyOf(Arrays.copyOfRange(bytes, 0, at)));
    h.ch.writeInbound(h.alloc.copyOf(Arrays.copyOfRange(bytes, at, bytes.length)));
    h.drain().forEach(d -> out.add(d.toString()));
    h.finish();
    return out;
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void largeDataBlocksArriveInManyReads(Chunking chunking) {
    int size = chunking == Chunking.BYTE_BY_BYTE ? 20_000 : 1 << 20;
    RequestHarness h = new RequestHarness(Chunking.seed());
    String value = "\r\n".repeat(size / 2);
    List<Decoded> out = h.send("set big 0 0 " + size + "\r\n" + value + "\r\nget big\r\n",
        chunking);
    assertEquals(2, out.size());
    assertEquals("set big 0 0 " + size + "\r\n" + value + "\r\n", out.get(0).frame());
    assertEquals("big", out.get(1).key());
    h.finish();
  }
}
