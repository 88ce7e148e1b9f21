package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBufUtil;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.server.config.NutcrackerConfigLoader;
import walnut.testing.GoldenVectors;
import walnut.testing.RedisServer;

/**
 * Every placement file of the repository's {@code vectors/placement}, taken from the real
 * twemproxy 0.5.0: keys SET through Walnut over real redis-servers must land on the backend the
 * file names.
 *
 * <p>The files' servers ran on ports we cannot take, and a server's name decides its place on the
 * ring, so each server line is rewritten to point at one of our backends while keeping its
 * twemproxy name explicitly: {@code 127.0.0.1:31003:1} becomes
 * {@code 127.0.0.1:<ours>:1 127.0.0.1:31003}. The YAML is otherwise loaded unchanged, through the
 * real nutcracker.yml loader.
 */
class PlacementIT {

  private static final Pattern SERVER_LINE =
      Pattern.compile("^(\\s*-\\s+)(\\S+?):(\\d+):(\\d+)(?:\\s+(\\S+))?\\s*$");
  private static final List<RedisServer> backends = new ArrayList<>();

  static Stream<String> placements() throws IOException {
    try (Stream<Path> files = Files.list(GoldenVectors.file("placement"))) {
      return files.map(f -> f.getFileName().toString())
          .filter(n -> n.endsWith(".tsv") && !n.contains("-random-"))
          .map(n -> n.substring(0, n.length() - 4))
          .sorted()
          .toList()
          .stream();
    }
  }

  @AfterAll
  static void stopBackends() {
    backends.forEach(RedisServer::close);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("placements")
  void keysLandWhereTwemproxyPutThem(String name) throws Exception {
    Path dir = GoldenVectors.file("placement");
    List<String> yaml = Files.readAllLines(dir.resolve(name + ".yml"));
    List<String> rewritten = new ArrayList<>();
    int servers = 0;
    for (String line : yaml) {
      Matcher m = SERVER_LINE.matcher(line);
      if (m.matches()) {
        String host = m.group(2);
        int port = Integer.parseInt(m.group(3));
        String twemproxyName = m.group(5) != null ? m.group(5)
            : port == 11211 ? host : host + ":" + port;
        rewritten.add(m.group(1) + "127.0.0.1:" + backend(servers).port() + ":" + m.group(4)
            + " " + twemproxyName);
        servers++;
      } else {
        rewritten.add(line);
      }
    }
    PoolConfig pool = NutcrackerConfigLoader.parse(String.join("\n", rewritten) + "\n",
        name + ".yml").pools().get(0);
    pool = pool.toBuilder().listen(Endpoint.tcp("127.0.0.1", 0)).build();

    List<String> lines = Files.readAllLines(dir.resolve(name + ".tsv"));
    List<String[]> rows = new ArrayList<>();
    for (String row : lines.subList(1, lines.size())) {
      rows.add(row.split("\t", -1));
    }
    for (int i = 0; i < servers; i++) {
      backend(i).command("FLUSHALL");
    }
    try (ProxyFixture walnut = ProxyFixture.start(pool, 2);
        Jedis jedis = new Jedis("127.0.0.1", walnut.port(), 30_000)) {
      Pipeline pipeline = jedis.pipelined();
      for (String[] row : rows) {
        pipeline.set(ByteBufUtil.decodeHexDump(row[0]), new byte[] {'1'});
      }
      pipeline.sync();
    }
    Map<String, Integer> found = new HashMap<>();
    for (int i = 0; i < servers; i++) {
      try (Jedis direct = new Jedis("127.0.0.1", backend(i).port(), 30_000)) {
        Set<byte[]> keys = direct.keys("*".getBytes());
        for (byte[] key : keys) {
          found.put(ByteBufUtil.hexDump(key), i);
        }
      }
    }
    int wrong = 0;
    StringBuilder examples = new StringBuilder();
    for (String[] row : rows) {
      Integer actual = found.get(row[0]);
      int expected = Integer.parseInt(row[1]);
      if (actual == null || actual != expected) {
        if (wrong++ < 5) {
          examples.append("\n  key ").append(row[0]).append(": expected server ")
              .append(expected).append(", found ").append(actual);
        }
      }
    }
    assertEquals(0, wrong, wrong + " of " + rows.size() + " keys misplaced" + examples);
  }

  private static RedisServer backend(int i) {
    while (backends.size() <= i) {
      backends.add(RedisServer.start());
    }
    return backends.get(i);
  }
}
