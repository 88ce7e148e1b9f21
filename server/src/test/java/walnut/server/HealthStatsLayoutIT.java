package walnut.server;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ProxyConfig;
import walnut.core.config.ServerConfig;
import walnut.core.proxy.EngineOptions;
import walnut.core.proxy.ProxyServer;
import walnut.core.stats.PinStat;
import walnut.core.stats.ProxyStats;
import walnut.server.metrics.ReloadHistory;
import walnut.server.metrics.WalnutCollector;
import walnut.server.stats.StatsJson;
import walnut.testing.SingleTransport;
import walnut.testing.JsonText;

/**
 * The probe counters of {@code health_check_interval} (issue #21) in the stats a running Walnut
 * reports: a pool that probes prints {@code health_probes}, {@code health_probe_failures} and
 * {@code health_returns} after twemproxy's fields of each server, and exports them to Prometheus;
 * a pool without the key keeps twemproxy's document exactly (no new field) and exports none.
 */
@SingleTransport
class HealthStatsLayoutIT {

  private static final String LAST_TWEMPROXY_FIELD = "\"out_queue_bytes\":0";

  @Test
  void onlyAPoolThatProbesPrintsTheProbeCounters() throws Exception {
    // Nothing listens on the servers' ports: no request is sent, no connection made.
    List<ServerConfig> servers = List.of(
        new ServerConfig("a", Endpoint.tcp("127.0.0.1", 1), 1),
        new ServerConfig("b", Endpoint.tcp("127.0.0.1", 2), 1));
    PoolConfig checked = PoolConfig.builder("checked").listen(Endpoint.tcp("127.0.0.1", 0))
        .redis(true).autoEjectHosts(true).healthCheckInterval(100).servers(servers).build();
    // twemproxy's keys only; and issue #21's other keys, which probe nothing either.
    PoolConfig plain = PoolConfig.builder("plain").listen(Endpoint.tcp("127.0.0.1", 0))
        .redis(true).autoEjectHosts(true).servers(servers).build();
    PoolConfig unprobed = PoolConfig.builder("unprobed").listen(Endpoint.tcp("127.0.0.1", 0))
        .redis(true).autoEjectHosts(true).autoEjectRemap(false).mgetPartialErrors(true)
        .servers(servers).build();
    ProxyServer proxy = ProxyServer.start(ProxyConfig.of(checked, plain, unprobed),
        ProxyFixture.PLUGINS, ProxyFixture.transport(), EngineOptions.threads(1));
    try {
      String json = StatsJson.render(proxy.stats(), "test", System.currentTimeMillis());
      String checkedPart = pool(json, "checked");
      String plainPart = pool(json, "plain");
      String unprobedPart = pool(json, "unprobed");
      for (String server : List.of("a", "b")) {
        String fields = "\"" + server + "\": {";
        int s = checkedPart.indexOf(fields);
        assertTrue(s >= 0, checkedPart);
        String object = checkedPart.substring(s, checkedPart.indexOf('}', s) + 1);
        assertTrue(object.endsWith(LAST_TWEMPROXY_FIELD + ", \"health_probes\":0,"
            + " \"health_probe_failures\":0, \"health_returns\":0}"), object);
      }
      for (String part : List.of(plainPart, unprobedPart)) {
        assertFalse(part.contains("health_"), "a pool without health_check_interval: " + part);
        assertTrue(part.endsWith(LAST_TWEMPROXY_FIELD + "}}"), part);
      }

      ByteArrayOutputStream out = new ByteArrayOutputStream();
      PrometheusTextFormatWriter.create().write(out, new WalnutCollector(proxy.stats(),
          new WalnutCollector.BuildInfo("test", "nio", 1), new ReloadHistory(0)).collect());
      String text = out.toString(StandardCharsets.UTF_8);
      for (String metric : List.of("walnut_server_health_probes_total",
          "walnut_server_health_probe_failures_total", "walnut_server_health_returns_total")) {
        assertTrue(text.contains(metric + "{pool=\"checked\",server=\"a\"} 0.0\n"), text);
        assertFalse(text.contains(metric + "{pool=\"plain\""), text);
        assertFalse(text.contains(metric + "{pool=\"unprobed\""), text);
      }
    } finally {
      proxy.shutdown(Duration.ofSeconds(5));
    }
  }

