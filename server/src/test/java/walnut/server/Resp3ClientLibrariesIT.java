package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import walnut.testing.RedisServer;
import walnut.testing.SingleTransport;

/**
 * The clients that speak only RESP3 at their default settings (issue 19): redis-py 8 and
 * node-redis 6 send HELLO 3 on connect and do not fall back, so before Walnut answered HELLO they
 * could not connect at all. Each runs the same commands (strings, counters, hashes, sets, sorted
 * sets with scores, lists, MGET with missing keys, a 1,000-command pipeline) through Walnut over
 * three servers and against one redis-server directly; the results must be the same, in RESP3.
 *
 * <p>The test set-up installs the clients under {@code target/clients}: redis-py 8.1.0 into a
 * virtualenv of the {@code python3} first on PATH (pip reads the machine's package index), and
 * node-redis 6.3.1 with npm. The scripts are in {@code src/test/resources/clients}.
 */
@SingleTransport
class Resp3ClientLibrariesIT {

  static final Path CLIENTS = Path.of("target", "clients").toAbsolutePath();
  static final Path PYTHON = CLIENTS.resolve("py-redis8/bin/python");
  static final Path NODE = CLIENTS.resolve("node-redis6");

  private static final List<RedisServer> backends = new ArrayList<>();
  private static RedisServer direct;
  private static ProxyFixture walnut;

  @BeforeAll
  static void start() throws Exception {
    installClients();
    backends.addAll(ProxyFixture.redisServers(3));
    direct = RedisServer.start();
    walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).build(), 2);
  }

  @AfterAll
  static void stop() throws Exception {
    List<RedisServer> all = new ArrayList<>(backends);
    if (direct != null) {
      all.add(direct);
    }
    ProxyFixture.closeAll(walnut, all);
  }

  @Test
  void redisPy8AtItsDefaultsGetsThroughWalnutWhatItGetsFromRedis() throws Exception {
    Path script = copyScript("redis_py_check.py", CLIENTS);
    String fromRedis = run(List.of(PYTHON.toString(), script.toString(),
        Integer.toString(direct.port()), "py:"), CLIENTS);
    String fromWalnut = run(List.of(PYTHON.toString(), script.toString(),
        Integer.toString(walnut.port()), "py:"), CLIENTS);
    assertTrue(fromWalnut.contains("\"library\": \"redis-py 8."), fromWalnut);
    assertTrue(fromWalnut.contains("\"proto\": 3"), "spoke RESP3: " + fromWalnut);
    assertTrue(fromWalnut.contains("\"hgetall_type\": \"dict\""), fromWalnut);
    assertEquals(fromRedis, fromWalnut);
  }

  @Test
  void nodeRedis6AtItsDefaultsGetsThroughWalnutWhatItGetsFromRedis() throws Exception {
    // Node resolves 'redis' from the script's folder: the script runs from the install.
    Path script = copyScript("node_redis_check.mjs", NODE);
    String fromRedis = run(List.of("node", script.toString(), Integer.toString(direct.port()),
        "node:"), NODE);
    String fromWalnut = run(List.of("node", script.toString(), Integer.toString(walnut.port()),
        "node:"), NODE);
    assertTrue(fromWalnut.contains("\"library\":\"node-redis 6."), fromWalnut);
    assertTrue(fromWalnut.contains("\"proto\":3"), "spoke RESP3: " + fromWalnut);
    assertEquals(fromRedis, fromWalnut);
  }

  /** Installs the two clients once per build folder (a later run finds them there). */
  static void installClients() throws Exception {
    Files.createDirectories(CLIENTS);
    if (!Files.isExecutable(PYTHON)) {
      Path venv = CLIENTS.resolve("py-redis8");
      run(List.of("python3", "-m", "venv", venv.toString()), CLIENTS);
      run(List.of(venv.resolve("bin/pip").toString(), "install", "--quiet",
          "--disable-pip-version-check", "redis==8.1.0"), CLIENTS);
    }
    if (!Files.isDirectory(NODE.resolve("node_modules/redis"))) {
      Files.createDirectories(NODE);
      run(List.of("npm", "install", "--prefix", NODE.toString(), "--no-audit", "--no-fund",
          "--loglevel=error", "redis@6.3.1"), CLIENTS);
    }
  }

  static Path copyScript(String name, Path into) throws IOException {
    Path target = into.resolve(name);
    try (InputStream in = Resp3ClientLibrariesIT.class.getResourceAsStream("/clients/" + name)) {
      Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
    }
    return target;
  }

  /** Runs {@code command} in {@code dir}; returns its standard output, or fails with all of it. */
  static String run(List<String> command, Path dir) throws Exception {
    Path log = Files.createTempFile(CLIENTS, "run", ".log");
    Process process = new ProcessBuilder(command).directory(dir.toFile())
        .redirectError(log.toFile()).start();
    try {
      String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(300, TimeUnit.SECONDS)) {
        throw new AssertionError(command + " did not finish in 300 s");
      }
      String err = Files.readString(log);
      assertEquals(0, process.exitValue(), command + " failed:\n" + out + err);
      return out.strip();
    } finally {
      process.destroyForcibly();
      Files.deleteIfExists(log);
    }
  }
}
