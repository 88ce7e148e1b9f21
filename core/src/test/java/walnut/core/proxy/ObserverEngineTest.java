package walnut.core.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.core.proxy.EngineHarness.written;

import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What a {@link RequestObserver} hears ({@code --command-metrics}, {@code --slowlog-threshold}),
 * on {@link EngineHarness}: one call per forwarded request when its reply is ready, in the
 * client's order, with the pool, the server (a split's servers), the command, the key cut to 64
 * bytes and one, the time from arrival to reply, and the bytes both ways, a streamed reply's in
 * full; nothing for the proxy's own replies; no keys when they are not wanted.
 */
class ObserverEngineTest {

  /** One call of {@link RequestObserver#completed}. */
  record Seen(String pool, String server, String command, byte[] key, long nanos,
      int requestBytes, long replyBytes, boolean waits) {}

  /** Keeps every call. */
  static final class Recorder implements RequestObserver {
    final List<Seen> seen = new ArrayList<>();
    final boolean keys;

    Recorder(boolean keys) {
      this.keys = keys;
    }

    @Override
    public boolean wantsKeys() {
      return keys;
    }

    @Override
    public void completed(String pool, String server, String command, byte[] key, long nanos,
        int requestBytes, long replyBytes, boolean waits) {
      seen.add(new Seen(pool, server, command, key, nanos, requestBytes, replyBytes, waits));
    }
  }

  private static EngineHarness harness(Recorder recorder) {
    return EngineHarness.of(3, EngineHarness.defaults().withObserver(recorder));
  }

  @Test
  void aRoutedRequestIsHeardOnceItsReplyIsReadyWithItsServerCommandKeyTimeAndSizes() {
    Recorder r = new Recorder(true);
    try (EngineHarness h = harness(r)) {
      EmbeddedChannel c = h.clientSending("get 1abc\n");
      assertTrue(r.seen.isEmpty(), "not before the reply");
      h.advance(75);
      h.reply(h.backend(1), "VALUE\n");
      assertEquals("VALUE\n", written(c));
      assertEquals(1, r.seen.size());
      Seen s = r.seen.get(0);
      assertEquals("p", s.pool());
      assertEquals("127.0.0.2:7001", s.server());
      assertEquals("get", s.command());
      assertArrayEquals("1abc".getBytes(StandardCharsets.US_ASCII), s.key());
      assertEquals(75_000_000L, s.nanos(), "the harness's clock moved 75 ms, nothing else");
      assertEquals(9, s.requestBytes());
      assertEquals(6, s.replyBytes());
    }
  }

  @Test
  void localRepliesAreNotHeardAndRepliesAreHeardInTheClientsOrder() {
    Recorder r = new Recorder(true);
    try (EngineHarness h = harness(r)) {
      EmbeddedChannel c = h.clientSending("get 2b\nping\nget 1a\n");
      h.reply(h.backend(1), "A\n"); // answered first, but the client's second forwarded request
      assertTrue(r.seen.isEmpty(), "its turn has not come");
      h.reply(h.backend(2), "B\n");
      assertEquals("B\nPONG\nA\n", written(c));
      assertEquals(List.of("127.0.0.3:7002", "127.0.0.2:7001"),
          r.seen.stream().map(Seen::server).toList(), "ping was answered by the proxy: unheard");

      h.send(c, "keyless x\n");
      h.reply(h.backends.get(h.backends.size() - 1), "K\n");
      assertEquals("K\n", written(c));
      assertEquals(3, r.seen.size());
      assertNull(r.seen.get(2).key(), "a keyless request has no key");
      assertNull(r.seen.get(2).command(), "a command the protocol does not name");
    }
  }

  @Test
  void aLongKeyIsCutToSixtyFourBytesAndOneAndKeysAreNotCopiedUnlessWanted() {
    String key = "1" + "k".repeat(199);
    Recorder wanting = new Recorder(true);
    try (EngineHarness h = harness(wanting)) {
      EmbeddedChannel c = h.clientSending("get " + key + "\n");
      h.reply(h.backend(1), "V\n");
      written(c);
      assertEquals(RequestObserver.KEY_BYTES + 1, wanting.seen.get(0).key().length);
    }
    Recorder notWanting = new Recorder(false);
    try (EngineHarness h = harness(notWanting)) {
      EmbeddedChannel c = h.clientSending("get " + key + "\n");
      h.reply(h.backend(1), "V\n");
      written(c);
      assertNull(notWanting.seen.get(0).key());
    }
  }

