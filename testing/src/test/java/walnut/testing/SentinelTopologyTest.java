package walnut.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The Sentinel fixture on real processes: the shards replicate, the sentinels follow a kill -9
 * and a {@code SENTINEL FAILOVER} and report each switch once, and a stopped sentinel comes
 * back; all behind a sentinel password. One topology for
 * the lot, since a topology takes seconds to start.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SentinelTopologyTest {

  private static boolean alive(long pid) {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  @Test
  void sentinelsFollowKillsAndFailoversAndEverythingStopsByPid() {
    List<Long> pids;
    try (SentinelTopology topology = SentinelTopology.start(2, "secret")) {
      assertEquals(List.of("shard-a", "shard-b"), topology.shards());
      assertEquals(3, topology.sentinels().size());
      pids = new java.util.ArrayList<>();
      topology.sentinels().forEach(s -> pids.add(s.pid()));
      for (String shard : topology.shards()) {
        List<RedisServer> instances = topology.instances(shard);
        assertEquals(2, instances.size());
        instances.forEach(r -> pids.add(r.pid()));
        assertEquals(instances.get(0), topology.master(shard), "the first instance starts master");
        assertEquals(instances.get(1), topology.replica(shard));
        assertEquals("OK", topology.master(shard).command("SET", "k:" + shard, shard));
        Poll.until(Duration.ofSeconds(5),
            () -> shard.equals(SentinelTopology.get(topology.replica(shard).address(),
                "k:" + shard)), "the write reaches " + shard + "'s replica");
        assertInstanceOf(RedisServer.ErrorReply.class,
            topology.replica(shard).command("SET", "k", "v"), "a replica is read-only");
      }
      // The password is required, and what the fixture itself uses.
      Object unauthenticated = RedisServer.call(topology.sentinelAddress(0).getPort(), null,
          Duration.ofSeconds(5), "SENTINEL", "MASTERS");
      assertInstanceOf(RedisServer.ErrorReply.class, unauthenticated);
      assertTrue(((RedisServer.ErrorReply) unauthenticated).message().startsWith("NOAUTH"));

      // kill -9: the replica is promoted, with the data; the switch is reported once.
      RedisServer oldA = topology.master("shard-a");
      RedisServer newA = topology.replica("shard-a");
      SwitchWatch.Switch killed;
      long killedAt;
      try (SwitchWatch watch = topology.watch()) {
        killedAt = System.nanoTime();
        assertEquals(oldA, topology.killMaster("shard-a"));
        killed = watch.await("shard-a", Duration.ofSeconds(15));
        // The other sentinels publish the same switch within milliseconds; it counts once.
        Poll.until(Duration.ofSeconds(5), () -> topology.masterAddress("shard-a")
            .equals(newA.address()), "every sentinel names the new master");
        assertEquals(1, watch.switches().size(), watch.switches().toString());
      }
      assertEquals(oldA.address(), killed.from());
      assertEquals(newA.address(), killed.to());
      long switchMs = Duration.ofNanos(killed.nanos() - killedAt).toMillis();
      assertTrue(switchMs >= SentinelTopology.DOWN_AFTER.toMillis() && switchMs < 10_000,
          "switched " + switchMs + " ms after the kill");
      assertEquals(newA, topology.master("shard-a"));
      assertFalse(oldA.isRunning());
      assertEquals("shard-a", SentinelTopology.get(newA.address(), "k:shard-a"));

      // One sentinel stopped: the others still answer; started again, it still knows shard-b.
      InetSocketAddress b = topology.masterAddress("shard-b");
      topology.stopSentinel(1);
      assertFalse(topology.sentinels().get(1).isRunning());
      assertEquals(b, topology.masterAddress("shard-b"));
      topology.startSentinel(1);
      assertEquals(b, topology.masterAddress("shard-b"));
      SwitchWatch.Switch bSwitch = topology.failover("shard-b");
      assertNotEquals(b, bSwitch.to());
      assertEquals(bSwitch.to(), topology.masterAddress("shard-b"));
      assertNull(SentinelTopology.get(bSwitch.to(), "k:shard-a"), "shards hold their own keys");
    }
    for (long pid : pids) {
      assertFalse(alive(pid), "pid " + pid + " still runs after close");
    }
  }
}
