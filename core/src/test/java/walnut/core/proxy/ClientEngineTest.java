package walnut.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.core.proxy.EngineHarness.LONG_REPLY_HEAD;
import static walnut.core.proxy.EngineHarness.LONG_REPLY_REST;
import static walnut.core.proxy.EngineHarness.written;
import static walnut.core.proxy.LineProtocol.err;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import walnut.core.config.PoolConfig;
import walnut.core.stats.PoolStat;

/**
 * The client side of the engine on embedded channels: reply order, splits, quiet and noreply
 * requests, quit and protocol errors, half-close, back-pressure, clients that go away, clients
 * sharing a connection, and reloads. Keys route by their first byte: {@code 0…} to server 0,
 * {@code 1…} to server 1, {@code 2…} to server 2.
 */
class ClientEngineTest {

  private EngineHarness h;
  /** Buffers sent with {@link EngineHarness#replyTracked}: each must end with only our ref. */
  private final List<ByteBuf> tracked = new ArrayList<>();

  @AfterEach
  void tearDown() {
    try {
      for (ByteBuf buf : tracked) {
        assertEquals(1, buf.refCnt(), "a reply cut from a tracked buffer was never released");
      }
    } finally {
      for (ByteBuf buf : tracked) {
        if (buf.refCnt() > 0) {
          buf.release(buf.refCnt());
        }
      }
      if (h != null) {
        h.close();
      }
    }
  }

  private EngineHarness harness(int servers) {
    h = EngineHarness.of(servers, 0);
    return h;
  }

  private EngineHarness harness(int servers, EngineOptions options) {
    h = EngineHarness.of(servers, options);
    return h;
  }

  private EngineHarness harness(PoolConfig config, EngineOptions options) {
    h = new EngineHarness(config, options);
    return h;
  }

  /** Replies from {@code backend} in a buffer checked for release when the test ends. */
  private ByteBuf replyTracked(EmbeddedChannel backend, String text) {
    ByteBuf buf = h.replyTracked(backend, text);
    tracked.add(buf);
    return buf;
  }

  private static void halfClose(EmbeddedChannel client) {
    client.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
  }

  private long inflight() {
    return h.inflight.sum();
  }

  // ---------------------------------------------------------------- reply order

  @Test
  void twoServersAnsweringInReverseOrderAreAnsweredInRequestOrder() {
    harness(2);
    EmbeddedChannel c = h.clientSending("get 0a\nget 1b\n");
    EmbeddedChannel s0 = h.backend(0);
    EmbeddedChannel s1 = h.backend(1);
    assertEquals("get 0a\n", written(s0));
    assertEquals("get 1b\n", written(s1));

    h.reply(s1, "B\n");
    assertEquals("", written(c), "the second reply must wait for the first");
    assertEquals(2, inflight());
    h.reply(s0, "A\n");
    assertEquals("A\nB\n", written(c));
    assertEquals(0, inflight());
  }

  @Test
  void threeServersAnsweringInReverseOrderAreAnsweredInRequestOrder() {
    harness(3);
    EmbeddedChannel c = h.clientSending("get 0a\n");
    h.send(c, "get 1b\n");
    h.send(c, "get 2c\n");
    EmbeddedChannel s0 = h.backend(0);
    EmbeddedChannel s1 = h.backend(1);
    EmbeddedChannel s2 = h.backend(2);

    h.reply(s2, "C\n");
    assertEquals("", written(c));
    h.reply(s1, "B\n");
    assertEquals("", written(c));
    h.reply(s0, "A\n");
    assertEquals("A\nB\nC\n", written(c));
    assertEquals(0, inflight());
  }

  @Test
  void aLaterReplyIsWrittenAsSoonAsEveryReplyBeforeItWas() {
    harness(3);
    EmbeddedChannel c = h.clientSending("get 0a\nget 1b\nget 2c\n");
    EmbeddedChannel s0 = h.backend(0);
    EmbeddedChannel s1 = h.backend(1);
    EmbeddedChannel s2 = h.backend(2);

    h.reply(s1, "B\n");
    h.reply(s0, "A\n");
    assertEquals("A\nB\n", written(c), "the first two are ready, the third is not");
    h.reply(s2, "C\n");
    assertEquals("C\n", written(c));
  }

  @Test
  void pipelinedRequestsToOneServerAreForwardedInOrderAndAnsweredInOrder() {
    harness(1);
    EmbeddedChannel c = h.clientSending("get 0a\nset 0b x\nget 0c\n");
    EmbeddedChannel s0 = h.backend(0);
    assertEquals("get 0a\nset 0b x\nget 0c\n", written(s0));
    assertEquals(3, inflight());

    h.reply(s0, "A\nSTORED\n");
    assertEquals("A\nSTORED\n", written(c));
    h.reply(s0, "C\n");
    assertEquals("C\n", written(c));
    assertEquals(0, inflight());
  }

