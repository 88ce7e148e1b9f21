package walnut.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.core.proxy.EngineHarness.written;
import static walnut.core.proxy.LineProtocol.err;

import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;
import walnut.core.stats.PinStat;

/**
 * The rules of listening connections ({@link Subscriptions}) on {@link EngineHarness}: one per
 * server per subscriber, answers completing a subscription only once every server answered,
 * messages behind the replies a client is owed, a connection no longer needed closed, and a
 * failed one closing its client. {@link LineProtocol}'s {@code sub}/{@code unsub} stand for
 * Redis's SUBSCRIBE/UNSUBSCRIBE.
 */
class SubscriptionsEngineTest {

  @Test
  void aSubscriptionIsConfirmedOnceEveryServerAnsweredAndMessagesFollow() {
    try (EngineHarness h = EngineHarness.of(3, 100)) {
      EmbeddedChannel c = h.clientSending("sub 0a 1b 0c\n");
      EmbeddedChannel s0 = h.backend(0);
      EmbeddedChannel s1 = h.backend(1);
      assertEquals("sub 0a 0c\n", written(s0));
      assertEquals("sub 1b\n", written(s1));
      assertEquals(1, h.pinStat(0, PinStat.PINNED_CONNECTIONS));
      assertEquals(1, h.pinStat(1, PinStat.PINNED_CONNECTIONS));

      h.reply(s1, "ack 1b\n");
      h.reply(s0, "ack 0a\n");
      assertEquals("", written(c), "server 0 owes one more answer");
      h.reply(s0, "ack 0c\n");
      assertEquals("SUBSCRIBED\n", written(c));

      h.reply(s1, "message 1b hello\n");
      h.reply(s0, "message 0a world\n");
      assertEquals("message 1b hello\nmessage 0a world\n", written(c));
      h.advance(1000);
      assertTrue(s0.isOpen() && s1.isOpen(), "the pool's timeout does not apply to listening");
      assertTrue(c.isOpen());
    }
  }

  @Test
  void aMessageWaitsBehindTheRepliesTheClientIsOwed() {
    try (EngineHarness h = EngineHarness.of(2, 0)) {
      EmbeddedChannel c = h.clientSending("sub 0a\n");
      EmbeddedChannel listening = h.backend(0);
      written(listening);
      h.reply(listening, "ack\n");
      assertEquals("SUBSCRIBED\n", written(c));

      h.send(c, "get 1x\n");
      h.reply(listening, "message 0a first\n");
      assertEquals("", written(c), "GET's reply is owed first");
      EmbeddedChannel shared = h.backend(1);
      assertEquals("get 1x\n", written(shared));
      h.reply(shared, "x\n");
      assertEquals("x\nmessage 0a first\n", written(c));
    }
  }

  @Test
  void theLastUnsubscribeThereClosesThatServersListeningConnection() {
    try (EngineHarness h = EngineHarness.of(2, 0)) {
      EmbeddedChannel c = h.clientSending("sub 0a 1b\n");
      EmbeddedChannel s0 = h.backend(0);
      EmbeddedChannel s1 = h.backend(1);
      h.reply(s0, "ack\n");
      h.reply(s1, "ack\n");
      assertEquals("SUBSCRIBED\n", written(c));

      h.send(c, "unsub 0a\n");
      assertEquals("sub 0a\nunsub 0a\n", written(s0));
      assertTrue(s0.isOpen(), "open until answered");
      h.reply(s0, "ack\n");
      assertEquals("UNSUBSCRIBED\n", written(c));
      assertFalse(s0.isOpen(), "no longer needed: a subscribed connection is never reused");
      assertTrue(s1.isOpen());
      assertEquals(0, h.pinStat(0, PinStat.PINNED_CONNECTIONS));
      assertEquals(1, h.pinStat(1, PinStat.PINNED_CONNECTIONS));
      assertEquals(0, h.serverStat(0, walnut.core.stats.ServerStat.SERVER_ERR));
    }
  }

  @Test
  void aFailedListeningConnectionClosesItsClientOnly() {
    try (EngineHarness h = EngineHarness.of(2, 0)) {
      EmbeddedChannel c = h.clientSending("sub 0a 1b\n");
      EmbeddedChannel s0 = h.backend(0);
      EmbeddedChannel s1 = h.backend(1);
      h.reply(s0, "ack\n");
      h.reply(s1, "ack\n");
      written(c);
      EmbeddedChannel other = h.clientSending("get 0z\n");
      s0.close();
      h.run();
      assertFalse(c.isOpen(), "its client cannot be told which subscriptions hold");
      assertFalse(s1.isOpen(), "and its other listening connection goes with it");
      assertEquals(0, h.pinStat(0, PinStat.PINNED_CONNECTIONS));
      assertEquals(0, h.pinStat(1, PinStat.PINNED_CONNECTIONS));
      assertTrue(other.isOpen());
    }
  }

  @Test
  void aClientThatCannotGetAListeningConnectionIsRefusedAndClosed() {
    EngineHarness h = new EngineHarness(
        EngineHarness.poolConfig(1, 0).maxPinnedConnections(1).build(),
        EngineHarness.defaults());
    try (h) {
      EmbeddedChannel first = h.clientSending("sub 0a\n");
      h.reply(h.backend(0), "ack\n");
      assertEquals("SUBSCRIBED\n", written(first));

      EmbeddedChannel second = h.clientSending("sub 0b\n");
      assertEquals(err("no private connection to server '127.0.0.1:7000' is free"
          + " (max_pinned_connections 1)"), written(second));
      assertFalse(second.isOpen());
      assertEquals(1, h.pinStat(0, PinStat.PINNED_REFUSED));
      assertTrue(first.isOpen());
    }
  }

  @Test
  void aSubscriptionThatCannotConnectGetsItsErrorThenTheClose() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      h.connectFailure = EngineHarness.connectionRefused();
      EmbeddedChannel c = h.clientSending("sub 0a\n");
      assertEquals(err("Connection refused"), written(c), "the error first");
      assertFalse(c.isOpen(), "then the close: it could not be told what holds");
      assertEquals(0, h.pinStat(0, PinStat.PINNED_CONNECTIONS));
    }
  }

  @Test
  void aClientLeavingClosesItsListeningConnections() {
    try (EngineHarness h = EngineHarness.of(2, 0)) {
      EmbeddedChannel c = h.clientSending("sub 0a 1b\n");
      EmbeddedChannel s0 = h.backend(0);
      EmbeddedChannel s1 = h.backend(1);
      c.close();
      h.run();
      assertFalse(s0.isOpen());
      assertFalse(s1.isOpen());
      assertEquals(0, h.pinStat(0, PinStat.PINNED_CONNECTIONS));
      assertEquals(0, h.pinStat(1, PinStat.PINNED_CONNECTIONS));
    }
  }
}
