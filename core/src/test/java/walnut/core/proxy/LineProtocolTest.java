package walnut.core.proxy;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import walnut.core.spi.KeyRouter;
import walnut.core.spi.ReplyPart;
import walnut.core.spi.Request;
import walnut.core.spi.Splitter;

class LineProtocolTest {

  private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;

  private final LineProtocol protocol = new LineProtocol();
  private final EmbeddedChannel client = new EmbeddedChannel(protocol.newRequestDecoder(null));
  private final EmbeddedChannel backend = new EmbeddedChannel(protocol.newReplyDecoder(null));
  /** Every buffer the test wrote or was handed; all must end released. */
  private final List<ByteBuf> tracked = new ArrayList<>();
  private final List<Request> requests = new ArrayList<>();
  private final List<Object> replies = new ArrayList<>();

  @AfterEach
  void everythingIsReleased() {
    assertFalse(client.finishAndReleaseAll(), "a request was left unread");
    assertFalse(backend.finishAndReleaseAll(), "a reply was left unread");
    for (Request r : requests) {
      r.release();
      r.recycle();
    }
    replies.forEach(ReferenceCountUtil::release);
    for (ByteBuf b : tracked) {
      assertEquals(0, b.refCnt(), "a buffer was never released");
    }
  }

  private ByteBuf buf(String text) {
    ByteBuf b = Unpooled.directBuffer().writeBytes(text.getBytes(US_ASCII));
    tracked.add(b);
    return b;
  }

  private static String text(ByteBuf b) {
    return b.toString(US_ASCII);
  }

  private Request request() {
    Request r = client.readInbound();
    if (r != null) {
      requests.add(r);
    }
    return r;
  }

  private Object reply() {
    Object o = backend.readInbound();
    if (o != null) {
      replies.add(o);
    }
    return o;
  }

  private static String text(Object reply) {
    return reply instanceof ReplyPart p ? text(p.content()) : text((ByteBuf) reply);
  }

  @Test
  void routedRequestsCarryTheirLineAndTheKeyIndex() {
    client.writeInbound(buf("ge"), buf("t foo\nset  barkey v\nnore"), buf("ply nk x y\n"));
    Request get = request();
    assertEquals(Request.Kind.ROUTED, get.kind());
    assertEquals("get foo\n", text(get.frame()));
    assertEquals("foo", get.frame().toString(get.keyIndex(), get.keyLength(), US_ASCII));
    assertTrue(get.expectsReply());

    Request set = request();
    assertEquals("set  barkey v\n", text(set.frame()));
    assertEquals(5, set.keyIndex() - set.frame().readerIndex());
    assertEquals("barkey", set.frame().toString(set.keyIndex(), set.keyLength(), US_ASCII));

    Request noreply = request();
    assertEquals(Request.Kind.ROUTED, noreply.kind());
    assertFalse(noreply.expectsReply());
    assertEquals("nk", noreply.frame().toString(noreply.keyIndex(), noreply.keyLength(), US_ASCII));
    assertNull(request());
  }

  @Test
  void otherKindsAndLocalReplies() {
    client.writeInbound(buf("quiet qk\nkeyless a b\nping\nwhat\nget\nquit\n"));
    Request quiet = request();
    assertEquals("qk", quiet.frame().toString(quiet.keyIndex(), quiet.keyLength(), US_ASCII));
    ByteBuf miss = buf("MISS\n");
    ByteBuf hit = buf("HIT v\n");
    assertTrue(quiet.replyFilter().suppress(miss));
    assertFalse(quiet.replyFilter().suppress(hit));
    assertEquals(5, miss.readableBytes());
    miss.release();
    hit.release();

    Request keyless = request();
    assertEquals(Request.Kind.ROUTED, keyless.kind());
    assertFalse(keyless.hasKey());
    assertEquals("keyless a b\n", text(keyless.frame()));

    Request ping = request();
    assertEquals(Request.Kind.LOCAL, ping.kind());
    assertEquals("PONG\n", text(ping.frame()));
    assertFalse(ping.closeAfterReply());
    assertEquals("ERR unknown\n", text(request().frame()));
    assertEquals("ERR unknown\n", text(request().frame()));
    Request quit = request();
    assertEquals("BYE\n", text(quit.frame()));
    assertTrue(quit.closeAfterReply());
    assertFalse(quit.isProtocolError());
  }

  @Test
  void garbageIsAProtocolErrorAndTheRestIsDiscarded() {
    client.writeInbound(buf("get a\n!junk\nget b\n"), buf("get c\n"));
    assertEquals("get a\n", text(request().frame()));
    Request error = request();
    assertTrue(error.isProtocolError());
    assertTrue(error.closeAfterReply());
    assertEquals("ERR protocol\n", text(error.frame()));
    assertNull(request());
  }

  @Test
  void aLineLongerThanTheLimitIsAProtocolError() {
    String ok = "get " + "k".repeat(LineProtocol.MAX_LINE - 4) + "\n";
    client.writeInbound(buf(ok), buf("get " + "k".repeat(600)));
    assertEquals(ok, text(request().frame()));
    assertNull(request());
    client.writeInbound(buf("k".repeat(600)));
    assertTrue(request().isProtocolError());
    assertNull(request());
  }

