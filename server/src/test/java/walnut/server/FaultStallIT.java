package walnut.server;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedOutputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ServerStat;
import walnut.testing.KeyPlacement;
import walnut.testing.KvDialect;
import walnut.testing.KvLoad;
import walnut.testing.Poll;
import walnut.testing.ServerFixture;

/**
 * SIGSTOP, then SIGCONT, of one backend under load with {@code timeout} set
 * (docs/compatibility.md#timeout): the kernel still accepts connections and requests for the
 * stopped server, so nothing fails until the timeout; then its requests fail with {@code Connection
 * timed out}, no later than {@code timeout} plus a small bound, while clients that use only the
 * other servers never wait for it. Once continued, the server's keys are served again.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FaultStallIT {

  private static final Logger log = LoggerFactory.getLogger(FaultStallIT.class);

  private static final int TIMEOUT_MS = 500;
  private static final Duration BOUND = Duration.ofMillis(1_000);
  private static final int VICTIM = FaultKillIT.VICTIM;
  private static final int CLIENTS = FaultKillIT.CLIENTS;
  private static final int BYSTANDERS = FaultKillIT.BYSTANDERS;

  @ParameterizedTest
  @EnumSource(value = KvDialect.class, names = {"REDIS_MIXED", "MEMCACHE"})
  void aStoppedBackendTimesOutOnlyItsKeysWithinTheTimeout(KvDialect dialect) throws Exception {
    try (FaultRig rig = FaultRig.start(dialect)) {
      rig.startProxy(rig.pool(b -> b.timeout(TIMEOUT_MS)).build(), CLIENTS + BYSTANDERS,
          FaultKillIT.KEYS);
      ServerFixture victim = rig.backends.get(VICTIM);
      try (KvLoad load = rig.load(Set.of(VICTIM), CLIENTS, BYSTANDERS, KvLoad.Options.defaults())) {
        FaultKillIT.awaitPairs(load, VICTIM, 500, "the load runs on every server");
        victim.pause();
        long pausedAt = System.nanoTime();
        long resumedAt;
        try {
          // Two rounds of timeouts on each event loop's connection: the reconnects in between
          // are accepted by the kernel and time out too.
          long timedOut = rig.serverStat(VICTIM, ServerStat.SERVER_TIMEDOUT);
          Poll.until(Duration.ofSeconds(30),
              () -> rig.serverStat(VICTIM, ServerStat.SERVER_TIMEDOUT)
                  >= timedOut + 2L * FaultRig.THREADS,
              "requests for the stopped server time out");
          FaultKillIT.awaitOthers(load, 500, "the other servers keep serving while it is stopped");
        } finally {
          victim.resume();
          resumedAt = System.nanoTime();
        }
        long recoveredAt = FaultKillIT.awaitRecovery(load, VICTIM, resumedAt);
        load.stop();
        long stalledMs = Duration.ofNanos(resumedAt - pausedAt).toMillis();
        long recoveryMs = Duration.ofNanos(Math.max(0, recoveredAt - resumedAt)).toMillis();
        Duration bystanders = Duration.ZERO;
        for (int c = CLIENTS; c < CLIENTS + BYSTANDERS; c++) {
          Duration slowest = load.maxLatencyOfClient(c);
          bystanders = slowest.compareTo(bystanders) > 0 ? slowest : bystanders;
        }
        log.info("{} SIGSTOP for {} ms: last error {} ms after SIGCONT; slowest reply to a client"
                + " of the other servers {} ms; {}", dialect, stalledMs, recoveryMs,
            bystanders.toMillis(), load.summary());
        FaultRig.assertInvariants(load, Set.of(VICTIM), Set.of("Connection timed out"),
            Duration.ofMillis(TIMEOUT_MS).plus(BOUND));
        assertTrue(load.stats(VICTIM).errors() > 0, "no request timed out");
        // A client that does not use the stopped server never waits for its timeout.
        assertTrue(bystanders.toMillis() < TIMEOUT_MS,
            "a client of the other servers waited " + bystanders.toMillis() + " ms");
      }
      rig.assertSettled();
    }
  }

  /**
   * Clients that leave while their requests wait on a stopped server (no {@code timeout}: they
   * would wait for ever) must not leave their replies behind for others: once the server is
   * continued, its replies to them are read and dropped
   * (docs/compatibility.md#reply-order-and-client-close), and clients whose requests were queued
   * behind them on the same backend connections get exactly their own replies.
   */
  @ParameterizedTest
  @EnumSource(value = KvDialect.class, names = {"REDIS_MIXED", "MEMCACHE"})
  void repliesOwedToClientsThatLeftAreDroppedNotDelivered(KvDialect dialect) throws Exception {
    int ghosts = 8;
    int pairsEach = 50;
    try (FaultRig rig = FaultRig.start(dialect)) {
      rig.startProxy(rig.pool(b -> b).build(), CLIENTS + BYSTANDERS, FaultKillIT.KEYS);
      List<String> candidates = new ArrayList<>();
      for (int n = 0; n < 200; n++) {
        candidates.add("ghost" + n);
      }
      List<String> ghostKeys = KeyPlacement.on(
          KeyPlacement.of(dialect, rig.address(), rig.backends, candidates), candidates, VICTIM);
      ServerFixture victim = rig.backends.get(VICTIM);
      long queuedBefore = rig.serverStat(VICTIM, ServerStat.OUT_QUEUE);
      List<Socket> sockets = new ArrayList<>();
      victim.pause();
      try {
        for (int g = 0; g < ghosts; g++) {
          Socket socket = new Socket();
          sockets.add(socket);
          socket.connect(rig.address(), 5_000);
          OutputStream out = new BufferedOutputStream(socket.getOutputStream());
          for (int i = 0; i < pairsEach; i++) {
            String key = ghostKeys.get(i % ghostKeys.size());
            out.write(dialect.set(key, "ghost " + g + " " + i));
            out.write(dialect.get(key));
          }
          out.flush();
        }
        long ghostRequests = 2L * ghosts * pairsEach;
        Poll.until(Duration.ofSeconds(30),
            () -> rig.serverStat(VICTIM, ServerStat.OUT_QUEUE) >= queuedBefore + ghostRequests,
            "every ghost request written to the stopped server");
        for (Socket socket : sockets) {
          socket.setSoLinger(true, 0); // reset: gone at once
          socket.close();
        }
        Poll.until(Duration.ofSeconds(30), () -> clients(rig) == 0, "the ghosts are gone");
        try (KvLoad load = rig.load(Set.of(), CLIENTS, BYSTANDERS, KvLoad.Options.defaults())) {
          Poll.until(Duration.ofSeconds(30),
              () -> rig.serverStat(VICTIM, ServerStat.OUT_QUEUE)
                  >= queuedBefore + ghostRequests + 4L * CLIENTS,
              "the new clients' requests queue behind the ghosts'");
          victim.resume();
          FaultKillIT.awaitPairs(load, VICTIM, 1_000, "the continued server serves its keys");
          load.stop();
          log.info("{} after {} ghost clients left {} requests on a stopped server: {}", dialect,
              ghosts, ghostRequests, load.summary());
          FaultRig.assertInvariants(load, Set.of(), Set.of(), Duration.ofSeconds(30));
        }
      } finally {
        for (Socket socket : sockets) {
          socket.close();
        }
        resumeQuietly(victim); // a second SIGCONT is harmless
      }
      rig.assertSettled();
    }
  }

  private static void resumeQuietly(ServerFixture server) {
    try {
      server.resume();
    } catch (RuntimeException e) {
      // not running: nothing to continue
    }
  }

  private static long clients(FaultRig rig) {
    return rig.walnut.proxy.stats().pools().get(0).counters().get(PoolStat.CLIENT_CONNECTIONS);
  }
}
