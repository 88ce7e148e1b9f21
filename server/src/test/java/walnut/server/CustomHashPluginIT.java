package walnut.server;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import walnut.core.config.ServerConfig;
import walnut.testing.FreePorts;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.SingleTransport;

/**
 * The plug-in story end to end: the example jar {@code examples/custom-hash} dropped into a
 * distribution's {@code plugins/} folder adds the hash {@code djb2} to the real launcher, with no
 * rebuild of Walnut, and keys land where that hash puts them.
 */
@SingleTransport
class CustomHashPluginIT {

  @TempDir
  Path home;

  private static final Path ROOT =
      Path.of(System.getProperty("walnut.root", "..")).toAbsolutePath().normalize();

  /** What the example computes: djb2 over unsigned bytes. */
  private static int djb2(byte[] key) {
    int h = 5381;
    for (byte b : key) {
      h = h * 33 + (b & 0xff);
    }
    return h;
  }

  private LauncherIT.Result walnut(String... args) throws Exception {
    return LauncherIT.walnut(Map.of("WALNUT_HOME", home.toString()), args);
  }

  @Test
  void aHashJarInPluginsIsFoundAndPlacesKeys() throws Exception {
    Files.createSymbolicLink(home.resolve("lib"), ROOT.resolve("server/target/walnut/lib"));
    Path plugins = Files.createDirectory(home.resolve("plugins"));
    List<RedisServer> backends = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        backends.add(RedisServer.start());
      }
      int port = FreePorts.next();
      StringBuilder yaml = new StringBuilder("custom:\n  listen: 127.0.0.1:" + port
          + "\n  redis: true\n  hash: djb2\n  distribution: modula\n  servers:\n");
      for (RedisServer backend : backends) {
        yaml.append("   - 127.0.0.1:").append(backend.port()).append(":1\n");
      }
      Path conf = home.resolve("custom.yml");
      Files.writeString(conf, yaml.toString());

      LauncherIT.Result without = walnut("-t", "-c", conf.toString());
      assertEquals(1, without.exit(), without.output());
      assertTrue(without.output().contains("'djb2'"), without.output());

      try (var jars = Files.list(ROOT.resolve("examples/custom-hash/target"))) {
        Path jar = jars.filter(p -> p.getFileName().toString().matches(
            "walnut-example-custom-hash-.*\\.jar")).findFirst().orElseThrow();
        Files.copy(jar, plugins.resolve(jar.getFileName()));
      }
      LauncherIT.Result with = walnut("-t", "-c", conf.toString());
      assertEquals(0, with.exit(), with.output());

      Path pidFile = home.resolve("walnut.pid");
      LauncherIT.Result started = walnut("-c", conf.toString(), "-d", "-p", pidFile.toString(),
          "-s", Integer.toString(FreePorts.next()), "-o", home.resolve("walnut.log").toString());
      assertEquals(0, started.exit(), started.output());
      ProcessHandle daemon =
          ProcessHandle.of(Long.parseLong(Files.readString(pidFile).trim())).orElseThrow();
      try (Jedis jedis = new Jedis("127.0.0.1", port, 30_000)) {
        for (int i = 0; i < 200; i++) {
          assertEquals("OK", jedis.set("plugin:" + i, "v"));
        }
      } finally {
        daemon.destroy();
      }
      Poll.until(Duration.ofSeconds(20), () -> !daemon.isAlive(), "the daemon exits");

      // modula over the servers in twemproxy's name order.
      List<RedisServer> sorted = new ArrayList<>(backends);
      sorted.sort(Comparator.comparing(b -> "127.0.0.1:" + b.port(), ServerConfig.NAME_ORDER));
      for (int i = 0; i < 200; i++) {
        String key = "plugin:" + i;
        int expected = Integer.remainderUnsigned(djb2(key.getBytes(UTF_8)), 3);
        assertEquals("v", sorted.get(expected).command("GET", key), key);
      }
    } finally {
      backends.forEach(RedisServer::close);
    }
  }
}
