package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.config.Endpoint;
import walnut.core.config.ServerConfig;
import walnut.core.stats.HealthStat;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ServerStat;
import walnut.server.stats.StatsJson;
import walnut.testing.Flapper;
import walnut.testing.KeyPlacement;
import walnut.testing.KvDialect;
import walnut.testing.KvLoad;
import walnut.testing.Poll;
import walnut.testing.ServerFixture;
import walnut.testing.WireTap;

/**
 * {@code health_check_interval} under load (issue #21): an ejected server is no longer put back
 * blindly when {@code server_retry_timeout} has passed; it is probed (a new connection, the pool's
 * handshake, Redis {@code PING} / memcached {@code version}) every interval, one probe at a time,
 * and it rejoins the ring only when a probe succeeds. No client request is sent to it while it is
 * out, so once it is ejected its clients see no error for as long as it stays down.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FaultCheckedReturnIT {

  private static final Logger log = LoggerFactory.getLogger(FaultCheckedReturnIT.class);

  private static final int VICTIM = FaultKillIT.VICTIM;
  private static final int INTERVAL_MS = 100;
  private static final int RETRY_MS = 1_000;
  private static final int TIMEOUT_MS = 500;
  private static final Duration OUTAGE = Duration.ofSeconds(10);
  /**
   * On top of {@code server_retry_timeout} + one interval for the return after a restart. The
   * return itself needs one probe round trip (a millisecond) and the load's next request for the
   * server's keys; the rest is for a loaded 2-core machine running the paranoid leak detector,
   * where a thread may wait a few hundred ms for a core, and for the polling of the backend.
   */
  private static final long RETURN_SLACK_MS = 400;

  /**
   * kill -9 of one server under load; once it is ejected (and the requests routed to it before,
   * which fail, have been answered: one {@code timeout} later), a black hole takes its port and
   * records every byte Walnut sends there for 10 s: only probes may arrive, one at a time, each
   * given up after the pool's {@code timeout}, and the clients see no error all that time. Then
   * the real server is restarted in place and takes its keys back within {@code
   * server_retry_timeout} + one interval + {@link #RETURN_SLACK_MS} of the restart.
   */
  @ParameterizedTest
  @EnumSource(value = KvDialect.class, names = {"REDIS_MIXED", "MEMCACHE"})
  void aKilledServerGetsOnlyProbesWhileDownAndReturnsOnceOneSucceeds(KvDialect dialect)
      throws Exception {
    try (FaultRig rig = FaultRig.start(dialect)) {
      rig.startProxy(rig.pool(b -> b.timeout(TIMEOUT_MS).autoEjectHosts(true)
              .serverRetryTimeout(RETRY_MS).healthCheckInterval(INTERVAL_MS)).build(),
          FaultKillIT.CLIENTS + FaultKillIT.BYSTANDERS, FaultKillIT.KEYS);
      ServerFixture victim = rig.backends.get(VICTIM);
      List<String> victimKeys = KeyPlacement.on(rig.placement, rig.placement.keySet(), VICTIM);
      try (KvLoad load = rig.load(Set.of(VICTIM), FaultKillIT.CLIENTS, FaultKillIT.BYSTANDERS,
              KvLoad.Options.defaults());
          HealthTimeline timeline = new HealthTimeline(rig, load, VICTIM)) {
        FaultKillIT.awaitPairs(load, VICTIM, 500, "the load runs on every server");
        long killedAt = System.currentTimeMillis();
        victim.kill();
        Poll.until(Duration.ofSeconds(30), () -> ejects(rig) >= 1, "the dead server is ejected");
        // Requests routed to it before its ejection fail (refused, reset) within the timeout,
        // and their clients read them a little later: from then on, no client may see an error.
        long ejectedAt = rig.serverStat(VICTIM, ServerStat.SERVER_EJECTED_AT) / 1_000;
        Poll.until(Duration.ofSeconds(10), () -> rig.serverStat(VICTIM, ServerStat.IN_QUEUE)
                + rig.serverStat(VICTIM, ServerStat.OUT_QUEUE) == 0
                && System.currentTimeMillis() >= ejectedAt + TIMEOUT_MS,
            "no request left for the dead server, one timeout after its ejection");
        long ejectsBeforeHole = ejects(rig);
        long holeOpened;
        long holeClosed;
        long errorsAtHole;
        long probesAtHole;
        List<WireTap.Connection> seen;
        try (WireTap hole = WireTap.blackHole(victim.port())) {
          holeOpened = System.nanoTime();
          long holeOpenedAt = System.currentTimeMillis();
          errorsAtHole = load.errors(VICTIM);
          probesAtHole = health(rig, VICTIM, HealthStat.HEALTH_PROBES);
          FaultKillIT.awaitPairs(load, VICTIM, 300, "the dead server's keys are served elsewhere");
          // The outage itself: 10 s during which the probes must keep arriving.
          Poll.until(OUTAGE.plusSeconds(30), () -> System.nanoTime() - holeOpened
                  >= OUTAGE.toNanos() && hole.connections().size() >= 2,
              "10 s of outage, probes reaching the dead server's port");
          long probes = health(rig, VICTIM, HealthStat.HEALTH_PROBES);
          long failures = health(rig, VICTIM, HealthStat.HEALTH_PROBE_FAILURES);
          long returns = health(rig, VICTIM, HealthStat.HEALTH_RETURNS);
          seen = hole.connections();
          holeClosed = System.nanoTime();
          long windowMs = System.currentTimeMillis() - holeOpenedAt;
          log.info("{}: {} connections to the dead server's port in {} ms (at most {} open at"
                  + " once); health_probes {} -> {}, failures {}, returns {}", dialect,
              seen.size(), windowMs, hole.maxOpen(), probesAtHole, probes, failures, returns);
          assertEquals(errorsAtHole, load.errors(VICTIM),
              "clients saw errors while the ejected server was down (ms after the kill: ejected "
                  + timeline.ejections().stream().map(t -> t - killedAt).toList()
                  + ", port watched from " + (holeOpenedAt - killedAt) + ", errors "
                  + timeline.errors().stream().map(c -> c.count() + " at " + (c.fromMillis()
                  - killedAt) + "-" + (c.toMillis() - killedAt)).toList() + ")\n"
                  + load.summary());
          for (WireTap.Connection c : seen) {
            assertEquals(c.sentBytes().length, ProbeTraffic.probePrefix(dialect, c.sentBytes()),
                "a client request reached the ejected server's port: " + ProbeTraffic.describe(c));
          }
          // One probe at a time, each waiting the pool's timeout for an answer that never comes.
          assertTrue(seen.size() >= OUTAGE.toMillis() / (TIMEOUT_MS + INTERVAL_MS) / 2,
              seen.size() + " probes in " + windowMs + " ms: the server is not probed every "
                  + INTERVAL_MS + " ms once its probe has failed");
          assertTrue(seen.size() <= windowMs / TIMEOUT_MS + 2,
              seen.size() + " probe connections in " + windowMs + " ms, each open for the "
                  + TIMEOUT_MS + " ms timeout: more than one probe at a time (one per loop?)");
          // The probe's timeout runs from its connect; the tap accepts some time after that (91 ms
          // once, on a loaded 2-core machine), so the open time can fall short of the timeout by
          // that much: a probe given up early would be far shorter.
          for (WireTap.Connection c : seen) {
            long open = c.proxyClosedAt() - c.acceptedAt();
            assertTrue(c.proxyClosedAt() < 0 || open >= TIMEOUT_MS - 200 && open <= TIMEOUT_MS + 400,
                "a probe given up after " + open + " ms (the pool's timeout is " + TIMEOUT_MS
                    + " ms)");
          }
          assertEquals(0, returns, "a return while the server was down");
          assertTrue(probes - probesAtHole >= seen.size() - 1,
              "health_probes grew by " + (probes - probesAtHole) + " for " + seen.size()
                  + " probe connections");
          assertTrue(failures + returns >= probes - 1 && failures + returns <= probes,
              "health_probe_failures " + failures + " + returns " + returns + " for " + probes
                  + " probes (at most one in flight)");
        }
        victim.restart(); // empty, on the same port
        long restarted = System.nanoTime();
        long bound = RETRY_MS + INTERVAL_MS + RETURN_SLACK_MS;
        Poll.until(Duration.ofMillis(bound).plusSeconds(30),
            () -> !dialect.held(victim, victimKeys).isEmpty(),
            "the restarted server takes its keys back");
        long returnMs = Duration.ofNanos(System.nanoTime() - restarted).toMillis();
        assertTrue(health(rig, VICTIM, HealthStat.HEALTH_RETURNS) >= 1,
            "the server's keys are on it again, but health_returns says it never returned");
        FaultKillIT.awaitPairs(load, VICTIM, 500, "the returned server serves its keys");
        load.stop();
        log.info("{} checked return: back {} ms after the restart (bound {} ms); {}", dialect,
            returnMs, bound, load.summary());
        FaultRig.assertInvariants(load, Set.of(VICTIM), FaultKillIT.DEAD_SERVER_ERRORS,
            Duration.ofMillis(TIMEOUT_MS).plus(FaultKillIT.BOUND));
        assertTrue(load.lastErrorNanos(VICTIM) < holeOpened,
            "an error " + Duration.ofNanos(load.lastErrorNanos(VICTIM) - holeOpened).toMillis()
                + " ms after the outage began (it lasted "
                + Duration.ofNanos(holeClosed - holeOpened).toMillis() + " ms)");
        assertTrue(returnMs <= bound, "back " + returnMs + " ms after the restart (expected: <= "
            + bound + " ms)");
        assertEquals(ejectsBeforeHole, ejects(rig), "ejected again during the outage or after");
      }
      Poll.until(Duration.ofSeconds(10), () -> health(rig, VICTIM, HealthStat.HEALTH_PROBES)
              == health(rig, VICTIM, HealthStat.HEALTH_PROBE_FAILURES)
              + health(rig, VICTIM, HealthStat.HEALTH_RETURNS),
          "health_probes = health_probe_failures + health_returns");
      assertEquals(1, health(rig, VICTIM, HealthStat.HEALTH_RETURNS), "health_returns");
      String json = StatsJson.render(rig.walnut.proxy.stats(), "test", System.currentTimeMillis());
      assertTrue(json.contains("\"health_probes\":" + health(rig, VICTIM, HealthStat.HEALTH_PROBES)
          + ", \"health_probe_failures\":"
          + health(rig, VICTIM, HealthStat.HEALTH_PROBE_FAILURES) + ", \"health_returns\":1}"),
          "the stats document's s0: " + json);
      rig.assertSettled();
    }
  }

  private static final int FLAP_TIMEOUT_MS = 200;
  private static final Duration FLAP_PERIOD = Duration.ofMillis(300);
  private static final int FLAP_CLIENTS = 8;
  private static final int FLAP_BYSTANDERS = 2;
  /**
   * A request routed by another event loop just before an ejection is written a little after
   * it, and the relay's thread reads it a little later still: up to 15 ms seen on an idle 2-core
   * machine; the rest is for one busy with other builds. The ejections last over a second.
   */
  private static final long EJECTION_EDGE_MS = 100;
  /** How late a client reads an error after the proxy sent it, plus the sampling. */
  private static final long ERROR_SLACK_MS = 150;
  /** How late the proxy acts on a probe's answer that came just before a stop. */
  private static final long RETURN_EDGE_MS = 100;

  /**
   * A server that flaps under load: stopped (SIGSTOP) until it is ejected, then continued and
   * stopped in turn every 300 ms for 10 s, with a {@code timeout} of 200 ms, a relay in front of
   * it recording what Walnut sends it and when.
   *
   * <p>What is asserted, and why no more. (1) No client byte reaches the server while it is
   * ejected: from its {@code server_ejected_at} (exact) plus {@value #EJECTION_EDGE_MS} ms — a
   * request routed by another event loop the instant before the ejection is still written just
   * after it, and the relay reads it a little later — until the first probe answer after that,
   * which is the earliest the server can rejoin. (2) Clients see errors only while the server is
   * stopped (until {@value #ERROR_SLACK_MS} ms after it is continued, for the error's way to the
   * client): requests already sent to it when it stops cannot be saved by any proxy, they time out;
   * and so do those routed to it until the proxy has seen enough timeouts to eject it. So a stop
   * that finds the server in the ring costs a burst of errors, bounded by what the clients can
   * have in flight; but a stop never does while it is out: there are at most as many bursts as
   * returns, plus the first stop's. (3) It returns only while running, after a probe answered.
   */
  @ParameterizedTest
  @EnumSource(value = KvDialect.class, names = {"REDIS_MIXED", "MEMCACHE"})
  void aFlappingServerGetsNoRequestWhileEjectedAndCostsErrorsOnlyWhenItStops(KvDialect dialect)
      throws Exception {
    try (FaultRig rig = FaultRig.start(dialect);
        WireTap relay = WireTap.relay(rig.backends.get(VICTIM).address())) {
      var pool = rig.pool(b -> b.timeout(FLAP_TIMEOUT_MS).autoEjectHosts(true)
          .serverRetryTimeout(RETRY_MS).healthCheckInterval(INTERVAL_MS));
      List<ServerConfig> servers = new ArrayList<>(pool.build().servers());
      servers.set(VICTIM, new ServerConfig("s" + VICTIM, Endpoint.tcp("127.0.0.1", relay.port()),
          1));
      rig.startProxy(pool.servers(servers).build(), FLAP_CLIENTS + FLAP_BYSTANDERS,
          FaultKillIT.KEYS);
      ServerFixture victim = rig.backends.get(VICTIM);
      List<Flapper.Phase> phases;
      long returns;
      try (KvLoad load = rig.load(Set.of(VICTIM), FLAP_CLIENTS, FLAP_BYSTANDERS,
              KvLoad.Options.defaults());
          HealthTimeline timeline = new HealthTimeline(rig, load, VICTIM)) {
        FaultKillIT.awaitPairs(load, VICTIM, 500, "the load runs on every server");
        long ejectsBefore = ejects(rig);
        Flapper flapper = Flapper.stop(victim);
        try {
          Poll.until(Duration.ofSeconds(30), () -> ejects(rig) > ejectsBefore,
              "the stopped server is ejected");
          flapper.flap(FLAP_PERIOD, OUTAGE);
          flapper.await(OUTAGE.plusSeconds(30));
        } finally {
          flapper.close(); // leaves it running
          phases = flapper.phases();
        }
        long flapped = System.currentTimeMillis();
        Poll.until(Duration.ofSeconds(30), () -> relay.connections().stream()
                .flatMap(c -> ProbeTraffic.clientBytesAt(dialect, c).stream())
                .anyMatch(t -> t > flapped),
            "the continued server is back in the ring");
        FaultKillIT.awaitPairs(load, VICTIM, 300, "the continued server serves its keys");
        load.stop();
        timeline.close();
        returns = health(rig, VICTIM, HealthStat.HEALTH_RETURNS);
        log.info("{} flapping: {} phases, {} returns, {} ejections; {}", dialect, phases.size(),
            returns, timeline.ejections().size(), load.summary());
        FaultRig.assertInvariants(load, Set.of(VICTIM), Set.of("Connection timed out"),
            Duration.ofMillis(FLAP_TIMEOUT_MS).plus(FaultKillIT.BOUND));
        assertFlapping(dialect, relay, timeline, phases, returns);
      }
      rig.assertSettled();
    }
  }

  private static void assertFlapping(KvDialect dialect, WireTap relay, HealthTimeline timeline,
      List<Flapper.Phase> phases, long returns) {
    // (1) Nothing but probes while it is out.
    TreeSet<Long> answered = new TreeSet<>();
    List<Long> clientBytes = new ArrayList<>();
    for (WireTap.Connection c : relay.connections()) {
      c.received().stream().filter(r -> ProbeTraffic.isProbeSuccess(dialect, r.bytes()))
          .forEach(r -> answered.add(r.atMillis()));
      clientBytes.addAll(ProbeTraffic.clientBytesAt(dialect, c));
    }
    List<String> sentWhileOut = new ArrayList<>();
    List<String> margins = new ArrayList<>();
    for (long ejected : timeline.ejections()) {
      Long back = answered.higher(ejected);
      long until = back == null ? Long.MAX_VALUE : back;
      margins.add("last client byte " + clientBytes.stream().filter(t -> t >= ejected)
          .filter(t -> t < until).mapToLong(t -> t - ejected).max().orElse(-1)
          + " ms after, first probe answer " + (back == null ? "never" : back - ejected
          + " ms after"));
      clientBytes.stream().filter(t -> t >= ejected + EJECTION_EDGE_MS && t < until)
          .forEach(t -> sentWhileOut.add("client bytes " + (t - ejected)
              + " ms after the ejection at " + ejected + " (first probe answer after it: "
              + (back == null ? "none" : (back - ejected) + " ms") + ")"));
    }
    log.info("{} flapping, per ejection: {}", dialect, margins);
    assertEquals(List.of(), sentWhileOut, "client requests sent to the ejected server");
    assertTrue(timeline.ejections().size() >= 2, "ejected only " + timeline.ejections().size()
        + " times: the flapping did not make it leave and come back");

    // (2) Errors only while it is stopped, in at most one burst per return (+ the first stop).
    List<long[]> stopped = new ArrayList<>();
    List<long[]> running = new ArrayList<>();
    for (int i = 0; i < phases.size(); i++) {
      Flapper.Phase p = phases.get(i);
      Flapper.Phase next = i + 1 < phases.size() ? phases.get(i + 1) : null;
      long end = next == null ? Long.MAX_VALUE : next.settledAt()
          + (p.stopped() ? ERROR_SLACK_MS : RETURN_EDGE_MS);
      (p.stopped() ? stopped : running).add(new long[] {p.signalledAt(), end, 0});
    }
    List<String> stray = new ArrayList<>();
    for (HealthTimeline.Change e : timeline.errors()) {
      long[] window = overlapping(stopped, e.fromMillis(), e.toMillis());
      if (window == null) {
        stray.add(e.count() + " errors between " + e.fromMillis() + " and " + e.toMillis());
      } else {
        window[2] += e.count();
      }
    }
    assertEquals(List.of(), stray, "errors while the server ran; stops at " + stopped.stream()
        .map(w -> w[0] + "-" + w[1]).toList());
    long bursts = stopped.stream().filter(w -> w[2] > 0).count();
    long perBurst = 2L * FLAP_CLIENTS * (2L * KvLoad.Options.defaults().pairsPerBatch() + 1);
    log.info("{} flapping: errors per stop {}", dialect,
        stopped.stream().map(w -> w[2]).toList());
    assertTrue(bursts >= 1, "the first stop cost no error at all");
    assertTrue(bursts <= returns + 1, bursts + " stops cost errors but the server returned only "
        + returns + " times: errors while it was out");
    for (long[] w : stopped) {
      assertTrue(w[2] <= perBurst, w[2] + " errors in one stop (expected at most " + perBurst
          + ": two batches per client)");
    }

    // (3) Returns only while it runs (a probe answered), and only the flapping's or the last.
    List<String> strayReturns = new ArrayList<>();
    for (HealthTimeline.Change r : timeline.returns()) {
      if (overlapping(running, r.fromMillis(), r.toMillis()) == null) {
        strayReturns.add("a return between " + r.fromMillis() + " and " + r.toMillis());
      }
    }
    assertEquals(List.of(), strayReturns, "returns while the server was stopped; runs at "
        + running.stream().map(w -> w[0] + "-" + w[1]).toList());
    assertTrue(returns >= 2, "returned " + returns + " times in " + OUTAGE.toSeconds()
        + " s of flapping with a " + RETRY_MS + " ms retry");
  }

  /** The first window of {@code windows} ({from, to, …}) that meets [from, to], or null. */
  private static long[] overlapping(List<long[]> windows, long from, long to) {
    for (long[] w : windows) {
      if (to >= w[0] && from <= w[1]) {
        return w;
      }
    }
    return null;
  }

  static long health(FaultRig rig, int server, HealthStat stat) {
    return rig.walnut.proxy.stats().pools().get(0).servers().get(server).health().get(stat);
  }

  static long ejects(FaultRig rig) {
    return rig.walnut.proxy.stats().pools().get(0).counters().get(PoolStat.SERVER_EJECTS);
  }
}
