package walnut.memcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.memcache.MemcacheRequestDecoderTest.decode;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import walnut.memcache.RequestHarness.Decoded;
import walnut.testing.Chunking;

/** The meta commands: routing, quiet mode, base64 keys and the flags memcached refuses. */
class MetaCommandsTest {

  private static final String AFTER = "ROUTED key=after get after\\r\\n";

  @BeforeAll
  static void printSeed() {
    System.out.println(Chunking.describeSeed(MetaCommandsTest.class));
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void metaCommandsAreRoutedByKeyWithTheirFlagsUnchanged(Chunking chunking) {
    assertEquals(List.of(
        "ROUTED key=k mg k v t O123 k\\r\\n",
        "ROUTED key=k md k C5 I T30\\r\\n",
        "ROUTED key=k ma k D10 MD N0 J5 v\\r\\n",
        "ROUTED key=k ms k 2 T30 F5 MA\\r\\nhi\\r\\n",
        "ROUTED key=k ms k 0\\r\\n\\r\\n",
        "ROUTED key=k me k\\r\\n",
        "ROUTED key=k me k q x\\r\\n",
        "ROUTED key=k   mg  k  T1  \\r\\n",
        // the flags' values are the server's to judge
        "ROUTED key=k mg k Tx O" + "1".repeat(40) + "\\r\\n"),
        decode("mg k v t O123 k\r\n" + "md k C5 I T30\r\n" + "ma k D10 MD N0 J5 v\r\n"
            + "ms k 2 T30 F5 MA\r\nhi\r\n" + "ms k 0\r\n\r\n" + "me k\r\n" + "me k q x\r\n"
            + "  mg  k  T1  \r\n" + "mg k Tx O" + "1".repeat(40) + "\r\n", chunking));
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void metaNoopIsAnsweredInItsTurn(Chunking chunking) {
    assertEquals(List.of("ROUTED key=a get a\\r\\n", "LOCAL MN\\r\\n", "LOCAL MN\\r\\n", AFTER),
        decode("get a\r\nmn\r\nmn with words\r\nget after\r\n", chunking));
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void quietModeRemovesTheFlagAndFiltersTheReply(Chunking chunking) {
    assertEquals(List.of(
        "ROUTED+MISS key=k mg k v O1\\r\\n",
        "ROUTED+SUCCESS key=k ms k 5 T1\\r\\nhe\\r\\no\\r\\n",
        "ROUTED+SUCCESS key=k md k\\r\\n",
        "ROUTED+ARITHMETIC_SUCCESS key=k ma k v D2\\r\\n",
        "ROUTED+MISS key=k mg k\\r\\n",
        "ROUTED+MISS key=k mg k k\\r\\n"),
        decode("mg k v q O1\r\n" + "ms k 5 q T1\r\nhe\r\no\r\n" + "md  k  q \r\n"
            + "ma k v D2 qq\r\n" + "mg k q\r\n" + "mg   k q   k\n", chunking));
  }

  @Test
  void quietFiltersDropWhatMemcachedsQuietModeDrops() {
    assertSuppressed(QuietFilter.MISS, "EN\r\n", "EN O1 kfoo\r\n");
    assertKept(QuietFilter.MISS, "VA 2 O1\r\nhi\r\n", "HD\r\n", "HD O1\r\n",
        "CLIENT_ERROR bad token in command line format\r\n", "SERVER_ERROR out of memory\r\n",
        "ENX\r\n");
    assertSuppressed(QuietFilter.SUCCESS, "HD\r\n", "HD O1 kfoo c5\r\n", "OK\r\n");
    assertKept(QuietFilter.SUCCESS, "NS\r\n", "EX\r\n", "NF O1\r\n",
        "CLIENT_ERROR invalid flag\r\n", "HDX\r\n", "H");
    assertSuppressed(QuietFilter.ARITHMETIC_SUCCESS, "HD\r\n", "HD t-1 c9\r\n", "VA 1\r\n5\r\n");
    assertKept(QuietFilter.ARITHMETIC_SUCCESS, "NF\r\n", "NS\r\n", "EX\r\n",
        "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n", "");
  }

  private static void assertSuppressed(QuietFilter filter, String... replies) {
    for (String r : replies) {
      assertTrue(filter.suppress(buf(r)), filter + " keeps " + r);
    }
  }

  private static void assertKept(QuietFilter filter, String... replies) {
    for (String r : replies) {
      ByteBuf b = buf(r);
      assertFalse(filter.suppress(b), filter + " drops " + r);
      assertEquals(0, b.readerIndex());
    }
  }

  private static ByteBuf buf(String s) {
    return Unpooled.wrappedBuffer(s.getBytes(StandardCharsets.ISO_8859_1));
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void base64KeysAreRoutedByTheirDecodedBytes(Chunking chunking) {
    RequestHarness h = new RequestHarness(Chunking.seed());
    List<Decoded> out = h.send("mg Zm9v b v\r\n" + "ms Zm9v 3 b q\r\nbar\r\n"
        + "md Zm9v! b\r\n" + "ma Zg== b q\r\n" + "mg Zm8= b k\r\n" + "me Zm9v b\r\n"
        + "me Zm9v x b\r\n" + "mg AAEC/w== b\r\n", chunking);
    assertEquals(List.of("foo", "foo", "foo", "f", "fo", "foo", "Zm9v", "\0\1\2\u00ff"),
        out.stream().map(Decoded::key).toList());
    assertEquals(List.of(true, true, true, true, true, true, false, true),
        out.stream().map(Decoded::keyOutsideFrame).toList());
    assertEquals(List.of("mg Zm9v b v\r\n", "ms Zm9v 3 b\r\nbar\r\n", "md Zm9v! b\r\n",
        "ma Zg== b\r\n", "mg Zm8= b k\r\n", "me Zm9v b\r\n", "me Zm9v x b\r\n",
        "mg AAEC/w== b\r\n"), out.stream().map(Decoded::frame).toList());
    h.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void keysBase64CannotDecodeAreRefusedInEachCommandsWords(Chunking chunking) {
    assertEquals(List.of(
        "LOCAL CLIENT_ERROR error decoding key\\r\\n",
        "LOCAL CLIENT_ERROR error decoding key\\r\\n",
        "LOCAL CLIENT_ERROR error decoding key\\r\\n",
        "LOCAL CLIENT_ERROR error decoding key\\r\\n",
        "LOCAL CLIENT_ERROR error decoding key\\r\\n",
        "LOCAL CLIENT_ERROR invalid or duplicate flag\\r\\n",
        "LOCAL CLIENT_ERROR invalid or duplicate flag\\r\\n",
        "LOCAL CLIENT_ERROR error decoding key\\r\\n",
        "LOCAL CLIENT_ERROR bad command line format\\r\\n",
        AFTER),
        decode("mg Zm9 b\r\n" + "mg !!!! b\r\n" + "mg A=== b\r\n" + "mg ==== b v\r\n"
            + "mg foo v b\r\n" + "md Zm9 b\r\n" + "ma Zm9 b q\r\n" + "ms Zm9 1 b\r\nx\r\n"
            + "me Zm9 b\r\n" + "get after\r\n", chunking));
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void flagsMemcachedRefusesAreAnsweredInItsWords(Chunking chunking) {
    assertEquals(List.of(
        "LOCAL CLIENT_ERROR invalid flag\\r\\n",
        "LOCAL CLIENT_ERROR duplicate flag\\r\\n",
        "LOCAL CLIENT_ERROR duplicate flag\\r\\n",
        "LOCAL CLIENT_ERROR duplicate flag\\r\\n",
        "LOCAL CLIENT_ERROR invalid flag\\r\\n",
        "LOCAL CLIENT_ERROR invalid or duplicate flag\\r\\n",
        "LOCAL CLIENT_ERROR invalid or duplicate flag\\r\\n",
        "LOCAL CLIENT_ERROR invalid flag\\r\\n",
        "LOCAL CLIENT_ERROR duplicate flag\\r\\n",
        "LOCAL CLIENT_ERROR invalid flag\\r\\n",
        AFTER),
        decode("mg k x\r\n" + "mg k q q\r\n" + "mg k T1 T2\r\n" + "mg k \u0080\r\n"
            + "mg k v noreply\r\n" + "md k x\r\n" + "ma k v v\r\n" + "ms k 2 x\r\nhi\r\n"
            + "ms k 2 q qq\r\nhi\r\n" + "mg k \t\r\n" + "get after\r\n", chunking));
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void tokenCountsAndLengthsAreCheckedAsMemcachedChecksThem(Chunking chunking) {
    String flags17 = " c f h k l s t u v O1 P L I q T1 N1 R1";
    String flags18 = flags17 + " C1";
    assertEquals(List.of(
        "ROUTED+MISS key=k mg k c f h k l s t u v O1 P L I T1 N1 R1\\r\\n",
        "LOCAL CLIENT_ERROR options flags are too long\\r\\n",
        "LOCAL CLIENT_ERROR options flags too long\\r\\n",
        "LOCAL CLIENT_ERROR options flags too long\\r\\n",
        "LOCAL CLIENT_ERROR options flags too long\\r\\n",
        "LOCAL CLIENT_ERROR bad command line format\\r\\n",
        "LOCAL CLIENT_ERROR bad command line format\\r\\n",
        "LOCAL ERROR\\r\\n",
        AFTER),
        decode("mg k" + flags17 + "\r\n" + "mg k" + flags18 + "\r\n" + "md k" + flags18 + "\r\n"
            + "ma k" + flags18 + "\r\n" + "ms k 2" + flags17 + "\r\nhi\r\n"
            + "ms k\r\n" + "ms " + "k".repeat(251) + " 2\r\nhi\r\n" + "ms\r\n"
            + "get after\r\n",
            chunking));
  }
}
