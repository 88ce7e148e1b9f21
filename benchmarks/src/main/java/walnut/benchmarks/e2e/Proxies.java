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
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import walnut.testing.MemcachedServer;
import walnut.testing.NutcrackerServer;
import walnut.testing.NutcrackerServer.Pool;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.ServerTls;
import walnut.testing.TestPki;

/**
 * The processes of the end-to-end run: 3 redis-servers and 3 memcacheds ({@code testing}'s
 * fixtures, on free ports), and in front of the same pools ({@link NutcrackerServer}) twemproxy,
 * Walnut (each {@code --threads} and {@code --transports} value, and each {@code --also} checkout)
 * and each {@code --proxy} candidate; then {@code direct}, one backend without a proxy. Gives
 * twemproxy and Walnut their configuration test ({@link Target#confTest}: {@code nutcracker -t -c
 * CONF}, {@code bin/walnut -t -c CONF}). Stops them all by their pids, proxies first.
 *
 * <p>With TLS cases ({@link TlsCase}), also a throw-away CA and certificates ({@code testing}'s
 * {@link TestPki}, made with openssl), 3 redis-servers that speak only TLS (when a case has Walnut
 * speak TLS to its backends), and one more Redis pool per TLS variant, given to every proxy but
 * twemproxy (which has no TLS): {@code tls_cert_file}/{@code tls_key_file} on the listener over
 * the plain backends ({@code TLS-client}); {@code server_tls: true} with {@code
 * server_tls_ca_file} over the TLS backends ({@code TLS-server}); both ({@code TLS-both}).
 * {@code direct}'s {@code TLS-both} is the first TLS backend. The certificate served by Walnut and
 * by the TLS backends is the same one, for {@code 127.0.0.1} (an IP SAN), which is what both
 * redis-benchmark and Walnut verify.
 */
final class Proxies {

  static final String BASELINE = "twemproxy";
  private static final String REDIS_POOL = "bench_redis";
  private static final String MEMCACHE_POOL = "bench_memcache";
  private static final Map<TlsCase, String> TLS_POOLS = Map.of(
      TlsCase.CLIENT, "bench_redis_tls_client",
      TlsCase.SERVER, "bench_redis_tls_server",
      TlsCase.BOTH, "bench_redis_tls_both");
  static final String NO_TLS = "twemproxy 0.5.0 has no TLS";

  private final Options o;
  private final Path root;
  private final Path work;
  private final List<AutoCloseable> backends = new ArrayList<>();
  private final List<Target> targets = new ArrayList<>();
  private Pool redisPool;
  private Pool memcachePool;
  private TestPki pki;
  /** The TLS variants' pools, by variant: only those of the chosen cases. */
  private final Map<TlsCase, Pool> tlsPools = new EnumMap<>(TlsCase.class);
  /** A plain listener over the TLS backends, for the fill; null without TLS backends. */
  private Pool tlsBackendsPool;

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

  /**
   * A pool with a plain listener over the TLS backends, as the {@code TLS-server} cases' pool is,
   * for a Walnut of the run's own that sets their keys; null when there are no TLS backends.
   */
  Pool tlsBackendsPool() {
    return tlsBackendsPool;
  }

  /** The CA that signed every certificate of the TLS cases; null without TLS cases. */
  Path caFile() {
    return pki == null ? null : pki.ca().cert();
  }

  /** This checkout's Walnut with one event loop, a {@link NutcrackerServer} command line. */
  List<String> walnutCommand() {
    return List.of(root.toAbsolutePath().resolve("bin/walnut").toString(), "-c",
        NutcrackerServer.CONF, "-s", NutcrackerServer.STATS, "--threads", "1",
        "--shutdown-grace", "1000");
  }

