package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import walnut.testing.FreePorts;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.SingleTransport;

/** The packaged launcher, {@code bin/walnut}, run as a user runs it. */
@SingleTransport
class LauncherIT {

  @TempDir
  Path tmp;

  record Result(int exit, String output) {}

  static Result walnut(String... args) throws IOException, InterruptedException {
    return walnut(java.util.Map.of(), args);
  }

  /** Runs {@code bin/walnut} with extra environment variables and waits for it. */
  static Result walnut(java.util.Map<String, String> env, String... args)
      throws IOException, InterruptedException {
    Path root = Path.of(System.getProperty("walnut.root", "..")).toAbsolutePath().normalize();
    List<String> command = new ArrayList<>();
    command.add(root.resolve("bin/walnut").toString());
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().putAll(env);
    builder.environment().merge("WALNUT_JAVA_OPTS", WalnutProcess.PARANOID,
        (mine, paranoid) -> paranoid + " " + mine);
    Process process = builder.start();
    try {
      assertTrue(process.waitFor(60, TimeUnit.SECONDS), "bin/walnut finished");
      return new Result(process.exitValue(),
          new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    } finally {
      process.destroyForcibly();
    }
  }

  @Test
  void versionFlagPrintsTheVersionAndExitsZero() throws Exception {
    Result r = walnut("-V");
    assertEquals(0, r.exit(), r.output());
    assertTrue(r.output().contains("This is walnut-" + Main.VERSION), r.output());
  }

  @Test
  void testConfAcceptsAValidFile() throws Exception {
    Path conf = tmp.resolve("ok.yml");
    Files.writeString(conf, "alpha:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n"
        + "   - 127.0.0.1:6379:1\n");
    Result r = walnut("-t", "-c", conf.toString());
    assertEquals(0, r.exit(), r.output());
    assertTrue(r.output().contains("configuration file '" + conf + "' syntax is ok"), r.output());
  }

  @Test
  void theJvmStartsWithTheDocumentedDefaultsWhichTheUserCanOverride() throws Exception {
    Result defaults = walnut(java.util.Map.of("WALNUT_JAVA_OPTS", "-XX:+PrintCommandLineFlags"),
        "-V");
    assertEquals(0, defaults.exit(), defaults.output());
    List<String> expected = new ArrayList<>(List.of("-XX:+UseSerialGC",
        "-XX:MaxHeapSize=268435456", "-XX:InitialHeapSize=8388608",
        "-XX:MaxDirectMemorySize=1073741824"));
    Runtime.Version v = Runtime.version(); // bin/walnut runs the JVM the build runs
    if (v.feature() == 17 && v.update() >= 9 || v.feature() == 21 && v.update() >= 1
        || v.feature() >= 22) {
      expected.add("-XX:TrimNativeHeapInterval=1000");
    }
    for (String flag : expected) {
      assertTrue(defaults.output().contains(flag), flag + " in\n" + defaults.output());
    }
    // A collector or a heap size the user names replaces the default instead of conflicting.
    Result overridden = walnut(java.util.Map.of("WALNUT_JAVA_OPTS",
        "-XX:MaxRAMPercentage=10 -XX:+UseParallelGC -XX:+PrintCommandLineFlags"), "-V");
    assertEquals(0, overridden.exit(), overridden.output());
    assertTrue(overridden.output().contains("-XX:+UseParallelGC"), overridden.output());
    assertFalse(overridden.output().contains("-XX:+UseSerialGC"), overridden.output());
    assertFalse(overridden.output().contains("-XX:MaxHeapSize=268435456"), overridden.output());
  }

  @Test
  void theClassDataArchiveMadeAtPackageTimeIsMappedAtStart() throws Exception {
    assumeFalse(Boolean.getBoolean("walnut.cds.skip"), "the build made no archive");
    Path conf = tmp.resolve("ok.yml");
    Files.writeString(conf, "alpha:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n"
        + "   - 127.0.0.1:6379:1\n");
    Path classes = tmp.resolve("classes.txt");
    Result r = walnut(java.util.Map.of("WALNUT_JAVA_OPTS", "-Xlog:class+load=info:file=" + classes),
        "-t", "-c", conf.toString());
    assertEquals(0, r.exit(), r.output());
    String loaded = Files.readString(classes);
    // The archive holds Walnut's own classes and its libraries', not only the JDK's.
    for (String c : List.of("walnut.server.Main", "walnut.server.ConfigCheck",
        "org.yaml.snakeyaml.events.Event", "picocli.CommandLine")) {
      assertTrue(loaded.contains(c + " source: shared objects file"), loaded.lines()
          .filter(l -> l.contains(c + " ")).findFirst().orElse(c + " was not loaded"));
    }
  }

  /**
   * A distribution copied elsewhere, with an archive made there and then cut short (a copy over a
   * full disk, a partial tarball): the JVM would map it and crash, so the launcher must not use
   * it, and the proxy starts without it.
   */
  @Test
  void anArchiveCutShortIsNotMappedAndTheProxyStillStarts() throws Exception {
    assumeFalse(Boolean.getBoolean("walnut.cds.skip"), "the build made no archive");
    Path root = Path.of(System.getProperty("walnut.root", "..")).toAbsolutePath().normalize();
    Path copy = tmp.resolve("walnut-copy");
    copyTree(root.resolve("server/target/walnut"), copy);
    Map<String, String> home = Map.of("WALNUT_HOME", copy.toString());
    Result made = walnut(home, "--make-cds-archive");
    assertEquals(0, made.exit(), made.output());
    Path archive;
    try (var files = Files.list(copy.resolve("cds"))) {
      archive = files.filter(p -> p.toString().endsWith(".jsa")).findFirst().orElseThrow();
    }
    Path conf = tmp.resolve("ok.yml");
    Files.writeString(conf, "alpha:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n"
        + "   - 127.0.0.1:6379:1\n");
    Path classes = tmp.resolve("classes.txt");
    Map<String, String> logged = new java.util.HashMap<>(home);
    logged.put("WALNUT_JAVA_OPTS", "-Xlog:class+load=info:file=" + classes);
    Result mapped = walnut(logged, "-t", "-c", conf.toString());
    assertEquals(0, mapped.exit(), mapped.output());
    assertTrue(Files.readString(classes).contains("walnut.server.Main source: shared objects"),
        "the copy's own archive is used");

    try (var channel = java.nio.channels.FileChannel.open(archive,
        java.nio.file.StandardOpenOption.WRITE)) {
      channel.truncate(1_000_000);
    }
    Result cut = walnut(logged, "-t", "-c", conf.toString());
    assertEquals(0, cut.exit(), cut.output());
    assertTrue(cut.output().contains("syntax is ok"), cut.output());
    assertFalse(Files.readString(classes).contains("walnut.server.Main source: shared objects"),
        "a cut-short archive is not mapped");
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (var paths = Files.walk(from)) {
      for (Path p : (Iterable<Path>) paths::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }

  @Test
  void testConfRejectsAnUnknownHashListingTheKnownOnes() throws Exception {
    Path conf = tmp.resolve("bad-hash.yml");
    Files.writeString(conf, "alpha:\n  listen: 127.0.0.1:22121\n  hash: fnv1a64\n  servers:\n"
        + "   - 127.0.0.1:6379:1\n");
    Result r = walnut("-t", "-c", conf.toString());
    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains("syntax is invalid"), r.output());
    assertTrue(r.output().contains("fnv1a64"), r.output());
    assertTrue(r.output().contains("fnv1a_64"), "lists the known hashes: " + r.output());
  }

  /** Issue #24's key, through the real launcher: the file and line, and why. */
  @Test
  void testConfReportsABadMaxPinnedConnectionsWithFileAndLine() throws Exception {
    Path ok = tmp.resolve("pinned-ok.yml");
    Files.writeString(ok, "alpha:\n  listen: 127.0.0.1:22121\n  redis: true\n"
        + "  max_pinned_connections: 0\n  servers:\n   - 127.0.0.1:6379:1\n");
    Result accepted = walnut("-t", "-c", ok.toString());
    assertEquals(0, accepted.exit(), accepted.output());

    Path negative = tmp.resolve("pinned-negative.yml");
    Files.writeString(negative, "alpha:\n  listen: 127.0.0.1:22121\n  redis: true\n"
        + "  max_pinned_connections: -1\n  servers:\n   - 127.0.0.1:6379:1\n");
    Result r = walnut("-t", "-c", negative.toString());
    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains(negative + ":4: pool 'alpha': directive"
        + " \"max_pinned_connections\": '-1' is not a number"), r.output());

    Path memcached = tmp.resolve("pinned-memcached.yml");
    Files.writeString(memcached, "alpha:\n  listen: 127.0.0.1:22121\n"
        + "  max_pinned_connections: 8\n  servers:\n   - 127.0.0.1:11211:1\n");
    r = walnut("-t", "-c", memcached.toString());
    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains(memcached + ":3: pool 'alpha': directive"
        + " \"max_pinned_connections:\" is only valid for a redis pool (add redis: true)"),
        r.output());
  }

