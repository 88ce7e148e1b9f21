package walnut.redis;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.MockTicker;
import io.netty.util.concurrent.Ticker;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ServerConfig;
import walnut.core.spi.ServerLocator;
import walnut.core.stats.SentinelStats;

/**
 * How {@link SentinelWatch} decides where a master is, on embedded channels standing in for
 * three sentinels: the first answers correct a wrong configured address without counting a
 * failover; the answer with the highest config-epoch wins, so a sentinel that has not heard of a
 * failover cannot take a master back; {@code +switch-master} moves at once; with no sentinel
 * left the last known masters stay; a password is sent first.
 */
class SentinelWatchTest {

  private static final Endpoint A1 = Endpoint.tcp("127.0.0.1", 6401);
  private static final Endpoint A2 = Endpoint.tcp("127.0.0.1", 6402);
  private static final Endpoint B1 = Endpoint.tcp("127.0.0.1", 6411);

  private final MockTicker ticker = Ticker.newMockTicker();
  private final EmbeddedChannel hub = EmbeddedChannel.builder().ticker(ticker).build();
  /** Per connection opened: its sentinel's address and channel, in order. */
  private final List<Endpoint> opened = new ArrayList<>();
  private final List<EmbeddedChannel> channels = new ArrayList<>();
  private final List<String> moves = new ArrayList<>();
  private final Endpoint[] where = {A1, B1};
  private boolean ready;
  private SentinelStats stats;
  private SentinelWatch watch;

  private ServerLocator.Context context(PoolConfig pool) {
    return context(pool, new SentinelStats(List.of("shard-a", "shard-b"),
        List.of(A1.toString(), B1.toString()),
        pool.sentinels().stream().map(Endpoint::toString).toList(), null));
  }

  private ServerLocator.Context context(PoolConfig pool, SentinelStats withStats) {
    stats = withStats;
    return new ServerLocator.Context() {
      @Override
      public PoolConfig pool() {
        return pool;
      }

      @Override
      public EventLoop loop() {
        return hub.eventLoop();
      }

      @Override
      public ChannelFuture open(Endpoint endpoint, ChannelHandler initializer) {
        EmbeddedChannel ch =
            EmbeddedChannel.builder().ticker(ticker).handlers(initializer).build();
        opened.add(endpoint);
        channels.add(ch);
        return ch.newSucceededFuture();
      }

      @Override
      public Endpoint address(int server) {
        return where[server];
      }

      @Override
      public boolean located(int server, Endpoint address, boolean failover, String source) {
        if (address.equals(where[server])) {
          return false;
        }
        where[server] = address;
        moves.add(address + (failover ? " failover" : " first"));
        stats.moved(server, address.toString(), failover);
        return true;
      }

      @Override
      public void ready() {
        ready = true;
      }

      @Override
      public SentinelStats stats() {
        return stats;
      }
    };
  }

  private static PoolConfig pool(String password) {
    PoolConfig.Builder b = PoolConfig.builder("sigma").listen(Endpoint.tcp("127.0.0.1", 22125))
        .redis(true).server(new ServerConfig("shard-a", A1, 1))
        .server(new ServerConfig("shard-b", B1, 1))
        .sentinels(List.of(Endpoint.tcp("127.0.0.1", 26379), Endpoint.tcp("127.0.0.1", 26380),
            Endpoint.tcp("127.0.0.1", 26381)));
    return b.sentinelPassword(password).build();
  }

  private void start(String password) {
    watch = new SentinelWatch(context(pool(password)), SentinelHub.on(hub.eventLoop()));
    watch.start();
    run();
  }

  @AfterEach
  void close() {
    if (watch != null) {
      watch.close();
      run();
    }
    channels.forEach(EmbeddedChannel::finishAndReleaseAll);
    hub.finishAndReleaseAll();
  }

  private void run() {
    for (int pass = 0; pass < 4; pass++) {
      hub.runPendingTasks();
      for (EmbeddedChannel c : new ArrayList<>(channels)) {
        c.runPendingTasks();
      }
    }
  }

  private void advance(long millis) {
    ticker.advance(millis, TimeUnit.MILLISECONDS);
    run();
  }

  /** The question connection of sentinel {@code i} (0..2): the first opened to it. */
  private EmbeddedChannel questions(int i) {
    return connection(i, 0);
  }

  private EmbeddedChannel announcements(int i) {
    return connection(i, 1);
  }

