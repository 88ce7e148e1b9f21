package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ServerStat;
import walnut.testing.KvDialect;
import walnut.testing.KvLoad;
import walnut.testing.Poll;
import walnut.testing.ServerFixture;

/**
 * {@code auto_eject_hosts} under load (docs/compatibility.md#ejection): a killed server is ejected
 * after {@code server_failure_limit} failed connections, its keys move to the other servers and are
 * served there without errors, and once it is back on its port it returns to the ring when {@code
 * server_retry_timeout} has passed, and its keys with it. Errors happen only between the kill and
 * the ejection, and only for its keys.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FaultEjectionIT {

  private static final Logger log = LoggerFactory.getLogger(FaultEjectionIT.class);

  private static final int FAILURE_LIMIT = 2;
  private static final int RETRY_MS = 3_000;
  private static final int VICTIM = FaultKillIT.VICTIM;
  /** How late the return may be noticed: the next request after the retry time rebuilds. */
  private static final Duration RETURN_BOUND = Duration.ofMillis(1_000);

  @ParameterizedTest
  @EnumSource(value = KvDialect.class, names = {"REDIS_MIXED", "MEMCACHE"})
  void aDeadServerIsEjectedUnderLoadAndReturnsAfterTheRetryTimeout(KvDialect dialect)
      throws Exception {
    try (FaultRig rig = FaultRig.start(dialect)) {
      rig.startProxy(rig.pool(b -> b.timeout(FaultKillIT.TIMEOUT_MS).autoEjectHosts(true)
              .serverFailureLimit(FAILURE_LIMIT).serverRetryTimeout(RETRY_MS)).build(),
          FaultKillIT.CLIENTS + FaultKillIT.BYSTANDERS, FaultKillIT.KEYS);
      ServerFixture victim = rig.backends.get(VICTIM);
      List<String> victimKeys = new ArrayList<>();
      rig.placement.forEach((key, server) -> {
        if (server == VICTIM) {
          victimKeys.add(key);
        }
      });
      try (KvLoad load = rig.load(Set.of(VICTIM), FaultKillIT.CLIENTS, FaultKillIT.BYSTANDERS,
          KvLoad.Options.defaults())) {
        FaultKillIT.awaitPairs(load, VICTIM, 500, "the load runs on every server");

        long killedAt = System.currentTimeMillis();
        victim.kill();
        Poll.until(Duration.ofSeconds(30), () -> ejects(rig) >= 1, "the dead server is ejected");
        long ejectedAt = rig.serverStat(VICTIM, ServerStat.SERVER_EJECTED_AT) / 1_000;
        long ejectedSeen = System.nanoTime();
        long errorsAtEjection = load.errors(VICTIM);

        FaultKillIT.awaitPairs(load, VICTIM, 300, "the dead server's keys are served elsewhere");
        Set<String> moved = new HashSet<>();
        for (int s = 0; s < FaultRig.BACKENDS; s++) {
          if (s != VICTIM) {
            moved.addAll(dialect.held(rig.backends.get(s), victimKeys));
          }
        }
        victim.restart(); // empty, on the same port, before the retry time
        long restartedAt = System.currentTimeMillis();
        assertFalse(moved.isEmpty(), "none of the dead server's keys moved");
        assertTrue(restartedAt < ejectedAt + RETRY_MS,
            "restarted " + (restartedAt - ejectedAt) + " ms after the ejection: too slow a machine"
                + " for a " + RETRY_MS + " ms retry");

        Poll.until(Duration.ofMillis(RETRY_MS).plus(RETURN_BOUND).plusSeconds(10),
            () -> !dialect.held(victim, victimKeys).isEmpty(),
            "the restarted server takes its keys back");
        long returnedAt = System.currentTimeMillis();
        long ejectsBeforeReturn = ejects(rig);
        // Connections opened just before the ejection (one per event loop) may fail just after
        // it and count again (docs/compatibility.md#ejection counts every close): the server is
        // then ejected anew and returns server_retry_timeout after that last ejection.
        long lastEjectedAt = rig.serverStat(VICTIM, ServerStat.SERVER_EJECTED_AT) / 1_000;
        FaultKillIT.awaitPairs(load, VICTIM, 500, "the returned server serves its keys");
        load.stop();

        long ejectMs = ejectedAt - killedAt;
        long returnMs = returnedAt - lastEjectedAt;
        log.info("{} ejection: ejected {} ms after kill -9 ({} errors by then, {} in all; {}"
                + " ejections, the last {} ms after the first), back {} ms after the last ejection"
                + " (server_retry_timeout {}); {}", dialect, ejectMs, errorsAtEjection,
            load.errors(VICTIM), ejectsBeforeReturn, lastEjectedAt - ejectedAt, returnMs, RETRY_MS,
            load.summary());
        FaultRig.assertInvariants(load, Set.of(VICTIM), FaultKillIT.DEAD_SERVER_ERRORS,
            Duration.ofMillis(FaultKillIT.TIMEOUT_MS).plus(FaultKillIT.BOUND));
        assertEquals(ejectsBeforeReturn, ejects(rig), "an ejection after the server came back");
        assertTrue(lastEjectedAt - ejectedAt < 1_000,
            "ejected again " + (lastEjectedAt - ejectedAt) + " ms after the first ejection");
        assertTrue(ejectMs < 2_000, "ejected " + ejectMs + " ms after the kill");
        assertTrue(returnMs >= RETRY_MS - 10 && returnMs <= RETRY_MS + RETURN_BOUND.toMillis(),
            "back " + returnMs + " ms after the last ejection (expected: " + RETRY_MS + " ms)");
        // Requests routed to the dead server before its ejection fail; none after.
        long lastErrorMs = Duration.ofNanos(load.lastErrorNanos(VICTIM) - ejectedSeen).toMillis();
        assertTrue(lastErrorMs < 500, "an error " + lastErrorMs + " ms after the ejection");
      }
      rig.assertSettled();
    }
  }

  /**
   * The same with a server that hangs instead of dying (SIGSTOP) and {@code timeout} set: each
   * timed-out connection is a failure, so the server is ejected about one {@code timeout} after it
   * stopped; continued, it returns {@code server_retry_timeout} after its (last) ejection.
   */
  @ParameterizedTest
  @EnumSource(value = KvDialect.class, names = {"REDIS_MIXED", "MEMCACHE"})
  void aStoppedServerIsEjectedAfterItsTimeoutsAndReturnsAfterTheRetryTimeout(KvDialect dialect)
      throws Exception {
    int timeoutMs = 500;
    try (FaultRig rig = FaultRig.start(dialect)) {
      rig.startProxy(rig.pool(b -> b.timeout(timeoutMs).autoEjectHosts(true)
              .serverFailureLimit(FAILURE_LIMIT).serverRetryTimeout(RETRY_MS)).build(),
          FaultKillIT.CLIENTS + FaultKillIT.BYSTANDERS, FaultKillIT.KEYS);
      ServerFixture victim = rig.backends.get(VICTIM);
      try (KvLoad load = rig.load(Set.of(VICTIM), FaultKillIT.CLIENTS, FaultKillIT.BYSTANDERS,
          KvLoad.Options.defaults())) {
        FaultKillIT.awaitPairs(load, VICTIM, 500, "the load runs on every server");
        long pausedAt = System.currentTimeMillis();
        victim.pause();
        long ejectedAt;
        long lastEjectedAt;
        long ejectedSeen;
        long responses;
        try {
          Poll.until(Duration.ofSeconds(30), () -> ejects(rig) >= 1, "the stopped server is ejected");
          ejectedSeen = System.nanoTime();
          ejectedAt = rig.serverStat(VICTIM, ServerStat.SERVER_EJECTED_AT) / 1_000;
          FaultKillIT.awaitPairs(load, VICTIM, 300, "the stopped server's keys are served elsewhere");
          // Connections opened just before the ejection time out a timeout later and may eject
          // it anew; continue the server only once none can be left.
          Poll.until(Duration.ofSeconds(10),
              () -> System.currentTimeMillis() > ejectedAt + 2L * timeoutMs + 200,
              "the last connection opened before the ejection has timed out");
          lastEjectedAt = rig.serverStat(VICTIM, ServerStat.SERVER_EJECTED_AT) / 1_000;
          responses = rig.serverStat(VICTIM, ServerStat.RESPONSES);
        } finally {
          victim.resume();
        }
        long resumedAt = System.currentTimeMillis();
        assertTrue(resumedAt < lastEjectedAt + RETRY_MS,
            "continued " + (resumedAt - lastEjectedAt) + " ms after the ejection: too slow a"
                + " machine for a " + RETRY_MS + " ms retry");
        assertEquals(responses, rig.serverStat(VICTIM, ServerStat.RESPONSES),
            "the ejected server answered before its retry time");
        Poll.until(Duration.ofMillis(RETRY_MS).plus(RETURN_BOUND).plusSeconds(10),
            () -> rig.serverStat(VICTIM, ServerStat.RESPONSES) > responses,
            "the continued server takes its keys back");
        long returnedAt = System.currentTimeMillis();
        long ejectsBeforeReturn = ejects(rig);
        FaultKillIT.awaitPairs(load, VICTIM, 500, "the returned server serves its keys");
        load.stop();

        long ejectMs = ejectedAt - pausedAt;
        long returnMs = returnedAt - lastEjectedAt;
        log.info("{} ejection after SIGSTOP: ejected {} ms after the stop (timeout {}; {} ejections,"
                + " the last {} ms after the first), back {} ms after the last ejection"
                + " (server_retry_timeout {}); {}", dialect, ejectMs, timeoutMs,
            ejectsBeforeReturn, lastEjectedAt - ejectedAt, returnMs, RETRY_MS, load.summary());
        FaultRig.assertInvariants(load, Set.of(VICTIM), Set.of("Connection timed out"),
            Duration.ofMillis(timeoutMs).plus(FaultKillIT.BOUND));
        assertEquals(ejectsBeforeReturn, ejects(rig), "an ejection after the server came back");
        // Each event loop's connection times out once: that is FAILURE_LIMIT failures.
        assertTrue(ejectMs >= timeoutMs - 10 && ejectMs <= (long) FAILURE_LIMIT * timeoutMs + 1_000,
            "ejected " + ejectMs + " ms after the stop (timeout " + timeoutMs + " ms)");
        assertTrue(returnMs >= RETRY_MS - 10 && returnMs <= RETRY_MS + RETURN_BOUND.toMillis(),
            "back " + returnMs + " ms after the last ejection (expected: " + RETRY_MS + " ms)");
        long lastErrorMs = Duration.ofNanos(load.lastErrorNanos(VICTIM) - ejectedSeen).toMillis();
        assertTrue(lastErrorMs < timeoutMs + 500, "an error " + lastErrorMs
            + " ms after the ejection");
      }
      rig.assertSettled();
    }
  }

  /**
   * A graceful shutdown closes every backend connection itself: that is no server failure, and
   * must neither count towards {@code server_failure_limit} nor eject (nor log an ejection).
   */
  @ParameterizedTest
  @EnumSource(value = KvDialect.class, names = {"REDIS_MIXED", "MEMCACHE"})
  void aShutdownEjectsNoServer(KvDialect dialect) throws Exception {
    try (FaultRig rig = FaultRig.start(dialect)) {
      rig.startProxy(rig.pool(b -> b.autoEjectHosts(true).serverFailureLimit(FAILURE_LIMIT)
          .serverRetryTimeout(RETRY_MS).preconnect(true)).build(), 1, 30);
      for (int s = 0; s < FaultRig.BACKENDS; s++) {
        int server = s;
        Poll.until(Duration.ofSeconds(10),
            () -> rig.serverStat(server, ServerStat.SERVER_CONNECTIONS) == FaultRig.THREADS,
            "every event loop connected to s" + s);
      }
      rig.walnut.close();
      // Today BackendConnection.close(), which the shutdown calls, fails the connection as an
      // EOF from the server, and fail() counts that towards ejection.
      for (int s = 0; s < FaultRig.BACKENDS; s++) {
        assertEquals(0, rig.serverStat(s, ServerStat.SERVER_EJECTED_AT),
            "s" + s + " ejected by the shutdown: closing a connection ourselves counted as a"
                + " server failure");
      }
      assertEquals(0, ejects(rig), "server_ejects after a shutdown");
    }
  }

  private static long ejects(FaultRig rig) {
    return rig.walnut.proxy.stats().pools().get(0).counters().get(PoolStat.SERVER_EJECTS);
  }
}