  @Test
  void testConfRejectsAMalformedFile() throws Exception {
    Path conf = tmp.resolve("bad.yml");
    Files.writeString(conf, "alpha:\n  listen: 127.0.0.1:22121\n  timeout: soon\n  servers:\n"
        + "   - 127.0.0.1:6379:1\n");
    Result r = walnut("-t", "-c", conf.toString());
    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains("timeout"), r.output());
    assertTrue(r.output().contains("syntax is invalid"), r.output());
  }

  @Test
  void badNumbersAreRejectedAsTwemproxyRejectsThem() throws Exception {
    Result r = walnut("-s", "70000", "-t");
    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains("option -s value 70000 is not a valid port"), r.output());
    r = walnut("-m", "100", "-t");
    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains("mbuf chunk size must be between 512 and 16777216 bytes"),
        r.output());
    r = walnut("--slow-reader-limit", "0", "-t");
    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains("option --slow-reader-limit requires a number > 0"),
        r.output());
    r = walnut("--client-pending-limit", "64k", "-t");
    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains(
        "option --client-pending-limit requires a size of at least 128k"), r.output());
  }

  @Test
  void aPoolAboveTheConnectionCapDoesNotStart() throws Exception {
    Path conf = tmp.resolve("cap.yml");
    Files.writeString(conf, "capped:\n  listen: 127.0.0.1:" + FreePorts.next() + "\n  redis: true\n"
        + "  server_connections: 2\n  servers:\n   - 127.0.0.1:6379:1\n");
    Result r = walnut("-c", conf.toString(), "-s", Integer.toString(FreePorts.next()),
        "--threads", "4", "--max-server-connections", "6");
    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains("pool 'capped': 4 threads x server_connections 2 x 2 kinds of"
        + " connection (RESP2 and RESP3) = 16 connections per server, above the cap of 6"),
        r.output());
  }

  @Test
  void daemonizeReturnsOnceListeningAndSigtermStopsTheProxy() throws Exception {
    try (RedisServer backend = RedisServer.start()) {
      int port = FreePorts.next();
      int statsPort = FreePorts.next();
      Path conf = tmp.resolve("daemon.yml");
      Files.writeString(conf, "daemon:\n  listen: 127.0.0.1:" + port + "\n  redis: true\n"
          + "  servers:\n   - 127.0.0.1:" + backend.port() + ":1\n");
      Path pidFile = tmp.resolve("walnut.pid");
      Result r = walnut("-c", conf.toString(), "-d", "-p", pidFile.toString(), "-s",
          Integer.toString(statsPort), "-o", tmp.resolve("walnut.log").toString(),
          "--threads", "2");
      assertEquals(0, r.exit(), r.output());
      long pid = Long.parseLong(Files.readString(pidFile).trim());
      ProcessHandle daemon = ProcessHandle.of(pid).orElseThrow();
      try {
        try (Jedis jedis = new Jedis("127.0.0.1", port, 30_000)) {
          assertEquals("OK", jedis.set("daemon:k", "v"));
          assertEquals("v", jedis.get("daemon:k"));
        }
        assertEquals("v", backend.command("GET", "daemon:k"));
        String stats = readAll(statsPort);
        assertTrue(stats.startsWith("{\"service\":\"nutcracker\", \"source\":"), stats);
        assertTrue(stats.contains("\"daemon\": {\"client_eof\":"), stats);
        assertTrue(stats.contains("\"127.0.0.1:" + backend.port() + "\": {\"server_eof\":"),
            stats);
        assertTrue(stats.endsWith("}}}\n"), stats);
      } finally {
        daemon.destroy(); // SIGTERM: graceful shutdown
      }
      Poll.until(Duration.ofSeconds(20), () -> !daemon.isAlive(), "the daemon exits on SIGTERM");
    }
  }

  @Test
  void authAndDbTogetherAuthenticateFirstAndWarnOfTheDifferenceFromTwemproxy() throws Exception {
    try (RedisServer backend = RedisServer.start("--requirepass", "s3cret")) {
      int port = FreePorts.next();
      Path conf = tmp.resolve("authdb.yml");
      Files.writeString(conf, "authdb:\n  listen: 127.0.0.1:" + port + "\n  redis: true\n"
          + "  redis_auth: s3cret\n  redis_db: 3\n"
          + "  servers:\n   - 127.0.0.1:" + backend.port() + ":1\n");
      Path pidFile = tmp.resolve("walnut.pid");
      Path logFile = tmp.resolve("walnut.log");
      Result r = walnut("-c", conf.toString(), "-d", "-p", pidFile.toString(), "-s",
          Integer.toString(FreePorts.next()), "-o", logFile.toString());
      assertEquals(0, r.exit(), r.output());
      ProcessHandle daemon =
          ProcessHandle.of(Long.parseLong(Files.readString(pidFile).trim())).orElseThrow();
      try {
        try (Jedis jedis = new Jedis("127.0.0.1", port, 30_000)) {
          assertEquals("OK", jedis.auth("s3cret"));
          assertEquals("OK", jedis.set("authdb:k", "in-db-3"));
        }
        String log = Files.readString(logFile);
        assertTrue(log.contains("pool 'authdb': redis_auth and redis_db 3 are both set"), log);
      } finally {
        daemon.destroy();
      }
      Poll.until(Duration.ofSeconds(20), () -> !daemon.isAlive(), "the daemon exits on SIGTERM");
      try (Jedis direct = new Jedis(backend.host(), backend.port(), 30_000)) {
        direct.auth("s3cret");
        assertNull(direct.get("authdb:k"), "nothing in database 0");
        direct.select(3);
        assertEquals("in-db-3", direct.get("authdb:k"));
      }
    }
  }

  private static String readAll(int port) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(5_000);
      InputStream in = socket.getInputStream();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
