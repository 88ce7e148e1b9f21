package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.SentinelTopology;
import walnut.testing.SwitchWatch;
import walnut.testing.SingleTransport;

/**
 * Issue #22, item 4, under a bounded writer and reader that run throughout:
 *
 * <ol>
 *   <li>the first sentinel of the pool's list stopped changes nothing: no error, the stats say it
 *       is down, and a kill -9 failover, which the two others carry out, is followed within 2 s
 *       of {@code +switch-master};
 *   <li>all three stopped: Walnut logs that no sentinel answers, says so in the stats, and keeps
 *       serving the masters it knew last (not the configured ones, one of which is dead), with
 *       no error at all, for several of its re-ask intervals;
 *   <li>the last sentinel of the list started again: Walnut logs that it answers again, and
 *       follows a {@code SENTINEL FAILOVER} of {@code shard-b} carried out by that sentinel
 *       alone.
 * </ol>
 *
 * <p>Measured: about 17 s on a 2-core machine.
 */
@SingleTransport
@Timeout(value = 150, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SentinelOutageIT {

  private static final Logger log = LoggerFactory.getLogger(SentinelOutageIT.class);

  static final String NONE_ANSWERS = "no sentinel answers";
  static final String ANSWERS_AGAIN = "answers again";
  /** Walnut's default re-ask interval ({@code sentinel_refresh_interval}). */
  static final Duration REFRESH = Duration.ofSeconds(1);

  @TempDir
  Path tmp;

  @Test
  void oneSentinelDownChangesNothingAllDownKeepsTheLastMastersAndOneBackIsFollowed()
      throws Exception {
    try (SentinelRig rig = SentinelRig.start(tmp, null)) {
      SentinelTopology topology = rig.topology;
      rig.startWalnut(rig.poolYaml(false, SentinelRig.EJECTING));
      List<String> writerKeys = SentinelRig.keys("so", 20_000);
      Map<String, Integer> placement = rig.place(writerKeys);
      List<String> phases = new ArrayList<>();
      try (SentinelRig.EjectionWatch ejections = rig.watchEjections();
          SentinelTraffic traffic = SentinelTraffic.start(rig.proxy(), writerKeys, placement)) {
        long started = System.nanoTime();
        awaitWrites(traffic, started, "the traffic runs on both shards");

        // 1. One sentinel down.
        topology.stopSentinel(0);
        rig.awaitSentinel(0, "down", Duration.ofSeconds(10));
        rig.awaitSentinel(1, "up", Duration.ofSeconds(1));
        rig.awaitSentinel(2, "up", Duration.ofSeconds(1));
        RedisServer deadA = topology.master(SentinelRig.SHARD_A);
        RedisServer promotedA = topology.replica(SentinelRig.SHARD_A);
        long killAt;
        long goneAt;
        SwitchWatch.Switch movedA;
        try (SwitchWatch watch = topology.watch()) {
          killAt = System.nanoTime();
          topology.killMaster(SentinelRig.SHARD_A);
          goneAt = System.nanoTime();
          movedA = watch.await(SentinelRig.SHARD_A, Duration.ofSeconds(20));
        }
        assertEquals(promotedA.address(), movedA.to());
        long backBy = movedA.nanos() + SentinelFailoverIT.BACK_WITHIN.toNanos();
        rig.awaitAddress(SentinelRig.SHARD_A, promotedA.address(), 1, Duration.ofSeconds(5));
        awaitWrites(traffic, backBy, "shard-a's keys written again after the switch");
        phases.add("one sentinel down: switch " + SentinelFailoverIT.ms(movedA.nanos() - killAt)
            + " ms after the kill");

        // 2. Every sentinel down: the last masters keep serving.
        long allDownAt = System.nanoTime();
        topology.stopSentinel(1);
        topology.stopSentinel(2);
        rig.awaitLogLine(NONE_ANSWERS, Duration.ofSeconds(10));
        long loggedAt = System.nanoTime();
        for (int i = 0; i < SentinelTopology.SENTINELS; i++) {
          rig.awaitSentinel(i, "down", Duration.ofSeconds(5));
        }
        long quietUntil = System.nanoTime() + REFRESH.multipliedBy(3).toNanos();
        Poll.until(Duration.ofSeconds(30), () -> System.nanoTime() > quietUntil,
            "three re-ask intervals with no sentinel");
        awaitWrites(traffic, loggedAt, "writes with no sentinel");
        rig.awaitAddress(SentinelRig.SHARD_A, promotedA.address(), 1, Duration.ofSeconds(1));
        assertFalse(rig.log.text().contains(ANSWERS_AGAIN), "no sentinel has come back yet");
        phases.add("all down: '" + NONE_ANSWERS + "' logged "
            + SentinelFailoverIT.ms(loggedAt - allDownAt) + " ms after");

        // 3. The last sentinel back, alone: it carries out a failover of shard-b.
        long backAt = System.nanoTime();
        topology.startSentinel(2);
        rig.awaitLogLine(ANSWERS_AGAIN, Duration.ofSeconds(10));
        long answeredAt = System.nanoTime();
        rig.awaitSentinel(2, "up", Duration.ofSeconds(5));
        rig.awaitSentinel(0, "down", Duration.ofSeconds(1));
        rig.awaitSentinel(1, "down", Duration.ofSeconds(1));
        RedisServer promotedB = topology.replica(SentinelRig.SHARD_B);
        long requested = System.nanoTime();
        SwitchWatch.Switch movedB = topology.failover(SentinelRig.SHARD_B);
        assertEquals(promotedB.address(), movedB.to());
        long windowEnd = movedB.nanos() + SentinelManualFailoverIT.SWITCH_WINDOW.toNanos();
        rig.awaitAddress(SentinelRig.SHARD_B, promotedB.address(), 1, Duration.ofSeconds(5));
        awaitWrites(traffic, windowEnd, "shard-b's keys written after its switch");
        phases.add("one back: '" + ANSWERS_AGAIN + "' logged "
            + SentinelFailoverIT.ms(answeredAt - backAt) + " ms after its start; shard-b's switch "
            + SentinelFailoverIT.ms(movedB.nanos() - requested) + " ms after SENTINEL FAILOVER");
        traffic.stop();
        log.info("{}; writer/reader: {}", phases, traffic.summary());

        // Errors only in the two failovers' windows, each of its own shard.
        List<String> misplaced = new ArrayList<>();
        for (SentinelTraffic.Failure f : traffic.failures()) {
          boolean inA = f.shard() == 0 && f.answered() >= killAt && f.answered() <= backBy;
          boolean inB = f.shard() == 1 && f.answered() >= requested && f.answered() <= windowEnd;
          if (!inA && !inB) {
            misplaced.add(f.toString());
          }
        }
        assertEquals(List.of(), SentinelTraffic.sample(misplaced),
            "errors outside the failovers; " + traffic.summary());
        assertEquals(List.of(), traffic.misdeliveries());
        assertEquals(List.of(), traffic.clientFailures());
        assertFalse(traffic.exhausted(), "the writer ran out of keys: give it more");
        Predicate<SentinelTraffic.Write> durable = w -> w.acked()
            && ((w.shard() == 0 && (w.answered() < killAt - 1_000_000_000L || w.sent() > goneAt))
            || (w.shard() == 1 && (w.answered() < requested || w.sent() > windowEnd)));
        for (SentinelTraffic.StaleRead stale : traffic.staleReads()) {
          boolean inWindow = stale.write().shard() == 1 && stale.answered() <= windowEnd;
          assertTrue(inWindow || !durable.test(stale.write()), "a stale read: " + stale);
        }
        assertEquals(List.of(), traffic.checkThroughProxy(rig.proxy(), durable));
        assertEquals(List.of(), traffic.checkOnMasters(
            s -> topology.master(SentinelRig.shard(s)), 2, durable));
        assertFalse(deadA.isRunning());
        ejections.close();
      }
      InetSocketAddress b = topology.masterAddress(SentinelRig.SHARD_B);
      rig.awaitAddress(SentinelRig.SHARD_B, b, 1, Duration.ofSeconds(1));
      rig.assertNoEjectionInStats();
      rig.assertSettled();
    }
  }

  /** Waits until both shards have 100 writes acknowledged that were sent after {@code after}. */
  private static void awaitWrites(SentinelTraffic traffic, long after, String what) {
    Poll.until(Duration.ofSeconds(30), () -> System.nanoTime() > after
        && traffic.ackedSentAfter(0, after) > 100 && traffic.ackedSentAfter(1, after) > 100,
        () -> what + ": " + traffic.summary());
  }
}
