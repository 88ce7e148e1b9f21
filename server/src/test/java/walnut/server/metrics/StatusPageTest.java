package walnut.server.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import walnut.testing.Chromium;
import walnut.testing.FreePorts;
import walnut.testing.Poll;

/**
 * The status page as a browser renders it, fed a scripted {@code status.json} one poll at a time
 * (no proxy, no Redis): rates from two consecutive documents, the dash before the second, an error
 * banner over the last good data when a poll fails, every state and reason shown, the proxy's
 * text never read as markup, a phone layout without sideways scrolling, and nothing loaded from
 * anywhere but the page's own origin. It serves the page under a path prefix, as a reverse proxy
 * would, so the relative {@code status.json} URL is checked too. {@code StatusPageIT} then checks
 * the same page against a live Walnut.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class StatusPageTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final String EVIL = "<img src=x onerror=\\\"document.title='pwned'\\\">";

  /** What the next poll of status.json gets: a document, or null for an HTTP 500. */
  private final BlockingQueue<String> answers = new LinkedBlockingQueue<>();
  private final ExecutorService handlers = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "status-page-test-http");
    t.setDaemon(true);
    return t;
  });
  private HttpServer server;

  @TempDir
  Path tmp;

  @BeforeEach
  void serve() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", FreePorts.next()), 0);
    server.setExecutor(handlers);
    server.createContext("/walnut/", exchange -> {
      switch (exchange.getRequestURI().getPath()) {
        case "/walnut/" -> send(exchange, 200, "text/html; charset=utf-8", page());
        case "/walnut/status.json" -> {
          String next;
          try {
            next = answers.poll(10, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            exchange.close();
            return;
          }
          if (next == null || next.equals("500")) {
            send(exchange, next == null ? 503 : 500, "text/plain", "scripted failure");
          } else {
            send(exchange, 200, "application/json; charset=utf-8", next);
          }
        }
        default -> send(exchange, 404, "text/plain", "not found");
      }
    });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
    handlers.shutdownNow(); // a handler waiting for the next scripted answer
  }

  @Test
  void rendersRatesStatesEventsAndFailuresFromConsecutivePolls() throws Exception {
    try (Chromium chromium = Chromium.start(tmp)) {
      answers.add(document(0));
      chromium.open(base() + "?refresh=200");
      awaitPolls(chromium, 1);

      // One document: no rate yet; everything else is there.
      assertEquals("\u2013", rate(chromium, "requests"));
      assertEquals("\u2013", rate(chromium, "errors"));
      assertEquals("[\"s1\",\"s2\",\"" + EVIL + "\"]",
          chromium.eval("[...document.querySelectorAll('[data-pool=alpha] [data-server]')]"
              + ".map(r => r.dataset.server)"));
      assertEquals("[\"serving\",\"ejected\",\"probing\"]", chromium.eval(
          "[...document.querySelectorAll('[data-server]')].map(r => r.dataset.state)"));
      String ejected = chromium.eval(
          "document.querySelector('[data-server=s2]').textContent");
      assertTrue(ejected.contains("ejected") && ejected.contains("the server closed the "
          + "connection") && ejected.contains("returns in 3s"), ejected);
      // The name came through as text: no element was made of it, no script ran.
      assertEquals("0", chromium.eval("document.querySelectorAll('img').length"));
      assertEquals("Walnut status", chromium.eval("document.title"));
      assertEquals("[\"0.21\",\"0.40\",\"1.9\",\"7.5\",\"120\"]", chromium.eval(
          "[...document.querySelectorAll('[data-pool=alpha] [data-latency]')]"
              + ".map(c => c.textContent)"));
      assertEquals("[\"\u2013\",\"\u2013\"]", chromium.eval(
          "[...document.querySelectorAll('[data-pool=idle] [data-latency]')]"
              + ".slice(0, 2).map(c => c.textContent)"));
      String facts = chromium.eval("document.getElementById('facts').textContent");
      assertTrue(facts.contains("0.1.0") && facts.contains("epoll") && facts.contains("2h 46m")
          && facts.contains("FAILED"), facts);
      assertEquals("[\"ejected\",\"reload_failed\"]", chromium.eval(
          "[...document.querySelectorAll('#events li')].map(e => e.dataset.kind)"));
      String event = chromium.eval("document.querySelector('#events li').textContent");
      assertTrue(event.contains("alpha / s2") && event.contains("server 's2' ejected"), event);
      assertNotEquals("never", chromium.eval("document.getElementById('updated').textContent"));

      // The second: 500 requests and 5 errors in 500 ms of the proxy's clock.
      answers.add(document(1));
      awaitPolls(chromium, 2);
      assertEquals("1000.0", rate(chromium, "requests"));
      assertEquals("10.0", rate(chromium, "errors"));

      // A failed poll: a banner over the data it had.
      answers.add("500");
      Poll.until(WAIT, () -> "false".equals(chromium.eval(
          "document.getElementById('error').hidden")), "the error banner");
      String banner = chromium.eval("document.getElementById('error').textContent");
      assertTrue(banner.contains("HTTP 500") && banner.contains("showing data from"), banner);
      assertEquals("2", chromium.eval("document.body.dataset.polls"));
      assertEquals("3", chromium.eval("document.querySelectorAll('[data-server]').length"));
      assertEquals("1000.0", rate(chromium, "requests"));

      answers.add(document(2));
      awaitPolls(chromium, 3);
      assertEquals("true", chromium.eval("document.getElementById('error').hidden"));
      assertEquals("1000.0", rate(chromium, "requests"));

      // Nothing from elsewhere: every resource the page loaded is its own origin's.
      assertEquals("[]", chromium.eval("performance.getEntriesByType('resource')"
          + ".map(e => e.name).filter(n => !n.startsWith(location.origin + '/'))"));

      chromium.viewport(390, 844, true);
      assertEquals("true", chromium.eval(
          "document.documentElement.scrollWidth <= window.innerWidth"));
      assertEquals("none", chromium.eval(
          "getComputedStyle(document.querySelector('table.servers thead')).display"));
      Files.createDirectories(Path.of("target"));
      Files.write(Path.of("target", "status-page-scripted-phone.png"), chromium.screenshot());
      chromium.viewport(1280, 900, false);
      assertEquals("true", chromium.eval(
          "document.documentElement.scrollWidth <= window.innerWidth"));
      Files.write(Path.of("target", "status-page-scripted.png"), chromium.screenshot());
    }
  }

  private String base() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/walnut/";
  }

  private static void awaitPolls(Chromium chromium, int polls) {
    Poll.until(WAIT, () -> Integer.parseInt(chromium.eval("document.body.dataset.polls"))
        >= polls, () -> "poll " + polls + "; page shows "
        + chromium.eval("document.body.dataset.polls") + " polls, banner: "
        + chromium.eval("document.getElementById('error').textContent"));
    assertEquals(Integer.toString(polls), chromium.eval("document.body.dataset.polls"));
  }

  private static String rate(Chromium chromium, String which) {
    return chromium.eval("document.querySelector('[data-pool=alpha] [data-rate=" + which
        + "]').textContent");
  }

  /** The page from the classpath, as Walnut serves it. */
  private static String page() throws IOException {
    try (InputStream in = StatusPageTest.class.getResourceAsStream("status.html")) {
      assertNotNull(in, "walnut/server/metrics/status.html on the classpath");
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static void send(HttpExchange exchange, int status, String type, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.getResponseHeaders().set("Cache-Control", "no-store");
    exchange.sendResponseHeaders(status, bytes.length);
    exchange.getResponseBody().write(bytes);
    exchange.close();
  }

  /**
   * Poll {@code n} of a proxy whose pool alpha serves 1000 requests/s and fails 10/s, by its own
   * clock: each document is 500 ms after the one before.
   */
  private static String document(int n) {
    long now = 1_765_090_000_000L + 500L * n;
    return """
        {"version": "0.1.0", "transport": "epoll", "threads": 2,
         "now_ms": %d, "start_ms": %d,
         "connections": {"current": 12, "total": 345},
         "reload": {"attempts": 2, "failures": 1, "last_ok": false, "last_attempt_ms": %d},
         "pools": [
          {"name": "alpha", "listen": "127.0.0.1:22121", "protocol": "redis",
           "hash": "fnv1a_64", "distribution": "ketama", "hash_tag": "{}",
           "auto_eject_hosts": true, "client_connections": 5,
           "requests": %d, "errors": %d, "server_ejects": 1,
           "latency": {"window_s": 60, "count": 5000,
             "p50": 0.21, "p90": 0.4, "p99": 1.9, "p999": 7.5, "max": 120.4},
           "servers": [
            {"name": "s1", "address": "127.0.0.1:6379", "state": "serving", "reason": null,
             "returns_in_ms": null, "connections": 2, "requests": %d, "responses": %d,
             "errors": 0, "eof": 0, "in_queue": 0, "out_queue": 1, "pinned": 0},
            {"name": "s2", "address": "127.0.0.1:6380", "state": "ejected",
             "reason": "the server closed the connection", "returns_in_ms": 2100,
             "connections": 0, "requests": 40, "responses": 38, "errors": %d, "eof": 1,
             "in_queue": 0, "out_queue": 0, "pinned": 0},
            {"name": "%s", "address": "127.0.0.1:6381", "state": "probing",
             "reason": "ERR Connection refused", "returns_in_ms": null, "connections": 0,
             "requests": 0, "responses": 0, "errors": 0, "eof": 0, "in_queue": 0,
             "out_queue": 0, "pinned": 0}]},
          {"name": "idle", "listen": "127.0.0.1:22122", "protocol": "memcache",
           "hash": "md5", "distribution": "modula", "hash_tag": null,
           "auto_eject_hosts": false, "client_connections": 0,
           "requests": 0, "errors": 0, "server_ejects": 0,
           "latency": {"window_s": 60, "count": 0,
             "p50": null, "p90": null, "p99": null, "p999": null, "max": null},
           "servers": []}],
         "events": [
          {"at_ms": %d, "kind": "ejected", "pool": "alpha", "server": "s2",
           "text": "server 's2' ejected: the server closed the connection"},
          {"at_ms": %d, "kind": "reload_failed", "pool": null, "server": null,
           "text": "pool 'alpha': hash: 'x' is unknown"}]}
        """.formatted(now, now - 10_000_000L, now - 60_000L, 1000 + 500L * n, 5 + 5L * n,
        1000 + 500L * n - 40, 1000 + 500L * n - 40, 5 + 5L * n, EVIL, now - 5_000L,
        now - 60_000L);
  }
}
