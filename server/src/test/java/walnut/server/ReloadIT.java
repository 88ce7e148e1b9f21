package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.Jedis;
import walnut.core.config.PoolConfig;
import walnut.core.config.ProxyConfig;
import walnut.testing.Poll;
import walnut.testing.RedisServer;

/**
 * Reloading the configuration under load: clients pipelining without pause while a server is
 * added and another removed keep their connections, lose no request and get no wrong reply; a
 * configuration that cannot be served is rejected with the old one still serving; afterwards
 * keys land where a proxy started on the new configuration puts them.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ReloadIT {

  @Test
  void serversChangeUnderLoadWithoutDroppingAClientOrARequest() throws Exception {
    List<RedisServer> backends = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      backends.add(RedisServer.start());
    }
    try {
      PoolConfig before = ProxyFixture.redisPool(backends.subList(0, 2)).build();
      PoolConfig after = ProxyFixture.redisPool(backends.subList(1, 3)).build();
      try (ProxyFixture walnut = ProxyFixture.start(before, 2)) {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong done = new AtomicLong();
        ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < 4; c++) {
          int id = c;
          Thread t = new Thread(() -> pipeline(walnut.port(), id, stop, done, problems));
          t.start();
          clients.add(t);
        }
        long start = done.get();
        Poll.until(Duration.ofSeconds(30), () -> done.get() > start + 2_000, "traffic flows");

        walnut.proxy.reload(ProxyConfig.of(after));
        long atReload = done.get();
        Poll.until(Duration.ofSeconds(30), () -> done.get() > atReload + 2_000,
            "traffic flows after the reload");

        PoolConfig broken = after.toBuilder().hash("no_such_hash").build();
        assertThrows(RuntimeException.class, () -> walnut.proxy.reload(ProxyConfig.of(broken)));
        long atRejected = done.get();
        Poll.until(Duration.ofSeconds(30), () -> done.get() > atRejected + 2_000,
            "traffic flows after a rejected reload");

        stop.set(true);
        for (Thread t : clients) {
          t.join(30_000);
        }
        assertTrue(problems.isEmpty(), "problems: " + problems);

        // New keys land by the new continuum: where a proxy started on it finds them.
        try (ProxyFixture fresh = ProxyFixture.start(after, 1);
            Jedis reloaded = new Jedis("127.0.0.1", walnut.port(), 30_000);
            Jedis direct = new Jedis("127.0.0.1", fresh.port(), 30_000)) {
          for (int i = 0; i < 200; i++) {
            assertEquals("OK", reloaded.set("placed:" + i, "v" + i));
            assertEquals("v" + i, direct.get("placed:" + i));
            assertNull(backends.get(0).command("GET", "placed:" + i), "nothing on the removed");
          }
        }
      }
    } finally {
      backends.forEach(RedisServer::close);
    }
  }

  /**
   * A SET sent before the reload and its GET after it may reach different servers, since the
   * key moved: the GET then finds nothing, or this client's earlier value of the same key on
   * the new server. Never another client's value, another key's, or a later one.
   */
  private static boolean movedByTheReload(int id, String expected, String got) {
    if (got == null) {
      return true;
    }
    long n = Long.parseLong(expected.substring(expected.indexOf(':') + 1));
    if (!got.startsWith(id + ":")) {
      return false;
    }
    long m = Long.parseLong(got.substring(got.indexOf(':') + 1));
    return m < n && m % 500 == n % 500;
  }

  /** Pipelines SET/GET pairs in batches of 50 on one connection, checking every reply. */
  private static void pipeline(int port, int id, AtomicBoolean stop, AtomicLong done,
      ConcurrentLinkedQueue<String> problems) {
    try (Jedis jedis = new Jedis("127.0.0.1", port, 30_000)) {
      long n = 0;
      while (!stop.get()) {
        var p = jedis.pipelined();
        List<redis.clients.jedis.Response<String>> gets = new ArrayList<>();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 50; i++, n++) {
          String key = "reload:" + id + ":" + (n % 500);
          String value = id + ":" + n;
          p.set(key, value);
          gets.add(p.get(key));
          expected.add(value);
        }
        p.sync();
        for (int i = 0; i < gets.size(); i++) {
          String got = gets.get(i).get();
          if (!expected.get(i).equals(got) && !movedByTheReload(id, expected.get(i), got)) {
            problems.add("client " + id + " expected " + expected.get(i) + " got " + got);
          }
        }
        done.addAndGet(100);
      }
    } catch (RuntimeException e) {
      problems.add("client " + id + ": " + e);
    }
  }
}