  /** The {@code nth} connection to sentinel {@code i} still open (questions first). */
  private EmbeddedChannel connection(int i, int nth) {
    Endpoint sentinel = Endpoint.tcp("127.0.0.1", 26379 + i);
    int seen = 0;
    for (int k = 0; k < channels.size(); k++) {
      if (opened.get(k).equals(sentinel) && channels.get(k).isOpen() && seen++ == nth) {
        return channels.get(k);
      }
    }
    throw new AssertionError("no connection " + nth + " to " + sentinel + ": " + opened + " "
        + channels.stream().map(EmbeddedChannel::isOpen).toList());
  }

  private static String written(EmbeddedChannel ch) {
    StringBuilder out = new StringBuilder();
    ByteBuf b;
    while ((b = ch.readOutbound()) != null) {
      out.append(b.toString(ISO_8859_1));
      b.release();
    }
    return out.toString();
  }

  private void reply(EmbeddedChannel ch, String resp) {
    ch.writeInbound(Unpooled.copiedBuffer(resp, ISO_8859_1));
    run();
  }

  private static String master(String name, Endpoint at, long epoch) {
    String[] kv = {"name", name, "ip", at.host(), "port", Integer.toString(at.port()),
        "flags", "master", "config-epoch", Long.toString(epoch)};
    StringBuilder b = new StringBuilder("*" + kv.length + "\r\n");
    for (String s : kv) {
      b.append('$').append(s.length()).append("\r\n").append(s).append("\r\n");
    }
    return b.toString();
  }

  /** One sentinel's answers to a round: shard-a at {@code at} and epoch, shard-b where it is. */
  private static String master(Endpoint at, long epoch) {
    return master("shard-a", at, epoch) + master("shard-b", B1, 0);
  }

  private static final String ASK = ask("shard-a") + ask("shard-b");

  private static String ask(String name) {
    return "*3\r\n$8\r\nSENTINEL\r\n$6\r\nMASTER\r\n$7\r\n" + name + "\r\n";
  }

  /** Each sentinel is asked once; each answers {@code answers[i]} (null: no answer yet). */
  private void round(String... answers) {
    for (int i = 0; i < answers.length; i++) {
      assertEquals(ASK, written(questions(i)), "sentinel " + i + " asked");
    }
    for (int i = 0; i < answers.length; i++) {
      if (answers[i] != null) {
        reply(questions(i), answers[i]);
      }
    }
  }

  private static String announcement(String text) {
    return "*3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n$" + text.length() + "\r\n"
        + text + "\r\n";
  }

  private static final String SUBSCRIBED =
      "*3\r\n$9\r\nsubscribe\r\n$14\r\n+switch-master\r\n:1\r\n";

  @Test
  void theFirstRoundAsksEverySentinelAndCorrectsAWrongAddressWithoutCountingAFailover() {
    start(null);
    assertEquals(6, channels.size(), "two connections per sentinel");
    for (int i = 0; i < 3; i++) {
      assertEquals("*2\r\n$9\r\nSUBSCRIBE\r\n$14\r\n+switch-master\r\n",
          written(announcements(i)));
    }
    assertFalse(ready, "not before the sentinels answered");
    round(master(A2, 0), master(A2, 0), master(A2, 0));
    assertEquals(List.of("127.0.0.1:6402 first"), moves);
    assertTrue(ready);
    assertEquals(0, stats.failovers(0));
    for (int i = 0; i < 3; i++) {
      assertTrue(stats.up(i), "sentinel " + i);
    }
  }

  @Test
  void theHighestEpochWinsAtOnceSoAStaleSentinelNeverTakesAMasterBack() {
    start(null);
    round(master(A1, 1), master(A1, 1), master(A1, 1));
    assertEquals(List.of(), moves);
    advance(1_000);
    round(master(A2, 2), null, null);
    assertEquals(List.of("127.0.0.1:6402 failover"), moves, "epoch 2: before the others answer");
    reply(questions(1), master(A1, 1));
    reply(questions(2), master(A1, 1));
    assertEquals(1, moves.size(), "two votes of epoch 1 do not beat one of 2");
    advance(1_000);
    round(master(A1, 1), master(A1, 1), null);
    advance(1_000); // sentinel 2 never answered that round: timed out, closed, down
    assertEquals(List.of("127.0.0.1:6402 failover"), moves, "epoch 1 < 2: stays");
    assertEquals(1, stats.failovers(0));
    assertEquals(2, stats.epoch(0));
    assertFalse(stats.up(2));
  }

