package walnut.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.core.proxy.EngineHarness.written;

import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;
import walnut.core.config.PoolConfig;
import walnut.core.stats.HealthStat;
import walnut.core.stats.PoolStat;

/**
 * Walnut's failure modes on the engine (docs/compatibility.md#failure-modes): the checked return
 * of {@code health_check_interval}, the fixed ring of {@code auto_eject_remap: false}, and the
 * partial MGET of {@code mget_partial_errors}. Two line servers; keys {@code 0…} go to server 0,
 * {@code 1…} to server 1; a {@code BROKEN} reply fails a connection, which with a failure limit of
 * 1 ejects its server.
 */
class FailureModesEngineTest {

  private static final int RETRY = 1_000;
  private static final int INTERVAL = 100;
  private static final String INVALID = "ERR Invalid argument\n";

  private static EngineHarness harness(PoolConfig.Builder b) {
    return new EngineHarness(b.build(), EngineHarness.defaults());
  }

  private static PoolConfig.Builder ejecting(int timeoutMillis) {
    return EngineHarness.poolConfig(2, timeoutMillis).autoEjectHosts(true).serverFailureLimit(1)
        .serverRetryTimeout(RETRY);
  }

  /** Fails server 0's connection under a request of {@code c}: server 0 is ejected. */
  private static void eject0(EngineHarness h, EmbeddedChannel c) {
    h.send(c, "get 0a\n");
    h.reply(h.backend(0), "BROKEN\n");
    assertEquals(INVALID, written(c));
    assertEquals(1, h.poolStat(PoolStat.SERVER_EJECTS));
    assertFalse(h.pool.router().isLive(0));
  }

  private static long health(EngineHarness h, int server, HealthStat stat) {
    return h.poolStats.servers().get(server).health().get(stat);
  }

  @Test
  void anEjectedServerIsProbedAfterTheRetryTimeoutAndReturnsOnlyWhenAProbeSucceeds() {
    try (EngineHarness h = harness(ejecting(0).healthCheckInterval(INTERVAL))) {
      EmbeddedChannel c = h.client();
      eject0(h, c);
      int opened = h.backendsTo(0).size();

      h.advance(RETRY - 1);
      assertEquals(opened, h.backendsTo(0).size(), "no probe before the retry timeout");
      assertEquals("get 0b\n", sendAndRead(h, c, "get 0b\n", 1),
          "its keys go to the live server");

      h.advance(1);
      EmbeddedChannel probe = h.backend(0);
      assertEquals("probe\n", written(probe));
      h.reply(probe, "TROUBLE down\n");
      assertFalse(probe.isOpen(), "a probe's connection is its own, closed when it is over");
      assertEquals(1, health(h, 0, HealthStat.HEALTH_PROBE_FAILURES));
      h.advance(RETRY);
      assertEquals("get 0c\n", sendAndRead(h, c, "get 0c\n", 1),
          "past the retry timeout, a failed probe keeps the server out");

      assertEquals(opened + 2, h.backendsTo(0).size(),
          "one probe at a time: the second, an interval after the first, waits for its answer");
      EmbeddedChannel last = h.backend(0);
      assertEquals("probe\n", written(last));
      h.reply(last, "UP\n");
      assertTrue(h.pool.router().isLive(0), "a probe succeeded: back in the ring");
      assertEquals(1, health(h, 0, HealthStat.HEALTH_RETURNS));
      assertEquals(health(h, 0, HealthStat.HEALTH_PROBES),
          health(h, 0, HealthStat.HEALTH_PROBE_FAILURES) + 1);

      h.send(c, "get 0d\n");
      EmbeddedChannel back = h.backend(0);
      assertEquals("get 0d\n", written(back));
      h.reply(back, "v\n");
      assertEquals("v\n", written(c));
      long probes = h.backendsTo(0).size();
      h.advance(10 * RETRY);
      assertEquals(probes, h.backendsTo(0).size(), "a server in the ring is not probed");
    }
  }

  @Test
  void aProbeThatGoesUnansweredTimesOutAndARefusedOneFails() {
    try (EngineHarness h = harness(ejecting(300).healthCheckInterval(INTERVAL))) {
      eject0(h, h.client());
      h.advance(RETRY);
      EmbeddedChannel probe = h.backend(0);
      written(probe);
      h.advance(299);
      assertTrue(probe.isOpen(), "the probe has the pool's timeout to answer");
      assertEquals(0, health(h, 0, HealthStat.HEALTH_PROBES));
      h.connectFailure = EngineHarness.connectionRefused();
      h.advance(1);
      assertFalse(probe.isOpen(), "timed out");
      // More than an interval since it started: the next one starts at once, and is refused.
      assertEquals(2, health(h, 0, HealthStat.HEALTH_PROBE_FAILURES));
      h.advance(INTERVAL - 1);
      assertEquals(2, health(h, 0, HealthStat.HEALTH_PROBE_FAILURES));
      assertFalse(h.pool.router().isLive(0));
      h.connectFailure = null;
      h.advance(INTERVAL);
      h.reply(h.backend(0), "UP\n");
      assertTrue(h.pool.router().isLive(0));
    }
  }