  @Test
  void aSplitRequestNamesEveryServerItWentToAndAStreamedReplyCountsWhole() {
    Recorder r = new Recorder(true);
    try (EngineHarness h = harness(r)) {
      EmbeddedChannel c = h.clientSending("mget 2a 0b 2c\n");
      h.reply(h.backend(2), "x z\n");
      h.reply(h.backend(0), "y\n");
      assertEquals("x y z\n", written(c));
      Seen split = r.seen.get(0);
      assertEquals("mget", split.command());
      assertEquals("127.0.0.3:7002,127.0.0.1:7000", split.server());
      assertNull(split.key(), "a split request's keys are many");

      h.send(c, "get 0x\n");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, "STREAM 10\nabc");
      h.reply(s0, "defghij");
      assertEquals("STREAM 10\nabcdefghij", written(c));
      assertEquals(2, r.seen.size());
      assertEquals(20, r.seen.get(1).replyBytes(), "every piece of the streamed reply");
    }
  }

  @Test
  void aTransactionsAndABlockingCommandsRepliesAreHeardTooAndTheBlockOneWaits() {
    Recorder r = new Recorder(true);
    try (EngineHarness h = harness(r)) {
      EmbeddedChannel c = h.clientSending("get 0a\nmulti\nt.get 1b\n");
      EmbeddedChannel pinned = h.backend(1);
      h.reply(pinned, "OK\nQUEUED\n");
      h.send(c, "exec\nget 2c\n");
      h.reply(pinned, "RESULTS\n");
      h.reply(h.backend(2), "C\n");
      assertTrue(r.seen.isEmpty(), "the first GET is not answered yet");
      h.reply(h.backend(0), "A\n");
      assertEquals("A\nOK\nQUEUED\nRESULTS\nC\n", written(c));
      assertEquals(List.of("127.0.0.1:7000", "127.0.0.2:7001", "127.0.0.2:7001",
          "127.0.0.3:7002"), r.seen.stream().map(Seen::server).toList(),
          "what the pool's histogram times, in order: MULTI's OK is the proxy's own");
      assertArrayEquals("2c".getBytes(StandardCharsets.US_ASCII), r.seen.get(3).key());
      assertTrue(r.seen.stream().noneMatch(Seen::waits));

      int before = h.backends.size();
      h.send(c, "bpop 1d forever\n");
      EmbeddedChannel block = h.backends.size() > before ? h.backends.get(before) : pinned;
      assertTrue(written(block).endsWith("bpop 1d forever\n"));
      h.advance(5_000);
      h.reply(block, "POPPED\n");
      assertEquals("POPPED\n", written(c));
      Seen popped = r.seen.get(4);
      assertTrue(popped.waits(), "a blocking command waits as long as its client asked");
      assertEquals(5_000_000_000L, popped.nanos());
    }
  }

  @Test
  void aRequestNoServerTakesIsHeardWithTheServerDash() {
    Recorder r = new Recorder(true);
    try (EngineHarness h = new EngineHarness(EngineHarness.poolConfig(3, 0).autoEjectHosts(true)
        .serverFailureLimit(1).build(), EngineHarness.defaults().withObserver(r))) {
      for (int i = 0; i < 3; i++) {
        h.pool.router().recordFailure(i, "down");
      }
      EmbeddedChannel c = h.clientSending("get 0a\n");
      written(c);
      assertEquals(1, r.seen.size());
      assertEquals("-", r.seen.get(0).server());
      assertEquals("get", r.seen.get(0).command());
    }
  }

  @Test
  void anObserverThatThrowsNeverMakesTheNextReplyAnswerThisRequest() {
    RequestObserver throwing = new RequestObserver() {
      @Override
      public boolean wantsKeys() {
        return false;
      }

      @Override
      public void completed(String pool, String server, String command, byte[] key, long nanos,
          int requestBytes, long replyBytes, boolean waits) {
        throw new IllegalStateException("observer bug");
      }
    };
    try (EngineHarness h = EngineHarness.of(3, EngineHarness.defaults().withObserver(throwing))) {
      EmbeddedChannel c = h.clientSending("get 1a\nget 1b\n");
      h.reply(h.backend(1), "A\nB\n");
      assertEquals("A\nB\n", written(c), "each reply to its own request");
      assertTrue(c.isOpen());
    }
  }

  /**
   * The status page's events come from each pool's current router: a generation a reload
   * superseded (still used by clients in a transaction, or with requests in flight) tells nothing
   * more, or an ejection would be told twice.
   */
  @Test
  void aSupersededGenerationsRouterNoLongerTellsOfEjections() {
    try (EngineHarness h = new EngineHarness(EngineHarness.poolConfig(2, 0).autoEjectHosts(true)
        .serverFailureLimit(1).build(), EngineHarness.defaults())) {
      List<Integer> ejected = new ArrayList<>();
      Pool old = h.pool;
      old.router().watch(new walnut.core.routing.PoolRouter.Watcher() {
        @Override
        public void ejected(int index, String reason) {
          ejected.add(index);
        }

        @Override
        public void returned(int index, String how) {}
      });
      old.router().recordFailure(0, "down");
      assertEquals(List.of(0), ejected);
      h.reload();
      old.router().recordFailure(1, "down");
      assertEquals(List.of(0), ejected, "told by the current generation only");
    }
  }
}
