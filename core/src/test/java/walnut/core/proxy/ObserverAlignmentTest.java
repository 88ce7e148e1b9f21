package walnut.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.core.proxy.EngineHarness.written;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import walnut.core.proxy.ObserverEngineTest.Recorder;
import walnut.core.proxy.ObserverEngineTest.Seen;

/**
 * Review (attacker): the observation handed to the observer is always the one of the reply being
 * completed, whatever happens to the replies ahead of it.
 */
class ObserverAlignmentTest {

  private static String key(Seen s) {
    return s.key() == null ? null : new String(s.key(), StandardCharsets.US_ASCII);
  }

  /**
   * Lets a close happen after the current task, as on a real (NIO, epoll) channel, where
   * {@code ctx.close()} fires {@code channelInactive} through {@code invokeLater}: an
   * EmbeddedChannel's unsafe runs its pending tasks inside close, which a real one does not.
   */
  static final class CloseLater extends ChannelOutboundHandlerAdapter {
    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
      ctx.executor().execute(() -> ctx.close(promise));
    }
  }

  private static EmbeddedChannel clientClosingLater(EngineHarness h) {
    EmbeddedChannel c = EmbeddedChannel.builder().ticker(h.ticker).handlers(new CloseLater(),
        h.pool.protocol().newRequestDecoder(h.config), new ClientSession(h.handle)).build();
    h.clients.add(c);
    return c;
  }

  /**
   * A long reply streams to the client, then its server fails with a second request of the same
   * client behind it on that connection. The failure answers both in one go: the first, broken
   * mid-stream, closes the client (ReplyQueue.closeForFault) without polling its observation;
   * the session's channelInactive (ReplyQueue.close, open = false) comes only after the current
   * task, so the second error still drains, and takes the first's observation: the observer
   * hears "get 0a" timed and sized as 0b's error reply, and 0b is never heard.
   */
  @Test
  void aReplyBrokenMidStreamDoesNotHandItsObservationToTheReplyBehindIt() {
    Recorder r = new Recorder(true);
    try (EngineHarness h = EngineHarness.of(3, EngineHarness.defaults().withObserver(r))) {
      EmbeddedChannel c = clientClosingLater(h);
      h.send(c, "get 0a\nget 0b\n");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, EngineHarness.LONG_REPLY_HEAD);
      assertEquals(EngineHarness.LONG_REPLY_HEAD, written(c));
      s0.close(); // the server goes away mid-reply: both requests are answered its error at once
      h.run();
      written(c);
      assertTrue(!c.isOpen(), "the client with half a reply is closed");
      for (Seen s : r.seen) {
        if ("0a".equals(key(s))) {
          assertEquals(EngineHarness.LONG_REPLY_HEAD.length(), s.replyBytes(),
              "0a's observation carries 0a's bytes only, not 0b's error reply too: " + r.seen);
        }
      }
      List<String> keys = r.seen.stream().map(ObserverAlignmentTest::key).toList();
      assertTrue(keys.isEmpty() || keys.equals(List.of("0a")) || keys.equals(List.of("0a", "0b")),
          "each reply heard as itself, in order: " + keys);
    }
  }

  /**
   * Held: quiet and noreply requests, a split answered in part, a refused transaction request,
   * a streamed reply, local replies and a reload, interleaved: each observation is its own.
   */
  @Test
  void interleavedKindsEachHearTheirOwnObservation() {
    Recorder r = new Recorder(true);
    try (EngineHarness h = new EngineHarness(EngineHarness.poolConfig(3, 0)
        .mgetPartialErrors(true).build(), EngineHarness.defaults().withObserver(r))) {
      EmbeddedChannel c = h.clientSending(
          "noreply 1n x\nquiet 1q\nping\nmget 0m1 2m2\nget 2g\nnoreply 2n y\nget 0s\n");
      h.reply(h.backend(1), "MISS\n");
      h.reply(h.backend(2), "M2\nG\n");
      h.backend(0).close(); // mget's fragment on 0 fails (partial), and get 0s
      h.run();
      h.reload();
      h.send(c, "get 1z\nping\nquiet 2w\n");
      h.reply(h.backendsTo(2).get(h.backendsTo(2).size() - 1), "W\n");
      h.reply(h.backendsTo(1).get(h.backendsTo(1).size() - 1), "Z\n");
      written(c);
      List<String> keys = r.seen.stream().map(ObserverAlignmentTest::key).toList();
      assertEquals(java.util.Arrays.asList("1q", null, "2g", "0s", "1z", "2w"), keys);
      assertEquals("mget", r.seen.get(1).command());
    }
  }
}
