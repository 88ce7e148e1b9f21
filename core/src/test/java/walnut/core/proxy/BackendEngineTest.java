package walnut.core.proxy;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.core.proxy.EngineHarness.LONG_REPLY_HEAD;
import static walnut.core.proxy.EngineHarness.LONG_REPLY_REST;
import static walnut.core.proxy.EngineHarness.connectionRefused;
import static walnut.core.proxy.EngineHarness.written;
import static walnut.core.proxy.LineProtocol.err;

import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ServerStat;

/**
 * The backend side's failure rules on {@link EngineHarness}: stray replies, timeouts, EOF, decoder
 * errors, connecting (queueing, back-off, handshake), retirement after a reload, long replies (a
 * server failing mid-stream, slow readers, gathering) and the server counters. Nothing sleeps:
 * the clock is the harness's mock ticker.
 */
class BackendEngineTest {

  private static final String TIMED_OUT = err(ErrorText.TIMED_OUT);
  private static final String EOF = err(ErrorText.UNKNOWN);
  private static final String INVALID = err(ErrorText.INVALID);
  private static final String REFUSED = err(ErrorText.REFUSED);

  // ---------------------------------------------------------------- stray replies

  @Test
  void strayReplyClosesTheConnectionCountsServerErrAndTheNextRequestReconnects() {
    try (EngineHarness h = EngineHarness.of(2, 0)) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      assertEquals("get 0a\n", written(s0));
      h.reply(s0, "v1\n");
      assertEquals("v1\n", written(c));
      assertTrue(s0.isOpen());

      h.reply(s0, "stray\n"); // nothing is waiting for it
      assertFalse(s0.isOpen(), "a stray reply closes the backend connection");
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_ERR));
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_EOF), "the first cause wins");
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_CONNECTIONS));
      assertEquals("", written(c), "a stray reply reaches no client");
      assertTrue(c.isOpen());

      h.send(c, "get 0b\n");
      assertEquals(2, h.backends.size(), "the next request opens a new connection");
      EmbeddedChannel again = h.backend(0);
      assertEquals("get 0b\n", written(again));
      h.reply(again, "v2\n");
      assertEquals("v2\n", written(c));
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_CONNECTIONS));
    }
  }

  @Test
  void strayLongReplyAlsoFailsTheConnection() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, "v\n");
      assertEquals("v\n", written(c));

      h.reply(s0, "STREAM 4\nab"); // a ReplyPart with no request waiting
      assertFalse(s0.isOpen());
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_ERR));
      assertEquals("", written(c));
    }
  }

  // ---------------------------------------------------------------- timeouts

  @Test
  void headTimeoutAnswersWithTimedOutClosesTheBackendAndCountsServerTimedout() {
    try (EngineHarness h = EngineHarness.of(1, 100)) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      h.advance(99);
      assertEquals("", written(c), "not due yet");
      assertTrue(s0.isOpen());

      h.advance(1);
      assertEquals(TIMED_OUT, written(c));
      assertFalse(s0.isOpen(), "a timeout closes the backend connection");
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_TIMEDOUT));
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_ERR));
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_EOF),
          "the close that follows the timeout is not counted again as an EOF");
      assertEquals(0, h.serverStat(0, ServerStat.OUT_QUEUE));
      assertEquals(0, h.serverStat(0, ServerStat.OUT_QUEUE_BYTES));
      assertEquals(1, h.poolStat(PoolStat.FORWARD_ERROR));
      assertTrue(c.isOpen(), "the client gets an error reply and stays");
    }
  }

  @Test
  void timeoutAnswersEveryRequestQueuedBehindTheHeadInOrder() {
    try (EngineHarness h = EngineHarness.of(2, 100)) {
      EmbeddedChannel c1 = h.clientSending("get 0a\nget 1b\n");
      h.advance(50);
      // get 0c's own deadline is 150, but the head fails the connection at 100
      EmbeddedChannel c2 = h.clientSending("get 0c\n");
      h.send(c1, "get 0d\n");
      EmbeddedChannel s0 = h.backend(0);
      EmbeddedChannel s1 = h.backend(1);
      assertEquals("get 0a\nget 0c\nget 0d\n", written(s0));
      h.reply(s1, "v1\n");
      assertEquals("", written(c1), "the reply of 1b waits behind 0a");

      h.advance(50);
      assertEquals(TIMED_OUT + "v1\n" + TIMED_OUT, written(c1));
      assertEquals(TIMED_OUT, written(c2));
      assertFalse(s0.isOpen());
      assertTrue(s1.isOpen(), "only the timed-out server's connection closes");
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_TIMEDOUT), "one close, counted once");
      assertEquals(0, h.serverStat(1, ServerStat.SERVER_TIMEDOUT));
      assertEquals(0, h.serverStat(0, ServerStat.OUT_QUEUE));
    }
  }

  @Test
  void replyBeforeTheTimeoutIsDeliveredAndNothingTimesOutLater() {
    try (EngineHarness h = EngineHarness.of(1, 100)) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      h.advance(99);
      h.reply(s0, "v\n");
      assertEquals("v\n", written(c));
      h.advance(1000);
      assertEquals("", written(c));
      assertTrue(s0.isOpen());
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_TIMEDOUT));
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_CONNECTIONS));
    }
  }

  @Test
  void headTimerMovesOnToTheNextRequestsOwnDeadline() {
    try (EngineHarness h = EngineHarness.of(1, 100)) {
      EmbeddedChannel c = h.clientSending("get 0a\n"); // t=0, due at 100
      EmbeddedChannel s0 = h.backend(0);
      h.advance(50);
      h.send(c, "get 0b\n"); // t=50, due at 150
      h.advance(40);
      h.reply(s0, "va\n"); // t=90
      assertEquals("va\n", written(c));

      h.advance(59); // t=149
      assertEquals("", written(c), "0b is due at 150, not at the first request's 100");
      assertTrue(s0.isOpen());
      h.advance(1); // t=150
      assertEquals(TIMED_OUT, written(c));
      assertFalse(s0.isOpen());
    }
  }

  // ---------------------------------------------------------------- EOF, decoder errors

  @Test
  void serverEofAnswersEveryOutstandingRequestWithAnErrorInOrder() {
    try (EngineHarness h = EngineHarness.of(2, 0)) {
      EmbeddedChannel c1 = h.clientSending("get 0a\nget 1b\nget 0c\n");
      EmbeddedChannel c2 = h.clientSending("get 0d\n");
      EmbeddedChannel s0 = h.backend(0);
      EmbeddedChannel s1 = h.backend(1);
      h.reply(s1, "v1\n");
      assertEquals("", written(c1));

      s0.close(); // the server closes the connection
      h.run();
      assertEquals(EOF + "v1\n" + EOF, written(c1));
      assertEquals(EOF, written(c2));
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_EOF));
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_ERR));
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_CONNECTIONS));
      assertEquals(0, h.serverStat(0, ServerStat.OUT_QUEUE));
      assertTrue(c1.isOpen() && c2.isOpen());
    }
  }

  @Test
  void decoderFailureFailsTheConnectionWithInvalidArgument() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      EmbeddedChannel c1 = h.clientSending("get 0a\n");
      EmbeddedChannel c2 = h.clientSending("get 0b\n");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, "BROKEN\n");
      assertEquals(INVALID, written(c1));
      assertEquals(INVALID, written(c2));
      assertFalse(s0.isOpen());
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_ERR));
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_EOF));
    }
  }

  @Test
  void repliesDecodedBeforeTheBrokenOneAreDeliveredAndTheRestFail() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      EmbeddedChannel c = h.clientSending("get 0a\nget 0b\nget 0c\n");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, "va\nBROKEN\nvc\n");
      assertEquals("va\n" + INVALID + INVALID, written(c));
      assertEquals(1, h.serverStat(0, ServerStat.RESPONSES));
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_ERR));
    }
  }

  // ---------------------------------------------------------------- connecting

  @Test
  void requestsSentWhileConnectingAreQueuedThenWrittenInOrderAfterTheHandshake() {
    try (EngineHarness h = handshaking(0, "AUTH pw")) {
      h.holdConnects = true;
      EmbeddedChannel c = h.clientSending("get 0a\nget 0bb\n");
      EmbeddedChannel s0 = h.backend(0);
      assertEquals("", written(s0), "nothing is written before the connect completes");
      assertEquals(2, h.serverStat(0, ServerStat.IN_QUEUE));
      assertEquals(15, h.serverStat(0, ServerStat.IN_QUEUE_BYTES));
      assertEquals(0, h.serverStat(0, ServerStat.OUT_QUEUE));

      h.completeConnect(0);
      assertEquals("AUTH pw\nget 0a\nget 0bb\n", written(s0));
      assertEquals(0, h.serverStat(0, ServerStat.IN_QUEUE));
      assertEquals(0, h.serverStat(0, ServerStat.IN_QUEUE_BYTES));
      assertEquals(2, h.serverStat(0, ServerStat.OUT_QUEUE), "the handshake is not a request");
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_CONNECTIONS));

      h.send(c, "get 0c\n");
      assertEquals("get 0c\n", written(s0));
      h.reply(s0, "OK\nv1\nv2\nv3\n");
      assertEquals("v1\nv2\nv3\n", written(c));
      assertEquals(0, h.serverStat(0, ServerStat.OUT_QUEUE));
    }
  }

  /**
   * Netty's epoll transport can raise {@code NotYetConnectedException} in the pipeline of a
   * channel whose connect then succeeds (seen about once per thousand connects on loopback while
   * ports in TIME_WAIT were reused): the connect, not a pipeline exception, says how it ends.
   */
  @Test
  void anExceptionBeforeTheConnectCompletesDoesNotFailTheConnection() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      h.holdConnects = true;
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      s0.pipeline().fireExceptionCaught(new java.nio.channels.NotYetConnectedException());
      h.run();
      assertEquals("", written(c), "no error for a request whose connect is under way");
      h.completeConnect(0);
      assertEquals("get 0a\n", written(s0));
      h.reply(s0, "v\n");
      assertEquals("v\n", written(c));
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_ERR));
    }
  }

  @Test
  void failedConnectAnswersTheQueuedRequestsWithTheFailure() {
    try (EngineHarness h = EngineHarness.of(2, 0)) {
      h.holdConnects = true;
      EmbeddedChannel c = h.clientSending("get 0a\nget 1x\nget 0b\n");
      h.completeConnect(1); // server 1
      EmbeddedChannel s1 = h.backend(1);
      h.reply(s1, "x\n");
      assertEquals("", written(c));

      EmbeddedChannel s0 = h.backend(0);
      h.refuseConnect(0);
      assertEquals(REFUSED + "x\n" + REFUSED, written(c));
      assertFalse(s0.isOpen());
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_ERR));
      assertEquals(0, h.serverStat(0, ServerStat.IN_QUEUE));
      assertEquals(0, h.serverStat(0, ServerStat.IN_QUEUE_BYTES));
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_CONNECTIONS));
    }
  }

  @Test
  void backOffFailsFastWithoutOpeningAChannelUntilTenMillisPass() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      h.connectFailure = connectionRefused();
      EmbeddedChannel c = h.clientSending("get 0a\n");
      assertEquals(1, h.backends.size());
      assertEquals(REFUSED, written(c));
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_ERR));

      h.send(c, "get 0b\n");
      assertEquals(1, h.backends.size(), "backing off: no new channel");
      assertEquals(REFUSED, written(c), "fails fast with the last connect's failure");
      assertEquals(2, h.serverStat(0, ServerStat.SERVER_ERR), "a fast failure counts too");

      h.advance(9);
      h.send(c, "get 0c\n");
      assertEquals(1, h.backends.size());
      assertEquals(REFUSED, written(c));

      h.connectFailure = null;
      h.advance(1); // 10 ms after the failed connect
      h.send(c, "get 0d\n");
      assertEquals(2, h.backends.size(), "the back-off is over: a real connect");
      EmbeddedChannel s0 = h.backend(0);
      assertEquals("get 0d\n", written(s0));
      h.reply(s0, "v\n");
      assertEquals("v\n", written(c));
    }
  }

  @Test
  void backOffDoublesAfterEachFailedConnectAndResetsAfterASuccess() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      h.connectFailure = connectionRefused();
      EmbeddedChannel c = h.clientSending("get 0a\n"); // t=0: fails, back-off 10 ms
      h.advance(10);
      h.send(c, "get 0b\n"); // t=10: fails again, back-off 20 ms
      assertEquals(2, h.backends.size());
      h.advance(19);
      h.send(c, "get 0c\n");
      assertEquals(2, h.backends.size(), "20 ms after the second failure, not 10");
      h.connectFailure = null;
      h.advance(1);
      h.send(c, "get 0d\n"); // t=30: connects
      assertEquals(3, h.backends.size());
      assertEquals(REFUSED + REFUSED + REFUSED, written(c));
      EmbeddedChannel s0 = h.backend(0);
      assertEquals("get 0d\n", written(s0));
      h.reply(s0, "v\n");
      assertEquals("v\n", written(c));

      // A success resets the run: the next failure backs off 10 ms again, not 40.
      s0.close();
      h.run();
      h.connectFailure = connectionRefused();
      h.send(c, "get 0e\n");
      assertEquals(4, h.backends.size());
      h.advance(10);
      h.send(c, "get 0f\n");
      assertEquals(5, h.backends.size());
      assertEquals(REFUSED + REFUSED, written(c));
    }
  }

  @Test
  void connectTimeoutCountsAsTimedOutAndBacksOff() {
    try (EngineHarness h = EngineHarness.of(1, 100)) {
      h.connectFailure = new ConnectTimeoutException("connection timed out after 100 ms");
      EmbeddedChannel c = h.clientSending("get 0a\n");
      assertEquals(TIMED_OUT, written(c));
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_TIMEDOUT));
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_ERR));
      h.send(c, "get 0b\n");
      assertEquals(1, h.backends.size(), "backing off");
      assertEquals(TIMED_OUT, written(c));
    }
  }

  @Test
  void connectHangingPastTheTimeoutAnswersQueuedRequestsWithTimedOutAndBacksOff() {
    try (EngineHarness h = EngineHarness.of(1, 100)) {
      h.holdConnects = true;
      EmbeddedChannel c = h.clientSending("get 0a\n");
      h.advance(50);
      h.send(c, "get 0b\n");
      EmbeddedChannel s0 = h.backend(0);
      h.advance(49);
      assertEquals("", written(c));
      h.advance(1);
      assertEquals(TIMED_OUT + TIMED_OUT, written(c));
      assertFalse(s0.isOpen());
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_TIMEDOUT));
      assertEquals(0, h.serverStat(0, ServerStat.IN_QUEUE));

      h.send(c, "get 0c\n");
      assertEquals(1, h.backends.size(), "a connect that timed out backs off too");
      assertEquals(TIMED_OUT, written(c));

      // The connect completing after the proxy gave up writes nothing (and leaks nothing).
      h.completeConnect(0);
      assertEquals("", written(s0));
    }
  }

  @Test
  void connectCompletingAfterATimeoutReleasesItsHandshakeAndWritesNothing() {
    try (EngineHarness h = handshaking(100, "AUTH pw")) {
      h.holdConnects = true;
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      h.advance(100);
      assertEquals(TIMED_OUT, written(c));
      h.completeConnect(0);
      assertEquals("", written(s0));
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_CONNECTIONS));

      h.send(c, "get 0b\n");
      assertEquals(1, h.backends.size(), "a connect that counted for nothing keeps the back-off");
      assertEquals(TIMED_OUT, written(c));
    }
  }

  // ---------------------------------------------------------------- handshake

  @Test
  void handshakeLinesGoFirstAndTheirRepliesAreConsumed() {
    try (EngineHarness h = handshaking(0, "AUTH pw", "SELECT 1")) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      assertEquals("AUTH pw\nSELECT 1\nget 0a\n", written(s0));
      h.reply(s0, "OK\n");
      assertEquals("", written(c));
      h.reply(s0, "OK\nv\n");
      assertEquals("v\n", written(c), "handshake replies are never forwarded");
      assertEquals(1, h.serverStat(0, ServerStat.RESPONSES), "nor counted as responses");
      assertEquals(2, h.serverStat(0, ServerStat.RESPONSE_BYTES));
      assertEquals(1, h.serverStat(0, ServerStat.REQUESTS));

      h.send(c, "get 0b\n");
      assertEquals("get 0b\n", written(s0), "the handshake goes once per connection");
      h.reply(s0, "w\n");
      assertEquals("w\n", written(c));
    }
  }

  @Test
  void nonOkHandshakeReplyIsLoggedButNotForwarded() {
    try (EngineHarness h = handshaking(0, "AUTH pw")) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      assertEquals("AUTH pw\nget 0a\n", written(s0));
      String log = capturingStderr(() -> h.reply(s0, "NOPE bad password\nv\n"));
      assertEquals("v\n", written(c));
      assertTrue(log.contains("handshake step 0: NOPE bad password"), log);
      assertTrue(s0.isOpen(), "a refused handshake step does not fail the connection");
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_ERR));
    }
  }

  @Test
  void unansweredHandshakeTimesOutAtTheOldestQueuedRequestsDeadline() {
    try (EngineHarness h = handshaking(100, "AUTH pw")) {
      h.holdConnects = true;
      EmbeddedChannel c = h.clientSending("get 0a\n"); // t=0, due at 100
      EmbeddedChannel s0 = h.backend(0);
      h.advance(60);
      h.completeConnect(0); // t=60: the AUTH step inherits the deadline 100
      assertEquals("AUTH pw\nget 0a\n", written(s0));
      h.advance(39);
      assertEquals("", written(c));
      h.advance(1);
      assertEquals(TIMED_OUT, written(c), "not at 160: the step must not delay the request");
      assertFalse(s0.isOpen());
    }
  }

  // ---------------------------------------------------------------- retirement (reload)

  @Test
  void retiredConnectionStaysOpenUntilItsOutstandingReplyThenCloses() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      EmbeddedChannel c = h.clientSending("get 0a\nget 0b\n");
      EmbeddedChannel s0 = h.backend(0);
      h.retire();
      assertTrue(s0.isOpen(), "two replies are still owed");
      h.reply(s0, "v1\n");
      assertTrue(s0.isOpen(), "one reply is still owed");
      h.reply(s0, "v2\n");
      assertEquals("v1\nv2\n", written(c));
      assertFalse(s0.isOpen(), "closes once nothing is outstanding");
      assertRetireCountsNothing(h);
      assertTrue(c.isOpen());
    }
  }

  @Test
  void retiredIdleConnectionClosesAtOnce() {
    try (EngineHarness h = EngineHarness.of(2, 0)) {
      EmbeddedChannel c = h.clientSending("get 0a\nget 1a\n");
      EmbeddedChannel s0 = h.backend(0);
      EmbeddedChannel s1 = h.backend(1);
      h.reply(s0, "v0\n");
      h.retire();
      assertFalse(s0.isOpen(), "idle: closes at once");
      assertTrue(s1.isOpen(), "one reply owed");
      h.reply(s1, "v1\n");
      assertFalse(s1.isOpen());
      assertEquals("v0\nv1\n", written(c));
      assertRetireCountsNothing(h);
    }
  }

  @Test
  void retiringIsNotAServerFailureEvenWithAutoEject() {
    try (EngineHarness h = ejecting(1, 60_000)) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, "v\n");
      h.retire();
      assertFalse(s0.isOpen());
      assertEquals(0, h.poolStat(PoolStat.SERVER_EJECTS));
      assertTrue(h.pool.router().isLive(0));
      assertRetireCountsNothing(h);
    }
  }

  @Test
  void reloadKeepsRepliesInOrderAcrossTheOldAndNewConnections() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel old = h.backend(0);
      h.reload();
      assertTrue(old.isOpen());

      h.send(c, "get 0b\n"); // goes to the new generation's connection
      assertEquals(2, h.backends.size());
      EmbeddedChannel fresh = h.backends.get(1);
      assertEquals("get 0a\n", written(old));
      assertEquals("get 0b\n", written(fresh));
      h.reply(fresh, "new\n");
      assertEquals("", written(c), "waits for the old connection's reply");
      h.reply(old, "old\n");
      assertEquals("old\nnew\n", written(c));
      assertFalse(old.isOpen());
      assertTrue(fresh.isOpen());
      assertRetireCountsNothing(h);
    }
  }

  // ---------------------------------------------------------------- long replies

  @Test
  void serverFailingMidStreamClosesTheStreamingClientAndErrorsTheOthers() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      EmbeddedChannel c1 = h.client();
      EmbeddedChannel c2 = h.client();
      EmbeddedChannel s0 = h.longReplyUnderWay(c1, c2);
      assertEquals(LONG_REPLY_HEAD, written(c1), "the start of a long reply streams at once");

      s0.close();
      h.run();
      assertEquals("", written(c1), "no error reply can follow a partial reply in frame");
      assertFalse(c1.isOpen(), "the client with a partial reply is closed");
      assertEquals(EOF, written(c2), "the others on the connection get an error, not a hang");
      assertTrue(c2.isOpen());
      assertEquals(2, h.poolStat(PoolStat.FORWARD_ERROR), "the broken stream and c2's error");
      assertEquals(1, h.poolStat(PoolStat.CLIENT_ERR));
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_EOF));
    }
  }

  @Test
  void slowReaderPausesTheBackendsReadingAndWritableResumesIt() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      EmbeddedChannel c1 = h.client();
      EmbeddedChannel c2 = h.client();
      EmbeddedChannel s0 = h.longReplyUnderWay(c1, c2);
      assertEquals(LONG_REPLY_HEAD, written(c1));
      assertTrue(s0.config().isAutoRead());

      h.setWritable(c1, false);
      assertFalse(c1.config().isAutoRead(), "an unwritable client is not read");
      assertFalse(s0.config().isAutoRead(), "its streaming server is not read either");

      h.setWritable(c1, true);
      assertTrue(s0.config().isAutoRead(), "writable again: the server is read again");
      h.reply(s0, LONG_REPLY_REST);
      assertEquals(LONG_REPLY_REST, written(c1));
      h.reply(s0, "v2\n");
      assertEquals("v2\n", written(c2));
      assertTrue(c1.isOpen() && s0.isOpen());
    }
  }

  @Test
  void lastPartArrivingWhilePausedFreesTheBackend() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      EmbeddedChannel c1 = h.client();
      EmbeddedChannel c2 = h.client();
      EmbeddedChannel s0 = h.longReplyUnderWay(c1, c2);
      h.setWritable(c1, false);
      assertFalse(s0.config().isAutoRead());
      h.reply(s0, LONG_REPLY_REST); // a read that got through the pause ends the reply
      assertTrue(s0.config().isAutoRead(), "the reply is complete: its server is free");
      h.reply(s0, "v2\n");
      assertEquals("v2\n", written(c2));
      h.setWritable(c1, true);
      assertEquals(LONG_REPLY_HEAD + LONG_REPLY_REST, written(c1));
    }
  }

  @Test
  void longReplyForAQuietRequestIsGatheredAndDeliveredWhole() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      EmbeddedChannel c = h.clientSending("quiet 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, "STREAM 5\nhe");
      assertEquals("", written(c), "a filtered reply is needed whole");
      h.reply(s0, "llo");
      assertEquals("STREAM 5\nhello", written(c));
      assertTrue(s0.isOpen());
      assertEquals(1, h.serverStat(0, ServerStat.RESPONSES));
      assertEquals(14, h.serverStat(0, ServerStat.RESPONSE_BYTES));
    }
  }

  @Test
  void longReplyForAnMgetFragmentIsGatheredAndMergedWhole() {
    try (EngineHarness h = EngineHarness.of(2, 0)) {
      EmbeddedChannel c = h.clientSending("mget 0a 0b 1c\n");
      EmbeddedChannel s0 = h.backend(0);
      EmbeddedChannel s1 = h.backend(1);
      assertEquals("mget 0a 0b\n", written(s0));
      assertEquals("mget 1c\n", written(s1));
      h.reply(s1, "v\n");
      h.reply(s0, "STREAM 2\na");
      assertEquals("", written(c));
      h.reply(s0, "b"); // the fragment's reply is "STREAM", "2\nab": two tokens for two keys
      assertEquals("STREAM 2\nab v\n", written(c));
      assertTrue(s0.isOpen());
      assertEquals(0, h.poolStat(PoolStat.FORWARD_ERROR));
    }
  }

  // ---------------------------------------------------------------- counters

  @Test
  void serverCountersFollowRequestsAndReplies() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      EmbeddedChannel c = h.clientSending("get 0a\nget 0bb\n");
      EmbeddedChannel s0 = h.backend(0);
      assertEquals(2, h.serverStat(0, ServerStat.REQUESTS));
      assertEquals(15, h.serverStat(0, ServerStat.REQUEST_BYTES));
      assertEquals(2, h.serverStat(0, ServerStat.OUT_QUEUE));
      assertEquals(15, h.serverStat(0, ServerStat.OUT_QUEUE_BYTES));
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_CONNECTIONS));

      h.reply(s0, "x\n");
      assertEquals(1, h.serverStat(0, ServerStat.RESPONSES));
      assertEquals(2, h.serverStat(0, ServerStat.RESPONSE_BYTES));
      assertEquals(1, h.serverStat(0, ServerStat.OUT_QUEUE));
      assertEquals(8, h.serverStat(0, ServerStat.OUT_QUEUE_BYTES));

      h.reply(s0, "yyy\n");
      assertEquals("x\nyyy\n", written(c));
      assertEquals(2, h.serverStat(0, ServerStat.RESPONSES));
      assertEquals(6, h.serverStat(0, ServerStat.RESPONSE_BYTES));
      assertEquals(0, h.serverStat(0, ServerStat.OUT_QUEUE));
      assertEquals(0, h.serverStat(0, ServerStat.OUT_QUEUE_BYTES));
      assertEquals(0, h.serverStat(0, ServerStat.IN_QUEUE));

      s0.close();
      h.run();
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_CONNECTIONS));
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_EOF));
    }
  }

  @Test
  void longReplyCountsOneResponseAndAllItsBytes() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, "STREAM 3\na"); // 10 bytes
      assertEquals(0, h.serverStat(0, ServerStat.RESPONSES), "not complete yet");
      assertEquals(1, h.serverStat(0, ServerStat.OUT_QUEUE));
      h.reply(s0, "bc");
      assertEquals("STREAM 3\nabc", written(c));
      assertEquals(1, h.serverStat(0, ServerStat.RESPONSES));
      assertEquals(12, h.serverStat(0, ServerStat.RESPONSE_BYTES));
      assertEquals(0, h.serverStat(0, ServerStat.OUT_QUEUE));
      assertEquals(0, h.serverStat(0, ServerStat.OUT_QUEUE_BYTES));
    }
  }

  // ---------------------------------------------------------------- ejection

  /** PoolRouter ejects on System.currentTimeMillis(): the retry timeout is long enough. */
  @Test
  void failingServerIsEjectedAndItsKeysGoToTheLiveServers() {
    try (EngineHarness h = ejecting(1, 600_000)) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, "BROKEN\n");
      assertEquals(INVALID, written(c));
      assertEquals(1, h.poolStat(PoolStat.SERVER_EJECTS));
      assertTrue(h.serverStat(0, ServerStat.SERVER_EJECTED_AT) > 0);
      assertFalse(h.pool.router().isLive(0));

      h.send(c, "get 0b\n");
      EmbeddedChannel s1 = h.backend(1);
      assertEquals("get 0b\n", written(s1), "server 0 is out of the ring");
      h.reply(s1, "v\n");
      assertEquals("v\n", written(c));
    }
  }

  @Test
  void ejectionCountsClosesNotRequestsAndASuccessResetsTheRun() {
    try (EngineHarness h = ejecting(2, 600_000)) {
      EmbeddedChannel c = h.clientSending("get 0a\nget 0b\nget 0c\nget 0d\n");
      h.backend(0).close(); // four requests fail together: one failure
      h.run();
      assertEquals(EOF + EOF + EOF + EOF, written(c));
      assertEquals(0, h.poolStat(PoolStat.SERVER_EJECTS));

      h.send(c, "get 0e\n");
      h.reply(h.backend(0), "v\n"); // a success ends the run of failures
      h.backend(0).close();
      h.run();
      assertEquals(0, h.poolStat(PoolStat.SERVER_EJECTS));

      h.send(c, "get 0f\n");
      h.backend(0).close(); // the second failure in a row
      h.run();
      assertEquals(1, h.poolStat(PoolStat.SERVER_EJECTS));
      assertEquals("v\n" + EOF, written(c));
    }
  }

  // ---------------------------------------------------------------- noreply

  @Test
  void noreplyRequestIsWrittenButTakesNoPlaceInTheFifo() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      EmbeddedChannel c = h.clientSending("noreply 0a x\nget 0b\n");
      EmbeddedChannel s0 = h.backend(0);
      assertEquals("noreply 0a x\nget 0b\n", written(s0));
      assertEquals(2, h.serverStat(0, ServerStat.REQUESTS));
      assertEquals(1, h.serverStat(0, ServerStat.OUT_QUEUE));
      h.reply(s0, "vb\n");
      assertEquals("vb\n", written(c), "the next reply goes to the next request");
      assertEquals(0, h.serverStat(0, ServerStat.OUT_QUEUE));
      assertTrue(s0.isOpen());
    }
  }

  @Test
  void noreplyRequestHasNoDeadline() {
    try (EngineHarness h = EngineHarness.of(1, 100)) {
      EmbeddedChannel c = h.clientSending("noreply 0a x\n");
      EmbeddedChannel s0 = h.backend(0);
      assertEquals("noreply 0a x\n", written(s0));
      h.advance(1000);
      assertTrue(s0.isOpen());
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_TIMEDOUT));
      assertEquals("", written(c));
    }
  }

  @Test
  void noreplyQueuedWhileConnectingIsWrittenInItsPlace() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      h.holdConnects = true;
      EmbeddedChannel c = h.clientSending("get 0a\nnoreply 0b x\nget 0c\n");
      EmbeddedChannel s0 = h.backend(0);
      assertEquals(3, h.serverStat(0, ServerStat.IN_QUEUE));
      h.completeConnect(0);
      assertEquals("get 0a\nnoreply 0b x\nget 0c\n", written(s0));
      assertEquals(0, h.serverStat(0, ServerStat.IN_QUEUE));
      assertEquals(2, h.serverStat(0, ServerStat.OUT_QUEUE));
      h.reply(s0, "va\nvc\n");
      assertEquals("va\nvc\n", written(c));
    }
  }

  // ---------------------------------------------------------------- the FIFO itself

  @Test
  void fifoKeepsOrderWhenItWrapsAndGrows() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      EmbeddedChannel c = h.client();
      StringBuilder requests = new StringBuilder();
      StringBuilder replies = new StringBuilder();
      for (int i = 0; i < 10; i++) {
        requests.append("get 0k").append(i).append('\n');
        replies.append('r').append(i).append('\n');
      }
      h.send(c, requests.toString());
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, replies.toString());
      assertEquals(replies.toString(), written(c));

      // 40 more: the ring's head is at 10 of 16, so it wraps, then grows twice.
      requests.setLength(0);
      replies.setLength(0);
      for (int i = 10; i < 50; i++) {
        requests.append("get 0k").append(i).append('\n');
        replies.append('r').append(i).append('\n');
      }
      h.send(c, requests.toString());
      assertEquals(40, h.serverStat(0, ServerStat.OUT_QUEUE));
      h.reply(s0, replies.toString());
      assertEquals(replies.toString(), written(c));
      assertEquals(0, h.serverStat(0, ServerStat.OUT_QUEUE));
      written(s0);
    }
  }

  // ---------------------------------------------------------------- helpers

  /** One server, sending {@code lines} first on each connection; a timeout (0: none). */
  private static EngineHarness handshaking(int timeoutMillis, String... lines) {
    return EngineHarness.of(1, timeoutMillis, new LineProtocol(List.of(lines)));
  }

  /**
   * Two servers; one that fails {@code failureLimit} times in a row leaves the ring for
   * {@code retryMillis}.
   */
  private static EngineHarness ejecting(int failureLimit, int retryMillis) {
    return new EngineHarness(EngineHarness.poolConfig(2, 0).autoEjectHosts(true)
        .serverFailureLimit(failureLimit).serverRetryTimeout(retryMillis).build(),
        EngineHarness.defaults());
  }

  private static void assertRetireCountsNothing(EngineHarness h) {
    for (int s = 0; s < h.config.servers().size(); s++) {
      assertEquals(0, h.serverStat(s, ServerStat.SERVER_ERR), "server_err " + s);
      assertEquals(0, h.serverStat(s, ServerStat.SERVER_EOF), "server_eof " + s);
      assertEquals(0, h.serverStat(s, ServerStat.SERVER_TIMEDOUT), "server_timedout " + s);
    }
  }

  /** What {@code body} logs (slf4j-simple writes to the System.err of the moment). */
  private static String capturingStderr(Runnable body) {
    PrintStream saved = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    System.setErr(new PrintStream(out, true, UTF_8));
    try {
      body.run();
    } finally {
      System.setErr(saved);
    }
    return out.toString(UTF_8);
  }

  // ---------------------------------------------------------------- a long reply in progress

  /**
   * A server that is sending a long reply is answering: each piece that arrives restarts the
   * head's timeout, so a value that takes longer than {@code timeout} to stream (a busy machine, a
   * client reading at its own pace) is not cut off as a timed-out server.
   */
  @Test
  void aLongReplyThatKeepsArrivingDoesNotTimeOut() {
    try (EngineHarness h = EngineHarness.of(1, 100)) {
      EmbeddedChannel c = h.clientSending("get 0a\n"); // t=0, due at 100
      EmbeddedChannel s0 = h.backend(0);
      h.advance(60);
      h.reply(s0, "STREAM 8\nab"); // t=60
      h.advance(60);
      h.reply(s0, "cd"); // t=120: past the request's own deadline, but the reply is arriving
      h.advance(60);
      h.reply(s0, "ef"); // t=180
      h.advance(90);
      h.reply(s0, "gh"); // t=270
      assertEquals("STREAM 8\nabcdefgh", written(c));
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_TIMEDOUT));
      assertTrue(s0.isOpen() && c.isOpen());
      h.send(c, "get 0b\n");
      h.reply(s0, "v\n");
      assertEquals("v\n", written(c));
    }
  }

  /** A long reply that stops arriving for {@code timeout} is a timed-out server after all. */
  @Test
  void aLongReplyThatStopsArrivingTimesOutATimeoutAfterItsLastPiece() {
    try (EngineHarness h = EngineHarness.of(1, 100)) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      EmbeddedChannel other = h.clientSending("get 0b\n");
      h.advance(50);
      h.reply(s0, "STREAM 8\nab"); // t=50: the head is due at 150 now
      assertEquals("STREAM 8\nab", written(c));
      h.advance(99); // t=149
      assertTrue(s0.isOpen());
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_TIMEDOUT));
      h.advance(1); // t=150
      assertFalse(s0.isOpen(), "the server stopped sending: it timed out");
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_TIMEDOUT));
      assertFalse(c.isOpen(), "half a value cannot be followed by an error reply");
      assertEquals(TIMED_OUT, written(other), "the request behind gets the timeout");
    }
  }

  // ---------------------------------------------------------------- a server's push message

  @Test
  void aPushMessageIsNeverTakenAsTheReplyToARequest() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, "PUSH invalidate 0a\n");
      assertEquals("", written(c), "a push answers no request");
      assertTrue(s0.isOpen(), "nor is it a stray reply");
      h.reply(s0, "v\n");
      assertEquals("v\n", written(c));
      h.reply(s0, "PUSH with nothing in flight\n");
      assertTrue(s0.isOpen());
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_ERR));
      assertEquals(1, h.serverStat(0, ServerStat.RESPONSES));
    }
  }

  // ---------------------------------------------------------------- a server reporting trouble

  /**
   * A server that replies it is loading, busy or out of memory answers that one request: the reply
   * goes to it, the connection stays, and the other clients' requests on it get their own replies
   * (twemproxy closes the connection and fails them all). It still counts against the server.
   */
  @Test
  void troubleAnswersItsOwnRequestAndCountsAgainstTheServerOnly() {
    try (EngineHarness h = ejecting(2, 600_000)) {
      EmbeddedChannel c1 = h.clientSending("get 0a\n");
      EmbeddedChannel c2 = h.clientSending("get 0b\n");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, "TROUBLE loading\nvalue-b\n");
      assertEquals("TROUBLE loading\n", written(c1));
      assertEquals("value-b\n", written(c2), "the other client's reply is its own");
      assertTrue(s0.isOpen(), "every reply still matches its request: the connection stays");
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_ERR));
      assertEquals(0, h.poolStat(PoolStat.SERVER_EJECTS), "one failure of two");
      h.send(c1, "get 0c\n");
      h.send(c2, "get 0d\n");
      h.reply(s0, "TROUBLE loading\nTROUBLE loading\n");
      assertEquals("TROUBLE loading\n", written(c1));
      assertEquals("TROUBLE loading\n", written(c2));
      assertEquals(1, h.poolStat(PoolStat.SERVER_EJECTS), "two in a row eject the server");
      assertTrue(s0.isOpen());
    }
  }

  /** A script can return any error it likes: its trouble reply is its own and counts nothing. */
  @Test
  void aScriptsTroubleReplyIsItsOwnAndCountsNothing() {
    try (EngineHarness h = ejecting(1, 600_000)) {
      EmbeddedChannel c1 = h.clientSending("script 0a\n");
      EmbeddedChannel c2 = h.clientSending("get 0b\n");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, "TROUBLE made up\nvalue-b\n");
      assertEquals("TROUBLE made up\n", written(c1));
      assertEquals("value-b\n", written(c2));
      assertTrue(s0.isOpen());
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_ERR));
      assertEquals(0, h.poolStat(PoolStat.SERVER_EJECTS), "no client can eject a server");
    }
  }

  /** A trouble that is not the server's state (a busy server: some script) counts nothing. */
  @Test
  void troubleThatDoesNotCountAnswersItsRequestAndCountsNothing() {
    try (EngineHarness h = ejecting(1, 600_000)) {
      EmbeddedChannel c1 = h.clientSending("get 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, "TROUBLEX busy\n");
      assertEquals("TROUBLEX busy\n", written(c1));
      assertTrue(s0.isOpen());
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_ERR));
      assertEquals(0, h.poolStat(PoolStat.SERVER_EJECTS));
    }
  }

  /**
   * A script's trouble reply is neither a failure nor a success: a server that is loading its
   * data answers every request with trouble, and the scripts among them must not reset its count
   * of failures, or it would never be ejected.
   */
  @Test
  void aScriptsTroubleReplyIsNoSuccessEither() {
    try (EngineHarness h = ejecting(2, 600_000)) {
      EmbeddedChannel c1 = h.clientSending("get 0a\n");
      EmbeddedChannel c2 = h.clientSending("script 0b\n");
      EmbeddedChannel c3 = h.clientSending("get 0c\n");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, "TROUBLE loading\nTROUBLE loading\nTROUBLE loading\n");
      assertEquals("TROUBLE loading\n", written(c1));
      assertEquals("TROUBLE loading\n", written(c2));
      assertEquals("TROUBLE loading\n", written(c3));
      assertEquals(1, h.poolStat(PoolStat.SERVER_EJECTS), "the script did not reset the count");
    }
  }

  /**
   * The proxy's own AUTH or SELECT answered with trouble: the connection may be unauthenticated
   * or in the wrong database, so it fails, and the requests queued on it get the error.
   */
  @Test
  void troubleInTheHandshakeFailsTheConnection() {
    try (EngineHarness h = EngineHarness.of(1, 0, new LineProtocol(List.of("select 3")))) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      assertEquals("select 3\nget 0a\n", written(s0));
      h.reply(s0, "TROUBLEX busy\n");
      assertFalse(s0.isOpen(), "a connection in the wrong database serves no client");
      assertEquals(INVALID, written(c));
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_ERR));
    }
  }
}
