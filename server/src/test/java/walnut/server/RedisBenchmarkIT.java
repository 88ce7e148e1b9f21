package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import walnut.core.stats.PoolStat;
import walnut.testing.RedisServer;

/**
 * {@code redis-benchmark} through Walnut in front of three redis-servers, with every one of its
 * default tests (redis-benchmark 7.0 has no stream test; all of its defaults are commands Walnut
 * proxies), without and with pipelining. redis-benchmark 7 exits at the first error reply, so a
 * zero exit and a result line per test mean every request was answered without error.
 */
class RedisBenchmarkIT {

  /** redis-benchmark's default tests, and the names its CSV output gives them. */
  private static final Map<String, String> TESTS = new LinkedHashMap<>();

  static {
    TESTS.put("ping_inline", "PING_INLINE");
    TESTS.put("ping_mbulk", "PING_MBULK");
    TESTS.put("set", "SET");
    TESTS.put("get", "GET");
    TESTS.put("incr", "INCR");
    TESTS.put("lpush", "LPUSH");
    TESTS.put("rpush", "RPUSH");
    TESTS.put("lpop", "LPOP");
    TESTS.put("rpop", "RPOP");
    TESTS.put("sadd", "SADD");
    TESTS.put("hset", "HSET");
    TESTS.put("spop", "SPOP");
    TESTS.put("zadd", "ZADD");
    TESTS.put("zpopmin", "ZPOPMIN");
    TESTS.put("lrange_100", "LRANGE_100 (first 100 elements)");
    TESTS.put("lrange_300", "LRANGE_300 (first 300 elements)");
    TESTS.put("lrange_500", "LRANGE_500 (first 500 elements)");
    TESTS.put("lrange_600", "LRANGE_600 (first 600 elements)");
    TESTS.put("mset", "MSET (10 keys)");
  }

  private static final long TIMEOUT_SECONDS = 120;

  private static final List<RedisServer> backends = new ArrayList<>();
  private static ProxyFixture walnut;

  @BeforeAll
  static void start() throws Exception {
    backends.addAll(ProxyFixture.redisServers(3));
    walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).build(), 2);
  }

  @AfterAll
  static void stop() throws Exception {
    ProxyFixture.closeAll(walnut, backends);
  }

  @ParameterizedTest(name = "pipeline {0}")
  @ValueSource(ints = {1, 16})
  void everyDefaultTestRunsWithoutAnError(int pipeline) throws Exception {
    long errorsBefore = forwardErrors();
    List<String> small = TESTS.keySet().stream().filter(t -> !t.startsWith("lrange")).toList();
    List<String> lrange = TESTS.keySet().stream().filter(t -> t.startsWith("lrange")).toList();
    // The LRANGE tests move up to 600 elements a reply; fewer of them keep the run short under
    // the paranoid leak detector, which records every access to a buffer.
    String text = benchmark(pipeline, 2000, small) + benchmark(pipeline, 400, lrange);
    for (String test : TESTS.values()) {
      String line = text.lines().filter(l -> l.startsWith("\"" + test + "\","))
          .findFirst().orElseThrow(() -> new AssertionError("no result for " + test
              + " in:\n" + text));
      double rps = Double.parseDouble(line.split(",")[1].replace("\"", ""));
      assertTrue(rps > 0, line);
    }
    assertEquals(errorsBefore, forwardErrors(), "Walnut answered no request with an error");
  }

  /** Runs redis-benchmark through Walnut; returns its CSV output once it exited with 0. */
  private static String benchmark(int pipeline, int requests, List<String> tests)
      throws Exception {
    Path output = Files.createTempFile("redis-benchmark", ".csv");
    Process process = new ProcessBuilder("redis-benchmark", "-h", "127.0.0.1",
        "-p", Integer.toString(walnut.port()), "-c", "20", "-n", Integer.toString(requests),
        "-r", "10000", "-P", Integer.toString(pipeline), "-t", String.join(",", tests), "--csv")
        .redirectErrorStream(true).redirectOutput(output.toFile()).start();
    try {
      assertTrue(process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS),
          "redis-benchmark finished within " + TIMEOUT_SECONDS + " s");
      String text = Files.readString(output, StandardCharsets.UTF_8);
      System.out.println("redis-benchmark -P " + pipeline + " -n " + requests
          + " through Walnut:\n" + text);
      assertEquals(0, process.exitValue(), text);
      assertFalse(text.contains("Error"), text);
      return text;
    } finally {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
      Files.deleteIfExists(output);
    }
  }

  private static long forwardErrors() {
    return walnut.proxy.stats().pools().get(0).counters().get(PoolStat.FORWARD_ERROR);
  }
}