  @Test
  void aLocalReplyBehindARoutedOneWaitsItsTurn() {
    harness(2);
    EmbeddedChannel c = h.clientSending("get 1a\nping\nget 0b\n");
    assertEquals("", written(c), "PONG must not overtake the reply to get 1a");
    h.reply(h.backend(0), "B\n");
    assertEquals("", written(c));

    h.reply(h.backend(1), "A\n");
    assertEquals("A\nPONG\nB\n", written(c));

    h.send(c, "ping\n");
    assertEquals("PONG\n", written(c), "with nothing owed a local reply goes out at once");
    assertEquals(0, inflight());
  }

  // ---------------------------------------------------------------- split requests

  @Test
  void splitFragmentsAreMergedInKeyOrderWhateverOrderTheServersAnswer() {
    harness(3);
    EmbeddedChannel c = h.clientSending("mget 0a 1b 2c 0d\nget 1e\n");
    EmbeddedChannel s0 = h.backend(0);
    EmbeddedChannel s1 = h.backend(1);
    EmbeddedChannel s2 = h.backend(2);
    assertEquals("mget 0a 0d\n", written(s0));
    assertEquals("mget 1b\nget 1e\n", written(s1));
    assertEquals("mget 2c\n", written(s2));
    assertEquals(3, h.poolStat(PoolStat.FRAGMENTS));

    h.reply(s2, "C\n");
    h.reply(s1, "B\nE\n");
    assertEquals("", written(c), "the merge waits for every fragment");
    h.reply(s0, "A D\n");
    assertEquals("A B C D\nE\n", written(c));
    assertEquals(0, h.poolStat(PoolStat.FORWARD_ERROR));
    assertEquals(0, inflight());
  }

  @Test
  void aFragmentsServerFailingMakesTheWholeReplyAnErrorAndCountsForwardError() {
    harness(2);
    EmbeddedChannel c = h.clientSending("mget 0a 1b\nget 0c\n");
    EmbeddedChannel s0 = h.backend(0);
    EmbeddedChannel s1 = h.backend(1);
    assertEquals(2, h.poolStat(PoolStat.FRAGMENTS));

    // Server 0's fragment and the get behind it are answered; server 1 then fails.
    replyTracked(s0, "A\nC\n");
    assertEquals("", written(c));
    s1.pipeline().fireExceptionCaught(new IOException("Connection reset by peer"));
    h.run();

    assertEquals(err(ErrorText.RESET) + "C\n", written(c));
    assertEquals(1, h.poolStat(PoolStat.FORWARD_ERROR));
    assertEquals(0, inflight());
    assertTrue(c.isOpen(), "an error reply does not close the client");
  }

  @Test
  void aMergeThatCannotBeMadeIsAnInvalidArgumentError() {
    harness(2);
    EmbeddedChannel c = h.clientSending("mget 0a 1b\nping\n");
    // Server 1 answers two values for one key: the merge gives up (returns null).
    replyTracked(h.backend(1), "B X\n");
    replyTracked(h.backend(0), "A\n");

    assertEquals(err(ErrorText.INVALID) + "PONG\n", written(c));
    assertEquals(1, h.poolStat(PoolStat.FORWARD_ERROR));
    assertEquals(0, inflight());
  }

  // ---------------------------------------------------------------- quiet and noreply

  @Test
  void aSuppressedQuietReplyWritesNothingAndTheRepliesBehindItKeepTheirOrder() {
    harness(2);
    EmbeddedChannel c = h.clientSending("quiet 0a\nget 1b\nquiet 0c\nping\n");
    EmbeddedChannel s0 = h.backend(0);
    assertEquals("quiet 0a\nquiet 0c\n", written(s0));

    h.reply(h.backend(1), "B\n");
    assertEquals("", written(c), "the quiet request keeps its place until its reply is in");
    replyTracked(s0, LineProtocol.MISS);
    assertEquals("B\n", written(c));
    h.reply(s0, "HIT\n");
    assertEquals("HIT\nPONG\n", written(c), "an unsuppressed quiet reply is written");
    assertEquals(0, inflight());
  }

  @Test
  void anErrorTheProxyMakesForAQuietRequestIsNeverSuppressed() {
    harness(1);
    EmbeddedChannel c = h.clientSending("quiet 0a\nping\n");
    h.backend(0).close(); // the server closes: twemproxy's errno 0
    h.run();

    assertEquals(err(ErrorText.UNKNOWN) + "PONG\n", written(c));
    assertEquals(1, h.poolStat(PoolStat.FORWARD_ERROR));
    assertEquals(0, inflight());
  }

