package walnut.benchmarks.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import walnut.testing.MemcachedServer;
import walnut.testing.NutcrackerServer;
import walnut.testing.NutcrackerServer.Pool;
import walnut.testing.Poll;
import walnut.testing.RedisServer;

/**
 * The end-to-end comparison of Walnut with the real twemproxy on this machine; run by
 * {@code benchmarks/e2e/run.sh}, which installs the tools, builds the jars and passes its
 * arguments here ({@link Options#USAGE}).
 *
 * <p>Starts 3 redis-servers and 3 memcacheds ({@code testing}'s fixtures, on free ports), then
 * twemproxy, Walnut (each {@code --threads} and {@code --transports} value, and each {@code --also}
 * checkout) and each {@code --proxy} candidate in front of the same pools ({@link
 * NutcrackerServer}); measures each proxy's resident memory idle and with {@code --idle-clients}
 * idle connections; fills the keys (through a twemproxy of its own); warms every proxy up on
 * every case (which also sizes the runs); then runs {@code --rounds} rounds in which every case
 * runs against every proxy and one backend directly ({@code direct}, the ceiling), the proxies
 * taking turns in an order that rotates from round to round; and measures the memory once more
 * after the load. Writes
 * {@code <prefix>-runs.csv} (every run), {@code <prefix>-memory.csv}, and through {@link Report}
 * {@code <prefix>.md} and {@code <prefix>.png}. Every process it starts is stopped by its pid when
 * it ends, however it ends (the fixtures' and {@link Tools}' shutdown hooks on Ctrl-C).
 */
public final class EndToEnd {

  private static final String BASELINE = "twemproxy";
  private static final String REDIS_POOL = "bench_redis";
  private static final String MEMCACHE_POOL = "bench_memcache";
  private static final Pattern REDIS_VERSION = Pattern.compile("v=(\\S+)");

  /** An expected failure: the message says what to do, no stack trace. */
  static final class Failure extends RuntimeException {
    Failure(String message) {
      super(message);
    }
  }

  /** One proxy under test, or the backend measured directly (no server, no memory figures). */
  private static final class Target {
    final String name;
    final NutcrackerServer server;
    final int redisPort;
    final int memcachePort; // 0: no memcache pool
    final String description;
    String memcacheSkip;
    long idleKib = -1;
    int idleClients = -1;
    long withClientsKib = -1;
    long afterLoadKib = -1;

    Target(String name, NutcrackerServer server, int redisPort, int memcachePort,
        String description) {
      this.name = name;
      this.server = server;
      this.redisPort = redisPort;
      this.memcachePort = memcachePort;
      this.description = description;
    }

    long pid() {
      return server.pid();
    }

    int port(String testCase) {
      return testCase.startsWith("mc ") ? memcachePort : redisPort;
    }

    boolean skips(String testCase) {
      return testCase.startsWith("mc ") && (memcachePort == 0 || memcacheSkip != null);
    }
  }

  private final Options o;
  private final Path root;
  private final Path work;
  private final List<AutoCloseable> backends = new ArrayList<>();
  private final List<Target> targets = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();
  private int failures;
  private Pool redisPool;
  private int idleClients; // held open to each proxy for the memory figure; 0: not measured
  private double clockTicksPerSecond;

  private EndToEnd(Options o, Path root, Path work) {
    this.o = o;
    this.root = root;
    this.work = work;
  }

  public static void main(String[] args) {
    Path root = Path.of(System.getProperty("walnut.e2e.root", ".")).toAbsolutePath().normalize();
    Options o;
    try {
      o = Options.parse(args, root, Runtime.getRuntime().availableProcessors());
    } catch (IllegalArgumentException e) {
      System.err.print(Options.USAGE);
      System.err.println("e2e: " + e.getMessage());
      System.exit(2);
      return;
    }
    if (o.help()) {
      System.out.print(Options.USAGE);
      return;
    }
    System.exit(run(o, root));
  }