  @Test
  void anAnnouncementAsksAtOnceAndOnlyTheAnswersMoveAServer() {
    start(null);
    round(master(A1, 0), master(A1, 0), master(A1, 0));
    reply(announcements(1), SUBSCRIBED);
    reply(announcements(1), announcement("shard-a 127.0.0.1 6401 127.0.0.1 6402"));
    assertEquals(List.of(), moves, "an announcement carries no epoch: it moves nothing");
    advance(100); // the round it asks for comes 100 ms after the last at the soonest
    round(master(A2, 1), master(A1, 0), master(A1, 0));
    assertEquals(List.of("127.0.0.1:6402 failover"), moves);

    advance(1_000);
    round(master(A2, 1), master(A2, 1), master(A2, 1));
    reply(announcements(2), SUBSCRIBED);
    reply(announcements(2), announcement("other 127.0.0.1 1 127.0.0.1 2"));
    reply(announcements(2), announcement("shard-a 127.0.0.1 6402 127.0.0.1 6401"));
    reply(announcements(2), announcement("shard-a 127.0.0.1 6402 127.0.0.1 6401"));
    advance(100);
    round(master(A2, 1), master(A2, 1), master(A2, 1)); // one round for both; the others: none
    assertEquals(1, moves.size(), "forged or late: the sentinels still say 6402");
  }

  @Test
  void answersThatCannotBeTrustedMoveNothing() {
    start(null);
    String noAuth = "-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n";
    String portZero = master("shard-a", Endpoint.tcp("127.0.0.1", 0), 9)
        + master("shard-b", B1, 0);
    String ontoShardB = master("shard-a", B1, 9) + master("shard-b", B1, 0);
    round(noAuth, portZero, ontoShardB);
    assertEquals(List.of(), moves, "no address, or shard-b's: shard-a stays");
    assertFalse(stats.up(0), "an error is no answer");
    assertTrue(stats.up(1));
    advance(1_000);
    round(noAuth, master(A2, 3), master(A2, 3));
    assertEquals(List.of("127.0.0.1:6402 failover"), moves);
  }

  @Test
  void aReloadsWatchNeverFollowsAnEpochOlderThanTheLastGenerationDid() {
    SentinelStats before = new SentinelStats(List.of("shard-a", "shard-b"),
        List.of(A1.toString(), B1.toString()), List.of("127.0.0.1:26379"), null);
    before.epoch(0, 5);
    PoolConfig pool = pool(null);
    SentinelStats after = new SentinelStats(List.of("shard-a", "shard-b"),
        List.of(A1.toString(), B1.toString()),
        pool.sentinels().stream().map(Endpoint::toString).toList(), before);
    watch = new SentinelWatch(context(pool, after), SentinelHub.on(hub.eventLoop()));
    watch.start();
    run();
    round(master(A2, 4), master(A2, 4), master(A2, 4));
    assertEquals(List.of(), moves, "epoch 4 < 5: a stale sentinel cannot move it");
    advance(1_000);
    round(master(A2, 6), master(A1, 5), master(A1, 5));
    assertEquals(List.of("127.0.0.1:6402 failover"), moves, "a reload's server: a failover");
  }

  @Test
  void withNoSentinelLeftTheLastKnownMasterStaysAndTheyAreRetried() {
    start(null);
    round(master(A2, 3), master(A2, 3), master(A2, 3));
    for (EmbeddedChannel c : new ArrayList<>(channels)) {
      c.close();
    }
    run();
    int before = channels.size();
    for (int i = 0; i < 3; i++) {
      assertFalse(stats.up(i), "sentinel " + i);
    }
    advance(1_000);
    assertEquals(A2, where[0], "the last known master");
    assertTrue(channels.size() > before, "reconnected after the back-off");
  }

  @Test
  void aPasswordIsSentFirstAndASentinelThatNeverAnswersItIsGivenUp() {
    start("secret");
    assertEquals("*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n*1\r\n$4\r\nPING\r\n",
        written(questions(0)));
    assertEquals("*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n"
        + "*2\r\n$9\r\nSUBSCRIBE\r\n$14\r\n+switch-master\r\n", written(announcements(0)));
    reply(questions(0), "-WRONGPASS invalid username-password pair\r\n+PONG\r\n");
    assertFalse(stats.up(0), "refused: no question asked");
    assertTrue(moves.isEmpty());
    int before = channels.size();
    advance(SentinelLink.ANSWER_LIMIT_MILLIS + 1_000); // nobody answered AUTH on the others
    advance(200); // past the back-off
    assertTrue(channels.size() >= before + 5, "silent handshakes given up and retried: "
        + (channels.size() - before));
  }

  @Test
  void theSubscribedConnectionIsPingedSoASilentSentinelIsNoticed() {
    start(null);
    round(master(A1, 0), master(A1, 0), master(A1, 0));
    reply(announcements(0), SUBSCRIBED);
    written(announcements(0));
    advance(1_000);
    assertEquals("*1\r\n$4\r\nPING\r\n", written(announcements(0)));
    EmbeddedChannel silent = announcements(0);
    advance(SentinelLink.ANSWER_LIMIT_MILLIS + 1_000);
    assertFalse(silent.isOpen(), "no PONG: given up, and opened again");
  }

