package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ProxyStats;
import walnut.core.stats.ServerStat;
import walnut.testing.FreePorts;
import walnut.testing.KeyPlacement;
import walnut.testing.KvDialect;
import walnut.testing.KvLoad;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.SentinelTopology;
import walnut.testing.JsonText;

/**
 * What the Sentinel tests of issue #22 share: a {@link SentinelTopology}, Walnut in-process over
 * it as {@code bin/walnut} runs it ({@link OpsFixture}: config file, stats port, metrics port)
 * with a pool {@value #POOL} whose servers are the shards, named as the sentinels name their
 * masters, and what the tests read back: the stats document, the Prometheus scrape, the log.
 *
 * <p>Shard {@code i} of the topology is server index {@code i} of the tests' key placement, so
 * {@code shard-a} is 0 and {@code shard-b} is 1. Closing the rig closes Walnut, then the topology,
 * then the log capture.
 */
final class SentinelRig implements AutoCloseable {

  static final String POOL = "sigma";
  static final String SHARD_A = "shard-a";
  static final String SHARD_B = "shard-b";
  /** twemproxy's server fields, which the Sentinel fields follow. */
  static final List<String> SERVER_FIELDS = List.of("server_eof", "server_err",
      "server_timedout", "server_connections", "server_ejected_at", "requests", "request_bytes",
      "responses", "response_bytes", "in_queue", "in_queue_bytes", "out_queue",
      "out_queue_bytes");
  /** twemproxy's pool fields, which the sentinels' fields follow. */
  static final List<String> POOL_FIELDS = List.of("client_eof", "client_err",
      "client_connections", "server_ejects", "forward_error", "fragments");

  final SentinelTopology topology;
  final RedisAuthDbIT.LogCapture log;
  private final Path dir;
  OpsFixture walnut;

  private SentinelRig(SentinelTopology topology, RedisAuthDbIT.LogCapture log, Path dir) {
    this.topology = topology;
    this.log = log;
    this.dir = dir;
  }

  /** Starts the log capture and a two-shard topology; {@code password}: the sentinels'. */
  static SentinelRig start(Path dir, String password) {
    RedisAuthDbIT.LogCapture log = new RedisAuthDbIT.LogCapture();
    try {
      return new SentinelRig(SentinelTopology.start(2, password), log, dir);
    } catch (RuntimeException | Error e) {
      log.close();
      throw e;
    }
  }

  /**
   * The pool's YAML: {@code servers} the shards' masters now (or, {@code atReplicas}, their
   * replicas), each named as its sentinel master, then the three sentinels, then
   * {@code sentinel_password} when the topology has one, then {@code extra} (pool keys, indented
   * two spaces, each line ending in a newline).
   */
  String poolYaml(boolean atReplicas, String extra) {
    StringBuilder yaml = new StringBuilder();
    yaml.append(POOL).append(":\n");
    yaml.append("  listen: 127.0.0.1:").append(FreePorts.next()).append('\n');
    yaml.append("  redis: true\n");
    yaml.append(extra);
    yaml.append("  servers:\n");
    for (String shard : topology.shards()) {
      InetSocketAddress at = atReplicas ? topology.replica(shard).address()
          : topology.masterAddress(shard);
      yaml.append("    - ").append(address(at)).append(":1 ").append(shard).append('\n');
    }
    yaml.append("  sentinels:\n");
    for (int i = 0; i < SentinelTopology.SENTINELS; i++) {
      yaml.append("    - ").append(address(topology.sentinelAddress(i))).append(":1\n");
    }
    if (topology.password() != null) {
      yaml.append("  sentinel_password: \"").append(topology.password()).append("\"\n");
    }
    return yaml.toString();
  }

  /** The pool keys of issue #22's ejection check: ejection on, at the first failure. */
  static final String EJECTING = "  auto_eject_hosts: true\n  server_failure_limit: 1\n";