  @Test
  void noreplyRequestsTakeNoPlaceInTheReplyOrder() {
    harness(2, EngineHarness.options(1, 1 << 20));
    EmbeddedChannel c = h.clientSending("noreply 0a\nnoreply 1b\nnoreply 0c\n");
    assertEquals(0, inflight(), "no reply is owed");
    assertTrue(c.config().isAutoRead(), "with max 1 owed reply, noreply requests never pause");
    assertEquals("noreply 0a\nnoreply 0c\n", written(h.backend(0)));
    assertEquals("noreply 1b\n", written(h.backend(1)));

    h.send(c, "get 1d\n");
    assertEquals(1, inflight());
    h.reply(h.backend(1), "D\n");
    assertEquals("D\n", written(c), "the first reply the client gets is the get's");
  }

  // ---------------------------------------------------------------- quit and protocol errors

  @Test
  void quitIsAnsweredInItsTurnThenTheClientClosesAndNothingAfterItIsForwarded() {
    harness(2);
    EmbeddedChannel c = h.client();
    assertEquals(1, h.poolStat(PoolStat.CLIENT_CONNECTIONS));
    h.send(c, "get 0a\nquit\nget 0b\nget 1c\n");
    assertEquals("get 0a\n", written(h.backend(0)));
    assertEquals(1, h.backends.size(), "nothing after QUIT opens a connection");
    assertTrue(c.isOpen(), "BYE waits for the reply before it");
    assertEquals("", written(c));

    h.reply(h.backend(0), "A\n");
    assertEquals("A\nBYE\n", written(c));
    assertFalse(c.isOpen());
    assertEquals(1, h.poolStat(PoolStat.CLIENT_EOF));
    assertEquals(0, h.poolStat(PoolStat.CLIENT_ERR));
    assertEquals(0, h.poolStat(PoolStat.CLIENT_CONNECTIONS));
    assertEquals(0, inflight());
  }

  @Test
  void requestsSentAfterQuitInALaterReadAreNotForwarded() {
    harness(1);
    EmbeddedChannel c = h.clientSending("get 0a\nquit\n");
    assertFalse(c.config().isAutoRead(), "reading stops at QUIT");
    h.send(c, "get 0b\n"); // a read already under way
    assertEquals("get 0a\n", written(h.backend(0)));
    h.reply(h.backend(0), "A\n");
    assertEquals("A\nBYE\n", written(c));
    assertFalse(c.isOpen());
  }

  @Test
  void aProtocolErrorIsAnsweredInItsTurnThenClosesAndCountsAsClientErr() {
    harness(1);
    EmbeddedChannel c = h.clientSending("get 0a\n!garbage\nget 0b\n");
    assertEquals("get 0a\n", written(h.backend(0)));
    assertTrue(c.isOpen());

    h.reply(h.backend(0), "A\n");
    assertEquals("A\n" + LineProtocol.PROTOCOL_ERROR, written(c));
    assertFalse(c.isOpen());
    assertEquals(1, h.poolStat(PoolStat.CLIENT_ERR));
    assertEquals(0, h.poolStat(PoolStat.CLIENT_EOF));
    assertEquals(0, h.poolStat(PoolStat.CLIENT_CONNECTIONS));
    assertEquals(0, inflight());
  }

  // ---------------------------------------------------------------- half-close

  @Test
  void aHalfClosedClientStaysOpenUntilEveryOwedReplyIsWritten() {
    harness(2);
    EmbeddedChannel c = h.clientSending("get 0a\nget 1b\n");
    halfClose(c);
    h.run();
    assertTrue(c.isOpen(), "two replies are owed");

    h.reply(h.backend(1), "B\n");
    assertTrue(c.isOpen(), "one reply is still owed");
    assertEquals("", written(c));

    h.reply(h.backend(0), "A\n");
    assertEquals("A\nB\n", written(c));
    assertFalse(c.isOpen());
    assertEquals(1, h.poolStat(PoolStat.CLIENT_EOF));
    assertEquals(0, h.poolStat(PoolStat.CLIENT_ERR));
    assertEquals(0, h.poolStat(PoolStat.CLIENT_CONNECTIONS));
  }

  @Test
  void aHalfClosedClientOwedNothingClosesAtOnce() {
    harness(1);
    EmbeddedChannel c = h.clientSending("get 0a\n");
    h.reply(h.backend(0), "A\n");
    assertEquals("A\n", written(c));

    halfClose(c);
    h.run();
    assertFalse(c.isOpen());
    assertEquals(1, h.poolStat(PoolStat.CLIENT_EOF));
    assertEquals(0, h.poolStat(PoolStat.CLIENT_ERR));
    assertEquals(0, h.poolStat(PoolStat.CLIENT_CONNECTIONS));
  }

  @Test
  void aHalfClosedClientWhoseLastReplyIsSuppressedStillCloses() {
    harness(1);
    EmbeddedChannel c = h.clientSending("get 0a\nquiet 0b\n");
    halfClose(c);
    h.run();
    h.reply(h.backend(0), "A\n" + LineProtocol.MISS);
    assertEquals("A\n", written(c));
    assertFalse(c.isOpen());
    assertEquals(1, h.poolStat(PoolStat.CLIENT_EOF));
  }

