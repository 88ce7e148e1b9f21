package walnut.benchmarks.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The Markdown above the report's tables: the machine, the tools' versions, the settings, the
 * checkouts and candidates compared, and what was skipped or failed.
 */
final class Meta {

  private static final Pattern REDIS_VERSION = Pattern.compile("v=(\\S+)");

  private final Options o;
  private final Path root;
  private final Path scratch;

  Meta(Options o, Path root, Path work) {
    this.o = o;
    this.root = root;
    this.scratch = work.resolve("tool-output.txt");
  }

  /**
   * The Markdown for a run of {@code proxies}, {@code idleClients} held open to each (0: not
   * measured), with {@code notes} and {@code failures} failed runs.
   */
  String markdown(List<Target> proxies, int idleClients, List<String> notes, int failures) {
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
            + " one backend without a proxy (the ceiling; it holds a third of the keys, so about"
            + " two thirds of its reads miss). Walnut runs with `--threads N` as walnut-tN."
            + " Load: redis-benchmark -c ").append(o.clients()).append(" -r ")
        .append(Load.KEYSPACE).append(" (3-byte values; MGET10 is `MGET` of 10 random keys),"
            + " pipeline 1 (P1) and 16 (P16)");
    if (o.memcache()) {
      b.append("; for memcached, mcload -c ").append(o.clients()).append(" -r ")
          .append(Load.KEYSPACE).append(" (`benchmarks/e2e/mcload.c`: get and set of 3-byte"
              + " values, pipeline 1 and 16, the get keys set first through twemproxy)");
    }
    b.append(". Median of ").append(o.rounds()).append(" round(s) of runs of about ")
        .append(o.seconds()).append(" s each, the proxies alternating within each round.\n\n");
    b.append("p50 and p99 are redis-benchmark's summary; p99.9 is the 99.902nd percentile of its"
        + " latency distribution, whose steps halve the distance to 100 % and so never print"
        + " 99.9 % itself: an upper bound of p99.9 by at most one step.");
    if (o.memcache()) {
      b.append(" mcload's percentiles are exact over every request; a request's latency runs"
          + " from its batch's write to the read that completed its reply (redis-benchmark gives"
          + " every reply of a batch its first read's time, so with P16 mcload's figures may be a"
          + " little higher).");
    }
    if (idleClients > 0) {
      b.append(String.format(Locale.ROOT, " Resident memory is the proxy process's VmRSS: idle"
          + " after start; holding %,d client connections to its Redis pool that send nothing;"
          + " after the last round", idleClients));
    } else {
      b.append(" Resident memory is the proxy process's VmRSS, idle after start and after the"
          + " last round");
    }
    b.append(o.settle() > 0 ? "; and " + o.settle() + " s later, every proxy left idle." : ".");
    b.append(" `-t s` is the median wall time of ").append(ConfTests.RUNS).append(" runs of the"
        + " proxy's configuration test on its configuration (`nutcracker -t -c CONF`,"
        + " `bin/walnut -t -c CONF` with the same environment, `WALNUT_JAVA_OPTS` included),"
        + " from process start to exit");
    b.append(o.candidates().isEmpty() ? "." : "; not measured for --proxy candidates.");
    b.append('\n');
    for (Options.Also a : o.also()) {
      b.append("\nwalnut-").append(a.label()).append("-tN: ").append(checkout(a.dir()))
          .append("; walnut-tN: ").append(checkout(root)).append(".\n");
    }
    for (Target t : proxies) {
      if (!t.description.isEmpty()) {
        b.append('\n').append(t.name).append(": `").append(t.description).append("`.\n");
      }
    }
    Map<String, List<String>> skippedBy = new LinkedHashMap<>();
    for (Target t : proxies) {
      if (t.memcacheSkip != null) {
        skippedBy.computeIfAbsent(t.memcacheSkip, k -> new ArrayList<>()).add(t.name);
      }
    }
    skippedBy.forEach((reason, names) -> b.append("\nMemcache cases skipped for ")
        .append(String.join(", ", names)).append(": ").append(reason).append(".\n"));
    if (o.tls()) {
      b.append("\nTLS cases (issue #23): `X TLS-client` is X with `redis-benchmark --tls"
          + " --cacert CA` to a Walnut pool whose listener speaks TLS (`tls_cert_file`,"
          + " `tls_key_file`) over the plain backends; `X TLS-server` is X in plain text to a"
          + " Walnut pool that speaks TLS to 3 redis-servers listening only on TLS"
          + " (`server_tls: true`, `server_tls_ca_file`; the certificate verified as 127.0.0.1);"
          + " `X TLS-both` is both, and for `direct` it is `redis-benchmark --tls` straight to"
          + " the first TLS redis-server (the TLS ceiling; it holds about a third of the keys"
          + " too). Certificates: RSA 2048 from a throw-away CA made with openssl; the TLS"
          + " redis-servers hold the keys a Walnut of the run's own set through the same pool."
          + " Each TLS pool is one more pool in the same Walnut process as the plain ones.\n");
      List<String> engines = new ArrayList<>();
      for (Target t : proxies) {
        if (t.tlsEngine != null) {
          engines.add(t.name + ": " + t.tlsEngine);
        }
      }
      if (!engines.isEmpty()) {
        b.append("\nWalnut's TLS engine, as it logs it at start: ")
            .append(String.join("; ", engines)).append(".\n");
      }
    }
    Map<String, List<String>> tlsSkippedBy = new LinkedHashMap<>();
    for (Target t : proxies) {
      if (t.tlsSkip != null) {
        tlsSkippedBy.computeIfAbsent(t.tlsSkip, k -> new ArrayList<>()).add(t.name);
      }
    }
    tlsSkippedBy.forEach((reason, names) -> b.append("\nTLS cases skipped for ")
        .append(String.join(", ", names)).append(": ").append(reason).append(".\n"));
    for (Target t : proxies) {
      if (t.resp3Skip != null) {
        b.append("\nRESP3 cases skipped for ").append(t.name).append(": ").append(t.resp3Skip)
            .append(".\n");
      }
    }
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
}
