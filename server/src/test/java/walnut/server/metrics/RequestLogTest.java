package walnut.server.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import walnut.core.stats.Counters;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ProxyStats;

/**
 * The slow log and the per-command histogram ({@link RequestLog}, {@link CommandMetrics}): one
 * line per slow request up to the rate, a count of every one, the lines left out reported by the
 * next line, keys quoted and cut, and the histogram's series by pool and command.
 */
class RequestLogTest {

  private static final long MS = 1_000_000;
  private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
  private final Logger slowlog = (Logger) LoggerFactory.getLogger("walnut.slowlog");

  @BeforeEach
  void capture() {
    lines.start();
    slowlog.addAppender(lines);
  }

  @AfterEach
  void release() {
    slowlog.detachAppender(lines);
  }

  private List<String> logged() {
    return lines.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
  }

  @Test
  void aSlowRequestIsLoggedWithWhatAnOperatorNeedsAndAFastOneIsNot() {
    RequestLog log = new RequestLog(false, 50, 10);
    log.completed("alpha", "s2", "get", "user:1".getBytes(StandardCharsets.US_ASCII), 49 * MS,
        20, 5, false);
    assertEquals(List.of(), logged(), "below the threshold");
    log.completed("alpha", "s2", "get", "user:1".getBytes(StandardCharsets.US_ASCII),
        312_400_000, 20, 5, false);
    assertEquals(List.of("slow request: pool 'alpha' server 's2' command get key 'user:1'"
        + " 312.4 ms, request 20 bytes, reply 5 bytes"), logged());
    assertEquals(1, log.pool("alpha").slow.sum());
  }

  /** The line's format does not depend on the JVM's locale (LANG=de_DE.UTF-8 writes "312,4"). */
  @Test
  void theLatencyIsWrittenWithADecimalPointInAnyLocale() {
    java.util.Locale before = java.util.Locale.getDefault();
    java.util.Locale.setDefault(java.util.Locale.GERMANY);
    try {
      new RequestLog(false, 50, 10).completed("alpha", "s2", "get", null, 312_400_000, 20, 5,
          false);
    } finally {
      java.util.Locale.setDefault(before);
    }
    assertEquals(List.of("slow request: pool 'alpha' server 's2' command get key -"
        + " 312.4 ms, request 20 bytes, reply 5 bytes"), logged());
  }

  @Test
  void theRateLimitLeavesLinesOutCountsEveryRequestAndTheNextLineSaysHowManyWereLeftOut()
      throws Exception {
    RequestLog log = new RequestLog(false, 1, 3);
    for (int i = 0; i < 20; i++) {
      log.completed("alpha", "s1", null, null, 5 * MS, 10, 0, false);
    }
    int logged = logged().size();
    assertTrue(logged >= 3 && logged <= 4, "a second's lines at most (one more if the loop took"
        + " a third of a second): " + logged);
    assertEquals(20, log.pool("alpha").slow.sum(), "every slow request is counted");
    long deadline = System.nanoTime() + 5_000 * MS;
    while (logged().size() == logged && System.nanoTime() < deadline) {
      log.completed("alpha", "s1", null, null, 5 * MS, 10, 0, false); // a token comes back in 1/3 s
    }
    String next = logged().get(logged);
    assertTrue(next.contains("more slow requests were not logged before this one"), next);
    assertTrue(next.contains("command other key -"), next);
  }

  @Test
  void keysAreQuotedPrintablyAndCutAtSixtyFourBytes() {
    assertEquals("'a b'", RequestLog.quote("a b".getBytes(StandardCharsets.US_ASCII)));
    assertEquals("'\\x00\\x27\\x5c\\xff'", RequestLog.quote(new byte[] {0, '\'', '\\', -1}));
    byte[] longKey = "k".repeat(65).getBytes(StandardCharsets.US_ASCII);
    assertEquals("'" + "k".repeat(64) + "'...", RequestLog.quote(longKey));
    assertEquals("-", RequestLog.quote(null));
  }

  @Test
  void theHistogramGainsACommandLabelWithOtherForUnknownCommands() throws Exception {
    RequestLog log = new RequestLog(true, 0, 10);
    log.completed("alpha", "s1", "get", null, 30_000, 10, 5, false); // 30 µs
    log.completed("alpha", "s1", "get", null, 2 * MS, 10, 5, false);
    log.completed("alpha", "s1", null, null, 20_000, 10, 5, false);
    ProxyStats stats = new ProxyStats(List.of(new ProxyStats.Pool("alpha",
        new Counters<>(PoolStat.class), List.of())));
    String text = exposition(new WalnutCollector(stats,
        new WalnutCollector.BuildInfo("0.1.0", "nio", 1), new ReloadHistory(0), log));
    assertTrue(text.contains("walnut_pool_request_duration_seconds_bucket{command=\"get\","
        + "pool=\"alpha\",le=\"2.5E-5\"} 0\n"), text);
    assertTrue(text.contains("walnut_pool_request_duration_seconds_bucket{command=\"get\","
        + "pool=\"alpha\",le=\"5.0E-5\"} 1\n"), text);
    assertTrue(text.contains("walnut_pool_request_duration_seconds_bucket{command=\"get\","
        + "pool=\"alpha\",le=\"0.0025\"} 2\n"), text);
    assertTrue(text.contains("walnut_pool_request_duration_seconds_count{command=\"other\","
        + "pool=\"alpha\"} 1\n"), text);
    assertTrue(!text.contains("walnut_slow_requests"), "no slow log: no counter");
  }

  @Test
  void theSlowCounterIsServedForEveryPoolOnceTheSlowLogIsOn() throws Exception {
    RequestLog log = new RequestLog(false, 50, 10);
    log.completed("alpha", "s1", "get", null, 60 * MS, 10, 5, false);
    ProxyStats stats = new ProxyStats(List.of(
        new ProxyStats.Pool("alpha", new Counters<>(PoolStat.class), List.of()),
        new ProxyStats.Pool("beta", new Counters<>(PoolStat.class), List.of())));
    String text = exposition(new WalnutCollector(stats,
        new WalnutCollector.BuildInfo("0.1.0", "nio", 1), new ReloadHistory(0), log));
    assertTrue(text.contains("walnut_slow_requests_total{pool=\"alpha\"} 1.0\n"), text);
    assertTrue(text.contains("walnut_slow_requests_total{pool=\"beta\"} 0.0\n"), text);
    assertTrue(text.contains("walnut_pool_request_duration_seconds_bucket{pool=\"alpha\","
        + "le=\"2.5E-5\"}"), "without --command-metrics, the histogram by pool: " + text);
  }

  private static String exposition(WalnutCollector collector) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrometheusTextFormatWriter.create().write(out, collector.collect());
    return out.toString(StandardCharsets.UTF_8);
  }
}
