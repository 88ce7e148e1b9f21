package walnut.benchmarks.e2e;

import static walnut.benchmarks.e2e.Console.say;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import walnut.testing.NutcrackerServer;

/**
 * The end-to-end comparison of Walnut with the real twemproxy on this machine; run by
 * {@code benchmarks/e2e/run.sh}, which installs the tools, builds the jars and passes its
 * arguments here ({@link Options#USAGE}).
 *
 * <p>Starts 3 redis-servers and 3 memcacheds ({@code testing}'s fixtures, on free ports), then
 * twemproxy, Walnut (each {@code --threads} and {@code --transports} value, and each {@code --also}
 * checkout) and each {@code --proxy} candidate in front of the same pools ({@link
 * NutcrackerServer}, through {@link Proxies}); measures each proxy's resident memory idle and with
 * {@code --idle-clients} idle connections ({@link Footprints}); fills the keys (through a
 * twemproxy of its own); warms every proxy up on every case (which also sizes the runs); then runs
 * {@code --rounds} rounds in which every case runs against every proxy and one backend directly
 * ({@code direct}, the ceiling), the proxies taking turns in an order that rotates from round to
 * round ({@link Rounds}); measures the memory once more after the load, and again
 * {@code --settle} seconds later; and times each proxy's configuration test ({@link ConfTests}).
 * The memcached cases run {@code mcload}, which {@code run.sh} compiles first. The TLS cases
 * ({@link TlsCase}; {@code --tls}) add certificates, 3 TLS redis-servers and a TLS pool per variant
 * ({@link Proxies}), whose backends' keys a Walnut of the run's own sets ({@link Rounds}). Writes
 * {@code <prefix>-runs.csv} (every run), {@code <prefix>-memory.csv}, and through {@link Report}
 * {@code <prefix>.md} (below {@link Meta}'s description of the run) and {@code <prefix>.png}.
 * Every process it starts is stopped by its pid when it ends, however it ends (the fixtures' and
 * {@link Tools}' shutdown hooks on Ctrl-C).
 */
public final class EndToEnd {

  private final Options o;
  private final Path root;
  private final Path work;
  private final Proxies proxies;

  private EndToEnd(Options o, Path root, Path work) {
    this.o = o;
    this.root = root;
    this.work = work;
    this.proxies = new Proxies(o, root, work);
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
      e2e.proxies.stopAll(!ok || o.keep());
      if (ok && !o.keep()) {
        deleteRecursively(work);
      } else {
        System.err.println("e2e: logs and configs kept in " + work);
      }
    }
    return ok ? 0 : 1;
  }

  private void measure() throws IOException {
    Path mcload = root.resolve(Load.MCLOAD);
    if (o.memcache() && !Files.isExecutable(mcload)) {
      throw new Failure(mcload + " is missing: benchmarks/e2e/run.sh compiles it (gcc -O2 -Wall"
          + " -o " + Load.MCLOAD + " benchmarks/e2e/mcload.c), or leave the memcached cases out"
          + " (--no-memcache)");
    }
    proxies.start();
    Footprints footprints = new Footprints(o.idleClients());
    footprints.idle(proxies.proxies());
    Rounds rounds = new Rounds(o, work, mcload, proxies.caFile());
    Path raw = rounds.run(proxies.targets(), proxies.redisPool(), proxies.memcachePool(),
        proxies.tlsBackendsPool(), proxies.walnutCommand());
    footprints.afterLoad(proxies.proxies());
    footprints.settle(proxies.proxies(), o.settle());
    ConfTests.measure(proxies.proxies(), work);
    report(raw, footprints, rounds);
  }

  /** Writes the results into {@code --out}: the runs, the memory, the Markdown and the chart. */
  private void report(Path raw, Footprints footprints, Rounds rounds) throws IOException {
    Path out = o.out();
    Files.createDirectories(out);
    String prefix = o.prefix();
    Path runs = out.resolve(prefix + "-runs.csv");
    Path memory = out.resolve(prefix + "-memory.csv");
    Files.copy(raw, runs, StandardCopyOption.REPLACE_EXISTING);
    List<Memory.Row> rows = proxies.proxies().stream().map(Target::memory).toList();
    Memory.write(memory, rows);
    String title = "Walnut vs twemproxy, end to end" + (o.quick() ? " (quick run)" : "");
    System.out.println();
    String meta = new Meta(o, root, work).markdown(proxies.proxies(),
        footprints.idleClients(), footprints.notes(), rounds.failures());
    System.out.print(Report.write(runs, memory, meta, Proxies.BASELINE,
        out.resolve(prefix + ".md"), out.resolve(prefix + ".png"), title));
    System.out.println();
    say("== wrote " + out.resolve(prefix + ".md") + ", " + prefix + ".png, " + prefix
        + "-runs.csv and " + prefix + "-memory.csv");
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
