package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ServerConfig;
import walnut.core.stats.ServerStat;
import walnut.testing.HeapCheck;
import walnut.testing.KeyPlacement;
import walnut.testing.KvDialect;
import walnut.testing.KvLoad;
import walnut.testing.Poll;
import walnut.testing.ServerFixture;

/**
 * What every fault test sets up: three real backends of one protocol, Walnut in front of them on
 * two event loops, each client's keys placed (asked of the backends, not of Walnut), a heap
 * baseline, and the checks that end every fault test.
 *
 * <p>The servers are named {@code s0}, {@code s1}, {@code s2} in the pool, so the pool's sorted
 * order is the order of {@link #backends} and a server put behind a relay keeps its name, and so
 * its keys. Closing the rig closes Walnut and stops every backend by its pid.
 */
final class FaultRig implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(FaultRig.class);

  static final int BACKENDS = 3;
  static final int THREADS = 2;
  /** Heap the load may leave behind: generous, since the JVM is shared with Netty's pools. */
  static final long HEAP_SLACK = 64L << 20;

  final KvDialect dialect;
  final List<ServerFixture> backends = new ArrayList<>();
  ProxyFixture walnut;
  Map<String, Integer> placement;
  private List<List<String>> keysPerClient;
  private long heapBaseline;

  private FaultRig(KvDialect dialect) {
    this.dialect = dialect;
  }

  /** Starts three backends; skips the test if Walnut has no such protocol yet. */
  static FaultRig start(KvDialect dialect) {
    String protocol = dialect.isRedis() ? "redis" : "memcache";
    assumeTrue(ProxyFixture.PLUGINS.protocols().containsKey(protocol),
        "Walnut has no protocol named '" + protocol + "' on this class path");
    FaultRig rig = new FaultRig(dialect);
    try {
      for (int i = 0; i < BACKENDS; i++) {
        rig.backends.add(dialect.startServer());
      }
    } catch (RuntimeException e) {
      rig.closeBackends();
      throw e;
    }
    return rig;
  }

  /** The pool over the backends, server {@code i} named {@code s<i>}, then {@code configure}. */
  PoolConfig.Builder pool(UnaryOperator<PoolConfig.Builder> configure) {
    List<ServerConfig> servers = new ArrayList<>();
    for (int i = 0; i < backends.size(); i++) {
      ServerFixture b = backends.get(i);
      servers.add(new ServerConfig("s" + i, Endpoint.tcp(b.host(), b.port()), 1));
    }
    return configure.apply(PoolConfig.builder("test").listen(Endpoint.tcp("127.0.0.1", 0))
        .redis(dialect.isRedis()).servers(servers));
  }

  /**
   * Starts Walnut over {@code pool}, then gives {@code clients} clients {@code keysEach} keys each
   * ({@code f<n>:<client>}), learns where each key lives, and takes the heap baseline.
   */
  void startProxy(PoolConfig pool, int clients, int keysEach) throws InterruptedException {
    walnut = ProxyFixture.start(pool, THREADS);
    keysPerClient = new ArrayList<>();
    List<String> all = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      List<String> keys = new ArrayList<>();
      for (int n = 0; n < keysEach; n++) {
        // The varying part first: twemproxy's fnv1a_64 multiplies by 0x1b3 only (its 64-bit prime
        // truncated to 32 bits), so keys that differ only in their last bytes cluster on the ring.
        keys.add("f" + n + ":" + c);
      }
      keysPerClient.add(keys);
      all.addAll(keys);
    }
    placement = KeyPlacement.of(dialect, address(), backends, all);
    List<Integer> counts = new ArrayList<>();
    for (int s = 0; s < backends.size(); s++) {
      counts.add(KeyPlacement.on(placement, all, s).size());
    }
    assertTrue(counts.stream().allMatch(n -> n >= all.size() / 10),
        "keys per server " + counts + ": too few on one to test anything");
    for (int c = 0; c < clients; c++) {
      Set<Integer> used = new HashSet<>();
      keysPerClient.get(c).forEach(k -> used.add(placement.get(k)));
      assertEquals(backends.size(), used.size(), "client " + c + "'s keys reach every server");
    }
    heapBaseline = HeapCheck.usedAfterGc();
  }

  InetSocketAddress address() {
    return new InetSocketAddress("127.0.0.1", walnut.port());
  }

  /**
   * Starts the load: {@code clients} clients using every key of theirs, then {@code bystanders}
   * clients using only their keys of servers outside {@code faulty}.
   */
  KvLoad load(Set<Integer> faulty, int clients, int bystanders, KvLoad.Options options)
      throws IOException {
    assertTrue(clients + bystanders <= keysPerClient.size(), "not enough clients placed");
    List<List<String>> keys = new ArrayList<>(keysPerClient.subList(0, clients));
    for (int c = clients; c < clients + bystanders; c++) {
      keys.add(keysPerClient.get(c).stream().filter(k -> !faulty.contains(placement.get(k)))
          .toList());
    }
    return KvLoad.start(dialect, address(), keys, placement, faulty, options);
  }

  /**
   * The invariants of every fault test, once the load has stopped: every request answered, no
   * client dropped, no wrong reply, errors only for the keys of {@code faulty} and only with the
   * texts of {@code allowedErrors}, and no request, error or not, answered later than {@code
   * maxLatency}.
   */
  static void assertInvariants(KvLoad load, Set<Integer> faulty, Collection<String> allowedErrors,
      Duration maxLatency) {
    String summary = load.summary();
    assertEquals(List.of(), load.clientFailures(), summary);
    assertEquals(0, load.misdeliveries(), load.misdeliverySamples() + "\n" + summary);
    assertEquals(load.requests(), load.replies(), "every request answered\n" + summary);
    for (int s = 0; s < BACKENDS; s++) {
      KvLoad.ServerStats stats = load.stats(s);
      if (!faulty.contains(s)) {
        assertEquals(0, stats.errors(), "errors for keys of healthy server " + s + "\n" + summary);
      }
      assertTrue(allowedErrors.containsAll(stats.errorTexts().keySet()),
          "error texts " + stats.errorTexts().keySet() + " (expected: " + allowedErrors + ")\n"
              + summary);
      assertTrue(stats.maxLatency().compareTo(maxLatency) <= 0,
          "server " + s + ": slowest reply " + stats.maxLatency().toMillis() + " ms (expected: <= "
              + maxLatency.toMillis() + " ms)\n" + summary);
    }
  }

  /**
   * After the clients are gone: Walnut owes no reply, no request waits on a backend connection,
   * and the heap is back near its baseline.
   */
  void assertSettled() {
    Poll.until(Duration.ofSeconds(30), () -> walnut.proxy.inflight() == 0,
        "Walnut owes no reply (inflight " + walnut.proxy.inflight() + ")");
    Poll.until(Duration.ofSeconds(30), () -> queued() == 0,
        "no request left on a backend connection");
    long after = HeapCheck.awaitBackTo(heapBaseline, HEAP_SLACK, Duration.ofSeconds(30));
    log.info("heap after GC: {} MiB before the load, {} MiB after", heapBaseline >> 20,
        after >> 20);
  }

  private long queued() {
    long n = 0;
    for (var server : walnut.proxy.stats().pools().get(0).servers()) {
      n += server.counters().get(ServerStat.IN_QUEUE) + server.counters().get(ServerStat.OUT_QUEUE);
    }
    return n;
  }

  /** A counter of pool server {@code s<index>}. */
  long serverStat(int index, ServerStat stat) {
    var server = walnut.proxy.stats().pools().get(0).servers().get(index);
    assertEquals("s" + index, server.name());
    return server.counters().get(stat);
  }

  long heapBaseline() {
    return heapBaseline;
  }

  @Override
  public void close() throws InterruptedException {
    try {
      if (walnut != null) {
        walnut.close();
      }
    } finally {
      closeBackends();
    }
  }

  private void closeBackends() {
    for (ServerFixture b : backends) {
      b.close();
    }
  }
}
