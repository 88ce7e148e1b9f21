package walnut.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.redis.RequestHarness.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import walnut.core.spi.Conversation;
import walnut.core.spi.Request;
import walnut.testing.TrackingAllocator;

/**
 * What the request decoder makes of transactions, blocking commands and subscriptions: which
 * {@link Conversation.Step} each request takes, what is refused inside MULTI (which discards the
 * transaction), a blocking command's own timeout, Walnut's own subscription confirmations with
 * the client's total count, and RESP2's subscribed mode.
 */
class ConversationDecodingTest {

  private final TrackingAllocator alloc = new TrackingAllocator();
  private final EmbeddedChannel ch = new EmbeddedChannel(new RedisRequestDecoder((String) null));

  ConversationDecodingTest() {
    ch.config().setAllocator(alloc);
  }

  /** Each request as "KIND[/STEP][ block=ms] frame-or-reply". */
  private List<String> send(String... commands) {
    StringBuilder text = new StringBuilder();
    for (String c : commands) {
      text.append(c);
    }
    ch.writeInbound(alloc.copyOf(text.toString().getBytes(StandardCharsets.ISO_8859_1)));
    List<String> out = new ArrayList<>();
    for (Request r; (r = ch.readInbound()) != null; ) {
      try {
        String head = r.kind() + (r.step() == null ? "" : "/" + r.step())
            + (r.blockMillis() == 0 ? "" : " block=" + r.blockMillis());
        out.add(head + " " + r.frame().toString(StandardCharsets.ISO_8859_1)
            .replace("\r\n", " ").trim());
      } finally {
        r.release();
      }
    }
    return out;
  }

  @Test
  void aTransactionsRequestsTakeTheirStepsAndWhatCannotBeQueuedIsRefused() {
    List<String> out = send(resp("MULTI"), resp("GET", "k"), resp("PING"), resp("MULTI"),
        resp("WATCH", "x"), resp("SELECT", "0"), resp("NOSUCH"), resp("MGET", "a", "b"),
        resp("BLPOP", "q", "1"), resp("EVAL", "return 1", "1", "k"), resp("INFO"),
        resp("SCAN", "0"), resp("EXEC"), resp("EXEC"), resp("UNWATCH"));
    assertEquals(List.of(
        "PINNED/USE *1 $5 MULTI",
        "PINNED/USE *2 $3 GET $1 k",
        "PINNED/USE *1 $4 PING",
        "LOCAL -ERR MULTI calls can not be nested",
        "LOCAL -ERR WATCH inside MULTI is not allowed",
        "PINNED/REFUSED -ERR SELECT cannot be queued in a transaction through the proxy",
        "PINNED/REFUSED -ERR unknown command 'NOSUCH', with args beginning with:",
        "PINNED/USE *3 $4 MGET $1 a $1 b",
        "PINNED/USE *3 $5 BLPOP $1 q $1 1",
        "PINNED/USE *4 $4 EVAL $8 return 1 $1 1 $1 k",
        "PINNED/REFUSED -ERR INFO cannot be queued in a transaction through the proxy",
        "PINNED/REFUSED -ERR SCAN cannot be queued in a transaction through the proxy",
        "PINNED/CLOSE *1 $4 EXEC",
        "LOCAL -ERR EXEC without MULTI",
        "LOCAL +OK"), out);
    ch.finishAndReleaseAll();
    alloc.assertAllReleased();
  }

  @Test
  void watchOpensUnwatchDropsAndDiscardDrops() {
    assertEquals(List.of("PINNED/OPEN *3 $5 WATCH $1 a $1 b", "ROUTED *2 $3 GET $1 a",
        "PINNED/DROP *1 $7 UNWATCH", "PINNED/USE *1 $5 MULTI", "PINNED/DROP *1 $7 DISCARD",
        "LOCAL -ERR DISCARD without MULTI"),
        send(resp("WATCH", "a", "b"), resp("GET", "a"), resp("UNWATCH"), resp("MULTI"),
            resp("DISCARD"), resp("DISCARD")));
    ch.finishAndReleaseAll();
    alloc.assertAllReleased();
  }