  /** Writes {@code yaml} as the config file and starts Walnut on it, two event loops. */
  Path writeConfig(String yaml) {
    Path conf = dir.resolve("nutcracker.yml");
    try {
      Files.writeString(conf, yaml);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return conf;
  }

  void startWalnut(String yaml) throws Exception {
    walnut = OpsFixture.start(writeConfig(yaml), 2, true, false);
  }

  InetSocketAddress proxy() {
    return new InetSocketAddress("127.0.0.1", walnut.port(POOL));
  }

  static String address(InetSocketAddress at) {
    return at.getHostString() + ":" + at.getPort();
  }

  /**
   * Where Walnut puts each of {@code keys}, learnt from the masters as {@link KeyPlacement} does:
   * 0 for {@code shard-a}, 1 for {@code shard-b}. Fails unless both get a tenth of them at least.
   */
  Map<String, Integer> place(List<String> keys) {
    List<RedisServer> masters = List.of(topology.master(SHARD_A), topology.master(SHARD_B));
    Map<String, Integer> placement = KeyPlacement.of(KvDialect.REDIS, proxy(), masters, keys);
    for (int s = 0; s < masters.size(); s++) {
      int n = KeyPlacement.on(placement, keys, s).size();
      assertTrue(n >= keys.size() / 10, n + " of " + keys.size() + " keys on shard " + s);
    }
    return placement;
  }

  /** {@code n} fresh keys, the varying part first (fnv1a_64 clusters keys alike at the start). */
  static List<String> keys(String tag, int n) {
    List<String> keys = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      keys.add(i + ":" + tag);
    }
    return keys;
  }

  /** The shard's name for a placement index. */
  static String shard(int index) {
    return index == 0 ? SHARD_A : SHARD_B;
  }

