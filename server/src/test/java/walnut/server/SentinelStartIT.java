package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;
import walnut.testing.FreePorts;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.SentinelTopology;
import walnut.testing.SingleTransport;

/**
 * Issue #22, item 5, and the layout of its stats: Walnut started with each shard's configured
 * address pointing at the shard's replica serves from the masters the sentinels name, and the
 * keys it stores are on those masters; the stats document gives the pool one field per sentinel
 * after twemproxy's pool fields and before the servers, and each server {@code address} and
 * {@code failovers} after twemproxy's server fields, the first correction of a wrong address not
 * counted as a failover; Prometheus exports the same; a pool without {@code sentinels:} keeps
 * twemproxy's layout and exports none of it; and {@code bin/walnut -t} accepts the configuration.
 *
 * <p>Measured: about 6 s on a 2-core machine.
 */
@SingleTransport
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SentinelStartIT {

  private static final Logger log = LoggerFactory.getLogger(SentinelStartIT.class);

  /** How long after its start Walnut may take to ask the sentinels: its re-ask interval, twice. */
  static final Duration CORRECTED_WITHIN = Duration.ofSeconds(2);

  @TempDir
  Path tmp;

  @Test
  void startedAtTheReplicasWalnutServesFromTheMastersTheSentinelsName() throws Exception {
    try (SentinelRig rig = SentinelRig.start(tmp, null)) {
      SentinelTopology topology = rig.topology;
      InetSocketAddress masterA = topology.masterAddress(SentinelRig.SHARD_A);
      InetSocketAddress masterB = topology.masterAddress(SentinelRig.SHARD_B);
      RedisServer plainBackend = RedisServer.start();
      try {
        String plain = "plain:\n  listen: 127.0.0.1:" + FreePorts.next() + "\n  redis: true\n"
            + "  servers:\n    - " + SentinelRig.address(plainBackend.address()) + ":1 solo\n";
        String yaml = rig.poolYaml(true, "") + plain;
        assertTrue(yaml.contains(SentinelRig.address(topology.replica(SentinelRig.SHARD_A)
            .address()) + ":1 shard-a"), yaml);

        // bin/walnut -t: the configuration is valid.
        Path conf = rig.writeConfig(yaml);
        WalnutProcess.Result checked = WalnutProcess.run("-t", "-c", conf.toString());
        assertEquals(0, checked.exit(), checked.output());
        assertTrue(checked.output().contains("configuration file '" + conf + "' syntax is ok"),
            checked.output());
        Path withPassword = tmp.resolve("with-password.yml");
        java.nio.file.Files.writeString(withPassword, yaml.replace("  sentinels:\n",
            "  sentinel_password: \"s3cret with spaces\"\n  sentinels:\n"));
        WalnutProcess.Result checkedPassword =
            WalnutProcess.run("-t", "-c", withPassword.toString());
        assertEquals(0, checkedPassword.exit(), checkedPassword.output());

        long startedAt = System.nanoTime();
        rig.startWalnut(yaml);
        long upAt = System.nanoTime();
        List<String> probe = SentinelRig.keys("st-probe", 20);
        try (Jedis jedis = new Jedis("127.0.0.1", rig.walnut.port(SentinelRig.POOL), 10_000)) {
          Poll.until(CORRECTED_WITHIN, () -> probe.stream().allMatch(k -> set(jedis, k)),
              () -> "every write through Walnut succeeds (last: " + lastError(jedis, probe)
                  + ")");
          long servingMs = (System.nanoTime() - upAt) / 1_000_000;
          log.info("started in {} ms; every write succeeds {} ms after", (upAt - startedAt)
              / 1_000_000, servingMs);
        }
        // The keys are on the masters, spread over both (place() checks both).
        List<String> keys = SentinelRig.keys("st", 400);
        Map<String, Integer> placement = rig.place(keys);
        try (Jedis jedis = new Jedis("127.0.0.1", rig.walnut.port(SentinelRig.POOL), 10_000)) {
          for (String key : keys) {
            assertEquals("OK", jedis.set(key, "v:" + key));
          }
          for (String key : keys) {
            assertEquals("v:" + key, jedis.get(key));
            InetSocketAddress master = placement.get(key) == 0 ? masterA : masterB;
            assertEquals("v:" + key, SentinelTopology.get(master, key), key + " on its master");
          }
        }

        Map<String, Object> stats = rig.stats();
        Map<String, Object> pool = SentinelRig.pool(stats);
        List<String> expectedPool = new ArrayList<>(SentinelRig.POOL_FIELDS);
        for (int i = 0; i < SentinelTopology.SENTINELS; i++) {
          expectedPool.add(rig.sentinelField(i));
        }
        expectedPool.addAll(List.of(SentinelRig.SHARD_A, SentinelRig.SHARD_B));
        assertEquals(expectedPool, List.copyOf(pool.keySet()), "the pool's fields, in order");
        for (int i = 0; i < SentinelTopology.SENTINELS; i++) {
          assertEquals("up", pool.get(rig.sentinelField(i)), rig.sentinelField(i));
        }
        List<String> expectedServer = new ArrayList<>(SentinelRig.SERVER_FIELDS);
        expectedServer.addAll(List.of("address", "failovers"));
        for (String shard : topology.shards()) {
          Map<String, Object> server = SentinelRig.server(stats, shard);
          assertEquals(expectedServer, List.copyOf(server.keySet()), shard + "'s fields");
          assertEquals(SentinelRig.address(topology.masterAddress(shard)), server.get("address"),
              shard + " is where the sentinels say, not where the file says");
          assertEquals(0L, server.get("failovers"),
              "correcting the configured address is no failover");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> plainPool = (Map<String, Object>) stats.get("plain");
        assertNotNull(plainPool, "the pool without sentinels in " + stats);
        assertEquals(List.of(SentinelRig.POOL_FIELDS, List.of("solo")).stream()
            .flatMap(List::stream).toList(), List.copyOf(plainPool.keySet()));
        @SuppressWarnings("unchecked")
        Map<String, Object> solo = (Map<String, Object>) plainPool.get("solo");
        assertEquals(SentinelRig.SERVER_FIELDS, List.copyOf(solo.keySet()),
            "a pool without sentinels keeps twemproxy's server fields");

        Map<String, PrometheusText.Family> metrics = rig.metrics();
        PrometheusText.Family info = metrics.get("walnut_server_address_info");
        assertNotNull(info, "walnut_server_address_info in " + metrics.keySet());
        assertEquals("gauge", info.type());
        assertEquals(Set.of(List.of(SentinelRig.POOL, SentinelRig.SHARD_A,
                SentinelRig.address(masterA), "1.0"), List.of(SentinelRig.POOL,
                SentinelRig.SHARD_B, SentinelRig.address(masterB), "1.0")),
            info.samples().stream().map(s -> List.of(String.valueOf(s.labels().get("pool")),
                String.valueOf(s.labels().get("server")),
                String.valueOf(s.labels().get("address")), Double.toString(s.value())))
                .collect(Collectors.toSet()),
            "one address per server of the Sentinel pool, none for the plain pool");
        PrometheusText.Family failovers = metrics.get("walnut_server_failovers_total");
        assertNotNull(failovers, "walnut_server_failovers_total in " + metrics.keySet());
        assertEquals("counter", failovers.type());
        assertEquals(2, failovers.samples().size(), failovers.samples().toString());
        for (String shard : topology.shards()) {
          assertEquals(0, failovers.value("walnut_server_failovers_total", "pool",
              SentinelRig.POOL, "server", shard));
        }
        PrometheusText.Family up = metrics.get("walnut_sentinel_up");
        assertNotNull(up, "walnut_sentinel_up in " + metrics.keySet());
        assertEquals("gauge", up.type());
        assertEquals(SentinelTopology.SENTINELS, up.samples().size(), up.samples().toString());
        for (int i = 0; i < SentinelTopology.SENTINELS; i++) {
          assertEquals(1, up.value("walnut_sentinel_up", "pool", SentinelRig.POOL, "sentinel",
              SentinelRig.address(topology.sentinelAddress(i))));
        }
        assertEquals(List.of(), rig.logLines("no sentinel answers"));

        // A reload that changes the pool (the file still names the replicas): the new
        // generation starts where the sentinels put the servers, never at the file's addresses.
        int movesBefore = rig.logLines("moved to").size();
        rig.writeConfig(yaml.replace("  redis: true\n", "  redis: true\n  timeout: 2000\n"));
        rig.walnut.running.reload("test");
        Poll.until(Duration.ofSeconds(10), () -> rig.metrics().get("walnut_config_reloads_total")
            .value("walnut_config_reloads_total") == 1, "the reload");
        try (Jedis jedis = new Jedis("127.0.0.1", rig.walnut.port(SentinelRig.POOL), 10_000)) {
          for (String key : keys.subList(0, 100)) {
            assertEquals("OK", jedis.set(key, "r:" + key), key + " right after the reload");
            InetSocketAddress master = placement.get(key) == 0 ? masterA : masterB;
            assertEquals("r:" + key, SentinelTopology.get(master, key), key + " on its master");
          }
        }
        for (String shard : topology.shards()) {
          Map<String, Object> server = SentinelRig.server(rig.stats(), shard);
          assertEquals(SentinelRig.address(topology.masterAddress(shard)), server.get("address"),
              shard + " after the reload");
          assertEquals(0L, server.get("failovers"));
        }
        assertEquals(movesBefore, rig.logLines("moved to").size(),
            "no move back and forth: " + rig.logLines("moved to"));
      } finally {
        plainBackend.close();
      }
    }
  }

  private static boolean set(Jedis jedis, String key) {
    try {
      return "OK".equals(jedis.set(key, "probe"));
    } catch (JedisDataException e) {
      return false;
    }
  }

  private static String lastError(Jedis jedis, List<String> keys) {
    for (String key : keys) {
      try {
        jedis.set(key, "probe");
      } catch (JedisDataException e) {
        return key + ": " + e.getMessage();
      }
    }
    return "none";
  }
}