  @Test
  void aFloodOfReadOnlyRepliesAsksAtMostOncePerTenthOfASecond() {
    start(null);
    round(master(A1, 1), master(A1, 1), master(A1, 1));
    for (int i = 0; i < 1_000; i++) {
      watch.refresh(0, "it replied -READONLY");
    }
    run();
    assertEquals("", written(questions(0)), "within 100 ms of the last round");
    advance(100);
    round(master(A2, 2), master(A1, 1), master(A1, 1)); // once each: one round for the flood
    assertEquals(List.of("127.0.0.1:6402 failover"), moves);
    for (int i = 0; i < 1_000; i++) {
      watch.refresh(0, "it replied -READONLY");
    }
    advance(100);
    round(master(A2, 2), master(A2, 2), master(A2, 2));
    assertEquals("", written(questions(0)), "no more");
  }

  @Test
  void poolsListingTheSameSentinelsShareOneSetOfConnections() {
    start(null);
    round(master(A1, 0), master(A1, 0), master(A1, 0));
    SentinelHub shared = SentinelHub.on(hub.eventLoop());
    assertEquals(3, shared.links());
    SentinelWatch other = new SentinelWatch(context(pool(null)), shared);
    other.start();
    run();
    assertEquals(6, channels.size(), "no new connection for the second pool");
    assertEquals(ASK, written(questions(0)), "it asks at once on the ready links");
    SentinelWatch withPassword = new SentinelWatch(context(pool("pw")), shared);
    withPassword.start();
    run();
    assertEquals(12, channels.size(), "another password is another set");
    other.close();
    withPassword.close();
    run();
    assertTrue(questions(0).isOpen(), "the first pool still uses it");
    assertEquals(3, shared.links());
    watch.close();
    run();
    watch = null;
    assertEquals(0, shared.links());
    assertTrue(channels.stream().noneMatch(EmbeddedChannel::isOpen), "all closed");
  }

  @Test
  void aRoundThatTimesOutForOnePoolLeavesTheSharedConnectionsOpen() {
    PoolConfig quick = pool(null).toBuilder().timeout(100).build(); // rounds of 100 ms
    watch = new SentinelWatch(context(quick), SentinelHub.on(hub.eventLoop()));
    watch.start();
    run();
    round(master(A2, 1), null, null);
    advance(100);
    assertEquals(List.of("127.0.0.1:6402 first"), moves);
    assertTrue(ready, "the round ended without them");
    assertFalse(stats.up(1), "silent for this pool");
    assertTrue(questions(1).isOpen(), "another pool may wait longer on the same sentinel");
    reply(questions(1), master(A1, 0)); // the late answer is dropped, not taken
    assertEquals(1, moves.size());
  }

  @Test
  void aSentinelReadyAfterTheFirstRoundIsAskedWithoutWaitingForTheNextTick() {
    start("secret");
    written(questions(0));
    reply(questions(0), "+OK\r\n+PONG\r\n");
    advance(SentinelWatch.FIRST_ROUND_WAIT_MILLIS); // the others are still authenticating
    assertEquals(ASK, written(questions(0)), "the first round, with the one that is ready");
    reply(questions(0), master(A1, 1));
    written(questions(1));
    reply(questions(1), "+OK\r\n+PONG\r\n");
    advance(100);
    assertEquals(ASK, written(questions(1)), "asked within 100 ms, not a refresh interval");
    reply(questions(0), master(A1, 1));
    reply(questions(1), master(A2, 2));
    assertEquals(List.of("127.0.0.1:6402 failover"), moves);
  }

  @Test
  void movesWithinTheFirstRoundCorrectTheFileAndCountNoFailover() {
    start(null);
    round(master(A1, 1), master(A2, 2), master(A2, 2)); // a stale sentinel listed first
    assertEquals(List.of("127.0.0.1:6402 first"), moves);
    assertEquals(0, stats.failovers(0));
  }

  @Test
  void aFloodOfAnnouncementsClosesTheSubscribedConnection() {
    start(null);
    round(master(A1, 0), master(A1, 0), master(A1, 0));
    EmbeddedChannel flooded = announcements(0);
    reply(flooded, SUBSCRIBED);
    String one = announcement("shard-a 127.0.0.1 6401 127.0.0.1 6402");
    reply(flooded, one.repeat(SentinelConnection.MAX_ANNOUNCEMENTS_PER_SECOND));
    assertTrue(flooded.isOpen(), "as many as a sentinel could send");
    reply(flooded, one);
    assertFalse(flooded.isOpen(), "one more in the same second: a broken sentinel");
    assertEquals(List.of(), moves);
  }
}
