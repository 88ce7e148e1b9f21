package walnut.server;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.testing.KvDialect;
import walnut.testing.KvLoad;
import walnut.testing.Poll;

/**
 * kill -9 of one backend under load, and its restart: requests for its keys fail with the
 * errors of docs/compatibility.md#server-side-failures (never hang), every other reply stays
 * correct and in order, and once the server is back on its port its keys are served again.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FaultKillIT {

  private static final Logger log = LoggerFactory.getLogger(FaultKillIT.class);

  static final int TIMEOUT_MS = 1_000;
  /** On top of {@code timeout}: a loaded 2-core machine, GC, and a batch written behind others. */
  static final Duration BOUND = Duration.ofMillis(1_500);
  static final int CLIENTS = 12;
  static final int BYSTANDERS = 4;
  static final int KEYS = 30;
  static final int VICTIM = 0;
  /** What a dead server's requests may get: its connection closing, reset, or refused. */
  static final Set<String> DEAD_SERVER_ERRORS = Set.of("unknown", "Connection reset by peer",
      "Connection refused", "Broken pipe");

  @ParameterizedTest
  @EnumSource(value = KvDialect.class, names = {"REDIS_MIXED", "MEMCACHE"})
  void killingOneBackendFailsOnlyItsKeysAndMisdeliversNothing(KvDialect dialect)
      throws Exception {
    try (FaultRig rig = FaultRig.start(dialect)) {
      rig.startProxy(rig.pool(b -> b.timeout(TIMEOUT_MS)).build(), CLIENTS + BYSTANDERS, KEYS);
      try (KvLoad load = rig.load(Set.of(VICTIM), CLIENTS, BYSTANDERS, KvLoad.Options.defaults())) {
        awaitPairs(load, VICTIM, 500, "the load runs on every server");
        rig.backends.get(VICTIM).kill();
        Poll.until(Duration.ofSeconds(30), () -> load.errors(VICTIM) >= 200,
            "requests for the dead server's keys fail");
        awaitOthers(load, 1_000, "the other servers keep serving after the kill");
        load.stop();
        log.info("{} kill -9: {}", dialect, load.summary());
        FaultRig.assertInvariants(load, Set.of(VICTIM), DEAD_SERVER_ERRORS,
            Duration.ofMillis(TIMEOUT_MS).plus(BOUND));
      }
      rig.assertSettled();
    }
  }

  @ParameterizedTest
  @EnumSource(value = KvDialect.class, names = {"REDIS_MIXED", "MEMCACHE"})
  void aRestartedBackendServesItsKeysAgain(KvDialect dialect) throws Exception {
    try (FaultRig rig = FaultRig.start(dialect)) {
      rig.startProxy(rig.pool(b -> b.timeout(TIMEOUT_MS)).build(), CLIENTS + BYSTANDERS, KEYS);
      try (KvLoad load = rig.load(Set.of(VICTIM), CLIENTS, BYSTANDERS, KvLoad.Options.defaults())) {
        awaitPairs(load, VICTIM, 500, "the load runs on every server");
        rig.backends.get(VICTIM).kill();
        Poll.until(Duration.ofSeconds(30), () -> load.errors(VICTIM) >= 200,
            "requests for the dead server's keys fail");
        rig.backends.get(VICTIM).restart();
        long restartedAt = System.nanoTime();
        long recoveredAt = awaitRecovery(load, VICTIM, restartedAt);
        awaitPairs(load, VICTIM, 1_000, "the restarted server keeps serving");
        long errorsAfter = load.lastErrorNanos(VICTIM) - recoveredAt;
        load.stop();
        long recoveryMs = Duration.ofNanos(Math.max(0, recoveredAt - restartedAt)).toMillis();
        log.info("{} restart: last error {} ms after the restart; {}", dialect, recoveryMs,
            load.summary());
        FaultRig.assertInvariants(load, Set.of(VICTIM), DEAD_SERVER_ERRORS,
            Duration.ofMillis(TIMEOUT_MS).plus(BOUND));
        assertTrue(errorsAfter <= 0, "an error after the server had recovered");
        // Walnut backs off reconnecting to a dead server for at most 1 s.
        assertTrue(recoveryMs <= 3_000, "recovered " + recoveryMs + " ms after the restart");
      }
      rig.assertSettled();
    }
  }

  /** Waits for {@code more} pairs stored and read back on {@code server}'s keys. */
  static void awaitPairs(KvLoad load, int server, long more, String what) {
    long from = load.pairsStored(server);
    Poll.until(Duration.ofSeconds(60), () -> load.pairsStored(server) >= from + more, what);
  }

  /** Waits for {@code more} pairs stored and read back on the keys of the servers but VICTIM. */
  static void awaitOthers(KvLoad load, long more, String what) {
    long from = othersStored(load);
    Poll.until(Duration.ofSeconds(60), () -> othersStored(load) >= from + more, what);
  }

  private static long othersStored(KvLoad load) {
    long n = 0;
    for (int s = 0; s < FaultRig.BACKENDS; s++) {
      if (s != VICTIM) {
        n += load.pairsStored(s);
      }
    }
    return n;
  }

  /**
   * Waits until {@code server}'s keys have been served for a second with no error, and returns
   * when the last error was (or {@code since} if there was none after it).
   */
  static long awaitRecovery(KvLoad load, int server, long since) {
    long[] stored = {load.pairsStored(server)};
    Poll.until(Duration.ofSeconds(30), () -> {
      long quietFor = System.nanoTime() - Math.max(since, load.lastErrorNanos(server));
      if (quietFor < Duration.ofSeconds(1).toNanos()) {
        stored[0] = load.pairsStored(server);
        return false;
      }
      return load.pairsStored(server) > stored[0] + 50;
    }, "server " + server + "'s keys served without errors for a second");
    return Math.max(since, load.lastErrorNanos(server));
  }
}
