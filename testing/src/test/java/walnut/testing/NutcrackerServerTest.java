package walnut.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class NutcrackerServerTest {
  private static boolean alive(long pid) {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  /** One RESP command through the proxy, on its own connection. */
  private static Object redis(int port, String... args) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 2000);
      socket.setSoTimeout(5000);
      OutputStream out = socket.getOutputStream();
      Resp.writeCommand(out, args);
      out.flush();
      return Resp.readReply(new BufferedInputStream(socket.getInputStream()));
    }
  }

  /** One memcached text request through the proxy; its first reply line. */
  private static String memcache(int port, String request) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 2000);
      socket.setSoTimeout(5000);
      socket.getOutputStream().write((request + "\r\n").getBytes(StandardCharsets.UTF_8));
      InputStream in = new BufferedInputStream(socket.getInputStream());
      return Resp.readLine(in);
    }
  }

  @Test
  void twemproxyServesARedisAndAMemcachePoolOnTheirOwnPorts() throws IOException {
    try (RedisServer redis = RedisServer.start();
        MemcachedServer memcached = MemcachedServer.start();
        NutcrackerServer proxy =
            NutcrackerServer.start(
                List.of(
                    NutcrackerServer.Pool.redis("r", List.of(redis.address())),
                    NutcrackerServer.Pool.memcache("m", List.of(memcached.address()))))) {
      assertEquals("127.0.0.1", proxy.host());
      assertEquals(proxy.port(), proxy.port("r"));
      assertNotEquals(proxy.port("r"), proxy.port("m"));
      assertTrue(alive(proxy.pid()));
      assertEquals("OK", redis(proxy.port("r"), "SET", "k", "through"));
      assertEquals("through", redis.command("GET", "k"));
      assertEquals("STORED", memcache(proxy.port("m"), "set k 0 0 1\r\nv"));
      assertEquals("v", memcached.get("k"));
      // The stats endpoint answers one JSON document per connection.
      assertTrue(
          new String(statsOf(proxy.statsPort()), StandardCharsets.UTF_8).contains("\"r\""),
          "stats name the pool");
      // twemproxy logs a command it does not proxy to its output: the fixture's log.
      assertThrows(IOException.class, () -> redis(proxy.port("r"), "CONFIG", "GET", "x"));
      Poll.until(
          Duration.ofSeconds(5),
          () -> read(proxy.log()).contains("unsupported command 'CONFIG'"),
          "the warning in " + proxy.log());
    }
  }

  private static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      return "";
    }
  }

  private static byte[] statsOf(int port) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 2000);
      socket.setSoTimeout(5000);
      return socket.getInputStream().readAllBytes();
    }
  }

  @Test
  void aCommandByPathGetsItsPlaceholdersAndThePidIsTheProxys() throws IOException {
    // nutcracker from its path, as a user's candidate proxy would run: through env(1), which
    // execs it, so the fixture's pid is the proxy's own.
    try (RedisServer redis = RedisServer.start();
        NutcrackerServer proxy =
            NutcrackerServer.start(
                List.of(
                    NutcrackerServer.Pool.redis("r", List.of(redis.address())).with("hash", "md5")),
                List.of(
                    UnixProcesses.locate("nutcracker", "nutcracker").toString(),
                    "-c",
                    "{conf}",
                    "-s",
                    "{stats}",
                    "-a",
                    "127.0.0.1"))) {
      String command = ProcessHandle.of(proxy.pid()).orElseThrow().info().command().orElse("");
      assertTrue(command.endsWith("nutcracker"), command);
      String conf = Files.readString(proxy.config());
      assertTrue(conf.contains("  listen: 127.0.0.1:" + proxy.port() + "\n"), conf);
      assertTrue(conf.contains("  hash: md5\n"), conf);
      assertEquals("OK", redis(proxy.port(), "SET", "k", "v"));
      assertTrue(Files.exists(proxy.log()));
    }
  }

  @Test
  void aRefusedConfigurationFailsWithTheProxysOutputAndLeavesNothing() {
    List<InetSocketAddress> servers = List.of(new InetSocketAddress("127.0.0.1", 1));
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                NutcrackerServer.start(
                    List.of(NutcrackerServer.Pool.redis("r", servers).with("hash", "nope"))));
    String message = e.getMessage();
    assertTrue(message.contains("exited with status 1"), message);
    assertTrue(message.contains("syntax is invalid"), message); // nutcracker's own words
    Matcher conf = Pattern.compile("-c (\\S+)").matcher(message);
    assertTrue(conf.find(), message);
    assertFalse(Files.exists(Path.of(conf.group(1)).getParent()), "the configuration is gone");
  }

  @Test
  void restartKeepsEveryPortAndCloseLeavesNoProcessAndNoFiles() throws IOException {
    RedisServer redis = RedisServer.start();
    try (redis) {
      NutcrackerServer proxy =
          NutcrackerServer.start(
              List.of(
                  NutcrackerServer.Pool.redis("a", List.of(redis.address())),
                  NutcrackerServer.Pool.redis("b", List.of(redis.address()))));
      int a = proxy.port("a");
      int b = proxy.port("b");
      int stats = proxy.statsPort();
      long firstPid = proxy.pid();
      proxy.restart();
      assertNotEquals(firstPid, proxy.pid());
      assertEquals(List.of(a, b, stats), List.of(proxy.port("a"), proxy.port("b"), stats));
      assertEquals("OK", redis(b, "SET", "k", "v"));
      long pid = proxy.pid();
      Path conf = proxy.config();
      proxy.close();
      assertFalse(alive(pid));
      assertFalse(Files.exists(conf));
      assertFalse(Files.exists(conf.getParent()));
    }
  }

  @Test
  void theConfigurationHasTwemproxysKeysOnly() {
    NutcrackerServer.Pool redis =
        NutcrackerServer.Pool.redis("r", List.of(new InetSocketAddress("127.0.0.1", 7001)))
            .with("timeout", "400")
            .with("distribution", "modula");
    NutcrackerServer.Pool memcache =
        NutcrackerServer.Pool.memcache("m", List.of(new InetSocketAddress("127.0.0.1", 7002)));
    assertEquals(
        """
        r:
          listen: 127.0.0.1:20001
          hash: fnv1a_64
          distribution: modula
          redis: true
          timeout: 400
          servers:
           - 127.0.0.1:7001:1
        m:
          listen: 127.0.0.1:20002
          hash: fnv1a_64
          distribution: ketama
          servers:
           - 127.0.0.1:7002:1
        """,
        NutcrackerServer.yaml(List.of(redis, memcache), List.of(20001, 20002)));
  }

  @Test
  void refusesWhatTwemproxyWouldRefuseBeforeStarting() {
    List<InetSocketAddress> servers = List.of(new InetSocketAddress("127.0.0.1", 1));
    assertThrows(IllegalArgumentException.class, () -> NutcrackerServer.Pool.redis("a b", servers));
    assertThrows(IllegalArgumentException.class, () -> NutcrackerServer.Pool.redis("a", List.of()));
    assertThrows(
        IllegalArgumentException.class,
        () -> NutcrackerServer.Pool.redis("a", servers).with("listen", "x"));
    NutcrackerServer.Pool a = NutcrackerServer.Pool.redis("a", servers);
    assertThrows(IllegalArgumentException.class, () -> NutcrackerServer.start(List.of(a, a)));
  }
}