  void start() {
    boolean memcache = o.memcache();
    if (o.tls()) {
      say("== a throw-away CA and certificates for the TLS cases (openssl)");
      pki = TestPki.create();
    }
    say("== backends (3 redis-server" + (memcache ? ", 3 memcached" : "")
        + (o.tlsBackends() ? ", 3 TLS redis-server" : "") + "), work in " + work);
    List<InetSocketAddress> redis = new ArrayList<>();
    List<InetSocketAddress> memcached = new ArrayList<>();
    List<InetSocketAddress> tlsRedis = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      RedisServer r = RedisServer.start();
      backends.add(r);
      redis.add(r.address());
      if (memcache) {
        MemcachedServer m = MemcachedServer.start("-m", "256", "-t", "2");
        backends.add(m);
        memcached.add(m.address());
      }
      if (o.tlsBackends()) {
        RedisServer t = RedisServer.startTls(ServerTls.serving(pki.server()));
        backends.add(t);
        tlsRedis.add(t.address());
      }
    }
    redisPool = Pool.redis(REDIS_POOL, redis);
    List<Pool> pools = new ArrayList<>(List.of(redisPool));
    if (memcache) {
      memcachePool = Pool.memcache(MEMCACHE_POOL, memcached);
      pools.add(memcachePool);
    }
    for (String c : o.cases()) {
      TlsCase tls = TlsCase.of(c);
      if (tls != TlsCase.PLAIN) {
        tlsPools.computeIfAbsent(tls, t -> tlsPool(t, redis, tlsRedis));
      }
    }
    if (o.tlsBackends()) {
      tlsBackendsPool = tlsPool(TlsCase.SERVER, redis, tlsRedis);
    }
    List<Pool> tls = List.copyOf(tlsPools.values());
    start(BASELINE, NutcrackerServer.TWEMPROXY, pools, List.of(), false, false, "", "nutcracker");
    targets.get(targets.size() - 1).resp3Skip =
        "twemproxy speaks RESP2 only: it closes a connection that says HELLO";
    if (o.tls()) {
      targets.get(targets.size() - 1).tlsSkip = NO_TLS;
    }
    List<Options.Also> checkouts = new ArrayList<>();
    checkouts.add(new Options.Also("", root));
    checkouts.addAll(o.also());
    for (Options.Also checkout : checkouts) {
      String walnut = checkout.dir().toAbsolutePath().resolve("bin/walnut").toString();
      for (String transport : o.transports()) {
        for (String provider : o.tlsProviders()) {
          for (int threads : o.threads()) {
            String name = "walnut-" + (checkout.label().isEmpty() ? "" : checkout.label() + "-")
                + (transport.equals("auto") ? "" : transport + "-")
                + (provider.equals("auto") ? "" : provider + "-") + "t" + threads;
            List<String> command = new ArrayList<>(List.of(walnut, "-c", NutcrackerServer.CONF,
                "-s", NutcrackerServer.STATS, "--threads", Integer.toString(threads),
                "--transport", transport, "--shutdown-grace", "1000"));
            if (!provider.equals("auto")) {
              command.addAll(List.of("--tls-provider", provider));
            }
            // This checkout's Walnut must serve the TLS pools; another may predate them.
            start(name, command, pools, tls, true, !checkout.label().isEmpty(), "", walnut);
          }
        }
      }
    }
    for (Options.Candidate c : o.candidates()) {
      // Through sh, so the command may use the shell's syntax; exec keeps the pid the proxy's.
      String command = c.command().strip();
      start(c.name(), List.of("sh", "-c", command.startsWith("exec ") ? command
          : "exec " + command), pools, tls, true, true, c.command(), null);
    }
    Target direct = new Target("direct", null, redis.get(0).getPort(),
        memcache ? memcached.get(0).getPort() : 0, "");
    if (tlsPools.containsKey(TlsCase.BOTH)) {
      direct.tlsPorts.put(TlsCase.BOTH, tlsRedis.get(0).getPort());
    }
    targets.add(direct);
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

  /** The pool of the TLS variant {@code tls}, over the plain or the TLS backends. */
  private Pool tlsPool(TlsCase tls, List<InetSocketAddress> redis,
      List<InetSocketAddress> tlsRedis) {
    Pool p = Pool.redis(TLS_POOLS.get(tls), tls.serverSide() ? tlsRedis : redis);
    if (tls.clientSide()) {
      p = p.with("tls_cert_file", pki.server().cert().toString())
          .with("tls_key_file", pki.server().key().toString());
    }
    if (tls.serverSide()) {
      p = p.with("server_tls", "true")
          .with("server_tls_ca_file", pki.ca().cert().toString());
    }
    return p;
  }