  @Test
  void aHalfClosedClientThatWasPausedStillHasItsDeferredRequestsAnsweredBeforeClosing() {
    harness(1, EngineHarness.options(2, 1 << 20));
    EmbeddedChannel c = h.clientSending("get 0a\nget 0b\nget 0c\n"); // paused after 0b; 0c deferred
    EmbeddedChannel s0 = h.backend(0);
    assertEquals("get 0a\nget 0b\n", written(s0));
    halfClose(c);
    h.run();
    assertTrue(c.isOpen());

    h.reply(s0, "A\n");
    assertEquals("get 0c\n", written(s0), "the deferred request goes out on resume");
    h.reply(s0, "B\n");
    assertTrue(c.isOpen(), "the deferred request's reply is still owed");
    h.reply(s0, "C\n");
    assertEquals("A\nB\nC\n", written(c));
    assertFalse(c.isOpen());
    assertEquals(1, h.poolStat(PoolStat.CLIENT_EOF));
  }

  // ---------------------------------------------------------------- back-pressure

  @Test
  void readingPausesAtTheOwedReplyLimitAndResumesAtHalfOfIt() {
    harness(1, EngineHarness.options(4, 1 << 20));
    EmbeddedChannel c = h.clientSending("get 0a\nget 0b\nget 0c\n");
    assertTrue(c.config().isAutoRead(), "3 owed, limit 4");
    h.send(c, "get 0d\n");
    assertFalse(c.config().isAutoRead(), "4 owed");
    EmbeddedChannel s0 = h.backend(0);
    assertEquals("get 0a\nget 0b\nget 0c\nget 0d\n", written(s0));

    h.reply(s0, "A\n");
    assertFalse(c.config().isAutoRead(), "3 owed is above half the limit");
    h.reply(s0, "B\n");
    assertTrue(c.config().isAutoRead(), "2 owed is half the limit");
    h.reply(s0, "C\nD\n");
    assertEquals("A\nB\nC\nD\n", written(c));
    assertTrue(c.config().isAutoRead());
  }

  @Test
  void requestsDecodedWhilePausedAreDeferredAndHandledInOrderAfterTheResume() {
    harness(2, EngineHarness.options(4, 1 << 20));
    EmbeddedChannel c = h.clientSending("get 0a\nget 0b\nget 0c\nget 0d\n");
    assertFalse(c.config().isAutoRead());
    EmbeddedChannel s0 = h.backend(0);
    assertEquals("get 0a\nget 0b\nget 0c\nget 0d\n", written(s0));

    // Decoded while paused (the rest of a read): neither forwarded nor answered yet.
    h.send(c, "ping\nget 1x\nget 0e\n");
    assertEquals(1, h.backends.size(), "get 1x is not forwarded while paused");
    assertEquals(4, inflight());

    h.reply(s0, "A\n");
    assertEquals("A\n", written(c), "PONG is deferred, and behind get 0d anyway");
    h.reply(s0, "B\n");
    // Resumed at 2 owed: PONG and get 1x are handled, which makes 4 owed again.
    assertEquals("B\n", written(c));
    assertEquals("get 1x\n", written(h.backend(1)));
    assertEquals("", written(s0), "get 0e waits: the limit was reached again");
    assertFalse(c.config().isAutoRead());

    h.reply(s0, "C\nD\n");
    assertEquals("C\nD\nPONG\n", written(c));
    assertEquals("get 0e\n", written(s0));
    assertTrue(c.config().isAutoRead(), "every deferred request was handled");

    h.reply(s0, "E\n");
    assertEquals("", written(c), "get 1x is still ahead of get 0e");
    h.reply(h.backend(1), "X\n");
    assertEquals("X\nE\n", written(c));
    assertEquals(0, inflight());
  }

  @Test
  void readingPausesAtTheByteLimitAndResumesAtHalfOfIt() {
    // "get 0a\n" is 7 bytes: 3 requests hold 21 of a limit of 20.
    harness(1, EngineHarness.options(1000, 20));
    EmbeddedChannel c = h.clientSending("get 0a\nget 0b\n");
    assertTrue(c.config().isAutoRead(), "14 bytes");
    h.send(c, "get 0c\n");
    assertFalse(c.config().isAutoRead(), "21 bytes");
    h.send(c, "get 0d\n");
    EmbeddedChannel s0 = h.backend(0);
    assertEquals("get 0a\nget 0b\nget 0c\n", written(s0), "get 0d is deferred");

    h.reply(s0, "A\n");
    assertFalse(c.config().isAutoRead(), "14 bytes is above half the limit");
    h.reply(s0, "B\n");
    // 7 bytes: resumed; get 0d is handled, 14 bytes, under the limit.
    assertTrue(c.config().isAutoRead());
    assertEquals("get 0d\n", written(s0));
    h.reply(s0, "C\nD\n");
    assertEquals("A\nB\nC\nD\n", written(c));
  }

