package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.server.WireClient.resp;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import walnut.core.stats.PinStat;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ProxyStats;
import walnut.core.stats.ServerStat;
import walnut.core.stats.Type;
import walnut.testing.FreePorts;
import walnut.testing.MemcachedServer;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.SingleTransport;

/**
 * The Prometheus endpoint scraped over HTTP after known traffic and parsed strictly
 * ({@link PrometheusText}): every twemproxy counter and gauge under its Prometheus name with
 * labels {@code pool} and {@code server}, equal to the proxy's own counters; the per-pool latency
 * histogram; the build; and the outcome of configuration reloads.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
@SingleTransport
class MetricsIT {

  /** twemproxy pool field → Prometheus family (TYPE name) and type. */
  private static final Map<String, String[]> POOL = Map.of(
      "client_eof", new String[] {"walnut_pool_client_eof_total", "counter"},
      "client_err", new String[] {"walnut_pool_client_err_total", "counter"},
      "client_connections", new String[] {"walnut_pool_client_connections", "gauge"},
      "server_ejects", new String[] {"walnut_pool_server_ejects_total", "counter"},
      "forward_error", new String[] {"walnut_pool_forward_error_total", "counter"},
      "fragments", new String[] {"walnut_pool_fragments_total", "counter"});

  /** twemproxy server field → Prometheus family and type. */
  private static final Map<String, String[]> SERVER = Map.ofEntries(
      Map.entry("server_eof", new String[] {"walnut_server_eof_total", "counter"}),
      Map.entry("server_err", new String[] {"walnut_server_err_total", "counter"}),
      Map.entry("server_timedout", new String[] {"walnut_server_timedout_total", "counter"}),
      Map.entry("server_connections", new String[] {"walnut_server_connections", "gauge"}),
      Map.entry("server_ejected_at",
          new String[] {"walnut_server_ejected_timestamp_seconds", "gauge"}),
      Map.entry("requests", new String[] {"walnut_server_requests_total", "counter"}),
      Map.entry("request_bytes", new String[] {"walnut_server_request_bytes_total", "counter"}),
      Map.entry("responses", new String[] {"walnut_server_responses_total", "counter"}),
      Map.entry("response_bytes",
          new String[] {"walnut_server_response_bytes_total", "counter"}),
      Map.entry("in_queue", new String[] {"walnut_server_in_queue_requests", "gauge"}),
      Map.entry("in_queue_bytes", new String[] {"walnut_server_in_queue_bytes", "gauge"}),
      Map.entry("out_queue", new String[] {"walnut_server_out_queue_requests", "gauge"}),
      Map.entry("out_queue_bytes", new String[] {"walnut_server_out_queue_bytes", "gauge"}));

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir
  Path tmp;

  @Test
  void everyCounterGaugeAndLatencyIsExposedAfterKnownTraffic() throws Exception {
    try (RedisServer r1 = RedisServer.start(); RedisServer r2 = RedisServer.start();
        MemcachedServer m1 = MemcachedServer.start()) {
      Path conf = tmp.resolve("nutcracker.yml");
      Files.writeString(conf, """
          alpha:
            listen: 127.0.0.1:%d
            redis: true
            servers:
             - 127.0.0.1:%d:1 r1
             - 127.0.0.1:%d:1 r2
          mc:
            listen: 127.0.0.1:%d
            servers:
             - 127.0.0.1:%d:1
          """.formatted(FreePorts.next(), r1.port(), r2.port(), FreePorts.next(), m1.port()));
      long started = System.currentTimeMillis();
      try (OpsFixture walnut = OpsFixture.start(conf, 2, true, false)) {
        long requestBytes = 0;
        try (Jedis jedis = new Jedis("127.0.0.1", walnut.port("alpha"), 30_000)) {
          for (int i = 0; i < 100; i++) {
            assertEquals("OK", jedis.set(i + ":metrics", "v" + i));
            assertEquals("v" + i, jedis.get(i + ":metrics"));
            requestBytes += resp("SET", i + ":metrics", "v" + i).length()
                + resp("GET", i + ":metrics").length();
          }
        }
        try (WireClient mc = WireClient.open(walnut.port("mc"))) {
          for (int i = 0; i < 50; i++) {
            mc.write("set m" + i + " 0 0 1\r\nv\r\n");
            assertEquals("STORED\r\n", mc.readLine());
          }
        }
        // Both clients closed: Jedis by a reset (it sets SO_LINGER 0), the other by EOF.
        AtomicReference<Map<String, PrometheusText.Family>> scraped = new AtomicReference<>();
        Poll.until(Duration.ofSeconds(20), () -> {
          scraped.set(PrometheusText.parse(scrape(walnut.metricsPort())));
          return scraped.get().get("walnut_pool_client_err_total")
              .value("walnut_pool_client_err_total", "pool", "alpha") == 1
              && scraped.get().get("walnut_pool_client_eof_total")
              .value("walnut_pool_client_eof_total", "pool", "mc") == 1;
        }, "both clients' close counted");
        Map<String, PrometheusText.Family> metrics = scraped.get();

        // Every family is Walnut's, typed, described; counters end in _total.
        for (PrometheusText.Family f : metrics.values()) {
          assertTrue(f.name().startsWith("walnut_"), f.name());
          assertNotNull(f.help(), "HELP for " + f.name());
          assertFalse(f.help().isBlank(), "HELP for " + f.name());
          assertFalse(f.type().equals("untyped"), "TYPE for " + f.name());
          if (f.type().equals("counter")) {
            assertTrue(f.name().endsWith("_total"), f.name());
          }
        }

        // The same numbers as the proxy's counters (traffic has stopped), with exact labels.
        List<ProxyStats.Pool> pools = walnut.running.proxy().stats().pools();
        for (ProxyStats.Pool pool : pools) {
          for (var field : PoolStat.values()) {
            String[] family = POOL.get(field.field());
            assertNotNull(family, field.field());
            PrometheusText.Family f = metrics.get(family[0]);
            assertNotNull(f, family[0] + " in\n" + metrics.keySet());
            assertEquals(family[1], f.type(), family[0]);
            assertEquals(pool.counters().get(field),
                f.value(family[0], "pool", pool.name()), family[0] + " of " + pool.name());
            assertEquals(Set.of(Set.of("pool")), labelNames(f), family[0]);
          }
          for (ProxyStats.Server server : pool.servers()) {
            for (var field : ServerStat.values()) {
              String[] family = SERVER.get(field.field());
              assertNotNull(family, field.field());
              PrometheusText.Family f = metrics.get(family[0]);
              assertNotNull(f, family[0] + " in\n" + metrics.keySet());
              assertEquals(family[1], f.type(), family[0]);
              long raw = server.counters().get(field);
              double expected = field == ServerStat.SERVER_EJECTED_AT
                  ? raw / 1e6 : raw;
              assertEquals(expected, f.value(family[0], "pool", pool.name(), "server",
                  server.name()), family[0] + " of " + server.name());
              assertEquals(Set.of(Set.of("pool", "server")), labelNames(f), family[0]);
            }
          }
        }
        // Walnut's private connections (#24): every server of every pool, used or not.
        for (ProxyStats.Pool pool : pools) {
          for (ProxyStats.Server server : pool.servers()) {
            for (PinStat field : PinStat.values()) {
              String name = "walnut_" + field.field();
              PrometheusText.Family f = metrics.get(
                  field.type() == Type.COUNTER ? name + "_total" : name);
              assertNotNull(f, name + " in\n" + metrics.keySet());
              assertEquals(field.type() == Type.COUNTER ? "counter" : "gauge", f.type(), name);
              assertEquals(server.pinned().get(field), f.value(f.name(), "pool", pool.name(),
                  "server", server.name()), name + " of " + server.name());
              assertEquals(Set.of(Set.of("pool", "server")), labelNames(f), name);
            }
          }
        }
        // ... and those numbers are the traffic sent.
        var requests = metrics.get("walnut_server_requests_total");
        assertEquals(200, requests.value("walnut_server_requests_total", "pool", "alpha",
            "server", "r1") + requests.value("walnut_server_requests_total", "pool", "alpha",
            "server", "r2"));
        var bytes = metrics.get("walnut_server_request_bytes_total");
        assertEquals(requestBytes, bytes.value("walnut_server_request_bytes_total", "pool",
            "alpha", "server", "r1") + bytes.value("walnut_server_request_bytes_total", "pool",
            "alpha", "server", "r2"));
        assertEquals(50, metrics.get("walnut_server_responses_total").value(
            "walnut_server_responses_total", "pool", "mc", "server", "127.0.0.1:" + m1.port()));
        assertEquals(50 * "STORED\r\n".length(), metrics.get("walnut_server_response_bytes_total")
            .value("walnut_server_response_bytes_total", "pool", "mc", "server",
                "127.0.0.1:" + m1.port()));
        assertEquals(3, metrics.get("walnut_server_connections").samples().size());

        // Latency: one observation per proxied request, in classic buckets of seconds.
        var latency = metrics.get("walnut_pool_request_duration_seconds");
        assertNotNull(latency, "no latency histogram: with several event loops it needs"
            + " core's Latency.snapshot() to fold each recorder into its own interval histogram");
        assertEquals("histogram", latency.type());
        assertEquals(200, latency.value("walnut_pool_request_duration_seconds_count", "pool",
            "alpha"));
        assertEquals(50, latency.value("walnut_pool_request_duration_seconds_count", "pool",
            "mc"));
        double sum = latency.value("walnut_pool_request_duration_seconds_sum", "pool", "alpha");
        assertTrue(sum > 0 && sum < 200 * 10, "sum of 200 latencies in seconds: " + sum);
        assertEquals(List.of("2.5E-5", "5.0E-5", "1.0E-4", "2.5E-4", "5.0E-4", "0.001", "0.0025",
            "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0",
            "+Inf"), latency.samples().stream()
            .filter(s -> s.name().endsWith("_bucket") && s.labels().get("pool").equals("mc"))
            .map(s -> s.labels().get("le")).toList());
        assertEquals(50, latency.value("walnut_pool_request_duration_seconds_bucket", "pool",
            "mc", "le", "10.0"), "a local memcached answers 50 sets within 10 s");

        // Process-wide: build, connections, start time, and the start as a successful load.
        var build = metrics.get("walnut_build_info");
        assertEquals("gauge", build.type());
        assertEquals(1, build.value("walnut_build_info", "version", Main.VERSION, "transport",
            System.getProperty("walnut.it.transport", "nio"), "threads", "2"));
        assertEquals(walnut.running.proxy().stats().totalConnections(),
            metrics.get("walnut_connections_opened_total").value(
                "walnut_connections_opened_total"));
        assertEquals(walnut.running.proxy().stats().currentConnections(),
            metrics.get("walnut_open_connections").value("walnut_open_connections"));
        double startTime = metrics.get("walnut_start_time_seconds")
            .value("walnut_start_time_seconds");
        assertTrue(Math.abs(startTime - started / 1000.0) < 60, "start time " + startTime);
        assertEquals(1, gauge(metrics, "walnut_config_last_reload_successful"));
        assertEquals(0, gauge(metrics, "walnut_config_reloads_total"));
        assertEquals(0, gauge(metrics, "walnut_config_reload_failures_total"));
        assertEquals(startTime,
            gauge(metrics, "walnut_config_last_reload_success_timestamp_seconds"), 1e-3);
      }
    }
  }

  @Test
  void reloadOutcomesAreExposedAndPoolsComeAndGo() throws Exception {
    try (RedisServer r1 = RedisServer.start()) {
      int alphaPort = FreePorts.next();
      int betaPort = FreePorts.next();
      String alpha = "alpha:\n  listen: 127.0.0.1:" + alphaPort + "\n  redis: true\n"
          + "  servers:\n   - 127.0.0.1:" + r1.port() + ":1 r1\n";
      String beta = "beta:\n  listen: 127.0.0.1:" + betaPort + "\n  redis: true\n"
          + "  servers:\n   - 127.0.0.1:" + r1.port() + ":1 r1\n";
      Path conf = tmp.resolve("nutcracker.yml");
      Files.writeString(conf, alpha);
      try (OpsFixture walnut = OpsFixture.start(conf, 1, true, false)) {
        double startSuccess = gauge(scrapeParsed(walnut),
            "walnut_config_last_reload_success_timestamp_seconds");

        Files.writeString(conf, alpha.replace("redis: true", "redis: true\n  hash: no_such"));
        walnut.running.reload("test");
        Map<String, PrometheusText.Family> rejected = awaitReloads(walnut, 1);
        assertEquals(0, gauge(rejected, "walnut_config_last_reload_successful"));
        assertEquals(1, gauge(rejected, "walnut_config_reload_failures_total"));
        assertEquals(startSuccess,
            gauge(rejected, "walnut_config_last_reload_success_timestamp_seconds"));
        ProxyStats.Reload last = walnut.running.proxy().stats().lastReload();
        assertFalse(last.succeeded());
        assertTrue(last.error().contains("no_such"), last.error());

        long beforeGood = System.currentTimeMillis();
        Files.writeString(conf, alpha + beta);
        walnut.running.reload("test");
        Map<String, PrometheusText.Family> added = awaitReloads(walnut, 2);
        assertEquals(1, gauge(added, "walnut_config_last_reload_successful"));
        assertEquals(1, gauge(added, "walnut_config_reload_failures_total"));
        assertTrue(gauge(added, "walnut_config_last_reload_success_timestamp_seconds")
            >= beforeGood / 1000.0 - 1e-3);
        assertNull(walnut.running.proxy().stats().lastReload().error());
        assertEquals(Set.of("alpha", "beta"), pools(added, "walnut_pool_client_connections"));
        assertEquals(Set.of("alpha", "beta"),
            pools(added, "walnut_pool_request_duration_seconds"));

        Files.writeString(conf, beta);
        walnut.running.reload("test");
        Map<String, PrometheusText.Family> removed = awaitReloads(walnut, 3);
        assertEquals(Set.of("beta"), pools(removed, "walnut_pool_client_connections"));
        assertEquals(Set.of("beta"), pools(removed, "walnut_server_requests_total"));
      }
    }
  }

  @Test
  void theLauncherValidatesTheMetricsPortAndReportsABindFailure() throws Exception {
    WalnutProcess.Result r = WalnutProcess.run("--metrics-port", "70000", "-t");
    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains("option --metrics-port value 70000 is not a valid port"),
        r.output());
    try (RedisServer backend = RedisServer.start();
        ServerSocket taken = new ServerSocket(FreePorts.next(), 1,
            java.net.InetAddress.getLoopbackAddress())) {
      Path conf = tmp.resolve("taken.yml");
      Files.writeString(conf, "one:\n  listen: 127.0.0.1:" + FreePorts.next()
          + "\n  redis: true\n  servers:\n   - 127.0.0.1:" + backend.port() + ":1\n");
      r = WalnutProcess.run("-c", conf.toString(), "-s", Integer.toString(FreePorts.next()),
          "--metrics-port", Integer.toString(taken.getLocalPort()));
      assertEquals(1, r.exit(), r.output());
      assertTrue(r.output().contains("bind on metrics addr '127.0.0.1:" + taken.getLocalPort()
          + "' failed"), r.output());
    }
  }

  private static Map<String, PrometheusText.Family> awaitReloads(OpsFixture walnut, int n) {
    AtomicReference<Map<String, PrometheusText.Family>> got = new AtomicReference<>();
    Poll.until(Duration.ofSeconds(20), () -> {
      got.set(scrapeParsed(walnut));
      return gauge(got.get(), "walnut_config_reloads_total") == n;
    }, n + " reloads");
    return got.get();
  }

  private static Set<String> pools(Map<String, PrometheusText.Family> metrics, String family) {
    return metrics.get(family).samples().stream().map(s -> s.labels().get("pool"))
        .collect(Collectors.toCollection(TreeSet::new));
  }

  /** The value of a family's one unlabelled sample. */
  private static double gauge(Map<String, PrometheusText.Family> metrics, String name) {
    PrometheusText.Family f = metrics.get(name);
    assertNotNull(f, name + " in " + metrics.keySet());
    return f.value(name);
  }

  private static Set<Set<String>> labelNames(PrometheusText.Family f) {
    return f.samples().stream().map(s -> s.labels().keySet()).map(Set::copyOf)
        .collect(Collectors.toSet());
  }

  private static Map<String, PrometheusText.Family> scrapeParsed(OpsFixture walnut) {
    return PrometheusText.parse(scrape(walnut.metricsPort()));
  }

  /** GET /metrics as Prometheus asks for it; checks the status and the text format's type. */
  static String scrape(int port) {
    try {
      HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + port + "/metrics"))
          .header("Accept", "text/plain;version=0.0.4;q=1,*/*;q=0.1")
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, response.statusCode(), response.body());
      assertEquals("text/plain; version=0.0.4; charset=utf-8",
          response.headers().firstValue("Content-Type").orElse(""));
      return response.body();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