  /**
   * Starts one proxy in front of {@code pools} and the TLS pools {@code tls}. One that exits at
   * start may be retried without the TLS pools ({@code mayDropTls}: its TLS cases are then
   * skipped), and without its memcache pool ({@code mayDropMemcache}: its memcache cases are then
   * skipped). {@code testProgram}, if not null, tests the proxy's configuration with
   * {@code -t -c CONF}.
   */
  private void start(String name, List<String> command, List<Pool> pools, List<Pool> tls,
      boolean mayDropMemcache, boolean mayDropTls, String description, String testProgram) {
    if (targets.stream().anyMatch(t -> t.name.equals(name)) || name.equals("direct")) {
      throw new Failure("two proxies are named " + name);
    }
    boolean canDropMemcache = mayDropMemcache && pools.size() > 1;
    boolean canDropTls = mayDropTls && !tls.isEmpty();
    // The attempts, in order: {drop memcache, drop TLS}.
    List<boolean[]> attempts = new ArrayList<>();
    attempts.add(new boolean[] {false, false});
    if (canDropTls) {
      attempts.add(new boolean[] {false, true});
    }
    if (canDropMemcache) {
      attempts.add(new boolean[] {true, false});
    }
    if (canDropTls && canDropMemcache) {
      attempts.add(new boolean[] {true, true});
    }
    NutcrackerServer server = null;
    IllegalStateException first = null;
    boolean[] dropped = null;
    for (boolean[] attempt : attempts) {
      List<Pool> given = new ArrayList<>(attempt[0] ? pools.subList(0, 1) : pools);
      if (!attempt[1]) {
        given.addAll(tls);
      }
      try {
        server = NutcrackerServer.start(given, command);
        dropped = attempt;
        break;
      } catch (IllegalStateException e) {
        if (first == null) {
          first = e;
        }
        if (!first.getMessage().contains("exited with status")) {
          break;
        }
      }
    }
    if (server == null) {
      throw new Failure(name + " did not start: " + first.getMessage());
    }
    String reason = dropped[0] || dropped[1] ? lastLine(first.getMessage()) : null;
    boolean memcache = pools.size() > 1 && !dropped[0];
    Target t = new Target(name, server, server.port(REDIS_POOL),
        memcache ? server.port(MEMCACHE_POOL) : 0, description);
    if (dropped[0]) {
      t.memcacheSkip = "it exits at start with a memcache pool (" + reason + ")";
    }
    if (dropped[1]) {
      t.tlsSkip = "it exits at start with the TLS pools (" + reason + ")";
    } else {
      for (Pool p : tls) {
        for (Map.Entry<TlsCase, String> e : TLS_POOLS.entrySet()) {
          if (e.getValue().equals(p.name())) {
            t.tlsPorts.put(e.getKey(), server.port(e.getValue()));
          }
        }
      }
      if (!tls.isEmpty()) {
        t.tlsEngine = tlsEngine(server.log()).orElse(null);
      }
    }
    if (testProgram != null) {
      t.confTest = List.of(testProgram, "-t", "-c", server.config().toString());
    }
    targets.add(t);
    say("== " + name + " on " + t.redisPort + " (redis)"
        + (memcache ? ", " + t.memcachePort + " (memcache)" : "")
        + (t.tlsPorts.isEmpty() ? "" : ", " + t.tlsPorts.values().stream().map(String::valueOf)
            .collect(Collectors.joining(", ")) + " (TLS)")
        + ", pid " + server.pid()
        + (t.memcacheSkip == null ? "" : "; skipping the memcache cases: " + t.memcacheSkip)
        + (t.tlsSkip == null ? "" : "; skipping the TLS cases: " + t.tlsSkip)
        + (t.tlsEngine == null ? "" : "; " + t.tlsEngine));
  }

  /**
   * The line in which Walnut names its TLS engine at start ({@code TLS engine: OpenSSL
   * (BoringSSL)}), from {@code TLS engine} on; empty if it has not written one within 2 s.
   */
  static Optional<String> tlsEngine(Path log) {
    long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
    while (true) {
      Optional<String> line = Optional.empty();
      try (Stream<String> lines = Files.lines(log, StandardCharsets.UTF_8)) {
        line = lines.filter(l -> l.contains("TLS engine")).findFirst()
            .map(l -> l.substring(l.indexOf("TLS engine")).strip());
      } catch (IOException | java.io.UncheckedIOException e) {
        // not written yet
      }
      if (line.isPresent() || System.nanoTime() > deadline) {
        return line;
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return line;
      }
    }
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
    if (pki != null) {
      closeQuietly("the test PKI", pki);
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
