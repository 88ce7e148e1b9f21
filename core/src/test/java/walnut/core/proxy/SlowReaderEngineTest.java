package walnut.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.core.proxy.EngineHarness.LONG_REPLY_HEAD;
import static walnut.core.proxy.EngineHarness.LONG_REPLY_REST;
import static walnut.core.proxy.EngineHarness.written;
import static walnut.core.proxy.LineProtocol.err;

import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ServerStat;

/**
 * What one client that reads slowly, or not at all, may cost the others (issue 18): a long reply
 * streamed to it holds its server connection's reading for at most the hold limit in all (half the
 * pool's {@code timeout}, at most {@code --slow-reader-limit}); after that the rest of it is
 * gathered for the client, and the replies held for a client never exceed its byte budget: past
 * it, the client is closed. The deadlines of the requests behind a hold move on by the time they
 * really waited for it. Nothing sleeps: the clock is the harness's mock ticker.
 */
class SlowReaderEngineTest {

  private static final String TIMED_OUT = err(ErrorText.TIMED_OUT);

  // ---------------------------------------------------------------- how long a hold lasts

  @Test
  void aSlowReaderHoldsItsServerForHalfThePoolTimeoutThenTheRestIsGatheredForIt() {
    try (EngineHarness h = EngineHarness.of(1, 100)) {
      EmbeddedChannel c1 = h.client();
      EmbeddedChannel c2 = h.client();
      EmbeddedChannel s0 = h.longReplyUnderWay(c1, c2);
      assertEquals(LONG_REPLY_HEAD, written(c1));
      h.setWritable(c1, false);
      assertFalse(s0.config().isAutoRead());

      h.advance(49);
      assertFalse(s0.config().isAutoRead(), "not yet at the hold limit");
      h.advance(1); // t=50: half the 100 ms timeout
      assertTrue(s0.config().isAutoRead(), "the connection is read again");
      assertTrue(c1.isOpen(), "a slow reader within its budget is not closed");

      h.reply(s0, LONG_REPLY_REST);
      h.reply(s0, "v2\n");
      assertEquals("v2\n", written(c2), "the reply behind flows, in time");
      assertEquals(LONG_REPLY_REST, written(c1), "the rest waits for the client, in order");
      assertEquals(0, h.poolStat(PoolStat.CLIENT_ERR));
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_TIMEDOUT));
      assertEquals(0, h.serverStat(0, ServerStat.OUT_QUEUE));
    }
  }

  @Test
  void withoutAPoolTimeoutTheHoldLastsTheSlowReaderLimit() {
    EngineOptions options = EngineHarness.options(16384, 64 << 20)
        .withSlowReaderLimit(Duration.ofMillis(300));
    try (EngineHarness h = EngineHarness.of(1, options)) {
      EmbeddedChannel c1 = h.client();
      EmbeddedChannel c2 = h.client();
      EmbeddedChannel s0 = h.longReplyUnderWay(c1, c2);
      h.setWritable(c1, false);
      h.advance(299);
      assertFalse(s0.config().isAutoRead());
      h.advance(1);
      assertTrue(s0.config().isAutoRead());
      assertTrue(c1.isOpen());
    }
  }

  @Test
  void theSlowReaderLimitCapsHalfThePoolTimeout() {
    EngineOptions options = EngineHarness.options(16384, 64 << 20)
        .withSlowReaderLimit(Duration.ofMillis(30));
    try (EngineHarness h = new EngineHarness(EngineHarness.poolConfig(1, 1000).build(), options)) {
      EmbeddedChannel c1 = h.client();
      EmbeddedChannel c2 = h.client();
      EmbeddedChannel s0 = h.longReplyUnderWay(c1, c2);
      h.setWritable(c1, false);
      h.advance(29);
      assertFalse(s0.config().isAutoRead());
      h.advance(1);
      assertTrue(s0.config().isAutoRead());
      assertTrue(c1.isOpen());
    }
  }

  @Test
  void theHoldLimitCountsEveryPauseOfOneReply() {
    try (EngineHarness h = EngineHarness.of(1, 100)) {
      EmbeddedChannel c1 = h.client();
      EmbeddedChannel c2 = h.client();
      EmbeddedChannel s0 = h.longReplyUnderWay(c1, c2);
      h.setWritable(c1, false);
      h.advance(30);
      h.setWritable(c1, true);
      assertTrue(s0.config().isAutoRead());
      h.reply(s0, "de"); // more of it, and the client is full again
      h.setWritable(c1, false);
      assertFalse(s0.config().isAutoRead());
      h.advance(19);
      assertFalse(s0.config().isAutoRead(), "30 + 19 ms held so far");
      h.advance(1);
      assertTrue(s0.config().isAutoRead(), "50 ms held in all: the reply lost its hold");
    }
  }

  @Test
  void aReplyThatLostItsHoldNeverHoldsAgainNorDoesTheNextUntilTheClientDrains() {
    try (EngineHarness h = EngineHarness.of(1, 100)) {
      EmbeddedChannel c1 = h.client();
      EmbeddedChannel c2 = h.client();
      h.send(c1, "get 0a\nget 0b\n");
      h.send(c2, "get 0c\n");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, LONG_REPLY_HEAD);
      h.setWritable(c1, false);
      h.advance(50);
      assertTrue(s0.config().isAutoRead(), "the first reply lost its hold");

      h.reply(s0, "de");
      assertTrue(s0.config().isAutoRead(), "a reply that lost its hold never takes it again");
      h.reply(s0, "fghij");
      h.reply(s0, "STREAM 4\nab"); // the client's next long reply, its socket still full
      assertTrue(s0.config().isAutoRead(), "nor does the next, while the client stays full");
      h.reply(s0, "cd");
      h.reply(s0, "v3\n");
      assertEquals("v3\n", written(c2));
      assertEquals(LONG_REPLY_HEAD + LONG_REPLY_REST + "STREAM 4\nabcd", written(c1));

      h.setWritable(c1, true); // the client drained: its long replies may hold again
      h.send(c1, "get 0d\n");
      h.send(c2, "get 0e\n");
      h.reply(s0, "STREAM 3\na");
      h.setWritable(c1, false);
      assertFalse(s0.config().isAutoRead());
      assertTrue(c1.isOpen());
    }
  }

  @Test
  void aClientThatTakesNothingCostsTheRequestsBehindItAtMostTheHoldLimit() {
    try (EngineHarness h = EngineHarness.of(1, 100)) {
      EmbeddedChannel c1 = h.client();
      EmbeddedChannel c2 = h.client();
      h.send(c1, "get 0a\n");
      h.send(c2, "get 0b\n"); // t=0: due at 100, plus what it waits for c1
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, LONG_REPLY_HEAD);
      h.setWritable(c1, false);
      h.advance(100); // t=100: the client never drains
      assertTrue(s0.config().isAutoRead());
      assertEquals("", written(c2), "held 50 ms: due at 150");
      assertTrue(s0.isOpen());
      h.reply(s0, LONG_REPLY_REST + "v2\n");
      assertEquals("v2\n", written(c2));
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_TIMEDOUT));
    }
  }

  /**
   * Holds add up for the requests behind them, whichever clients hold: a request waits behind
   * holds for at most the hold limit in all, so a second slow client's long reply may not hold the
   * connection once the request behind has waited that long.
   */
  @Test
  void aRequestWaitsBehindTheHoldsOfAllClientsForAtMostTheHoldLimit() {
    try (EngineHarness h = EngineHarness.of(1, 100)) {
      EmbeddedChannel c1 = h.client();
      EmbeddedChannel c2 = h.client();
      EmbeddedChannel victim = h.client();
      h.send(c1, "get 0a\n");
      h.send(c2, "get 0b\n");
      h.send(victim, "get 0c\n");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, LONG_REPLY_HEAD);
      h.setWritable(c1, false);
      h.advance(30);
      h.setWritable(c1, true); // the requests behind waited 30 ms
      h.reply(s0, LONG_REPLY_REST);
      h.reply(s0, LONG_REPLY_HEAD); // c2's long reply, and c2 is full too
      h.setWritable(c2, false);
      assertFalse(s0.config().isAutoRead(), "20 ms of the limit left for the victim");
      h.advance(19);
      assertFalse(s0.config().isAutoRead());
      h.advance(1);
      assertTrue(s0.config().isAutoRead(), "the victim waited 50 ms behind holds: read again");
      assertTrue(c2.isOpen());

      h.reply(s0, LONG_REPLY_REST);
      h.setWritable(c1, false); // a third hold, by anyone, is refused while the victim waits
      h.send(c1, "get 0d\n");
      h.reply(s0, "v\n");
      assertEquals("v\n", written(victim));
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_TIMEDOUT));
    }
  }

  @Test
  void aHoldIsRefusedOnceTheRequestBehindHasWaitedTheHoldLimit() {
    try (EngineHarness h = EngineHarness.of(1, 100)) {
      EmbeddedChannel c1 = h.client();
      EmbeddedChannel c2 = h.client();
      EmbeddedChannel victim = h.client();
      h.send(c1, "get 0a\n");
      h.send(c2, "get 0b\n");
      h.send(victim, "get 0c\n");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, LONG_REPLY_HEAD);
      h.setWritable(c1, false);
      h.advance(50); // c1 loses its hold: the victim waited 50 ms
      assertTrue(s0.config().isAutoRead());
      h.reply(s0, LONG_REPLY_REST);
      h.reply(s0, LONG_REPLY_HEAD);
      h.setWritable(c2, false);
      assertTrue(s0.config().isAutoRead(), "c2's hold is refused: the victim waited enough");
      h.reply(s0, LONG_REPLY_REST + "v\n");
      assertEquals("v\n", written(victim));
    }
  }

  // ---------------------------------------------------------------- deadlines behind a hold

  /**
   * With timeout T, a connection held by a slow client from p0 to p1 gives each request written on
   * it the time it really waited for that client: a request sent at s is due at
   * s + T + (p1 - max(s, p0)).
   */
  @Test
  void aRequestBehindAHoldIsCreditedWithTheTimeItWaited() {
    try (EngineHarness h = EngineHarness.of(1, 100)) {
      EmbeddedChannel c1 = h.client();
      EmbeddedChannel c2 = h.client();
      h.send(c1, "get 0a\n"); // t=0
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, LONG_REPLY_HEAD);
      h.setWritable(c1, false); // t=0: held
      h.advance(40);
      h.send(c2, "get 0b\n"); // t=40: due at 140, plus what it waits for the hold
      h.advance(5);
      h.setWritable(c1, true); // t=45: c2 waited 5 ms of the hold: due at 145
      h.reply(s0, LONG_REPLY_REST);
      assertEquals(LONG_REPLY_HEAD + LONG_REPLY_REST, written(c1));

      h.advance(99); // t=144
      assertEquals("", written(c2));
      h.advance(1); // t=145
      assertEquals(TIMED_OUT, written(c2), "not credited with the 40 ms of hold before it came");
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_TIMEDOUT));
    }
  }

  /**
   * The head timer that found the head due while held looks again once the hold ends, not a
   * whole timeout later.
   */
  @Test
  void theEndOfAHoldReArmsTheHeadTimer() {
    try (EngineHarness h = EngineHarness.of(1, 100)) {
      EmbeddedChannel c1 = h.client();
      EmbeddedChannel c2 = h.client();
      h.send(c1, "get 0a\n");
      h.send(c2, "get 0b\n"); // t=0: due at 100
      EmbeddedChannel s0 = h.backend(0);
      h.advance(80);
      h.reply(s0, LONG_REPLY_HEAD); // the head is answering: due at 180
      h.setWritable(c1, false); // t=80: held
      h.advance(30); // t=110: the timer found c2's request... still behind the head
      h.setWritable(c1, true); // t=110: held 30 ms: the head is due at 210, c2 at 130
      h.reply(s0, LONG_REPLY_REST); // t=110: c2's request is the head now, due at 130
      h.advance(19); // t=129
      assertEquals("", written(c2));
      h.advance(1); // t=130
      assertEquals(TIMED_OUT, written(c2));
    }
  }

  // ---------------------------------------------------------------- the client's byte budget

  @Test
  void aClientPastItsBudgetThatTakesNothingForTheHoldLimitIsClosed() {
    // No pool timeout: the hold limit is the harness's slow-reader limit, 10 s.
    try (EngineHarness h = EngineHarness.of(2, EngineHarness.options(16384, 40))) {
      EmbeddedChannel c1 = h.clientSending("get 0a\nget 1b\nget 1c\n");
      EmbeddedChannel c2 = h.clientSending("get 1d\n");
      EmbeddedChannel s1 = h.backend(1);
      h.reply(s1, "0123456789\n"); // 11 bytes gathered behind the unanswered get 0a
      h.reply(s1, "0123456789\n"); // 22
      h.reply(s1, "01234567890123456789\n"); // c2's: not c1's budget
      assertEquals("01234567890123456789\n", written(c2));

      h.send(c1, "get 1e\n");
      h.reply(s1, "0123456789012345678\n"); // 20 more: 42 held for c1, over its 40
      assertTrue(c1.isOpen(), "past its budget, reading stops; it may still drain");
      h.advance(9_999);
      assertTrue(c1.isOpen());
      h.advance(1);
      assertFalse(c1.isOpen(), "past its budget and nothing drained for 10 s: closed");
      assertEquals(1, h.poolStat(PoolStat.CLIENT_ERR));
      assertTrue(h.backend(1).isOpen(), "its servers are not at fault");
      assertEquals(0, h.serverStat(1, ServerStat.SERVER_ERR));

      h.send(c2, "get 1f\n");
      h.reply(s1, "ok\n");
      assertEquals("ok\n", written(c2), "the others are served as before");
    }
  }

  @Test
  void aClientPastItsBudgetThatDrainsIsNotClosed() {
    try (EngineHarness h = EngineHarness.of(2, EngineHarness.options(16384, 40))) {
      EmbeddedChannel c1 = h.clientSending("get 0a\nget 1b\nget 1c\n");
      EmbeddedChannel s1 = h.backend(1);
      h.reply(s1, "01234567890123456789\n");
      h.reply(s1, "01234567890123456789\n"); // 42 held behind get 0a
      h.advance(5_000);
      h.reply(h.backend(0), "a\n"); // all three go out, and the client takes them
      assertEquals(44, written(c1).length());
      h.advance(5_000);
      assertTrue(c1.isOpen());
      assertEquals(0, h.poolStat(PoolStat.CLIENT_ERR));
    }
  }

  @Test
  void repliesPastTwiceTheBudgetCloseTheClientAtOnceEvenWhileItIsWatched() {
    try (EngineHarness h = EngineHarness.of(2, EngineHarness.options(16384, 40))) {
      EmbeddedChannel c1 = h.clientSending("get 0a\nget 1b\nget 1c\n");
      h.reply(h.backend(1), "0".repeat(50) + "\n"); // 51: over the budget, watched
      assertTrue(c1.isOpen());
      h.reply(h.backend(1), "0".repeat(30) + "\n"); // 82: past twice the budget
      assertFalse(c1.isOpen());
    }
  }

  @Test
  void repliesPastTwiceTheBudgetCloseTheClientAtOnce() {
    try (EngineHarness h = EngineHarness.of(2, EngineHarness.options(16384, 40))) {
      EmbeddedChannel c1 = h.clientSending("get 0a\nget 1b\n");
      h.reply(h.backend(1), "0".repeat(80) + "\n"); // 81 bytes behind get 0a
      assertFalse(c1.isOpen());
      assertEquals(1, h.poolStat(PoolStat.CLIENT_ERR));
      h.reply(h.backend(0), "late\n"); // released: the client is gone
      assertTrue(h.backend(0).isOpen());
    }
  }

  @Test
  void aLongReplyStreamedToAClientThatTakesItIsNotHeldAgainstItsBudget() {
    try (EngineHarness h = EngineHarness.of(1, EngineHarness.options(16384, 40))) {
      EmbeddedChannel c1 = h.clientSending("get 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, "STREAM 100\n0123456789");
      for (int i = 0; i < 9; i++) {
        h.reply(s0, "0123456789");
      }
      assertTrue(c1.isOpen(), "what the client took is not held for it");
      assertEquals(111, written(c1).length());
    }
  }

  // ---------------------------------------------------------------- a reply still arriving

  @Test
  void aReplyArrivingInManyReadsRestartsTheHeadsTimeout() {
    try (EngineHarness h = EngineHarness.of(1, 100)) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      h.advance(90);
      h.reply(s0, "abc"); // t=90: the server is answering: due at 190
      h.advance(99);
      assertTrue(s0.isOpen());
      h.reply(s0, "def\n");
      assertEquals("abcdef\n", written(c));
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_TIMEDOUT));
    }
  }

  @Test
  void theBytesOfAReplyStillArrivingCountAgainstItsClientsBudget() {
    try (EngineHarness h = EngineHarness.of(1, EngineHarness.options(16384, 40))) {
      EmbeddedChannel c1 = h.clientSending("get 0a\n");
      EmbeddedChannel c2 = h.clientSending("get 0b\n");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, "0".repeat(40));
      assertTrue(c1.isOpen());
      h.reply(s0, "0".repeat(41)); // 81 bytes of c1's reply in the decoder: twice its budget
      assertFalse(c1.isOpen(), "closed before its reply is even complete");
      h.reply(s0, "0".repeat(100));
      assertEquals(0, s0.pipeline().get(LineProtocol.ReplyDecoder.class).heldBytes(),
          "the rest of a reply no one wants is not kept");
      h.reply(s0, "\nv2\n"); // the rest is dropped; the connection stays in step
      assertEquals("v2\n", written(c2));
      assertTrue(s0.isOpen());
      assertEquals(0, h.serverStat(0, ServerStat.OUT_QUEUE));
    }
  }

  @Test
  void aReplyNoOneWantsStillRestartsTheHeadsTimeoutAsItArrives() {
    try (EngineHarness h = new EngineHarness(EngineHarness.poolConfig(1, 100).build(),
        EngineHarness.options(16384, 40))) {
      EmbeddedChannel c1 = h.clientSending("get 0a\n");
      EmbeddedChannel c2 = h.clientSending("get 0b\n");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, "0".repeat(81)); // c1 closed: its reply is dropped as it comes
      assertFalse(c1.isOpen());
      for (int i = 0; i < 5; i++) {
        h.advance(60); // 300 ms of a reply still arriving, 60 ms apart: the server answers
        h.reply(s0, "0".repeat(1000));
        assertTrue(s0.isOpen(), "read " + i);
      }
      h.reply(s0, "\nv2\n");
      assertEquals("v2\n", written(c2));
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_TIMEDOUT));
    }
  }
}