  /** The stats document, parsed. */
  Map<String, Object> stats() {
    try {
      return JsonText.parse(walnut.stats());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The pool's object in {@code stats}. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> pool(Map<String, Object> stats) {
    Object pool = stats.get(POOL);
    assertTrue(pool instanceof Map, "no pool " + POOL + " in " + stats);
    return (Map<String, Object>) pool;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> server(Map<String, Object> stats, String shard) {
    Object server = pool(stats).get(shard);
    assertTrue(server instanceof Map, "no server " + shard + " in " + pool(stats));
    return (Map<String, Object>) server;
  }

  /** The pool field of sentinel {@code i}: {@code sentinel_127.0.0.1:<port>}. */
  String sentinelField(int i) {
    return "sentinel_" + address(topology.sentinelAddress(i));
  }

  Map<String, PrometheusText.Family> metrics() {
    return PrometheusText.parse(MetricsIT.scrape(walnut.metricsPort()));
  }

  /**
   * Waits until the stats document and the Prometheus scrape both put {@code shard} at {@code
   * at}, after {@code failovers} switches, and the scrape has no other address for it.
   */
  void awaitAddress(String shard, InetSocketAddress at, long failovers, Duration timeout) {
    AtomicReference<String> seen = new AtomicReference<>();
    Poll.until(timeout, () -> {
      Map<String, Object> server = server(stats(), shard);
      List<String> addresses = addressesScraped(shard);
      long scrapedFailovers = (long) failoversScraped(shard);
      seen.set("stats: address " + server.get("address") + ", failovers "
          + server.get("failovers") + "; Prometheus: addresses " + addresses + ", failovers "
          + scrapedFailovers);
      return address(at).equals(server.get("address"))
          && Long.valueOf(failovers).equals(server.get("failovers"))
          && addresses.equals(List.of(address(at))) && scrapedFailovers == failovers;
    }, () -> shard + " at " + address(at) + " after " + failovers + " failovers in the stats and"
        + " Prometheus (last seen: " + seen.get() + ")");
  }

  /** The {@code address} labels of {@code walnut_server_address_info} samples of value 1. */
  List<String> addressesScraped(String shard) {
    PrometheusText.Family info = metrics().get("walnut_server_address_info");
    if (info == null) {
      return List.of();
    }
    return info.samples().stream()
        .filter(s -> POOL.equals(s.labels().get("pool")) && shard.equals(s.labels().get("server"))
            && s.value() == 1)
        .map(s -> s.labels().get("address")).toList();
  }

  double failoversScraped(String shard) {
    PrometheusText.Family f = metrics().get("walnut_server_failovers_total");
    return f == null ? -1 : f.value("walnut_server_failovers_total", "pool", POOL, "server",
        shard);
  }

  /**
   * Waits until the stats document says sentinel {@code i} is {@code state} ({@code up} or
   * {@code down}) and Prometheus agrees ({@code walnut_sentinel_up} 1 or 0).
   */
  void awaitSentinel(int i, String state, Duration timeout) {
    String sentinel = address(topology.sentinelAddress(i));
    AtomicReference<String> seen = new AtomicReference<>();
    Poll.until(timeout, () -> {
      Object json = pool(stats()).get(sentinelField(i));
      PrometheusText.Family up = metrics().get("walnut_sentinel_up");
      double scraped = up == null ? -1 : up.value("walnut_sentinel_up", "pool", POOL, "sentinel",
          sentinel);
      seen.set("stats " + json + ", walnut_sentinel_up " + scraped);
      return state.equals(json) && scraped == (state.equals("up") ? 1 : 0);
    }, () -> "sentinel " + sentinel + " " + state + " (last seen: " + seen.get() + ")");
  }

  /** Lines of the captured log that contain {@code text}. */
  List<String> logLines(String text) {
    return log.text().lines().filter(l -> l.contains(text)).toList();
  }

  /** Waits for a log line with {@code text}; returns it. */
  String awaitLogLine(String text, Duration timeout) {
    Poll.until(timeout, () -> !logLines(text).isEmpty(),
        () -> "a log line with '" + text + "'");
    return logLines(text).get(0);
  }

  /** The WARN line a switch of {@code shard} must log (issue #22's contract). */
  static String movedLine(String shard, InetSocketAddress to, InetSocketAddress from) {
    return "server '" + shard + "' moved to " + address(to) + " from " + address(from);
  }

  /**
   * Samples the pool's {@code server_ejects} and every server's {@code server_ejected_at} every
   * few milliseconds from a thread of its own until closed, and keeps each non-zero sighting: an
   * ejection anywhere in a failover shows, however short it is.
   */
  EjectionWatch watchEjections() {
    return new EjectionWatch(walnut.running.proxy().stats());
  }

  static final class EjectionWatch implements AutoCloseable {
    private final ProxyStats stats;
    private final ConcurrentLinkedQueue<String> sightings = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private volatile boolean closed;
    private volatile long samples;

    EjectionWatch(ProxyStats stats) {
      this.stats = stats;
      this.thread = new Thread(this::run, "ejection-watch");
      thread.setDaemon(true);
      thread.start();
    }

    private void run() {
      while (!closed) {
        for (ProxyStats.Pool pool : stats.pools()) {
          long ejects = pool.counters().get(PoolStat.SERVER_EJECTS);
          if (ejects != 0) {
            sight("pool " + pool.name() + " server_ejects " + ejects);
          }
          for (ProxyStats.Server server : pool.servers()) {
            long at = server.counters().get(ServerStat.SERVER_EJECTED_AT);
            if (at != 0) {
              sight("server " + server.name() + " server_ejected_at " + at);
            }
          }
        }
        samples++;
        LockSupport.parkNanos(Duration.ofMillis(2).toNanos());
      }
    }

    private void sight(String what) {
      if (sightings.size() < 20 && !sightings.contains(what)) {
        sightings.add(what);
      }
    }

    /** Stops sampling and asserts that nothing was ever ejected. */
    @Override
    public void close() throws InterruptedException {
      closed = true;
      thread.join(5_000);
      assertTrue(samples > 10, "the ejection watch sampled " + samples + " times");
      assertEquals(List.of(), List.copyOf(sightings), "ejections during the failover");
    }
  }

  /** The stats document's own ejection fields: pool {@code server_ejects} and each server's. */
  /**
   * Every reply of the writer/reader and of the load matched its own request, no client stalled
   * or lost its connection, and the writer had keys enough.
   */
  static void assertEveryReplyMatched(SentinelTraffic traffic, KvLoad load) {
    assertEquals(List.of(), traffic.misdeliveries());
    assertEquals(List.of(), traffic.clientFailures());
    assertEquals(0, load.misdeliveries(), load.misdeliverySamples() + "\n" + load.summary());
    assertEquals(List.of(), load.clientFailures(), load.summary());
    assertEquals(load.requests(), load.replies(), load.summary());
    assertFalse(traffic.exhausted(), "the writer ran out of keys: give it more");
  }

  void assertNoEjectionInStats() {
    Map<String, Object> stats = stats();
    assertEquals(0L, pool(stats).get("server_ejects"), "server_ejects in " + pool(stats));
    for (String shard : topology.shards()) {
      assertEquals(0L, server(stats, shard).get("server_ejected_at"),
          "server_ejected_at of " + shard);
    }
  }

  /** After the clients are gone: Walnut owes no reply and no request waits on a server. */
  void assertSettled() {
    Poll.until(Duration.ofSeconds(30), () -> walnut.running.proxy().inflight() == 0,
        "Walnut owes no reply");
    Poll.until(Duration.ofSeconds(30), () -> {
      long n = 0;
      for (ProxyStats.Pool pool : walnut.running.proxy().stats().pools()) {
        for (ProxyStats.Server server : pool.servers()) {
          n += server.counters().get(ServerStat.IN_QUEUE)
              + server.counters().get(ServerStat.OUT_QUEUE);
        }
      }
      return n == 0;
    }, "no request left on a server connection");
  }

  @Override
  public void close() {
    try {
      if (walnut != null) {
        walnut.close();
      }
    } finally {
      try {
        topology.close();
      } finally {
        log.close();
      }
    }
  }
}