  private static int run(Options o, Path root) {
    Path work;
    try {
      work = Files.createTempDirectory("walnut-e2e.");
    } catch (IOException e) {
      System.err.println("e2e: cannot create a working directory: " + e);
      return 1;
    }
    EndToEnd e2e = new EndToEnd(o, root, work);
    boolean ok = false;
    try {
      e2e.measure();
      ok = true;
    } catch (Failure e) {
      System.err.println("e2e: " + e.getMessage());
    } catch (IOException | RuntimeException e) {
      System.err.println("e2e: failed:");
      e.printStackTrace();
    } finally {
      e2e.stopAll(!ok || o.keep());
      if (ok && !o.keep()) {
        deleteRecursively(work);
      } else {
        System.err.println("e2e: logs and configs kept in " + work);
      }
    }
    return ok ? 0 : 1;
  }

  private void measure() throws IOException {
    startBackendsAndProxies();
    measureIdleMemory();
    Load load = new Load(work, o.clients(), o.seconds());
    if (o.cases().stream().anyMatch(c -> !c.startsWith("mc "))) {
      // Through a twemproxy of its own, so no proxy under test carries the fill's buffers into
      // its memory after the load.
      say("== filling " + Load.KEYSPACE + " keys through a twemproxy of its own");
      try (NutcrackerServer filler = NutcrackerServer.start(List.of(redisPool))) {
        load.fill(filler.port());
      } catch (LoadOutput.Unreadable e) {
        throw new Failure("filling the Redis pool through twemproxy failed (" + e.getMessage()
            + "); see " + work.resolve("load.log"));
      }
    }
    Map<String, Long> requests = warmUp(load);
    Path raw = work.resolve("runs.csv");
    Files.writeString(raw, Results.HEADER + "\n", StandardCharsets.UTF_8);
    for (int round = 1; round <= o.rounds(); round++) {
      say("== round " + round + " of " + o.rounds());
      for (String testCase : o.cases()) {
        int n = targets.size();
        for (int k = 0; k < n; k++) {
          Target t = targets.get((k + round - 1) % n); // A/B: each round starts one further
          if (!t.skips(testCase)) {
            measured(load, round, t, testCase, requests.get(t.name + "|" + testCase), raw);
          }
        }
      }
    }
    for (Target t : proxies()) {
      t.afterLoadKib = rss(t);
    }
    report(raw);
  }

