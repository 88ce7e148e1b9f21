package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.config.PoolConfig;
import walnut.testing.KeyPlacement;
import walnut.testing.KvDialect;
import walnut.testing.KvLoad;
import walnut.testing.Poll;
import walnut.testing.ServerFixture;
import walnut.testing.WireTap;

/**
 * {@code auto_eject_remap: false} (issue #21): an ejected server keeps its place in the continuum,
 * so its keys never move to another server; while it is out they are answered at once with Redis
 * {@code -ERR server '<name>' is ejected: <cause>} / memcached {@code SERVER_ERROR server '<name>'
 * is ejected: <cause>}, the cause being the failure that ejected it, and the other servers' keys
 * are served as before. With ketama and modula under load; with random, where a key has no server
 * of its own, every request gets either its reply or that error at once, and none waits.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FaultNoRemapIT {

  private static final Logger log = LoggerFactory.getLogger(FaultNoRemapIT.class);

  private static final int VICTIM = FaultKillIT.VICTIM;
  private static final int TIMEOUT_MS = 500;
  /** How soon an ejected server's key must be answered, per request, on the client. */
  private static final long FAST_MS = 5;
  /**
   * Requests measured one at a time on an otherwise idle proxy. A 2-core machine shared with the
   * backends may still deschedule the client or an event loop, or collect garbage, for longer
   * than {@link #FAST_MS} now and then: one in a hundred may be late, none by more than {@link
   * #LATE_MS}, far below the {@link #TIMEOUT_MS} a request sent to the server would wait.
   */
  private static final long LATE_MS = 100;

  private static final int REQUESTS = 200;
  /**
   * What may have ejected a killed server: twemproxy's texts, but for a close, which twemproxy
   * calls "unknown" (errno 0) and the refusal spells out.
   */
  static final Set<String> KILLED_CAUSES = Set.of("Connection refused",
      "Connection reset by peer", "Broken pipe", "the server closed the connection");
  /** Long enough that the server stays out for the whole test (no health checks here). */
  private static final int RETRY_MS = 120_000;

  /** How the server is taken out: its process killed, or stopped (SIGSTOP) with a timeout set. */
  enum Outage { KILL, STOP }

  static Stream<Arguments> cases() {
    List<Arguments> cases = new ArrayList<>();
    for (KvDialect dialect : List.of(KvDialect.REDIS_MIXED, KvDialect.MEMCACHE)) {
      cases.add(Arguments.of("ketama", dialect, Outage.KILL));
      cases.add(Arguments.of("modula", dialect, Outage.STOP));
      cases.add(Arguments.of("random", dialect, Outage.STOP));
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} {1} {2}")
  @MethodSource("cases")
  void anEjectedServersKeysFailAtOnceAndNeverMove(String distribution, KvDialect dialect,
      Outage outage) throws Exception {
    boolean random = distribution.equals("random");
    int clients = random ? 2 : FaultKillIT.CLIENTS + FaultKillIT.BYSTANDERS;
    try (FaultRig rig = FaultRig.start(dialect)) {
      // modula over fnv1a_64 puts the rig's keys almost all on two servers: another hash.
      String hash = distribution.equals("modula") ? "murmur" : PoolConfig.DEFAULT_HASH;
      rig.startProxy(rig.pool(b -> b.distribution(distribution).hash(hash).timeout(TIMEOUT_MS)
          .autoEjectHosts(true).autoEjectRemap(false).serverRetryTimeout(RETRY_MS)).build(),
          clients, FaultKillIT.KEYS);
      ServerFixture victim = rig.backends.get(VICTIM);
      try {
        if (random) {
          randomRequestsFailOnlyAtOnce(rig, dialect, outage);
        } else {
          keysStayOnTheirServer(rig, dialect, outage);
        }
      } finally {
        if (outage == Outage.STOP && victim.isRunning()) {
          victim.resume(); // its clients' connections are then answered and closed
        }
      }
      rig.assertSettled();
    }
  }

  private static void keysStayOnTheirServer(FaultRig rig, KvDialect dialect, Outage outage)
      throws Exception {
    List<String> all = new ArrayList<>(rig.placement.keySet());
    List<String> victimKeys = KeyPlacement.on(rig.placement, all, VICTIM);
    List<String> otherKeys = all.stream().filter(k -> !victimKeys.contains(k)).toList();
    Set<String> failures = outage == Outage.KILL ? FaultKillIT.DEAD_SERVER_ERRORS
        : Set.of("Connection timed out");
    Set<String> causes = outage == Outage.KILL ? KILLED_CAUSES : failures;
    try (KvLoad load = rig.load(Set.of(VICTIM), FaultKillIT.CLIENTS, FaultKillIT.BYSTANDERS,
        KvLoad.Options.defaults())) {
      FaultKillIT.awaitPairs(load, VICTIM, 500, "the load runs on every server");
      takeOut(rig.backends.get(VICTIM), outage);
      Poll.until(Duration.ofSeconds(30), () -> FaultCheckedReturnIT.ejects(rig) >= 1,
          "the server is ejected");
      long errors = load.errors(VICTIM);
      Poll.until(Duration.ofSeconds(30), () -> load.errors(VICTIM) >= errors + 200,
          "the ejected server's keys keep failing");
      FaultKillIT.awaitOthers(load, 1_000, "the other servers' keys are served");
      load.stop();
      Set<String> texts = load.stats(VICTIM).errorTexts().keySet();
      assertTrue(texts.stream().anyMatch(t -> t.startsWith(ejectedPrefix())),
          "no 'is ejected' error among " + texts);
      // Before the ejection, the failures' own texts; after it, "is ejected" and one of them (a
      // connection opened before the ejection may fail after it and eject it anew, for its own
      // failure: docs/compatibility.md#ejection).
      Set<String> allowed = new HashSet<>(failures);
      causes.forEach(c -> allowed.add(ejectedPrefix() + c));
      log.info("{} {} no remap: {}", dialect, outage, load.summary());
      FaultRig.assertInvariants(load, Set.of(VICTIM), allowed,
          Duration.ofMillis(TIMEOUT_MS).plus(FaultKillIT.BOUND));
    }
    // One request at a time: each of the server's keys, written and read, fails at once; the
    // other keys are served on the same connection. A killed server's port is watched meanwhile:
    // nothing is sent to an ejected server, no connection even attempted.
    List<Long> late = new ArrayList<>();
    String cause = null;
    WireTap watch = outage == Outage.KILL ? WireTap.blackHole(rig.backends.get(VICTIM).port())
        : null;
    try (watch; Socket socket = connect(rig)) {
      OutputStream out = socket.getOutputStream();
      InputStream in = new BufferedInputStream(socket.getInputStream());
      for (int i = 0; i < REQUESTS; i++) {
        String key = victimKeys.get(i % victimKeys.size());
        byte[] request = i % 2 == 0 ? dialect.set(key, "outage:" + i) : dialect.get(key);
        long start = System.nanoTime();
        out.write(request);
        out.flush();
        KvDialect.Reply reply = dialect.read(in, key);
        long nanos = System.nanoTime() - start;
        if (cause == null && reply.kind() == KvDialect.Kind.ERROR
            && reply.text().startsWith(ejectedPrefix())) {
          cause = reply.text().substring(ejectedPrefix().length());
          assertTrue(causes.contains(cause), "ejected for '" + cause + "' (expected one of "
              + causes + ")");
        }
        // The server stays out, ejected for the same failure, for every request.
        assertEquals(new KvDialect.Reply(KvDialect.Kind.ERROR, ejectedPrefix() + cause), reply,
            "request " + i + " for " + key);
        recordLate(late, nanos);
        String other = otherKeys.get(i % otherKeys.size());
        out.write(dialect.get(other));
        out.flush();
        assertNotEquals(KvDialect.Kind.ERROR, dialect.read(in, other).kind(), "GET " + other);
      }
    }
    assertFast(late, REQUESTS);
    if (watch != null) {
      assertEquals(List.of(), watch.connections().stream().map(ProbeTraffic::describe).toList(),
          "connections to the ejected server's port");
    }
    for (int s = 0; s < FaultRig.BACKENDS; s++) {
      if (s != VICTIM) {
        assertEquals(Set.of(), dialect.held(rig.backends.get(s), victimKeys),
            "keys of the ejected server written to s" + s);
      }
    }
  }

  /**
   * random: a request goes to any server of the ring, the ejected one included, so about a third
   * get the "is ejected" error; each either succeeds or gets it at once, and none waits for the
   * stopped server's timeout. A value read is one this test or the placement wrote for that key.
   */
  private static void randomRequestsFailOnlyAtOnce(FaultRig rig, KvDialect dialect,
      Outage outage) throws Exception {
    List<String> keys = new ArrayList<>(rig.placement.keySet());
    takeOut(rig.backends.get(VICTIM), outage);
    try (Socket socket = connect(rig)) {
      OutputStream out = socket.getOutputStream();
      InputStream in = new BufferedInputStream(socket.getInputStream());
      Poll.until(Duration.ofSeconds(30), () -> {
        call(out, in, dialect, keys.get(0), null); // requests, so that timeouts eject it
        return FaultCheckedReturnIT.ejects(rig) >= 1;
      }, "the server is ejected");
      Random pick = new Random(42);
      List<Long> late = new ArrayList<>();
      int failed = 0;
      long slowestOk = 0;
      String expected = ejectedPrefix() + (outage == Outage.KILL ? "" : "Connection timed out");
      for (int i = 0; i < 3 * REQUESTS; i++) {
        String key = keys.get(pick.nextInt(keys.size()));
        String value = i % 2 == 0 ? "random:" + key + ":" + i : null;
        long start = System.nanoTime();
        KvDialect.Reply reply = call(out, in, dialect, key, value);
        long nanos = System.nanoTime() - start;
        if (reply.kind() == KvDialect.Kind.ERROR) {
          assertTrue(outage == Outage.KILL ? reply.text().startsWith(expected)
              : reply.text().equals(expected), "request " + i + " for " + key + ": " + reply);
          failed++;
          recordLate(late, nanos);
          continue;
        }
        slowestOk = Math.max(slowestOk, nanos);
        if (value != null) {
          assertEquals(KvDialect.Kind.STORED, reply.kind(), "SET " + key);
        } else if (reply.kind() == KvDialect.Kind.VALUE) {
          assertTrue(reply.text().equals(KeyPlacement.VALUE)
              || reply.text().startsWith("random:" + key + ":"), "GET " + key + ": " + reply);
        } else {
          assertEquals(KvDialect.Kind.MISSING, reply.kind(), "GET " + key);
        }
      }
      log.info("{} random no remap: {} of {} requests got the ejected error", dialect, failed,
          3 * REQUESTS);
      // Binomial(600, 1/3): 200 expected, standard deviation 11.5.
      assertTrue(failed >= REQUESTS / 2 && failed <= 2 * REQUESTS, failed + " of " + 3 * REQUESTS
          + " requests failed: the ejected server does not keep its third of the ring");
      assertTrue(slowestOk < Duration.ofMillis(TIMEOUT_MS / 2).toNanos(), "a reply took "
          + Duration.ofNanos(slowestOk).toMillis() + " ms: it waited on the stopped server");
      assertFast(late, failed);
    }
  }

  /** One SET (if {@code value}) or GET of {@code key}, and its reply. */
  private static KvDialect.Reply call(OutputStream out, InputStream in, KvDialect dialect,
      String key, String value) {
    try {
      out.write(value == null ? dialect.get(key) : dialect.set(key, value));
      out.flush();
      return dialect.read(in, key);
    } catch (IOException e) {
      throw new AssertionError("request for " + key + " failed", e);
    }
  }

  private static Socket connect(FaultRig rig) throws IOException {
    Socket socket = new Socket();
    socket.connect(rig.address(), 5_000);
    socket.setTcpNoDelay(true);
    socket.setSoTimeout(5_000); // a request that hangs fails the test
    return socket;
  }

  private static void takeOut(ServerFixture victim, Outage outage) {
    if (outage == Outage.KILL) {
      victim.kill();
    } else {
      victim.pause();
    }
  }

  /** What every "is ejected" error starts with, without the protocol's prefix. */
  private static String ejectedPrefix() {
    return "server 's" + VICTIM + "' is ejected: ";
  }

  private static void recordLate(List<Long> late, long nanos) {
    if (nanos > Duration.ofMillis(FAST_MS).toNanos()) {
      late.add(Duration.ofNanos(nanos).toMillis());
    }
  }

  /** At most one in a hundred of {@code count} errors later than FAST_MS, none past LATE_MS. */
  private static void assertFast(List<Long> lateMillis, int count) {
    log.info("{} 'is ejected' errors, {} later than {} ms: {}", count, lateMillis.size(), FAST_MS,
        lateMillis);
    assertTrue(count > 0, "no request got the ejected error");
    assertTrue(lateMillis.size() <= Math.max(1, count / 100), lateMillis.size() + " of " + count
        + " errors later than " + FAST_MS + " ms: " + lateMillis);
    assertTrue(lateMillis.stream().allMatch(ms -> ms <= LATE_MS), "errors that took "
        + lateMillis + " ms (expected: at once, <= " + FAST_MS + " ms)");
  }
}
