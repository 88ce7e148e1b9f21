package walnut.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;
import walnut.core.stats.PoolStat;
import walnut.testing.Chromium;
import walnut.testing.FreePorts;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.SingleTransport;

/**
 * The status page in a real browser against a live Walnut (issue #25): three Redis servers, one
 * killed and ejected, traffic flowing. The page lists every server with its state, shows the
 * ejection among the events, and its request rate moves from poll to poll; it loads nothing but
 * its own origin, and fits a phone. Leaves screenshots at desktop and phone width in
 * {@code target/} (and in {@code -Dwalnut.screenshots.dir}, for the docs).
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
@SingleTransport
class StatusPageIT {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir
  Path tmp;

  @Test
  void showsEveryServerTheEjectionAndMovingRatesInABrowser() throws Exception {
    assertTrue(Chromium.available(), "install Debian's chromium: apt-get install chromium");
    try (RedisServer r1 = RedisServer.start(); RedisServer r2 = RedisServer.start();
        RedisServer r3 = RedisServer.start()) {
      Path conf = tmp.resolve("nutcracker.yml");
      Files.writeString(conf, """
          alpha:
            listen: 127.0.0.1:%d
            redis: true
            auto_eject_hosts: true
            server_failure_limit: 1
            server_retry_timeout: 60000
            timeout: 400
            servers:
             - 127.0.0.1:%d:1 s1
             - 127.0.0.1:%d:1 s2
             - 127.0.0.1:%d:1 s3
          """.formatted(FreePorts.next(), r1.port(), r2.port(), r3.port()));
      try (OpsFixture walnut = OpsFixture.startWith(conf, 1)) {
        String base = "http://127.0.0.1:" + walnut.metricsPort() + "/";
        assertArrayEquals(resource(), get(base).body(), "/ serves the page byte for byte");

        r2.kill(); // its keys now fail once, which ejects it for a minute
        AtomicBoolean loading = new AtomicBoolean(true);
        AtomicLong served = new AtomicLong();
        Thread load = new Thread(() -> load(walnut.port("alpha"), loading, served),
            "status-page-load");
        load.start();
        try (Chromium chromium = Chromium.start(tmp)) {
          Poll.until(WAIT, () -> walnut.running.proxy().stats().pools().get(0).counters()
              .get(PoolStat.SERVER_EJECTS) >= 1, "s2 ejected");
          chromium.open(base + "?refresh=500");
          Poll.until(WAIT, () -> "ejected".equals(chromium.eval(
              "document.querySelector('[data-server=s2]')?.dataset.state")),
              () -> "the page to show s2 ejected; it shows "
                  + chromium.eval("document.getElementById('pools').textContent"));

          assertEquals("[\"s1\",\"s2\",\"s3\"]", chromium.eval(
              "[...document.querySelectorAll('[data-pool=alpha] [data-server]')]"
                  + ".map(r => r.dataset.server)"));
          assertEquals("[\"serving\",\"ejected\",\"serving\"]", chromium.eval(
              "[...document.querySelectorAll('[data-server]')].map(r => r.dataset.state)"));
          String row = chromium.eval("document.querySelector('[data-server=s2]').textContent");
          assertTrue(row.contains("127.0.0.1:" + r2.port()) && row.contains("returns in"), row);
          String ejection = chromium.eval("[...document.querySelectorAll('#events li')]"
              + ".filter(e => e.dataset.kind === 'ejected').map(e => e.textContent).join('\\n')");
          assertTrue(ejection.contains("alpha / s2"), "an ejection event for s2 in\n"
              + chromium.eval("document.getElementById('events').textContent"));

          // The rate comes from two polls; it is there by the second and moves with the load.
          String[] first = pollAndRate(chromium, 2);
          int polls = Integer.parseInt(first[0]);
          String[] later = pollAndRate(chromium, polls + 2);
          assertTrue(Double.parseDouble(first[1]) > 0, "requests/s at poll " + first[0]);
          assertTrue(Double.parseDouble(later[1]) > 0, "requests/s at poll " + later[0]);
          if (first[1].equals(later[1])) {
            // Two windows of steady load can round alike; a later one will not.
            Poll.until(WAIT, () -> !pollAndRate(chromium, 0)[1].equals(first[1]),
                "the requests/s shown to change from " + first[1]);
          }
          assertTrue(served.get() > 0, "the load was served");
          assertEquals("true", chromium.eval("document.getElementById('error').hidden"));

          assertEquals("[]", chromium.eval("performance.getEntriesByType('resource')"
              + ".map(e => e.name).filter(n => !n.startsWith(location.origin + '/'))"));

          chromium.viewport(1280, 900, false);
          screenshot(chromium, "status-page.png");
          chromium.viewport(390, 844, true);
          assertEquals("true", chromium.eval(
              "document.documentElement.scrollWidth <= window.innerWidth"));
          screenshot(chromium, "status-page-phone.png");
        } finally {
          loading.set(false);
          load.join(WAIT.toMillis());
        }
      }
    }
  }

  /** GETs and SETs through Walnut until told to stop; errors (s2 before its ejection) pass. */
  private static void load(int port, AtomicBoolean loading, AtomicLong served) {
    try (Jedis jedis = new Jedis("127.0.0.1", port, 5_000)) {
      for (int i = 0; loading.get(); i++) {
        String key = "status:" + (i % 500);
        try {
          jedis.set(key, "v" + i);
          jedis.get(key);
          served.addAndGet(2);
        } catch (JedisDataException e) {
          // "ERR Connection refused" for a key of s2 until it is out of the ring
        }
      }
    }
  }

  /**
   * Waits for the page's poll count to reach {@code atLeast}, then reads it together with the
   * pool's requests/s in one evaluation, so the two belong to the same render.
   */
  private static String[] pollAndRate(Chromium chromium, int atLeast) {
    Poll.until(WAIT, () -> Integer.parseInt(chromium.eval("document.body.dataset.polls"))
        >= atLeast, "poll " + atLeast);
    return chromium.eval("document.body.dataset.polls + ' ' + document.querySelector("
        + "'[data-pool=alpha] [data-rate=requests]').textContent").split(" ");
  }

  private static void screenshot(Chromium chromium, String name) throws Exception {
    byte[] png = chromium.screenshot();
    Files.createDirectories(Path.of("target"));
    Files.write(Path.of("target", name), png);
    String docs = System.getProperty("walnut.screenshots.dir");
    if (docs != null && !docs.isBlank()) {
      Files.createDirectories(Path.of(docs));
      Files.write(Path.of(docs, name), png);
    }
  }

  private static byte[] resource() throws Exception {
    try (InputStream in = StatusPageIT.class.getResourceAsStream(
        "/walnut/server/metrics/status.html")) {
      return in.readAllBytes();
    }
  }

  private static HttpResponse<byte[]> get(String url) throws Exception {
    HttpResponse<byte[]> response = HTTP.send(HttpRequest.newBuilder(URI.create(url))
        .timeout(WAIT).build(), HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(200, response.statusCode(), url);
    assertEquals("text/html; charset=utf-8",
        response.headers().firstValue("Content-Type").orElse(null), url);
    return response;
  }
}
