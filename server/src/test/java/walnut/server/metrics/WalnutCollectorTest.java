package walnut.server.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import walnut.core.stats.Counters;
import walnut.core.stats.Latency;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ProxyStats;
import walnut.core.stats.ServerStat;

class WalnutCollectorTest {

  private static String exposition(WalnutCollector collector) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrometheusTextFormatWriter.create().write(out, collector.collect());
    return out.toString(StandardCharsets.UTF_8);
  }

  private static ProxyStats stats(Latency latency) {
    Counters<ServerStat> server = new Counters<>(ServerStat.class);
    server.add(ServerStat.REQUESTS, 7);
    server.add(ServerStat.REQUEST_BYTES, 210);
    server.increment(ServerStat.SERVER_CONNECTIONS);
    server.set(ServerStat.SERVER_EJECTED_AT, 1_700_000_000_500_000L);
    Counters<PoolStat> pool = new Counters<>(PoolStat.class);
    pool.add(PoolStat.CLIENT_CONNECTIONS, 3);
    pool.add(PoolStat.FRAGMENTS, 4);
    return new ProxyStats(List.of(new ProxyStats.Pool("alpha", pool,
        List.of(new ProxyStats.Server("127.0.0.1:6379", server)), latency)));
  }

  @Test
  void writesTwemproxyFieldsUnderPrometheusNamesWithPoolAndServerLabels() throws Exception {
    ReloadHistory reloads = new ReloadHistory(1_000);
    String text = exposition(new WalnutCollector(stats(new Latency()),
        new WalnutCollector.BuildInfo("0.1.0", "epoll", 4), reloads));
    assertTrue(text.contains("# TYPE walnut_server_requests_total counter\n"), text);
    assertTrue(text.contains(
        "walnut_server_requests_total{pool=\"alpha\",server=\"127.0.0.1:6379\"} 7.0\n"), text);
    assertTrue(text.contains(
        "walnut_server_request_bytes_total{pool=\"alpha\",server=\"127.0.0.1:6379\"} 210.0\n"),
        text);
    assertTrue(text.contains("walnut_server_ejected_timestamp_seconds{pool=\"alpha\","
        + "server=\"127.0.0.1:6379\"} 1.7000000005E9\n"), text);
    assertTrue(text.contains("# TYPE walnut_pool_client_connections gauge\n"
        + "walnut_pool_client_connections{pool=\"alpha\"} 3.0\n"), text);
    assertTrue(text.contains("walnut_pool_fragments_total{pool=\"alpha\"} 4.0\n"), text);
    assertTrue(text.contains(
        "walnut_build_info{threads=\"4\",transport=\"epoll\",version=\"0.1.0\"} 1\n"), text);
    assertTrue(text.contains("walnut_config_last_reload_successful 1.0\n"), text);
    assertTrue(text.contains("walnut_config_reloads_total 0.0\n"), text);

    reloads.record(new ProxyStats.Reload(5_000, "pool 'alpha': hash: 'x' is unknown"));
    text = exposition(new WalnutCollector(stats(new Latency()),
        new WalnutCollector.BuildInfo("0.1.0", "epoll", 4), reloads));
    assertTrue(text.contains("walnut_config_last_reload_successful 0.0\n"), text);
    assertTrue(text.contains("walnut_config_reload_failures_total 1.0\n"), text);
    assertTrue(text.contains("walnut_config_last_reload_success_timestamp_seconds 1.0\n"), text);
  }

  @Test
  void latencyBecomesACumulativeHistogramInSeconds() throws Exception {
    Latency latency = new Latency();
    Latency.Recorder recorder = latency.newRecorder();
    recorder.record(20_000);          // 20 µs
    recorder.record(20_000);
    recorder.record(700_000);         // 700 µs
    recorder.record(3_000_000_000L);  // 3 s
    String text = exposition(new WalnutCollector(stats(latency),
        new WalnutCollector.BuildInfo("0.1.0", "nio", 1), new ReloadHistory(0)));
    assertTrue(text.contains("# TYPE walnut_pool_request_duration_seconds histogram\n"), text);
    String bucket = "walnut_pool_request_duration_seconds_bucket{pool=\"alpha\",le=\"";
    assertTrue(text.contains(bucket + "2.5E-5\"} 2\n"), text);
    assertTrue(text.contains(bucket + "5.0E-4\"} 2\n"), text);
    assertTrue(text.contains(bucket + "0.001\"} 3\n"), text);
    assertTrue(text.contains(bucket + "2.5\"} 3\n"), text);
    assertTrue(text.contains(bucket + "5.0\"} 4\n"), text);
    assertTrue(text.contains(bucket + "+Inf\"} 4\n"), text);
    assertTrue(text.contains("walnut_pool_request_duration_seconds_count{pool=\"alpha\"} 4\n"),
        text);
    double sum = Double.parseDouble(text.split(
        "walnut_pool_request_duration_seconds_sum\\{pool=\"alpha\"\\} ")[1].split("\n")[0]);
    assertEquals(3.00074, sum, 3.0 * 0.01, "within HdrHistogram's two digits");
  }
}