  @Test
  void blockingCommandsCarryTheirOwnTimeout() {
    assertEquals(List.of(
        "PINNED/ALONE block=2500 *3 $5 BLPOP $1 q $3 2.5",
        "PINNED/ALONE block=-1 *4 $5 BRPOP $1 a $1 b $1 0",
        "PINNED/ALONE block=3000 *6 $6 BLMOVE $1 s $1 d $4 LEFT $5 RIGHT $1 3",
        "PINNED/ALONE block=1000 *5 $6 BLMPOP $1 1 $1 1 $1 k $4 LEFT",
        "PINNED/ALONE block=150 *6 $5 XREAD $5 BLOCK $3 150 $7 STREAMS $1 s $1 $",
        "PINNED/ALONE block=-1 *6 $5 XREAD $5 BLOCK $1 0 $7 STREAMS $1 s $1 0",
        "SPLIT *4 $5 XREAD $7 STREAMS $1 s $1 0",
        "PINNED/ALONE block=1000000000000000000 *6 $5 XREAD $5 BLOCK $19 1000000000000000000 $7"
            + " STREAMS $1 s $1 $",
        "PINNED/ALONE block=-1 *8 $5 XREAD $5 BLOCK $3 100 $5 BLOCK $1 0 $7 STREAMS $1 s $1 $",
        "PINNED/ALONE block=5 *8 $5 XREAD $5 BLOCK $19 1000000000000000000 $5 BLOCK $1 5 $7 STREAMS"
            + " $1 s $1 $",
        "PINNED/ALONE block=-1 *3 $5 BLPOP $1 q $4 0x10",
        "LOCAL -ERR wrong number of arguments for 'blpop' command"),
        send(resp("BLPOP", "q", "2.5"), resp("BRPOP", "a", "b", "0"),
            resp("BLMOVE", "s", "d", "LEFT", "RIGHT", "3"),
            resp("BLMPOP", "1", "1", "k", "LEFT"),
            resp("XREAD", "BLOCK", "150", "STREAMS", "s", "$"),
            resp("XREAD", "BLOCK", "0", "STREAMS", "s", "0"), resp("XREAD", "STREAMS", "s", "0"),
            resp("XREAD", "BLOCK", "1000000000000000000", "STREAMS", "s", "$"),
            resp("XREAD", "BLOCK", "100", "BLOCK", "0", "STREAMS", "s", "$"),
            resp("XREAD", "BLOCK", "1000000000000000000", "BLOCK", "5", "STREAMS", "s", "$"),
            resp("BLPOP", "q", "0x10"),
            resp("BLPOP", "q")));
    ch.finishAndReleaseAll();
    alloc.assertAllReleased();
  }

  @Test
  void subscriptionsAreConfirmedByWalnutWithTheClientsTotal() {
    List<String> out = send(resp("SUBSCRIBE", "a", "b"), resp("SUBSCRIBE", "a"),
        resp("PSUBSCRIBE", "p*"), resp("GET", "k"), resp("PING"), resp("PING", "hi"),
        resp("UNSUBSCRIBE"), resp("PUNSUBSCRIBE", "p*", "zz*"), resp("UNSUBSCRIBE"),
        resp("GET", "k"));
    assertEquals(List.of(
        "PINNED/LISTEN *3 $9 SUBSCRIBE $1 a $1 b",
        "LOCAL *3 $9 subscribe $1 a :2", // already subscribed: confirmed at once, same count
        "PINNED/LISTEN *2 $10 PSUBSCRIBE $2 p*",
        "LOCAL -ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT"
            + " / RESET are allowed in this context",
        "LOCAL *2 $4 pong $0",
        "LOCAL *2 $4 pong $2 hi",
        "PINNED/LISTEN *1 $11 UNSUBSCRIBE",
        "PINNED/LISTEN *3 $12 PUNSUBSCRIBE $2 p* $3 zz*",
        "LOCAL *3 $11 unsubscribe $-1 :0",
        "ROUTED *2 $3 GET $1 k"), out);
    ch.finishAndReleaseAll();
    alloc.assertAllReleased();
  }

  @Test
  void pubSubAnswersAreToldFromMessages() {
    PubSub pubsub = new PubSub();
    assertTrue(pubsub.isAnswer(buf("*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n")));
    assertTrue(pubsub.isAnswer(buf(">3\r\n$12\r\npunsubscribe\r\n$1\r\na\r\n:0\r\n")));
    assertEquals(false, pubsub.isAnswer(buf("*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nm\r\n")));
    assertEquals(false, pubsub.isAnswer(buf(">4\r\n$8\r\npmessage\r\n$1\r\np\r\n$1\r\na\r\n$1\r\nm\r\n")));
    assertEquals(false, pubsub.isAnswer(buf("+OK\r\n")));
  }

  @Test
  void unwatchIsQueuedInsideMultiAndHelloCannotSwitchInsideATransaction() {
    Transaction t = new Transaction();
    ByteBuf unwatch = buf(resp("UNWATCH"));
    ByteBuf queued = t.localReply(unwatch, Conversation.Step.USE, false, alloc);
    ByteBuf ok = t.localReply(unwatch, Conversation.Step.DROP, false, alloc);
    assertEquals("+QUEUED\r\n", queued.toString(StandardCharsets.US_ASCII));
    assertEquals("+OK\r\n", ok.toString(StandardCharsets.US_ASCII));
    queued.release();
    ok.release();
    unwatch.release();
    List<String> out = send(resp("WATCH", "k"), resp("HELLO", "3"), resp("UNWATCH"),
        resp("HELLO", "3"));
    assertEquals("LOCAL -ERR HELLO cannot change the protocol inside a transaction through the"
        + " proxy: EXEC, DISCARD or UNWATCH first", out.get(1));
    assertTrue(out.get(3).startsWith("LOCAL %"), out.get(3));
    ch.finishAndReleaseAll();
    alloc.assertAllReleased();
  }

  @Test
  void subscribingInsideMultiIsRefused() {
    assertEquals(List.of("PINNED/USE *1 $5 MULTI",
        "PINNED/REFUSED -ERR SUBSCRIBE inside MULTI is not allowed through the proxy",
        "PINNED/CLOSE *1 $4 EXEC"),
        send(resp("MULTI"), resp("SUBSCRIBE", "a"), resp("EXEC")));
    ch.finishAndReleaseAll();
    alloc.assertAllReleased();
  }

  private static ByteBuf buf(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
  }
}