  /**
   * Issue #24's private-connection counters: a server prints {@code pinned_connections}, {@code
   * pinned_taken} and {@code pinned_refused} last (after the probe counters of a probing pool)
   * only once one was taken or refused there, so a twemproxy pool's document keeps its layout;
   * Prometheus exports them for every server of every pool, used or not.
   */
  @Test
  void pinnedCountersArePrintedOnlyForAServerThatHadOneAndAlwaysExported() throws Exception {
    List<ServerConfig> servers = List.of(
        new ServerConfig("a", Endpoint.tcp("127.0.0.1", 1), 1),
        new ServerConfig("b", Endpoint.tcp("127.0.0.1", 2), 1));
    PoolConfig checked = PoolConfig.builder("checked").listen(Endpoint.tcp("127.0.0.1", 0))
        .redis(true).autoEjectHosts(true).healthCheckInterval(100).servers(servers).build();
    PoolConfig plain = PoolConfig.builder("plain").listen(Endpoint.tcp("127.0.0.1", 0))
        .redis(true).maxPinnedConnections(2).servers(servers).build();
    PoolConfig memcached = PoolConfig.builder("memcached")
        .listen(Endpoint.tcp("127.0.0.1", 0)).servers(servers).build();
    ProxyServer proxy = ProxyServer.start(ProxyConfig.of(checked, plain, memcached),
        ProxyFixture.PLUGINS, ProxyFixture.transport(), EngineOptions.threads(1));
    try {
      String before = StatsJson.render(proxy.stats(), "test", System.currentTimeMillis());
      assertFalse(before.contains("pinned_"), "nothing taken or refused yet: " + before);
      for (String name : List.of("plain", "memcached")) {
        assertTrue(pool(before, name).endsWith(LAST_TWEMPROXY_FIELD + "}}"), before);
      }

      // As Pins counts: "a" of "plain" had one taken (and still holds it), "b" of "checked" had
      // one refused; nothing else changes.
      ProxyStats.Server plainA = server(proxy, "plain", "a");
      plainA.pinned().increment(PinStat.PINNED_TAKEN);
      plainA.pinned().increment(PinStat.PINNED_CONNECTIONS);
      server(proxy, "checked", "b").pinned().increment(PinStat.PINNED_REFUSED);

      String json = StatsJson.render(proxy.stats(), "test", System.currentTimeMillis());
      assertTrue(object(pool(json, "plain"), "a").endsWith(LAST_TWEMPROXY_FIELD
          + ", \"pinned_connections\":1, \"pinned_taken\":1, \"pinned_refused\":0}"), json);
      assertTrue(object(pool(json, "plain"), "b").endsWith(LAST_TWEMPROXY_FIELD + "}"), json);
      assertTrue(object(pool(json, "checked"), "b").endsWith("\"health_returns\":0,"
          + " \"pinned_connections\":0, \"pinned_taken\":0, \"pinned_refused\":1}"), json);
      assertTrue(object(pool(json, "checked"), "a").endsWith("\"health_returns\":0}"), json);
      assertFalse(pool(json, "memcached").contains("pinned_"), json);
      JsonText.parse(json); // still a valid document

      // Taken and given back: the fields stay (the counters are not 0), the gauge is 0 again.
      plainA.pinned().decrement(PinStat.PINNED_CONNECTIONS);
      json = StatsJson.render(proxy.stats(), "test", System.currentTimeMillis());
      assertTrue(object(pool(json, "plain"), "a").endsWith(
          ", \"pinned_connections\":0, \"pinned_taken\":1, \"pinned_refused\":0}"), json);

      ByteArrayOutputStream out = new ByteArrayOutputStream();
      PrometheusTextFormatWriter.create().write(out, new WalnutCollector(proxy.stats(),
          new WalnutCollector.BuildInfo("test", "nio", 1), new ReloadHistory(0)).collect());
      String text = out.toString(StandardCharsets.UTF_8);
      assertTrue(text.contains("# TYPE walnut_pinned_connections gauge\n"), text);
      assertTrue(text.contains("# TYPE walnut_pinned_taken_total counter\n"), text);
      assertTrue(text.contains("# TYPE walnut_pinned_refused_total counter\n"), text);
      for (String p : List.of("checked", "plain", "memcached")) {
        for (String s : List.of("a", "b")) {
          String labels = "{pool=\"" + p + "\",server=\"" + s + "\"} ";
          assertTrue(text.contains("walnut_pinned_connections" + labels), labels + text);
          assertTrue(text.contains("walnut_pinned_taken_total" + labels), labels + text);
          assertTrue(text.contains("walnut_pinned_refused_total" + labels), labels + text);
        }
      }
      assertTrue(text.contains("walnut_pinned_taken_total{pool=\"plain\",server=\"a\"} 1.0\n"),
          text);
      assertTrue(text.contains(
          "walnut_pinned_refused_total{pool=\"checked\",server=\"b\"} 1.0\n"), text);
      assertTrue(text.contains("walnut_pinned_connections{pool=\"plain\",server=\"a\"} 0.0\n"),
          text);
    } finally {
      proxy.shutdown(Duration.ofSeconds(5));
    }
  }

  private static ProxyStats.Server server(ProxyServer proxy, String pool, String server) {
    return proxy.stats().pools().stream().filter(p -> p.name().equals(pool)).findFirst()
        .orElseThrow().servers().stream().filter(s -> s.name().equals(server)).findFirst()
        .orElseThrow();
  }

  /** Server {@code name}'s object in a pool's part of the document, braces included. */
  private static String object(String poolPart, String name) {
    int s = poolPart.indexOf("\"" + name + "\": {");
    assertTrue(s >= 0, poolPart);
    return poolPart.substring(s, poolPart.indexOf('}', s) + 1);
  }

  /** Pool {@code name}'s object in the stats document: up to its last server's closing brace. */
  private static String pool(String json, String name) {
    int at = json.indexOf("\"" + name + "\": {");
    assertTrue(at >= 0, "no pool " + name + " in " + json);
    return json.substring(at, json.indexOf("}}", at) + 2);
  }
}
