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
 * The rules of private server connections ({@link Pins}) on {@link EngineHarness}: a transaction
 * on a connection of its own to the server of its first key, keyless requests held until then, a
 * refused request breaking it, the per-server budget, a blocking request's own deadline and its
 * hold on the client's later requests, and every connection given back exactly once.
 * {@link LineProtocol}'s transaction commands stand for Redis's.
 */
class PinsEngineTest {

  @Test
  void aTransactionRunsOnAPrivateConnectionAndIsGivenBackCleanForTheNext() {
    try (EngineHarness h = EngineHarness.of(3, 0)) {
      EmbeddedChannel c = h.clientSending("multi\nt.ping\n");
      assertEquals("OK\nQUEUED\n", written(c), "answered here until a key chooses the server");
      assertTrue(h.backends.isEmpty(), "no server chosen yet");

      h.send(c, "t.get 1a\n");
      EmbeddedChannel pinned = h.backend(1);
      assertEquals("multi\nt.ping\nt.get 1a\n", written(pinned), "the held ones go first");
      assertEquals(1, h.pinStat(1, PinStat.PINNED_CONNECTIONS));
      h.reply(pinned, "OK\nQUEUED\nQUEUED\n");
      assertEquals("QUEUED\n", written(c), "the held ones' replies are dropped");

      h.send(c, "exec\n");
      assertEquals("exec\n", written(pinned));
      assertEquals(1, h.pinStat(1, PinStat.PINNED_CONNECTIONS), "held until answered");
      h.reply(pinned, "RESULTS\n");
      assertEquals("RESULTS\n", written(c));
      assertEquals(0, h.pinStat(1, PinStat.PINNED_CONNECTIONS));
      assertTrue(pinned.isOpen(), "a clean one is kept for the next client");

      EmbeddedChannel other = h.clientSending("multi\nt.get 1b\n");
      assertEquals(1, h.backends.size(), "the kept connection is reused");
      assertEquals("multi\nt.get 1b\n", written(pinned));
      assertEquals("OK\n", written(other));
      assertEquals(2, h.pinStat(1, PinStat.PINNED_TAKEN));
    }
  }

  @Test
  void aKeyOnAnotherServerBreaksTheTransactionAndNothingOfItRuns() {
    try (EngineHarness h = EngineHarness.of(3, 0)) {
      EmbeddedChannel c = h.clientSending("multi\nt.get 1a\n");
      EmbeddedChannel pinned = h.backend(1);
      h.reply(pinned, "OK\nQUEUED\n");
      assertEquals("OK\nQUEUED\n", written(c));
      written(pinned);

      h.send(c, "t.get 2b\nt.get 1c\nexec\n");
      String out = written(c);
      assertTrue(out.startsWith("ERR its key is on server '127.0.0.3:7002', the transaction's on"
          + " '127.0.0.2:7001'"), out);
      assertTrue(out.endsWith("\nQUEUED\nEXECABORT\n"), out);
      assertFalse(pinned.isOpen(), "closed, so that what the server queued never runs");
      assertEquals("", written(pinned), "nothing after the refusal reached the server");
      assertEquals(0, h.pinStat(1, PinStat.PINNED_CONNECTIONS));
      assertEquals(0, h.serverStat(1, walnut.core.stats.ServerStat.SERVER_ERR),
          "the proxy's close is no server failure");

      h.send(c, "multi\nt.get 2d\n");
      assertEquals("OK\n", written(c), "after EXEC, a new transaction starts afresh");
      assertEquals("multi\nt.get 2d\n", written(h.backend(2)));
    }
  }

  @Test
  void aRefusedRequestBreaksTheTransactionAndDiscardEndsIt() {
    try (EngineHarness h = EngineHarness.of(2, 0)) {
      EmbeddedChannel c = h.clientSending("multi\nt.refused\nt.get 0a\ndiscard\n");
      assertEquals("OK\nERR refused\nQUEUED\nOK\n", written(c));
      assertTrue(h.backends.isEmpty(), "a broken transaction reaches no server");

      h.send(c, "multi\nexec\n");
      assertEquals("OK\n", written(c));
      EmbeddedChannel keyless = h.backend(h.pool.router().serverForKeyless());
      assertEquals("multi\nexec\n", written(keyless), "EXEC runs what waited, keyless");
      h.reply(keyless, "OK\nNOTHING\n");
      assertEquals("NOTHING\n", written(c));
    }
  }

