package walnut.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.redis.RequestHarness.resp;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import walnut.core.spi.Request;
import walnut.core.spi.Request.Kind;
import walnut.core.spi.Splitter;
import walnut.redis.RequestHarness.Decoded;
import walnut.testing.Chunking;

class RedisRequestDecoderTest {

  @BeforeAll
  static void printSeed() {
    System.out.println(Chunking.describeSeed(RedisRequestDecoderTest.class));
  }

  private static RequestHarness harness() {
    return new RequestHarness(null, Chunking.seed());
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void forwardsSingleKeyCommandByteForByte(Chunking chunking) {
    RequestHarness h = harness();
    String get = resp("GET", "foo");
    List<Decoded> out = h.send(get, chunking);
    assertEquals(1, out.size());
    assertEquals(Kind.ROUTED, out.get(0).kind());
    assertEquals(get, out.get(0).frame());
    assertEquals("foo", out.get(0).key());
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void routesEveryArgumentClassByItsKey(Chunking chunking) {
    // {argv..., expected key}; a null key means keyless.
    String[][] cases = {
        {"COMMAND", null},
        {"LOLWUT", null},
        {"LOLWUT", "VERSION", "5", null},
        {"TTL", "k1", "k1"},
        {"EXPIRE", "k2", "10", "k2"},
        {"SETEX", "k3", "10", "v", "k3"},
        {"LINSERT", "k4", "BEFORE", "p", "v", "k4"},
        {"SET", "k5", "k5"},
        {"SET", "k6", "v", "EX", "10", "k6"},
        {"HMSET", "k7", "f", "v", "g", "w", "k7"},
        {"EXISTS", "k8", "k8"},
        {"MGET", "k9", "k9"},
        {"DEL", "k10", "k10"},
        {"MSET", "k11", "v", "k11"},
        {"ZDIFF", "2", "za", "zb", "2"},
        {"ZUNION", "3", "za", "zb", "zc", "3"},
        {"SINTERSTORE", "dst", "s1", "s2", "dst"},
    };
    StringBuilder pipeline = new StringBuilder();
    for (String[] c : cases) {
      pipeline.append(resp(Arrays.copyOf(c, c.length - 1)));
    }
    RequestHarness h = harness();
    List<Decoded> out = h.send(pipeline.toString(), chunking);
    assertEquals(cases.length, out.size(), out::toString);
    for (int i = 0; i < cases.length; i++) {
      String[] c = cases[i];
      Decoded d = out.get(i);
      assertEquals(Kind.ROUTED, d.kind(), d::toString);
      assertEquals(resp(Arrays.copyOf(c, c.length - 1)), d.frame());
      assertEquals(c[c.length - 1], d.key(), d::toString);
    }
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void splitsMultiKeyCommandsWithTwoKeysOrMore(Chunking chunking) {
    RequestHarness h = harness();
    List<Decoded> out = h.send(resp("MGET", "a", "b") + resp("DEL", "a", "b", "c")
        + resp("UNLINK", "a", "b") + resp("TOUCH", "a", "b") + resp("EXISTS", "a", "b")
        + resp("MSET", "a", "1", "b", "2") + resp("mget", "x", "y"), chunking);
    MultiKeySplitter[] expected = {MultiKeySplitter.MGET, MultiKeySplitter.DEL,
        MultiKeySplitter.UNLINK, MultiKeySplitter.TOUCH, MultiKeySplitter.EXISTS,
        MultiKeySplitter.MSET, MultiKeySplitter.MGET};
    assertEquals(expected.length, out.size(), out::toString);
    for (int i = 0; i < expected.length; i++) {
      assertEquals(Kind.SPLIT, out.get(i).kind(), out.get(i)::toString);
      assertSame(expected[i], out.get(i).splitter());
    }
    assertEquals(resp("MSET", "a", "1", "b", "2"), out.get(5).frame());
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  /**
   * Scripts are routed by all their keys and the pool-wide commands go to every server (or SCAN
   * to one): split requests whose splitter sees the pool, unchanged frames; INFO's reply takes
   * the client's protocol.
   */
  @ParameterizedTest
  @EnumSource(Chunking.class)
  void scriptsAndPoolWideCommandsAreSplit(Chunking chunking) {
    RequestHarness h = harness();
    String[][] cases = {{"EVAL", "return 1", "2", "k12", "other", "arg"},
        {"EVALSHA", "abc", "1", "k13"}, {"EVAL_RO", "s", "1", "k"}, {"EVALSHA_RO", "s", "1", "k"},
        {"SCAN", "0", "MATCH", "*"}, {"INFO"}, {"DBSIZE"}, {"SCRIPT", "LOAD", "return 1"}};
    Splitter[] expected = {EvalSplitter.INSTANCE, EvalSplitter.INSTANCE, EvalSplitter.INSTANCE,
        EvalSplitter.INSTANCE, ScanSplitter.INSTANCE, InfoSplitter.RESP2, ServerCommands.DBSIZE,
        ServerCommands.SCRIPT};
    StringBuilder pipeline = new StringBuilder();
    for (String[] c : cases) {
      pipeline.append(resp(c));
    }
    List<Decoded> out = h.send(pipeline.toString(), chunking);
    assertEquals(cases.length, out.size(), out::toString);
    for (int i = 0; i < cases.length; i++) {
      assertEquals(Kind.SPLIT, out.get(i).kind(), out.get(i)::toString);
      assertSame(expected[i], out.get(i).splitter());
      assertEquals(resp(cases[i]), out.get(i).frame());
    }
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void commandNamesAreCaseInsensitive(Chunking chunking) {
    RequestHarness h = harness();
    List<Decoded> out = h.send(resp("get", "a") + resp("GeT", "b") + resp("zReMrAnGeByScOrE",
        "z", "0", "1"), chunking);
    assertEquals(List.of("a", "b", "z"), out.stream().map(Decoded::key).toList());
    assertEquals(resp("get", "a"), out.get(0).frame(), "the original case is forwarded");
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void keyIndexAndLengthCoverBinaryAndEmptyKeys(Chunking chunking) {
    RequestHarness h = harness();
    String binary = "k\r\n$3\r\n\u0000\u00ff*";
    List<Decoded> out = h.send(resp("GET", binary) + resp("SET", "", "v")
        + resp("GET", "x".repeat(70_000)), chunking);
    assertEquals(3, out.size());
    assertEquals(binary, out.get(0).key());
    assertEquals("", out.get(1).key());
    assertEquals(Kind.ROUTED, out.get(1).kind());
    assertEquals("x".repeat(70_000), out.get(2).key());
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void keyIndexIsRelativeToTheFrameNotTheReadBuffer(Chunking chunking) {
    RequestHarness h = harness();
    h.ch.writeInbound(h.alloc.copyOf(bytes(resp("GET", "first") + "*2\r\n$3\r\nGET")));
    Request first = h.ch.readInbound();
    assertEquals("first", first.frame().toString(first.keyIndex(), first.keyLength(),
        StandardCharsets.ISO_8859_1));
    assertEquals(0, first.frame().readerIndex());
    first.frame().release();
    List<Decoded> out = h.send("\r\n$6\r\nsecond\r\n", chunking);
    assertEquals("second", out.get(0).key());
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void decodesAThousandPipelinedRequestsInOrder(Chunking chunking) {
    StringBuilder in = new StringBuilder();
    for (int i = 0; i < 1000; i++) {
      in.append(i % 3 == 0 ? resp("PING") : resp("INCR", "key" + i));
    }
    RequestHarness h = harness();
    List<Decoded> out = h.send(in.toString(), chunking);
    assertEquals(1000, out.size());
    for (int i = 0; i < 1000; i++) {
      if (i % 3 == 0) {
        assertEquals("+PONG\r\n", out.get(i).frame());
      } else {
        assertEquals("key" + i, out.get(i).key());
      }
    }
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void ignoresEmptyArrays(Chunking chunking) {
    RequestHarness h = harness();
    List<Decoded> out = h.send("*0\r\n" + resp("GET", "a") + "*0\r\n", chunking);
    assertEquals(1, out.size());
    assertEquals("a", out.get(0).key());
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void convertsInlineCommandsToResp(Chunking chunking) {
    RequestHarness h = harness();
    List<Decoded> out = h.send("PING\r\nget foo\r\n\r\n   \nSET \"a b\" 'c\\'d' \"\\x41\\n\"\n"
        + "MGET k1\tk2\r\nEXISTS\r\n", chunking);
    assertEquals(5, out.size(), out::toString);
    assertEquals("+PONG\r\n", out.get(0).frame());
    assertEquals(resp("get", "foo"), out.get(1).frame());
    assertEquals("foo", out.get(1).key());
    assertEquals(resp("SET", "a b", "c'd", "A\n"), out.get(2).frame());
    assertEquals("a b", out.get(2).key());
    assertEquals(Kind.SPLIT, out.get(3).kind());
    assertEquals(resp("MGET", "k1", "k2"), out.get(3).frame());
    assertEquals("-ERR wrong number of arguments for 'exists' command\r\n", out.get(4).frame());
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void decodesLargeValuesArrivingInManyReads(Chunking chunking) {
    byte[] value = new byte[chunking == Chunking.BYTE_BY_BYTE ? 100_000 : 8 << 20];
    Arrays.fill(value, (byte) 'v');
    byte[] head = bytes("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$" + value.length + "\r\n");
    byte[] all = new byte[head.length + value.length + 2];
    System.arraycopy(head, 0, all, 0, head.length);
    System.arraycopy(value, 0, all, head.length, value.length);
    all[all.length - 2] = '\r';
    all[all.length - 1] = '\n';
    RequestHarness h = harness();
    List<Decoded> out = new ArrayList<>();
    // Many mid-sized reads, as a socket delivers them (one byte per write is kept smaller).
    int step = chunking == Chunking.WHOLE ? all.length : 65_536;
    for (int at = 0; at < all.length; at += step) {
      out.addAll(h.send(Arrays.copyOfRange(all, at, Math.min(all.length, at + step)), chunking));
    }
    assertEquals(1, out.size());
    assertEquals("big", out.get(0).key());
    assertEquals(all.length, out.get(0).frame().length());
    assertTrue(out.get(0).frame().endsWith("vvv\r\n"));
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void partialFrameAtCloseIsDroppedAndReleased(Chunking chunking) {
    RequestHarness h = harness();
    List<Decoded> out = h.send(resp("GET", "a") + "*2\r\n$3\r\nGET\r\n$5\r\nab", chunking);
    assertEquals(1, out.size());
    assertFalse(h.ch.finish());
    assertNull(h.ch.readInbound());
    h.alloc.assertAllReleased();
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }
}
