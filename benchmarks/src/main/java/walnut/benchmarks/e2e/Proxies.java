package walnut.benchmarks.e2e;

import static walnut.benchmarks.e2e.Console.say;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import walnut.testing.MemcachedServer;
import walnut.testing.NutcrackerServer;
import walnut.testing.NutcrackerServer.Pool;
import walnut.testing.Poll;
import walnut.testing.RedisServer;

/**
 * The processes of the end-to-end run: 3 redis-servers and 3 memcacheds ({@code testing}'s
 * fixtures, on free ports), and in front of the same pools ({@link NutcrackerServer}) twemproxy,
 * Walnut (each {@code --threads} and {@code --transports} value, and each {@code --also} checkout)
 * and each {@code --proxy} candidate; then {@code direct}, one backend without a proxy. Gives
 * twemproxy and Walnut their configuration test ({@link Target#confTest}: {@code nutcracker -t -c
 * CONF}, {@code bin/walnut -t -c CONF}). Stops them all by their pids, proxies first.
 */
final class Proxies {

  static final String BASELINE = "twemproxy";
  private static final String REDIS_POOL = "bench_redis";
  private static final String MEMCACHE_POOL = "bench_memcache";

  private final Options o;
  private final Path root;
  private final Path work;
  private final List<AutoCloseable> backends = new ArrayList<>();
  private final List<Target> targets = new ArrayList<>();
  private Pool redisPool;
  private Pool memcachePool;

  Proxies(Options o, Path root, Path work) {
    this.o = o;
    this.root = root;
    this.work = work;
  }

  /** Every target in the order started: the proxies, then {@code direct}. */
  List<Target> targets() {
    return targets;
  }

  /** The proxies alone, without {@code direct}. */
  List<Target> proxies() {
    return targets.stream().filter(Target::isProxy).toList();
  }

  /** The Redis pool every proxy serves, for a proxy of the run's own (the fill). */
  Pool redisPool() {
    return redisPool;
  }

  /** The memcached pool every proxy serves, or {@code null} when the run has none. */
  Pool memcachePool() {
    return memcachePool;
  }