  @Test
  void whenTheBudgetIsSpentTheRequestIsRefusedAndSharedTrafficGoesOn() {
    EngineHarness h = new EngineHarness(
        EngineHarness.poolConfig(1, 0).maxPinnedConnections(1).build(),
        EngineHarness.defaults());
    try (h) {
      EmbeddedChannel blocked = h.clientSending("bpop 0k forever\n");
      EmbeddedChannel pinned = h.backend(0);
      assertEquals("bpop 0k forever\n", written(pinned));

      EmbeddedChannel refused = h.clientSending("bpop 0x forever\nget 0z\n");
      assertEquals(err("no private connection to server '127.0.0.1:7000' is free"
          + " (max_pinned_connections 1)"), written(refused));
      assertEquals(1, h.pinStat(0, PinStat.PINNED_REFUSED));
      EmbeddedChannel shared = h.backendsTo(0).get(1);
      assertEquals("get 0z\n", written(shared), "the refused client's next request goes on");
      h.reply(shared, "z\n");
      assertEquals("z\n", written(refused));

      h.reply(pinned, "popped\n");
      assertEquals("popped\n", written(blocked));
      assertEquals(0, h.pinStat(0, PinStat.PINNED_CONNECTIONS));
    }
  }

  @Test
  void aBlockingRequestWaitsItsOwnTimeoutPlusThePoolsAndHoldsTheClientsLaterRequests() {
    try (EngineHarness h = EngineHarness.of(2, 100)) {
      EmbeddedChannel c = h.clientSending("bpop 0k 1000\nget 1a\n");
      EmbeddedChannel pinned = h.backend(0);
      assertEquals("bpop 0k 1000\n", written(pinned));
      assertTrue(h.backendsTo(1).isEmpty(), "the request after it waits, as on a server");

      EmbeddedChannel other = h.clientSending("get 0b\n");
      EmbeddedChannel shared = h.backendsTo(0).get(1);
      assertEquals("get 0b\n", written(shared), "another client is not held");
      h.reply(shared, "b\n");
      assertEquals("b\n", written(other));

      h.advance(1050);
      assertTrue(pinned.isOpen(), "the pool's timeout (100 ms) does not cut the block short");
      assertEquals("", written(c));
      h.advance(100);
      assertFalse(pinned.isOpen(), "its own 1000 ms plus the pool's 100 ms");
      assertEquals(err(ErrorText.TIMED_OUT), written(c));
      assertEquals(0, h.pinStat(0, PinStat.PINNED_CONNECTIONS));
      assertEquals("get 1a\n", written(h.backend(1)), "the held request goes now");
    }
  }

  @Test
  void pipelinedTransactionsToOneServerShareOneConnection() {
    EngineHarness h = new EngineHarness(
        EngineHarness.poolConfig(1, 0).maxPinnedConnections(1).build(),
        EngineHarness.defaults());
    try (h) {
      EmbeddedChannel c = h.clientSending(
          "multi\nt.get 0a\nexec\nmulti\nt.get 0b\nexec\nmulti\nt.get 0c\nexec\n");
      EmbeddedChannel pinned = h.backend(0);
      assertEquals("multi\nt.get 0a\nexec\nmulti\nt.get 0b\nexec\nmulti\nt.get 0c\nexec\n",
          written(pinned), "one connection, within a budget of one");
      h.reply(pinned, "OK\nQUEUED\nA\nOK\nQUEUED\nB\nOK\nQUEUED\nC\n");
      assertEquals("OK\nQUEUED\nA\nOK\nQUEUED\nB\nOK\nQUEUED\nC\n", written(c));
      assertEquals(1, h.pinStat(0, PinStat.PINNED_TAKEN));
      assertEquals(0, h.pinStat(0, PinStat.PINNED_REFUSED));
      assertEquals(0, h.pinStat(0, PinStat.PINNED_CONNECTIONS));
      assertTrue(pinned.isOpen(), "given back clean once the last EXEC is answered");
    }
  }

  @Test
  void aClientPilingRequestsBehindABlockPastItsLimitsIsClosed() {
    try (EngineHarness h = EngineHarness.of(2, EngineHarness.options(4, 1 << 20))) {
      EmbeddedChannel c = h.clientSending("bpop 0k forever\nget 1a\nget 1b\nget 1c\n");
      EmbeddedChannel pinned = h.backend(0);
      assertTrue(c.isOpen(), "within its limits, read and waiting");
      h.send(c, "get 1d\nget 1e\n");
      assertFalse(c.isOpen(), "past them: closed, not left unread with its block held");
      assertFalse(pinned.isOpen());
      assertEquals(0, h.pinStat(0, PinStat.PINNED_CONNECTIONS));
    }
  }

