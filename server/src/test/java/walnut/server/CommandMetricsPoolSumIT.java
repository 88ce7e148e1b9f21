package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Transaction;
import walnut.core.stats.ProxyStats;
import walnut.testing.FreePorts;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.SingleTransport;

/**
 * README: with --command-metrics, "sum by (pool, le)" of walnut_pool_request_duration_seconds
 * gives "the pool's as before", and dist/walnut-alerts.yml divides forward errors by its count.
 * The per-command histogram only hears requests on shared connections: a transaction's and a
 * blocking command's requests (private connections) are timed in the pool's histogram without the
 * flag and vanish with it.
 */
@SingleTransport
class CommandMetricsPoolSumIT {

  private static final Pattern COUNT = Pattern.compile(
      "(?m)^walnut_pool_request_duration_seconds_count\\{([^}]*pool=\"alpha\"[^}]*)\\} (\\S+)$");

  @Test
  void thePoolSumOfTheCommandHistogramCountsWhatThePoolHistogramCounts(@TempDir Path dir)
      throws Exception {
    try (RedisServer redis = RedisServer.start()) {
      Path conf = Files.writeString(dir.resolve("c.yml"), "alpha:\n  listen: 127.0.0.1:"
          + FreePorts.next() + "\n  redis: true\n  servers:\n   - 127.0.0.1:" + redis.port()
          + ":1 s1\n");
      OpsFixture walnut = OpsFixture.startWith(conf, 1, "--command-metrics");
      try (Jedis jedis = new Jedis("127.0.0.1", walnut.port("alpha"), 5_000)) {
        for (int i = 0; i < 5; i++) {
          jedis.set("k" + i, "v");
        }
        Transaction t = jedis.multi();
        t.set("t", "1");
        t.get("t");
        t.exec();
        jedis.blpop(0.05, "nothing");
      }
      ProxyStats.Pool pool = walnut.running.proxy().stats().pools().get(0);
      long before = pool.latency().snapshot().getTotalCount(); // what the flag-less series counts
      HttpClient http = HttpClient.newHttpClient();
      long[] sum = new long[1];
      String[] body = new String[1];
      Poll.until(Duration.ofSeconds(10), () -> {
        try {
          body[0] = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
              + walnut.metricsPort() + "/metrics")).build(),
              HttpResponse.BodyHandlers.ofString()).body();
        } catch (java.io.IOException | InterruptedException e) {
          throw new IllegalStateException(e);
        }
        Matcher m = COUNT.matcher(body[0]);
        sum[0] = 0;
        while (m.find()) {
          sum[0] += (long) Double.parseDouble(m.group(2));
        }
        return sum[0] >= 5;
      }, () -> "the sets counted");
      try {
        assertEquals(before, sum[0], "sum by (pool) of the command histogram's count vs the pool"
            + " histogram's count (requests timed by the proxy); series:\n"
            + body[0].lines().filter(l -> l.startsWith("walnut_pool_request_duration_seconds_count"))
                .reduce("", (a, b) -> a + b + "\n"));
      } finally {
        walnut.close();
      }
    }
  }
}