  void start() {
    boolean memcache = o.memcache();
    say("== backends (3 redis-server" + (memcache ? ", 3 memcached" : "") + "), work in " + work);
    List<InetSocketAddress> redis = new ArrayList<>();
    List<InetSocketAddress> memcached = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      RedisServer r = RedisServer.start();
      backends.add(r);
      redis.add(r.address());
      if (memcache) {
        MemcachedServer m = MemcachedServer.start("-m", "256", "-t", "2");
        backends.add(m);
        memcached.add(m.address());
      }
    }
    redisPool = Pool.redis(REDIS_POOL, redis);
    List<Pool> pools = new ArrayList<>(List.of(redisPool));
    if (memcache) {
      memcachePool = Pool.memcache(MEMCACHE_POOL, memcached);
      pools.add(memcachePool);
    }
    start(BASELINE, NutcrackerServer.TWEMPROXY, pools, false, "", "nutcracker");
    targets.get(targets.size() - 1).resp3Skip =
        "twemproxy speaks RESP2 only: it closes a connection that says HELLO";
    List<Options.Also> checkouts = new ArrayList<>();
    checkouts.add(new Options.Also("", root));
    checkouts.addAll(o.also());
    for (Options.Also checkout : checkouts) {
      String walnut = checkout.dir().toAbsolutePath().resolve("bin/walnut").toString();
      for (String transport : o.transports()) {
        for (int threads : o.threads()) {
          String name = "walnut-" + (checkout.label().isEmpty() ? "" : checkout.label() + "-")
              + (transport.equals("auto") ? "" : transport + "-") + "t" + threads;
          start(name, List.of(walnut, "-c", NutcrackerServer.CONF, "-s", NutcrackerServer.STATS,
              "--threads", Integer.toString(threads), "--transport", transport,
              "--shutdown-grace", "1000"), pools, true, "", walnut);
        }
      }
    }
    for (Options.Candidate c : o.candidates()) {
      // Through sh, so the command may use the shell's syntax; exec keeps the pid the proxy's.
      String command = c.command().strip();
      start(c.name(), List.of("sh", "-c", command.startsWith("exec ") ? command
          : "exec " + command), pools, true, c.command(), null);
    }
    targets.add(new Target("direct", null, redis.get(0).getPort(),
        memcache ? memcached.get(0).getPort() : 0, ""));
    if (memcache) {
      for (Target t : proxies()) {
        if (t.memcachePort != 0 && t.memcacheSkip == null
            && !Poll.within(Duration.ofSeconds(5), () -> answersGet(t.memcachePort))) {
          t.memcacheSkip = "its memcache port 127.0.0.1:" + t.memcachePort
              + " answers nothing to 'get'";
          say("== " + t.name + ": skipping the memcache cases: " + t.memcacheSkip);
        }
      }
    }
  }

  /**
   * Starts one proxy in front of {@code pools}. One that exits at start with a memcache pool may
   * be retried without it ({@code mayDropMemcache}): its memcache cases are then skipped.
   * {@code testProgram}, if not null, tests the proxy's configuration with {@code -t -c CONF}.
   */
  private void start(String name, List<String> command, List<Pool> pools,
      boolean mayDropMemcache, String description, String testProgram) {
    if (targets.stream().anyMatch(t -> t.name.equals(name)) || name.equals("direct")) {
      throw new Failure("two proxies are named " + name);
    }
    NutcrackerServer server;
    String skip = null;
    try {
      server = NutcrackerServer.start(pools, command);
    } catch (IllegalStateException e) {
      if (!mayDropMemcache || pools.size() == 1 || !e.getMessage().contains("exited with status")) {
        throw new Failure(name + " did not start: " + e.getMessage());
      }
      try {
        server = NutcrackerServer.start(pools.subList(0, 1), command);
      } catch (IllegalStateException again) {
        throw new Failure(name + " did not start: " + e.getMessage());
      }
      skip = "it exits at start with a memcache pool (" + lastLine(e.getMessage()) + ")";
    }
    boolean memcache = pools.size() > 1 && skip == null;
    Target t = new Target(name, server, server.port(REDIS_POOL),
        memcache ? server.port(MEMCACHE_POOL) : 0, description);
    t.memcacheSkip = skip;
    if (testProgram != null) {
      t.confTest = List.of(testProgram, "-t", "-c", server.config().toString());
    }
    targets.add(t);
    say("== " + name + " on " + t.redisPort + " (redis)"
        + (memcache ? ", " + t.memcachePort + " (memcache)" : "") + ", pid " + server.pid()
        + (skip == null ? "" : "; skipping the memcache cases: " + skip));
  }

  /** Stops every process, proxies first, each by its pid; copies the proxies' files if asked. */
  void stopAll(boolean keepFiles) {
    for (int i = targets.size() - 1; i >= 0; i--) {
      Target t = targets.get(i);
      if (!t.isProxy()) {
        continue;
      }
      if (keepFiles) {
        copyQuietly(t.server.config(), work.resolve(t.name + ".yml"));
        copyQuietly(t.server.log(), work.resolve(t.name + ".log"));
      }
      closeQuietly(t.name, t.server);
    }
    for (int i = backends.size() - 1; i >= 0; i--) {
      closeQuietly(backends.get(i).toString(), backends.get(i));
    }
  }

  /** True when the memcache port answers a get with END, as memcached does for a missing key. */
  private static boolean answersGet(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
      s.setSoTimeout(2000);
      OutputStream out = s.getOutputStream();
      out.write("get walnut:e2e:probe\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      byte[] reply = new byte[5];
      int n = in.readNBytes(reply, 0, 5);
      return n == 5 && new String(reply, StandardCharsets.US_ASCII).equals("END\r\n");
    } catch (IOException e) {
      return false;
    }
  }

  static String lastLine(String text) {
    List<String> lines = text.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
  }

  private static void copyQuietly(Path from, Path to) {
    try {
      if (Files.exists(from)) {
        Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException | RuntimeException e) {
      System.err.println("e2e: cannot keep " + from + ": " + e);
    }
  }

  private static void closeQuietly(String name, AutoCloseable c) {
    try {
      c.close();
    } catch (Exception e) {
      System.err.println("e2e: stopping " + name + ": " + e);
    }
  }
}