  @Test
  void aReplyHeldForTheClientCountsAgainstItsByteLimit() {
    harness(2, EngineHarness.options(1000, 30));
    EmbeddedChannel c = h.clientSending("get 0a\nget 1b\n"); // 14 bytes
    // Server 1's 20-byte reply arrives first and is held behind get 0a: 34 bytes.
    h.reply(h.backend(1), "bbbbbbbbbbbbbbbbbbb\n");
    assertTrue(c.config().isAutoRead(), "checked per request");
    h.send(c, "get 0c\n"); // 41 bytes; 21 without the held reply
    assertFalse(c.config().isAutoRead(), "the held reply counts");

    h.reply(h.backend(0), "A\n");
    assertEquals("A\nbbbbbbbbbbbbbbbbbbb\n", written(c));
    assertTrue(c.config().isAutoRead(), "7 bytes left");
    h.reply(h.backend(0), "C\n");
    assertEquals("C\n", written(c));
  }

  @Test
  void theClientsOwnFullSocketPausesReadingUntilItDrains() {
    harness(2);
    EmbeddedChannel c = h.client();
    List<Boolean> seen = new ArrayList<>();
    c.pipeline().addLast(new ChannelInboundHandlerAdapter() {
      @Override
      public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        seen.add(ctx.channel().isWritable());
      }
    });

    h.setWritable(c, false);
    assertEquals(List.of(false), seen, "Netty fires channelWritabilityChanged, through the session");
    assertFalse(c.config().isAutoRead());

    h.send(c, "get 1a\nping\nget 0b\n");
    assertTrue(h.backends.isEmpty(), "requests are deferred while the client's socket is full");
    assertEquals(0, inflight());