  @Test
  void aBlockLongerThanTheClockCanCountHasNoDeadline() {
    try (EngineHarness h = EngineHarness.of(1, 100)) {
      EmbeddedChannel c = h.clientSending("bpop 0k " + Long.MAX_VALUE / 2 + "\n");
      EmbeddedChannel pinned = h.backend(0);
      h.advance(10_000);
      assertTrue(pinned.isOpen(), "no deadline wrapped round to the past");
      assertEquals("", written(c));
    }
  }

  @Test
  void aClientLeavingMidTransactionOrMidBlockClosesItsPrivateConnections() {
    try (EngineHarness h = EngineHarness.of(2, 0)) {
      EmbeddedChannel tx = h.clientSending("watch 0w\nmulti\nt.get 0a\n");
      EmbeddedChannel inTx = h.backend(0);
      EmbeddedChannel blocked = h.clientSending("bpop 1k forever\n");
      EmbeddedChannel inBlock = h.backend(1);
      assertEquals(1, h.pinStat(0, PinStat.PINNED_CONNECTIONS));
      assertEquals(1, h.pinStat(1, PinStat.PINNED_CONNECTIONS));

      tx.close();
      blocked.close();
      h.run();
      assertFalse(inTx.isOpen(), "its server state (WATCH, MULTI) is unknown: not reused");
      assertFalse(inBlock.isOpen(), "a late reply would find nobody");
      assertEquals(0, h.pinStat(0, PinStat.PINNED_CONNECTIONS));
      assertEquals(0, h.pinStat(1, PinStat.PINNED_CONNECTIONS));
    }
  }

  @Test
  void aBreakAnswersWhatWasAlreadySentBeforeClosingTheConnection() {
    try (EngineHarness h = EngineHarness.of(3, 0)) {
      EmbeddedChannel c = h.clientSending("multi\nt.get 1a\nt.get 2b\nt.get 1c\nexec\n");
      EmbeddedChannel pinned = h.backend(1);
      assertEquals("multi\nt.get 1a\n", written(pinned), "nothing after the refusal is sent");
      assertTrue(pinned.isOpen(), "open until what was sent is answered");
      assertEquals("OK\n", written(c));

      h.reply(pinned, "OK\nQUEUED\n");
      String out = written(c);
      assertTrue(out.startsWith("QUEUED\nERR its key is on server"), out);
      assertTrue(out.endsWith("\nQUEUED\nEXECABORT\n"), out);
      assertFalse(pinned.isOpen(), "then closed: the server never runs the transaction");
      assertEquals(0, h.pinStat(1, PinStat.PINNED_CONNECTIONS));
    }
  }

  @Test
  void aClientBehindABlockIsStillReadSoThatItsLeavingIsSeen() {
    try (EngineHarness h = EngineHarness.of(2, 0)) {
      EmbeddedChannel c = h.clientSending("bpop 0k forever\nget 1a\n");
      EmbeddedChannel pinned = h.backend(0);
      assertTrue(c.config().isAutoRead(), "its requests wait, its socket is still read");
      assertTrue(h.backendsTo(1).isEmpty());

      c.pipeline().fireUserEventTriggered(
          io.netty.channel.socket.ChannelInputShutdownEvent.INSTANCE);
      h.run();
      assertFalse(pinned.isOpen(), "a client that closed gives its block up, as Redis drops it");
      assertEquals(0, h.pinStat(0, PinStat.PINNED_CONNECTIONS));
      assertEquals(err(ErrorText.UNKNOWN), written(c).substring(0, err(ErrorText.UNKNOWN).length()));
      assertEquals("get 1a\n", written(h.backend(1)), "what it sent before closing still runs");
    }
  }

  @Test
  void aFailedPrivateConnectionBreaksTheTransaction() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      EmbeddedChannel c = h.clientSending("multi\nt.get 0a\n");
      EmbeddedChannel pinned = h.backend(0);
      pinned.close();
      h.run();
      assertEquals("OK\n" + err(ErrorText.UNKNOWN), written(c));
      h.send(c, "t.get 0b\nexec\n");
      assertEquals("QUEUED\nEXECABORT\n", written(c));
      assertEquals(0, h.pinStat(0, PinStat.PINNED_CONNECTIONS));
    }
  }
}
