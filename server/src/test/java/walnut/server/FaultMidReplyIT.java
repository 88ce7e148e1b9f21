package walnut.server;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.config.Endpoint;
import walnut.core.config.ServerConfig;
import walnut.testing.ChaosRelay;
import walnut.testing.KvDialect;
import walnut.testing.KvLoad;
import walnut.testing.Poll;
import walnut.testing.RedisServer;

/**
 * A backend that closes its connections under load, in the middle of replies: the requests on the
 * closed connection fail ({@code unknown} for an EOF, or a reset), the half-read reply is dropped
 * rather than delivered or leaked, the next request opens a new connection, and no reply reaches
 * the wrong client.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FaultMidReplyIT {

  private static final Logger log = LoggerFactory.getLogger(FaultMidReplyIT.class);

  private static final int VICTIM = FaultKillIT.VICTIM;
  private static final int CLOSES = 10;
  private static final Set<String> CLOSED_ERRORS =
      Set.of("unknown", "Connection reset by peer", "Broken pipe");

  /** Redis itself drops every client connection: {@code CLIENT KILL TYPE normal}, ten times. */
  @Test
  void redisKillingItsClientConnectionsFailsOnlyTheirRequests() throws Exception {
    try (FaultRig rig = FaultRig.start(KvDialect.REDIS_MIXED)) {
      rig.startProxy(rig.pool(b -> b.timeout(FaultKillIT.TIMEOUT_MS)).build(),
          FaultKillIT.CLIENTS + FaultKillIT.BYSTANDERS, FaultKillIT.KEYS);
      RedisServer victim = (RedisServer) rig.backends.get(VICTIM);
      List<Long> killed = new ArrayList<>();
      try (KvLoad load = rig.load(Set.of(VICTIM), FaultKillIT.CLIENTS, FaultKillIT.BYSTANDERS,
          KvLoad.Options.defaults().withValuePadding(1_000))) {
        FaultKillIT.awaitPairs(load, VICTIM, 500, "the load runs on every server");
        for (int i = 0; i < CLOSES; i++) {
          killed.add((Long) victim.command("CLIENT", "KILL", "TYPE", "normal"));
          FaultKillIT.awaitPairs(load, VICTIM, 200, "the server's keys are served again");
        }
        long recoveredAt = FaultKillIT.awaitRecovery(load, VICTIM, System.nanoTime());
        load.stop();
        log.info("CLIENT KILL x{} (connections killed: {}): {}", CLOSES, killed, load.summary());
        FaultRig.assertInvariants(load, Set.of(VICTIM), CLOSED_ERRORS,
            Duration.ofMillis(FaultKillIT.TIMEOUT_MS).plus(FaultKillIT.BOUND));
        assertTrue(killed.stream().mapToLong(Long::longValue).sum() >= CLOSES,
            "CLIENT KILL found Walnut's connections: " + killed);
        assertTrue(load.lastErrorNanos(VICTIM) <= recoveredAt);
      }
      rig.assertSettled();
    }
  }

  /**
   * A relay in front of one server forwards the first few bytes of a reply, then hangs up both
   * ways; ten times, under load.
   */
  @ParameterizedTest
  @EnumSource(value = KvDialect.class, names = {"REDIS_MIXED", "MEMCACHE"})
  void aConnectionCutInsideAReplyFailsOnlyItsRequests(KvDialect dialect) throws Exception {
    try (FaultRig rig = FaultRig.start(dialect);
        ChaosRelay relay = ChaosRelay.start(rig.backends.get(VICTIM).address())) {
      var pool = rig.pool(b -> b.timeout(FaultKillIT.TIMEOUT_MS));
      List<ServerConfig> servers = new ArrayList<>(pool.build().servers());
      servers.set(VICTIM, new ServerConfig("s" + VICTIM, Endpoint.tcp("127.0.0.1", relay.port()),
          1));
      rig.startProxy(pool.servers(servers).build(), FaultKillIT.CLIENTS + FaultKillIT.BYSTANDERS,
          FaultKillIT.KEYS);
      try (KvLoad load = rig.load(Set.of(VICTIM), FaultKillIT.CLIENTS, FaultKillIT.BYSTANDERS,
          KvLoad.Options.defaults().withValuePadding(1_000))) {
        FaultKillIT.awaitPairs(load, VICTIM, 500, "the load runs on every server");
        for (int i = 1; i <= CLOSES; i++) {
          relay.cutMidReply();
          int cut = i;
          Poll.until(Duration.ofSeconds(30), () -> relay.cuts() >= cut,
              "the relay cuts a reply");
          FaultKillIT.awaitPairs(load, VICTIM, 200, "the server's keys are served again");
        }
        long recoveredAt = FaultKillIT.awaitRecovery(load, VICTIM, System.nanoTime());
        load.stop();
        log.info("{} relay cut x{} ({} connections relayed): {}", dialect, relay.cuts(),
            relay.connections(), load.summary());
        FaultRig.assertInvariants(load, Set.of(VICTIM), CLOSED_ERRORS,
            Duration.ofMillis(FaultKillIT.TIMEOUT_MS).plus(FaultKillIT.BOUND));
        assertTrue(load.errors(VICTIM) >= CLOSES, "each cut failed at least its own request");
        assertTrue(load.lastErrorNanos(VICTIM) <= recoveredAt);
        assertTrue(relay.connections() > CLOSES, "Walnut reconnected after each cut");
      }
      rig.assertSettled();
    }
  }
}
