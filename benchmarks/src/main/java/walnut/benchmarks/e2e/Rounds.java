package walnut.benchmarks.e2e;

import static walnut.benchmarks.e2e.Console.say;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import walnut.testing.NutcrackerServer;
import walnut.testing.NutcrackerServer.Pool;

/**
 * Runs the cases against the targets: fills the keys, Redis's for the Redis cases and memcached's
 * for the {@code mc get} cases (through a twemproxy of its own); warms every
 * target up on every case (which also sizes the runs); then runs {@code --rounds} rounds in which
 * every case runs against every target, the targets taking turns in an order that rotates from
 * round to round. Every measured run goes to {@code runs.csv} ({@link Results#HEADER}) in the
 * working directory, with the CPU it cost.
 */
final class Rounds {

  private final Options o;
  private final Path work;
  private final Load load;
  private int failures;
  private double clockTicksPerSecond;

  /** {@code ca}: the CA file the TLS cases verify certificates with; null without TLS cases. */
  Rounds(Options o, Path work, Path mcload, Path ca) {
    this.o = o;
    this.work = work;
    this.load = new Load(work, o.clients(), o.seconds(), mcload, ca);
  }

  /** How many measured runs failed, and so are not in {@code runs.csv}. */
  int failures() {
    return failures;
  }

  /**
   * Fills, warms up and runs every round against {@code targets}; returns the runs' CSV.
   * {@code memcachePool} is null when the run has no memcached backends, {@code tlsPool} (a plain
   * listener over the TLS backends) when it has no TLS backends; {@code walnut} is the command
   * of the Walnut that fills the TLS backends.
   */
  Path run(List<Target> targets, Pool redisPool, Pool memcachePool, Pool tlsPool,
      List<String> walnut) throws IOException {
    fill(redisPool, memcachePool);
    if (tlsPool != null) {
      fillTls(tlsPool, walnut);
    }
    Map<String, Long> requests = warmUp(targets);
    Path raw = work.resolve("runs.csv");
    Files.writeString(raw, Results.HEADER + "\n", StandardCharsets.UTF_8);
    for (int round = 1; round <= o.rounds(); round++) {
      say("== round " + round + " of " + o.rounds());
      for (String testCase : o.cases()) {
        int n = targets.size();
        for (int k = 0; k < n; k++) {
          Target t = targets.get((k + round - 1) % n); // A/B: each round starts one further
          if (!t.skips(testCase)) {
            measured(round, t, testCase, requests.get(t.name + "|" + testCase), raw);
          }
        }
      }
    }
    return raw;
  }

  /**
   * Sets the keys the cases read: Redis's when a Redis case runs, memcached's when an
   * {@code mc get} case does. Through a twemproxy of its own, so no proxy under test carries the
   * fill's buffers into its memory after the load; with the same pools, so the keys land on the
   * backends every proxy reads them from.
   */
  private void fill(Pool redisPool, Pool memcachePool) {
    List<Pool> pools = new ArrayList<>();
    if (o.cases().stream().anyMatch(c -> !c.startsWith("mc ")
        && !TlsCase.of(c).serverSide())) {
      pools.add(redisPool);
    }
    if (memcachePool != null && o.cases().stream().anyMatch(c -> c.startsWith("mc get"))) {
      pools.add(memcachePool);
    }
    if (pools.isEmpty()) {
      return;
    }
    say("== filling " + Load.KEYSPACE + " keys of " + pools.stream().map(p -> p.redis()
        ? "Redis" : "memcached").collect(Collectors.joining(" and ")) + " through a twemproxy"
        + " of its own");
    try (NutcrackerServer filler = NutcrackerServer.start(pools)) {
      for (Pool pool : pools) {
        try {
          if (pool.redis()) {
            load.fill(filler.port(pool.name()));
          } else {
            load.fillMemcache(filler.port(pool.name()));
          }
        } catch (LoadOutput.Unreadable e) {
          throw new Failure("filling the " + (pool.redis() ? "Redis" : "memcached") + " pool"
              + " through twemproxy failed (" + e.getMessage() + "); see "
              + work.resolve("load.log"));
        }
      }
    }
  }

  /**
   * Sets the keys of the TLS backends, as {@link #fill} does the plain ones': through a Walnut of
   * its own (twemproxy has no TLS) serving {@code tlsPool}, whose servers and placement are those
   * of the {@code TLS-server} and {@code TLS-both} pools.
   */
  private void fillTls(Pool tlsPool, List<String> walnut) {
    say("== filling " + Load.KEYSPACE + " keys of the TLS redis-servers through a Walnut of its"
        + " own");
    try (NutcrackerServer filler = NutcrackerServer.start(List.of(tlsPool), walnut)) {
      load.fill(filler.port(tlsPool.name()));
    } catch (LoadOutput.Unreadable e) {
      throw new Failure("filling the TLS redis-servers through Walnut failed (" + e.getMessage()
          + "); see " + work.resolve("load.log"));
    } catch (IllegalStateException e) {
      throw new Failure("the Walnut that fills the TLS redis-servers did not start: "
          + e.getMessage());
    }
  }

  /**
   * Warm-up: every proxy runs every case once, unmeasured, which also warms Walnut's JIT; its rate
   * sets how many requests make a measured run last about {@code --seconds}.
   */
  private Map<String, Long> warmUp(List<Target> targets) {
    say("== warm-up and calibration");
    Map<String, Long> requests = new HashMap<>();
    for (String testCase : o.cases()) {
      long warm = TlsCase.workload(testCase).endsWith("P16") ? (o.quick() ? 100_000 : 400_000)
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
  private void measured(int round, Target t, String testCase, long n, Path raw)
      throws IOException {
    boolean proxy = t.isProxy();
    long p0 = proxy ? t.processTicks() : 0;
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
    long p1 = proxy ? t.processTicks() : 0;
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

  /** The kernel's clock ticks per second ({@code getconf CLK_TCK}), in which /proc counts CPU. */
  private double clockTicks() {
    if (clockTicksPerSecond == 0) {
      String v = Tools.firstLine(List.of("getconf", "CLK_TCK"), work.resolve("tool-output.txt"));
      clockTicksPerSecond = v.matches("[1-9][0-9]*") ? Double.parseDouble(v) : 100;
    }
    return clockTicksPerSecond;
  }

  static String csv(String format, double v) {
    return Double.isNaN(v) ? "" : String.format(Locale.ROOT, format, v);
  }
}