  @Test
  void aProbeRunsThePoolsHandshakeAndOnlyATroubledServerStaysOut() {
    PoolConfig config = ejecting(0).healthCheckInterval(INTERVAL).build();
    try (EngineHarness h = new EngineHarness(config, EngineHarness.defaults(),
        new LineProtocol(java.util.List.of("auth secret")))) {
      EmbeddedChannel c = h.client();
      h.send(c, "get 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, "OK\n");
      h.reply(s0, "BROKEN\n");
      written(c);
      h.advance(RETRY);
      EmbeddedChannel probe = h.backend(0);
      assertEquals("auth secret\nprobe\n", written(probe));
      h.reply(probe, "OK\nTROUBLE loading\n");
      assertFalse(h.pool.router().isLive(0), "a server that reports trouble does not serve");
      h.advance(INTERVAL);
      EmbeddedChannel next = h.backend(0);
      written(next);
      h.reply(next, "ERR wrong password\nERR not allowed\n");
      assertTrue(h.pool.router().isLive(0),
          "a server that answers is back, whatever it answers: its clients see the same");
    }
  }

  @Test
  void aReloadKeepsAnEjectedServerOutAndOnlyTheNewGenerationProbesIt() {
    try (EngineHarness h = harness(ejecting(0).healthCheckInterval(INTERVAL))) {
      eject0(h, h.client());
      Pool next = h.newPool(h.config, h.pool.options(), h.pool.protocol(),
          Reload.statsFor(h.config, h.poolStats));
      next.carryEjections(h.pool);
      h.pool.supersede();
      h.run();
      assertFalse(next.router().isLive(0), "a reload does not put a dead server back");
      assertTrue(next.router().isLive(1));
      int opened = h.backendsTo(0).size();
      h.advance(RETRY);
      assertEquals(opened + 1, h.backendsTo(0).size(), "one probe, the new generation's");
      h.reply(h.backend(0), "UP\n");
      assertTrue(next.router().isLive(0));
      assertFalse(h.pool.router().isLive(0), "the old generation routes nothing any more");
    }
  }

  @Test
  void withoutRemapAnEjectedServersKeysGetItsErrorAtOnceAndTheOthersAreServed() {
    try (EngineHarness h = harness(ejecting(0).autoEjectRemap(false))) {
      EmbeddedChannel c = h.client();
      eject0(h, c);
      int opened = h.backendsTo(0).size();
      h.send(c, "get 0b\nget 1b\n");
      h.reply(h.backend(1), "v1\n");
      assertEquals("ERR server '127.0.0.1:7000' is ejected: Invalid argument\nv1\n",
          written(c));
      assertEquals(opened, h.backendsTo(0).size(), "nothing is sent to the ejected server");
    }
  }

  @Test
  void withProbesAndWithoutRemapTheKeysComeBackToTheirServer() {
    try (EngineHarness h =
        harness(ejecting(0).autoEjectRemap(false).healthCheckInterval(INTERVAL))) {
      EmbeddedChannel c = h.client();
      eject0(h, c);
      h.advance(RETRY);
      h.reply(h.backend(0), "UP\n");
      h.send(c, "get 0b\n");
      EmbeddedChannel s0 = h.backend(0);
      assertEquals("get 0b\n", written(s0));
      h.reply(s0, "v\n");
      assertEquals("v\n", written(c));
    }
  }

  @Test
  void aPartialMgetAnswersTheHealthyServersValuesAndTheFailedKeysErrors() {
    try (EngineHarness h = harness(EngineHarness.poolConfig(2, 0).mgetPartialErrors(true))) {
      EmbeddedChannel c = h.clientSending("mget 0a 1b 0c\nget 1d\n");
      EmbeddedChannel s0 = h.backend(0);
      EmbeddedChannel s1 = h.backend(1);
      assertEquals("mget 0a 0c\n", written(s0));
      assertEquals("mget 1b\nget 1d\n", written(s1));
      h.reply(s1, "vb\nvd\n");
      s0.close();
      h.run();
      assertEquals("ERR_unknown vb ERR_unknown\nvd\n", written(c));
      assertEquals(1, h.poolStat(PoolStat.FORWARD_ERROR));
    }
  }

  @Test
  void aPartialMgetWhoseEveryFragmentFailedIsOneError() {
    try (EngineHarness h = harness(EngineHarness.poolConfig(2, 0).mgetPartialErrors(true))) {
      EmbeddedChannel c = h.clientSending("mget 0a 1b\n");
      h.backend(0).close();
      h.backend(1).close();
      h.run();
      assertEquals("ERR unknown\n", written(c));
    }
  }

  @Test
  void withoutThePoolKeyAFailedFragmentFailsTheWholeMget() {
    try (EngineHarness h = harness(EngineHarness.poolConfig(2, 0))) {
      EmbeddedChannel c = h.clientSending("mget 0a 1b\n");
      h.reply(h.backend(1), "vb\n");
      h.backend(0).close();
      h.run();
      assertEquals("ERR unknown\n", written(c));
    }
  }

  @Test
  void withoutRemapAnMgetAnswersTheEjectedServersKeysInPart() {
    try (EngineHarness h =
        harness(ejecting(0).autoEjectRemap(false).mgetPartialErrors(true))) {
      EmbeddedChannel c = h.client();
      eject0(h, c);
      h.send(c, "mget 1a 0b\n");
      h.reply(h.backend(1), "va\n");
      assertEquals("va ERR_server_'127.0.0.1:7000'_is_ejected:_Invalid_argument\n", written(c));
    }
  }

  private static String sendAndRead(EngineHarness h, EmbeddedChannel c, String request,
      int server) {
    h.send(c, request);
    String sent = written(h.backend(server));
    h.reply(h.backend(server), "v\n");
    assertEquals("v\n", written(c));
    return sent;
  }
}