    h.setWritable(c, true);
    assertEquals(List.of(false, true), seen);
    assertTrue(c.config().isAutoRead());
    assertEquals("get 1a\n", written(h.backend(1)));
    assertEquals("get 0b\n", written(h.backend(0)));
    h.reply(h.backend(0), "B\n");
    h.reply(h.backend(1), "A\n");
    assertEquals("A\nPONG\nB\n", written(c));
  }

  @Test
  void aFullSocketKeepsTheClientPausedEvenBelowTheReplyLimits() {
    harness(1, EngineHarness.options(2, 1 << 20));
    EmbeddedChannel c = h.clientSending("get 0a\nget 0b\n");
    assertFalse(c.config().isAutoRead());
    h.setWritable(c, false);

    h.reply(h.backend(0), "A\nB\n");
    assertFalse(c.config().isAutoRead(), "nothing owed, but the socket is still full");
    h.setWritable(c, true);
    assertTrue(c.config().isAutoRead());
    assertEquals("A\nB\n", written(c));
  }

  @Test
  void aCongestedBackendConnectionHoldsTheClientsThatWroteToItUntilItDrains() {
    harness(2);
    EmbeddedChannel c1 = h.client();
    EmbeddedChannel c2 = h.client();
    h.send(c1, "get 0a\n");
    EmbeddedChannel s0 = h.backend(0);
    h.reply(s0, "A\n");
    assertEquals("A\n", written(c1));
    assertEquals("get 0a\n", written(s0));

    h.setWritable(s0, false); // the server reads slower than its clients write
    h.send(c1, "get 0b\n");
    assertFalse(c1.config().isAutoRead(), "a client that wrote to the full connection pauses");
    h.send(c1, "ping\nget 1c\nget 0d\n");
    assertEquals(1, h.backends.size(), "deferred: get 1c is not forwarded");
    h.send(c2, "get 1e\n");
    assertTrue(c2.config().isAutoRead(), "a client that did not write to it keeps reading");
    assertEquals("get 1e\n", written(h.backend(1)));

    h.setWritable(s0, true);
    assertTrue(c1.config().isAutoRead(), "the connection drained: its senders resume");
    assertEquals("get 0b\nget 0d\n", written(s0));
    assertEquals("get 1c\n", written(h.backend(1)));

    h.reply(h.backend(1), "E\nC\n");
    assertEquals("E\n", written(c2));
    h.reply(s0, "B\nD\n");
    assertEquals("B\nPONG\nC\nD\n", written(c1));
    assertEquals(0, inflight());
  }

  @Test
  void aCongestedBackendConnectionThatFailsReleasesTheClientsItHeld() {
    harness(1);
    EmbeddedChannel c = h.clientSending("get 0a\n");
    EmbeddedChannel s0 = h.backend(0);
    h.reply(s0, "A\n");
    written(c);

    h.setWritable(s0, false);
    h.send(c, "get 0b\n");
    assertFalse(c.config().isAutoRead());
    h.send(c, "get 0c\n"); // deferred
    s0.close();
    h.run();
    assertTrue(c.config().isAutoRead(), "a failed connection holds nobody");
    // get 0b failed with the connection; get 0c went to a new one.
    EmbeddedChannel fresh = h.backend(0);
    assertEquals("get 0c\n", written(fresh));
    h.reply(fresh, "C\n");
    assertEquals(err(ErrorText.UNKNOWN) + "C\n", written(c));
  }

  @Test
  void aQuitDecodedWhilePausedIsHandledInItsTurnAndWhatFollowsItIsDropped() {
    harness(1, EngineHarness.options(2, 1 << 20));
    EmbeddedChannel c = h.clientSending("get 0a\nget 0b\nquit\nget 0c\n");
    EmbeddedChannel s0 = h.backend(0);
    assertEquals("get 0a\nget 0b\n", written(s0));

    h.reply(s0, "A\n"); // resumes: QUIT is handled, which makes the limit again
    assertFalse(c.config().isAutoRead());
    h.reply(s0, "B\n");
    assertEquals("A\nB\nBYE\n", written(c));
    assertFalse(c.isOpen());
    assertEquals("", written(s0), "the request after QUIT was never forwarded");
    assertEquals(1, h.poolStat(PoolStat.CLIENT_EOF));
    assertEquals(0, inflight());
  }

  // ---------------------------------------------------------------- long replies

  @Test
  void aLongReplyBehindAnotherIsGatheredThenStreamedInItsTurn() {
    harness(2);
    EmbeddedChannel c = h.clientSending("get 0a\nget 1b\nping\n");
    EmbeddedChannel s0 = h.backend(0);
    EmbeddedChannel s1 = h.backend(1);

    h.reply(s1, "STREAM 10\nabc");
    assertEquals("", written(c), "a long reply waits for its turn too");
    h.reply(s0, "A\n");
    assertEquals("A\nSTREAM 10\nabc", written(c), "its turn: what arrived goes out");
    h.reply(s1, "def");
    assertEquals("def", written(c), "the rest streams as it arrives");
    h.reply(s1, "ghij");
    assertEquals("ghijPONG\n", written(c));
    assertEquals(0, inflight());
  }

  @Test
  void aClientTakingNothingOfALongReplyHoldsItsServerForTheSlowReaderLimitThenOthersFlow() {
    harness(1); // slow_reader_limit: the default 1 s; no pool timeout
    EmbeddedChannel c1 = h.client();
    EmbeddedChannel c2 = h.client();
    EmbeddedChannel s0 = h.longReplyUnderWay(c1, c2);
    assertEquals(LONG_REPLY_HEAD, written(c1));

    h.setWritable(c1, false);
    assertFalse(s0.config().isAutoRead(), "the server is not read while its client is full");
    h.setWritable(c1, true);
    assertTrue(s0.config().isAutoRead());

    h.setWritable(c1, false);
    h.advance(999);
    assertFalse(s0.config().isAutoRead());
    h.advance(1);
    assertTrue(s0.config().isAutoRead(), "held 1 s in all: the server is read again");
    assertTrue(c1.isOpen(), "a slow reader within its budget stays");

    h.reply(s0, LONG_REPLY_REST); // gathered for c1, in order
    h.reply(s0, "B\n");
    assertEquals("B\n", written(c2));
    assertEquals(LONG_REPLY_REST, written(c1));
    assertEquals(0, h.poolStat(PoolStat.CLIENT_ERR));
    assertEquals(0, inflight());
  }

  // ---------------------------------------------------------------- admission and connects

  @Test
  void aClientBeyondClientConnectionsIsRefusedAndNotCounted() {
    harness(EngineHarness.poolConfig(1, 0).clientConnections(1).build(),
        EngineHarness.defaults());
    EmbeddedChannel c1 = h.client();
    EmbeddedChannel c2 = h.client();
    h.run();
    assertTrue(c1.isOpen());
    assertFalse(c2.isOpen());
    assertEquals(1, h.poolStat(PoolStat.CLIENT_CONNECTIONS));
    assertEquals(0, h.poolStat(PoolStat.CLIENT_ERR));
    assertEquals(0, h.poolStat(PoolStat.CLIENT_EOF));

    c1.close();
    h.run();
    EmbeddedChannel c3 = h.clientSending("ping\n");
    assertEquals("PONG\n", written(c3), "the slot was given back");
    assertEquals(1, h.poolStat(PoolStat.CLIENT_CONNECTIONS));
  }

  @Test
  void aFailedConnectIsAnsweredWithAnErrorInItsTurn() {
    harness(2);
    h.holdConnects = true;
    EmbeddedChannel c = h.clientSending("get 0a\nget 1b\nping\n");
    assertEquals(2, h.pendingConnects.size());
    h.completeConnect(1);
    h.reply(h.backend(1), "B\n");
    assertEquals("", written(c));

    h.refuseConnect(0);
    assertEquals(err(ErrorText.REFUSED) + "B\nPONG\n", written(c));
    assertEquals(1, h.poolStat(PoolStat.FORWARD_ERROR));
    assertTrue(c.isOpen());
  }

  @Test
  void aClientHeldByTwoCongestedConnectionsResumesOnlyWhenBothDrain() {
    harness(2);
    EmbeddedChannel c = h.clientSending("get 0a\nget 1b\n");
    EmbeddedChannel s0 = h.backend(0);
    EmbeddedChannel s1 = h.backend(1);
    h.reply(s0, "A\n");
    h.reply(s1, "B\n");
    assertEquals("A\nB\n", written(c));

    h.setWritable(s0, false);
    h.setWritable(s1, false);
    h.send(c, "mget 0c 1d\n"); // one fragment to each full connection
    assertFalse(c.config().isAutoRead());
    h.send(c, "ping\n");

    h.setWritable(s0, true);
    assertFalse(c.config().isAutoRead(), "server 1's connection still holds it");
    assertEquals("", written(c), "PONG is still deferred");
    h.setWritable(s1, true);
    assertTrue(c.config().isAutoRead());

    h.reply(s1, "D\n");
    h.reply(s0, "C\n");
    assertEquals("C D\nPONG\n", written(c));
  }

  @Test
  void aDrainedConnectionDoesNotResumeAClientStillOverItsReplyLimit() {
    harness(1, EngineHarness.options(2, 1 << 20));
    EmbeddedChannel c = h.clientSending("get 0a\n");
    EmbeddedChannel s0 = h.backend(0);
    h.setWritable(s0, false);
    h.send(c, "get 0b\n"); // 2 owed, and held by the connection
    assertFalse(c.config().isAutoRead());
    h.setWritable(s0, true);
    assertFalse(c.config().isAutoRead(), "2 owed is still above half the limit");
    h.reply(s0, "A\n");
    assertTrue(c.config().isAutoRead());
    h.reply(s0, "B\n");
    assertEquals("A\nB\n", written(c));
  }

  // ---------------------------------------------------------------- clients going away

  @Test
  void aClientThatClosesWithRepliesOwedReleasesThemAndOthersSharingItsConnectionAreUnaffected() {
    harness(2);
    EmbeddedChannel c1 = h.client();
    EmbeddedChannel c2 = h.client();
    assertEquals(2, h.poolStat(PoolStat.CLIENT_CONNECTIONS));
    h.send(c1, "get 0a\n");
    h.send(c2, "get 0b\n");
    h.send(c1, "get 1c\nmget 0d 1e\n");
    h.send(c2, "get 0f\nping\n");
    EmbeddedChannel s0 = h.backend(0);
    EmbeddedChannel s1 = h.backend(1);
    assertEquals("get 0a\nget 0b\nmget 0d\nget 0f\n", written(s0));
    assertEquals("get 1c\nmget 1e\n", written(s1));
    assertEquals(6, inflight());

    c1.close();
    h.run();
    assertEquals(1, h.poolStat(PoolStat.CLIENT_CONNECTIONS));
    assertEquals(3, inflight(), "c1's three owed replies were dropped");

    // One reply per read, so each one's buffer can be checked on its own.
    replyTracked(s1, "C\n"); // c1's: arrives, and is released at once
    replyTracked(s0, "A\n"); // c1's
    h.reply(s0, "B\n");
    assertEquals("B\n", written(c2));
    replyTracked(s0, "D\n"); // c1's fragment
    replyTracked(s1, "E\n"); // c1's other fragment
    h.reply(s0, "F\n");
    assertEquals("F\nPONG\n", written(c2));
    assertTrue(s0.isOpen() && s1.isOpen(), "the shared connections never failed");
    assertEquals(0, inflight());
    assertTrue(written(c1).isEmpty());
  }

  @Test
  void aClientResetWithRepliesOwedCountsAsClientErrAndDropsThem() {
    harness(1);
    EmbeddedChannel c = h.clientSending("get 0a\nget 0b\n");
    c.pipeline().fireExceptionCaught(new IOException("Connection reset by peer"));
    h.run();
    assertFalse(c.isOpen());
    assertEquals(1, h.poolStat(PoolStat.CLIENT_ERR));
    assertEquals(0, h.poolStat(PoolStat.CLIENT_EOF));
    assertEquals(0, h.poolStat(PoolStat.CLIENT_CONNECTIONS));
    assertEquals(0, inflight());
    replyTracked(h.backend(0), "A\nB\n");
    assertTrue(h.backend(0).isOpen(), "the server connection is not the client's to close");
  }

  @Test
  void aReplyThatArrivedBeforeTheClientClosedIsReleasedWithIt() {
    harness(2);
    EmbeddedChannel c = h.clientSending("get 0a\nget 1b\nmget 0c 1d\n");
    ByteBuf held = replyTracked(h.backend(1), "B\nD\n"); // behind get 0a, and half the split
    assertEquals(3, held.refCnt(), "ours, and the two replies held for the client");
    c.close();
    h.run();
    assertEquals(0, inflight());
    assertEquals(0, h.poolStat(PoolStat.CLIENT_CONNECTIONS));
    replyTracked(h.backend(0), "A\nC\n");
  }

  @Test
  void twoClientsSharingOneConnectionEachGetTheirOwnReplies() {
    harness(1);
    EmbeddedChannel c1 = h.clientSending("get 0a\n");
    EmbeddedChannel c2 = h.clientSending("get 0b\nping\n");
    h.send(c1, "get 0c\n");
    EmbeddedChannel s0 = h.backend(0); // asserts there is one connection
    assertEquals("get 0a\nget 0b\nget 0c\n", written(s0));

    h.reply(s0, "A\nB\nC\n");
    assertEquals("A\nC\n", written(c1));
    assertEquals("B\nPONG\n", written(c2));
    assertEquals(0, inflight());
  }

  @Test
  void aProtocolErrorOnOneClientDoesNotDisturbAnotherOnTheSameConnection() {
    harness(1);
    EmbeddedChannel c1 = h.clientSending("get 0a\n");
    EmbeddedChannel c2 = h.clientSending("get 0b\n");
    h.send(c1, "!garbage\n");
    EmbeddedChannel s0 = h.backend(0);
    h.reply(s0, "A\nB\n");
    assertEquals("A\n" + LineProtocol.PROTOCOL_ERROR, written(c1));
    assertFalse(c1.isOpen());
    assertEquals("B\n", written(c2));
    assertTrue(c2.isOpen());
    assertTrue(s0.isOpen());
    h.send(c2, "get 0c\n");
    h.reply(s0, "C\n");
    assertEquals("C\n", written(c2));
  }

  // ---------------------------------------------------------------- reload

  @Test
  void aReloadMovesTheSessionLazilyAndKeepsItsReplyOrder() {
    harness(2);
    EmbeddedChannel c = h.clientSending("get 0a\nget 1b\n");
    EmbeddedChannel old0 = h.backend(0);
    EmbeddedChannel old1 = h.backend(1);
    assertEquals("get 0a\n", written(old0));
    assertEquals("get 1b\n", written(old1));

    h.reload();
    assertTrue(old0.isOpen() && old1.isOpen(), "retired connections wait for their replies");

    h.send(c, "get 0c\nping\n");
    assertEquals(2, h.backendsTo(0).size(), "the request after the reload opened a new one");
    EmbeddedChannel new0 = h.backendsTo(0).get(1);
    assertEquals("get 0c\n", written(new0));
    assertEquals("", written(old0), "nothing new goes to the old generation");

    h.reply(new0, "C\n");
    h.reply(old1, "B\n");
    assertEquals("", written(c));
    assertFalse(old1.isOpen(), "a retired connection closes once idle");
    h.reply(old0, "A\n");
    assertEquals("A\nB\nC\nPONG\n", written(c));
    assertFalse(old0.isOpen());

    h.send(c, "get 1d\n");
    EmbeddedChannel new1 = h.backendsTo(1).get(1);
    assertEquals("get 1d\n", written(new1));
    h.reply(new1, "D\n");
    assertEquals("D\n", written(c));
    assertEquals(0, inflight());
    assertEquals(1, h.poolStat(PoolStat.CLIENT_CONNECTIONS), "counters carry over the reload");
  }

  @Test
  void aSessionThatSendsNothingAfterAReloadIsStillAnsweredFromTheOldGeneration() {
    harness(1);
    EmbeddedChannel c = h.clientSending("get 0a\n");
    EmbeddedChannel old0 = h.backend(0);
    h.reload();

    h.reply(old0, "A\n");
    assertEquals("A\n", written(c));
    assertFalse(old0.isOpen());
    assertEquals(1, h.backends.size(), "no connection of the new generation yet");
    assertEquals(0, inflight());
  }

  // ---------------------------------------------------------------- counters

  @Test
  void clientConnectionsAndInflightFollowTheClients() {
    harness(1);
    EmbeddedChannel c1 = h.client();
    EmbeddedChannel c2 = h.client();
    EmbeddedChannel c3 = h.client();
    assertEquals(3, h.poolStat(PoolStat.CLIENT_CONNECTIONS));

    h.send(c1, "get 0a\nget 0b\n");
    h.send(c2, "get 0c\n");
    assertEquals(3, inflight());
    h.reply(h.backend(0), "A\n");
    assertEquals(2, inflight());

    c1.close();
    h.run();
    assertEquals(1, inflight());
    assertEquals(2, h.poolStat(PoolStat.CLIENT_CONNECTIONS));
    assertEquals(1, h.poolStat(PoolStat.CLIENT_ERR), "a reset, not a FIN or QUIT");

    halfClose(c3);
    h.run();
    assertEquals(1, h.poolStat(PoolStat.CLIENT_CONNECTIONS));
    assertEquals(1, h.poolStat(PoolStat.CLIENT_EOF));

    h.reply(h.backend(0), "B\nC\n");
    assertEquals("C\n", written(c2));
    assertEquals(0, inflight());
    c2.close();
    h.run();
    assertEquals(0, h.poolStat(PoolStat.CLIENT_CONNECTIONS));
  }
}