  private void startBackendsAndProxies() {
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
      pools.add(Pool.memcache(MEMCACHE_POOL, memcached));
    }
    start(BASELINE, NutcrackerServer.TWEMPROXY, pools, false, "");
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
              "--shutdown-grace", "1000"), pools, true, "");
        }
      }
    }
    for (Options.Candidate c : o.candidates()) {
      // Through sh, so the command may use the shell's syntax; exec keeps the pid the proxy's.
      String command = c.command().strip();
      start(c.name(), List.of("sh", "-c", command.startsWith("exec ") ? command
          : "exec " + command), pools, true, c.command());
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
   */
  private void start(String name, List<String> command, List<Pool> pools,
      boolean mayDropMemcache, String description) {
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
    targets.add(t);
    say("== " + name + " on " + t.redisPort + " (redis)"
        + (memcache ? ", " + t.memcachePort + " (memcache)" : "") + ", pid " + server.pid()
        + (skip == null ? "" : "; skipping the memcache cases: " + skip));
  }

  private void measureIdleMemory() {
    for (Target t : proxies()) {
      t.idleKib = rss(t);
    }
    int n = o.idleClients();
    if (n == 0) {
      return;
    }
    try {
      long limit = ProcFs.openFileLimit();
      if (limit - 256 < n) {
        n = (int) Math.max(0, limit - 256);
        notes.add(String.format(Locale.ROOT, "Only %,d idle clients (asked: %,d): the limit on"
            + " open files is %,d; raise it with `ulimit -n`.", n, o.idleClients(), limit));
        say("== " + notes.get(notes.size() - 1));
      }
    } catch (IOException e) {
      // Not Linux's /proc: try, and let a refused connection count what was held.
    }
    idleClients = n;
    if (n == 0) {
      return;
    }
    say(String.format(Locale.ROOT, "== resident memory: idle, and with %,d idle clients", n));
    for (Target t : proxies()) {
      try {
        IdleClients.Measurement m =
            IdleClients.measure(new InetSocketAddress("127.0.0.1", t.redisPort), t.pid(), n);
        t.idleClients = m.held();
        t.withClientsKib = m.rssKib();
      } catch (IOException | UncheckedIOException e) {
        say("   " + t.name + ": cannot measure with idle clients: " + e.getMessage());
      }
      say(String.format(Locale.ROOT, "   %-18s idle %8s MiB   with %,d idle clients %8s MiB",
          t.name, Memory.mib(t.idleKib), Math.max(0, t.idleClients),
          Memory.mib(t.withClientsKib)));
    }
  }

  /**
   * Warm-up: every proxy runs every case once, unmeasured, which also warms Walnut's JIT; its rate
   * sets how many requests make a measured run last about {@code --seconds}.
   */
  private Map<String, Long> warmUp(Load load) {
    say("== warm-up and calibration");
    Map<String, Long> requests = new HashMap<>();
    for (String testCase : o.cases()) {
      long warm = testCase.endsWith("P16") ? (o.quick() ? 100_000 : 400_000)
          : (o.quick() ? 20_000 : 60_000);
      for (Target t : targets) {
        if (t.skips(testCase)) {
          continue;
        }
        long n = warm;
        try {
          LoadOutput.Figures f = load.run(testCase, t.port(testCase), warm);
          n = Math.max((long) (f.rps() * o.seconds()), warm / 4);
        } catch (LoadOutput.Unreadable e) {
          say("   " + t.name + ", " + testCase + ": the warm-up failed (" + e.getMessage()
              + "; see " + work.resolve("load.log") + "); using " + warm + " requests");
        }
        requests.put(t.name + "|" + testCase, n);
      }
    }
    return requests;
  }

  /**
   * One measured run, appended to {@code raw} with the CPU it cost per request: the proxy's own
   * (user + system, every thread) and the whole machine's, load generator and backends included.
   */
  private void measured(Load load, int round, Target t, String testCase, long n, Path raw)
      throws IOException {
    boolean proxy = t.server != null;
    long p0 = proxy ? processTicks(t) : 0;
    long m0 = ProcFs.machineTicks();
    LoadOutput.Figures f;
    try {
      f = load.run(testCase, t.port(testCase), n);
    } catch (LoadOutput.Unreadable e) {
      say("   " + testCase + ", " + t.name + ": failed (" + e.getMessage() + "; see "
          + work.resolve("load.log") + ")");
      failures++;
      if (proxy && !t.server.isRunning()) {
        throw new Failure(t.name + " (pid " + t.pid() + ") exited during " + testCase);
      }
      return;
    }
    long m1 = ProcFs.machineTicks();
    long p1 = proxy ? processTicks(t) : 0;
    double us = 1e6 / clockTicks() / n;
    double proxyUs = proxy ? (p1 - p0) * us : Double.NaN;
    double machineUs = (m1 - m0) * us;
    String line = String.join(",", Integer.toString(round), t.name, testCase,
        csv("%.2f", f.rps()), csv("%.3f", f.p50()), csv("%.3f", f.p99()), csv("%.3f", f.p999()),
        csv("%.2f", proxyUs), csv("%.2f", machineUs));
    Files.writeString(raw, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    say(String.format(Locale.ROOT,
        "   %-10s %-18s %12.0f ops/s  p50 %6s  p99 %6s  p99.9 %6s ms  cpu %6s / %6s us",
        testCase, t.name, f.rps(), Report.ms(f.p50()), Report.ms(f.p99()), Report.ms(f.p999()),
        Report.us(proxyUs), Report.us(machineUs)));
  }

  private void report(Path raw) throws IOException {
    Path out = o.out();
    Files.createDirectories(out);
    String prefix = o.prefix();
    Path runs = out.resolve(prefix + "-runs.csv");
    Path memory = out.resolve(prefix + "-memory.csv");
    Files.copy(raw, runs, StandardCopyOption.REPLACE_EXISTING);
    List<Memory.Row> rows = new ArrayList<>();
    for (Target t : proxies()) {
      rows.add(new Memory.Row(t.name, t.idleKib, t.idleClients, t.withClientsKib,
          t.afterLoadKib));
    }
    Memory.write(memory, rows);
    String title = "Walnut vs twemproxy, end to end" + (o.quick() ? " (quick run)" : "");
    System.out.println();
    System.out.print(Report.write(runs, memory, meta(), BASELINE, out.resolve(prefix + ".md"),
        out.resolve(prefix + ".png"), title));
    System.out.println();
    say("== wrote " + out.resolve(prefix + ".md") + ", " + prefix + ".png, " + prefix
        + "-runs.csv and " + prefix + "-memory.csv");
  }

  /** The Markdown above the tables: the machine, the versions, the settings, what was skipped. */
  private String meta() throws IOException {
    Path scratch = work.resolve("tool-output.txt");
    StringBuilder b = new StringBuilder();
    b.append("## End-to-end: Walnut vs twemproxy").append(o.quick() ? " (quick run)" : "")
        .append("\n\n");
    String twemproxy = Tools.firstLine(List.of("nutcracker", "-V"), scratch);
    Matcher rv = REDIS_VERSION.matcher(Tools.firstLine(List.of("redis-server", "--version"),
        scratch));
    b.append(ZonedDateTime.now(ZoneOffset.UTC).format(
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'", Locale.ROOT)))
        .append(" on ").append(cpuModel()).append(", ")
        .append(Runtime.getRuntime().availableProcessors()).append(" cores, ").append(memGib())
        .append(" GiB, Linux ").append(System.getProperty("os.version")).append("; Java ")
        .append(Runtime.version()).append(" (").append(System.getProperty("java.vm.name"))
        .append("); twemproxy ")
        .append(twemproxy.contains("nutcracker-")
            ? twemproxy.substring(twemproxy.indexOf("nutcracker-") + 11) : twemproxy)
        .append("; redis-server ").append(rv.find() ? rv.group(1) : "unknown");
    if (o.memcache()) {
      b.append("; ").append(Tools.firstLine(List.of("memcached", "-V"), scratch));
    }
    b.append(". Load generators, proxies and backends share the machine.\n\n");
    b.append("Pools: ").append(o.memcache() ? "3 redis-server and 3 memcached backends"
            : "3 redis-server backends")
        .append(", fnv1a_64 + ketama, the same nutcracker.yml pools for every proxy; `direct` is"
            + " one backend without a proxy (the ceiling). Walnut runs with `--threads N` as"
            + " walnut-tN. Load: redis-benchmark -c ").append(o.clients()).append(" -r ")
        .append(Load.KEYSPACE).append(" (3-byte values; MGET10 is `MGET` of 10 random keys),"
            + " pipeline 1 (P1) and 16 (P16)");
    if (o.memcache()) {
      b.append("; memcslap -c ").append(o.clients())
          .append(" (`mc get`, `mc set`; it reports no latency)");
    }
    b.append(". Median of ").append(o.rounds()).append(" round(s) of runs of about ")
        .append(o.seconds()).append(" s each, the proxies alternating within each round.\n\n");
    b.append("p50 and p99 are redis-benchmark's summary; p99.9 is the 99.902nd percentile of its"
        + " latency distribution, whose steps halve the distance to 100 % and so never print"
        + " 99.9 % itself: an upper bound of p99.9 by at most one step.");
    if (idleClients > 0) {
      b.append(String.format(Locale.ROOT, " Resident memory is the proxy process's VmRSS: idle"
          + " after start; holding %,d client connections to its Redis pool that send nothing;"
          + " after the last round.", idleClients));
    } else {
      b.append(" Resident memory is the proxy process's VmRSS, idle after start and after the"
          + " last round.");
    }
    b.append('\n');
    for (Options.Also a : o.also()) {
      b.append("\nwalnut-").append(a.label()).append("-tN: ").append(checkout(a.dir()))
          .append("; walnut-tN: ").append(checkout(root)).append(".\n");
    }
    for (Target t : proxies()) {
      if (!t.description.isEmpty()) {
        b.append('\n').append(t.name).append(": `").append(t.description).append("`.\n");
      }
    }
    Map<String, List<String>> skippedBy = new LinkedHashMap<>();
    for (Target t : proxies()) {
      if (t.memcacheSkip != null) {
        skippedBy.computeIfAbsent(t.memcacheSkip, k -> new ArrayList<>()).add(t.name);
      }
    }
    skippedBy.forEach((reason, names) -> b.append("\nMemcache cases skipped for ")
        .append(String.join(", ", names)).append(": ").append(reason).append(".\n"));
    for (String note : notes) {
      b.append('\n').append(note).append('\n');
    }
    if (failures > 0) {
      b.append('\n').append(failures).append(" run(s) failed and are not in the table.\n");
    }
    return b.toString();
  }

  /** The checkout at {@code dir} with its commit, for the report. */
  private String checkout(Path dir) {
    Path scratch = work.resolve("tool-output.txt");
    Path real;
    try {
      real = dir.toRealPath();
    } catch (IOException e) {
      real = dir.toAbsolutePath();
    }
    Tools.Result log = Tools.run(List.of("git", "-C", real.toString(), "log", "-1",
        "--format=%h %s"), Duration.ofSeconds(10), scratch, null);
    String commit = log.ok() ? log.output().strip() : "not a git checkout";
    Tools.Result status = Tools.run(List.of("git", "-C", real.toString(), "status",
        "--porcelain", "-uno"), Duration.ofSeconds(10), scratch, null);
    boolean dirty = status.ok() && !status.output().isBlank();
    return "`" + real + "` (" + commit + (dirty ? ", uncommitted changes" : "") + ")";
  }

  /** Stops every process, proxies first, each by its pid; copies the proxies' files if asked. */
  private void stopAll(boolean keepFiles) {
    for (int i = targets.size() - 1; i >= 0; i--) {
      Target t = targets.get(i);
      if (t.server == null) {
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

  private List<Target> proxies() {
    return targets.stream().filter(t -> t.server != null).toList();
  }

  private static long rss(Target t) {
    try {
      return ProcFs.rssKib(t.pid());
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  private static long processTicks(Target t) {
    try {
      return ProcFs.processTicks(t.pid());
    } catch (IOException e) {
      throw new Failure(t.name + " (pid " + t.pid() + ") is gone");
    }
  }


  /** The kernel's clock ticks per second ({@code getconf CLK_TCK}), in which /proc counts CPU. */
  private double clockTicks() {
    if (clockTicksPerSecond == 0) {
      String v = Tools.firstLine(List.of("getconf", "CLK_TCK"), work.resolve("tool-output.txt"));
      clockTicksPerSecond = v.matches("[1-9][0-9]*") ? Double.parseDouble(v) : 100;
    }
    return clockTicksPerSecond;
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

  private static String cpuModel() {
    try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
      return lines.filter(l -> l.startsWith("model name")).map(l -> l.replaceFirst(".*:\\s*", ""))
          .findFirst().orElse("an unknown CPU");
    } catch (IOException | UncheckedIOException e) {
      return "an unknown CPU";
    }
  }

  private static String memGib() {
    try (Stream<String> lines = Files.lines(Path.of("/proc/meminfo"))) {
      return lines.filter(l -> l.startsWith("MemTotal:"))
          .map(l -> Long.toString(Math.round(
              Long.parseLong(l.replaceAll("\\D", "")) / 1048576.0)))
          .findFirst().orElse("?");
    } catch (IOException | UncheckedIOException e) {
      return "?";
    }
  }

  private static String csv(String format, double v) {
    return Double.isNaN(v) ? "" : String.format(Locale.ROOT, format, v);
  }

  private static String lastLine(String text) {
    List<String> lines = text.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
  }

  private static void say(String line) {
    System.out.println(line);
    System.out.flush();
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

  private static void deleteRecursively(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      System.err.println("e2e: cannot delete " + dir + ": " + e);
    }
  }
}