  @Test
  void mgetSplitsPerServerInFirstAppearanceOrderAndMergesInKeyOrder() {
    client.writeInbound(buf("mget a1 b1 a2 x1 b2\n"));
    Request r = request();
    assertEquals(Request.Kind.SPLIT, r.kind());
    KeyRouter router = (b, offset, length) -> switch (b.getByte(offset)) {
      case 'a' -> 2;
      case 'b' -> 0;
      default -> KeyRouter.NO_SERVER;
    };
    int readerIndex = r.frame().readerIndex();
    Splitter.Split split = r.splitter().split(r.frame(), router, ALLOC);
    assertEquals(readerIndex, r.frame().readerIndex());
    assertEquals(3, split.size());
    assertEquals(List.of(2, 0, KeyRouter.NO_SERVER),
        List.of(split.server(0), split.server(1), split.server(2)));
    List<String> fragments = new ArrayList<>();
    for (int i = 0; i < split.size(); i++) {
      ByteBuf f = split.fragment(i);
      fragments.add(text(f));
      f.release();
    }
    assertEquals(List.of("mget a1 a2\n", "mget b1 b2\n", "mget x1\n"), fragments);

    ByteBuf[] good = {buf("A1 A2\n"), buf("B1 B2\n"), buf("X1\n")};
    ByteBuf merged = split.merge(good, ALLOC);
    assertEquals("A1 B1 A2 X1 B2\n", text(merged));
    merged.release();
    ByteBuf[] shortReply = {buf("A1 A2\n"), buf("B1\n"), buf("X1\n")};
    assertNull(split.merge(shortReply, ALLOC));
    ByteBuf[] error = {buf("A1 A2\n"), buf("ERR down\n"), buf("X1\n")};
    assertNull(split.merge(error, ALLOC));
    for (ByteBuf[] set : List.of(good, shortReply, error)) {
      for (ByteBuf b : set) {
        assertEquals(1, b.refCnt(), "merge released a reply");
        b.release();
      }
    }
  }

  @Test
  void discardReleasesTheFragmentsNeverTaken() {
    ByteBuf frame = buf("mget a b c\n");
    Splitter.Split split = LineProtocol.MGET.split(frame, (b, o, l) -> b.getByte(o) - 'a', ALLOC);
    assertEquals(3, split.size());
    ByteBuf taken = split.fragment(1);
    assertEquals("mget b\n", text(taken));
    tracked.add(taken);
    split.discard();
    assertEquals(1, taken.refCnt());
    taken.release();
    frame.release();
  }

  @Test
  void repliesAreLinesAndAStreamComesInPartsAsItArrives() {
    backend.writeInbound(buf("OK\nVAL x"), buf("\nSTREAM 10\nabc"));
    assertEquals("OK\n", text(reply()));
    assertEquals("VAL x\n", text(reply()));
    ReplyPart first = assertInstanceOf(ReplyPart.class, reply());
    assertFalse(first.last());
    assertNull(reply());
    backend.writeInbound(buf("defg"));
    ReplyPart second = assertInstanceOf(ReplyPart.class, reply());
    assertFalse(second.last());
    backend.writeInbound(buf("hijOK\nSTREAM 2\nzz"), buf("STREAM 0\n"));
    ReplyPart third = assertInstanceOf(ReplyPart.class, reply());
    assertTrue(third.last());
    assertEquals("STREAM 10\nabcdefghij", text(first) + text(second) + text(third));
    Object ok = reply();
    assertInstanceOf(ByteBuf.class, ok);
    assertEquals("OK\n", text(ok));
    ReplyPart whole = assertInstanceOf(ReplyPart.class, reply());
    assertTrue(whole.last());
    assertEquals("STREAM 2\nzz", text(whole));
    ReplyPart empty = assertInstanceOf(ReplyPart.class, reply());
    assertTrue(empty.last());
    assertEquals("STREAM 0\n", text(empty));
    assertNull(reply());
  }

  @Test
  void brokenThrowsAfterTheRepliesBeforeIt() {
    DecoderException e = assertThrows(DecoderException.class,
        () -> backend.writeInbound(buf("A\nBROKEN\nB\n")));
    assertNotSame(null, e.getMessage());
    assertEquals("A\n", text(reply()));
    assertNull(reply());
    backend.writeInbound(buf("C\n"));
    assertNull(reply());
  }

  @Test
  void protocolLevelHelpers() {
    assertEquals("line", protocol.name());
    assertNotSame(protocol.newRequestDecoder(null), protocol.newRequestDecoder(null));
    ByteBuf err = protocol.errorReply(ALLOC, "Connection refused");
    assertEquals("ERR Connection refused\n", text(err));
    err.release();
    assertTrue(protocol.handshake(null, ALLOC).isEmpty());

    LineProtocol withHandshake = new LineProtocol(List.of("auth secret", "select 1\n"));
    List<ByteBuf> steps = withHandshake.handshake(null, ALLOC);
    assertEquals(List.of("auth secret\n", "select 1\n"), steps.stream().map(b -> text(b)).toList());
    steps.forEach(ByteBuf::release);
    ByteBuf ok = buf("OK\n");
    ByteBuf no = buf("ERR denied\n");
    assertNull(withHandshake.checkHandshakeReply(null, 0, ok));
    assertEquals("handshake step 1: ERR denied", withHandshake.checkHandshakeReply(null, 1, no));
    assertEquals(1, no.refCnt());
    ok.release();
    no.release();
  }
}
