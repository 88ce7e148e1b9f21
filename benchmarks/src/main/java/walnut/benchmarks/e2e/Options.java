package walnut.benchmarks.e2e;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The end-to-end run's command line ({@code benchmarks/e2e/run.sh} passes its arguments here), with
 * the defaults filled in. {@link #parse} throws {@link IllegalArgumentException} with the message
 * to print on anything it refuses.
 */
record Options(boolean help, boolean quick, List<Integer> threads, List<String> transports,
    int rounds, int seconds, int clients, List<String> cases, boolean memcache, boolean keep,
    Path out, List<Also> also, List<Candidate> candidates, int idleClients, int settle,
    List<String> tlsProviders) {

  /** The Walnut of another built checkout ({@code --also NAME=DIR}). */
  record Also(String label, Path dir) {}

  /** Any other proxy ({@code --proxy NAME=COMMAND}): a shell command with placeholders. */
  record Candidate(String name, String command) {}

  static final List<String> ALL_CASES = List.of("GET P1", "GET P16", "SET P1", "SET P16",
      "MGET10 P1", "MGET10 P16", "GET P1 RESP3", "GET P16 RESP3", "SET P16 RESP3", "mc get P1",
      "mc get P16", "mc set P1", "mc set P16");
  static final int DEFAULT_IDLE_CLIENTS = 5000;
  static final int DEFAULT_SETTLE = 30;

  private static final Pattern POSITIVE = Pattern.compile("[1-9][0-9]*");
  private static final Pattern ALSO = Pattern.compile("([a-z_]+)=(.+)");
  private static final Pattern CANDIDATE = Pattern.compile("([a-z0-9][a-z0-9_.-]*)=(.+)");
  private static final Set<String> TRANSPORTS = Set.of("auto", "nio", "epoll", "io_uring");
  private static final List<String> TLS_PROVIDERS = List.of("auto", "openssl", "jdk");

  static final String USAGE = """
      usage: benchmarks/e2e/run.sh [--quick] [--threads LIST] [--transports LIST] [--rounds K]
                                   [--seconds S] [--clients C] [--cases LIST] [--no-memcache]
                                   [--keep] [--out DIR] [--also NAME=DIR]... [--proxy NAME=COMMAND]...
                                   [--idle-clients N] [--settle S] [--tls]
                                   [--tls-providers LIST]
        --quick          1 round of ~1 s runs (unless --rounds/--seconds say otherwise)
        --transports LIST  Walnut transports to compare (auto, nio, epoll, io_uring; default: auto);
                         each is run with every --threads value, as walnut-<transport>-tN
        --threads LIST   Walnut event loops to compare, comma-separated (default: 1,2 and doubling up
                         to the number of cores)
        --rounds K       rounds of alternating runs; the table shows their median (default: 3)
        --seconds S      length of one measured run, roughly (default: 5)
        --clients C      connections of the load generator (redis-benchmark -c, mcload -c)
                         (default: 50)
        --cases LIST     only these cases, comma-separated (default: every one of GET P1,GET P16,
                         SET P1,SET P16,MGET10 P1,MGET10 P16,GET P1 RESP3,GET P16 RESP3,
                         SET P16 RESP3,mc get P1,mc get P16,mc set P1,mc set P16; the mc cases
                         run benchmarks/e2e/mcload.c, which run.sh compiles)
                         Each RESP2 Redis case X also exists over TLS (issue #23), not run by
                         default: 'X TLS-client' (redis-benchmark --tls to a Walnut pool with a
                         TLS listener, plain backends), 'X TLS-server' (plain to Walnut, which
                         speaks TLS to 3 TLS redis-servers), 'X TLS-both' (both; for direct,
                         redis-benchmark --tls straight to one TLS redis-server: the TLS
                         ceiling), e.g. --cases 'GET P1,GET P1 TLS-client'; twemproxy has no
                         TLS and skips them; certificates from a throw-away CA (openssl). With
                         TLS cases the report adds a table of what TLS costs: each TLS case
                         against its plain case and against direct over TLS
        --tls            add the three TLS variants of every chosen RESP2 Redis case, each after
                         its plain case (e.g. --cases 'GET P1,GET P16' --tls)
        --tls-providers LIST
                         Walnut TLS engines to compare (auto, openssl, jdk; default: auto, which
                         passes no --tls-provider); other than auto, each is run with every
                         --threads and --transports value, as walnut-<provider>-tN, with
                         --tls-provider <provider>
        --no-memcache    Redis cases only
        --keep           keep the working directory (the proxies' configurations and logs, the load
                         generators' output) after a successful run; a failed run always keeps it
        --out DIR        where the results go (default: benchmarks/results)
        --also NAME=DIR  also run the Walnut of another built checkout, DIR/bin/walnut (its own
                         server/target/walnut), as walnut-NAME-tN beside walnut-tN (NAME: a-z and _);
                         repeatable, e.g. --also before=../walnut-before
        --proxy NAME=COMMAND
                         also run any proxy that takes a nutcracker-style command line and
                         nutcracker.yml, as NAME (a-z, 0-9, _ . -): COMMAND runs as `sh -c 'exec
                         COMMAND'` (so it starts with the program; env VAR=... for variables), in
                         which {conf} is the configuration file, {stats} a free port for its stats
                         and {port} the Redis pool's listen port (also in the file); repeatable,
                         e.g. --proxy 'nc-old=/opt/twemproxy-0.4/sbin/nutcracker -c {conf} -s {stats}'
        --idle-clients N connections held open to each proxy while its resident memory is measured
                         (default: 5000; 0: skip that measurement)
        --settle S       after the load, wait S seconds and measure every proxy's resident memory
                         once more (default: 30; 0: skip that measurement)
      """;

  /** Parses {@code args}; {@code root} is this checkout, {@code cores} the machine's cores. */
  static Options parse(String[] args, Path root, int cores) {
    boolean help = false;
    boolean quick = false;
    String threads = null;
    String transports = "auto";
    String rounds = null;
    String seconds = null;
    String clients = "50";
    String onlyCases = null;
    boolean memcache = true;
    boolean keep = false;
    Path out = root.resolve("benchmarks/results");
    List<Also> also = new ArrayList<>();
    List<Candidate> candidates = new ArrayList<>();
    String idle = Integer.toString(DEFAULT_IDLE_CLIENTS);
    String settle = Integer.toString(DEFAULT_SETTLE);
    boolean tls = false;
    String providers = "auto";
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "-h", "--help" -> help = true;
        case "--quick" -> quick = true;
        case "--no-memcache" -> memcache = false;
        case "--keep" -> keep = true;
        case "--tls" -> tls = true;
        case "--tls-providers" ->
            providers = value(args, ++i, "--tls-providers needs a list, e.g. openssl,jdk");
        case "--threads" -> threads = value(args, ++i, "--threads needs a list, e.g. 1,2");
        case "--transports" ->
            transports = value(args, ++i, "--transports needs a list, e.g. epoll,io_uring");
        case "--rounds" -> rounds = value(args, ++i, "--rounds needs a number");
        case "--seconds" -> seconds = value(args, ++i, "--seconds needs a number");
        case "--clients" -> clients = value(args, ++i, "--clients needs a number");
        case "--cases" ->
            onlyCases = value(args, ++i, "--cases needs a list, e.g. 'GET P1,mc get P1'");
        case "--out" -> out = Path.of(value(args, ++i, "--out needs a directory"));
        case "--idle-clients" -> idle = value(args, ++i, "--idle-clients needs a number");
        case "--settle" -> settle = value(args, ++i, "--settle needs a number of seconds");
        case "--also" -> {
          String v = value(args, ++i, "--also needs NAME=DIR, e.g. before=../walnut-before");
          var m = ALSO.matcher(v);
          if (!m.matches()) {
            throw new IllegalArgumentException(
                "--also: '" + v + "' is not NAME=DIR (NAME: a-z and _)");
          }
          Path dir = Path.of(m.group(2));
          if (!hasDistribution(dir)) {
            throw new IllegalArgumentException("--also: " + dir + " has no built distribution"
                + " (run mvn -q -B -DskipTests package there)");
          }
          also.add(new Also(m.group(1), dir));
        }
        case "--proxy" -> {
          String v =
              value(args, ++i, "--proxy needs NAME=COMMAND, e.g. 'mine=/opt/mine -c {conf}'");
          var m = CANDIDATE.matcher(v);
          if (!m.matches()) {
            throw new IllegalArgumentException(
                "--proxy: '" + v + "' is not NAME=COMMAND (NAME: a-z, 0-9, _ . -)");
          }
          if (!m.group(2).contains("{conf}")) {
            throw new IllegalArgumentException("--proxy " + m.group(1)
                + ": the command has no {conf}, so it cannot run on the shared pools");
          }
          candidates.add(new Candidate(m.group(1), m.group(2)));
        }
        default -> throw new IllegalArgumentException("unknown option: '" + a + "'");
      }
    }
    List<Integer> threadList = new ArrayList<>();
    if (threads == null) {
      for (int t = 1; t <= Math.max(1, cores); t *= 2) {
        threadList.add(t);
      }
    } else {
      for (String t : threads.split(",")) {
        threadList.add(positive(t, "--threads: "));
      }
    }
    List<String> transportList = List.of(transports.split(","));
    for (String tr : transportList) {
      if (!TRANSPORTS.contains(tr)) {
        throw new IllegalArgumentException(
            "--transports: '" + tr + "' is not auto, nio, epoll or io_uring");
      }
    }
    List<String> providerList = List.of(providers.split(","));
    for (String p : providerList) {
      if (!TLS_PROVIDERS.contains(p)) {
        throw new IllegalArgumentException(
            "--tls-providers: '" + p + "' is not auto, openssl or jdk");
      }
    }
    List<String> plain = new ArrayList<>(ALL_CASES);
    if (!memcache) {
      plain.removeIf(c -> c.startsWith("mc "));
    }
    List<String> known = new ArrayList<>(plain);
    known.addAll(TlsCase.variantsOf(plain));
    List<String> cases = plain;
    if (onlyCases != null) {
      Set<String> chosen = new LinkedHashSet<>();
      for (String w : onlyCases.split(",")) {
        if (!known.contains(w)) {
          throw new IllegalArgumentException(
              "--cases: '" + w + "' is unknown (known: " + String.join(",", known) + ")");
        }
        chosen.add(w);
      }
      cases = List.copyOf(chosen);
    }
    if (tls) {
      Set<String> withTls = new LinkedHashSet<>();
      for (String c : cases) {
        withTls.add(c);
        withTls.addAll(TlsCase.variantsOf(List.of(c)));
      }
      if (withTls.size() == cases.size()) {
        throw new IllegalArgumentException("--tls: none of the cases has TLS variants (only the"
            + " RESP2 Redis cases have)");
      }
      cases = List.copyOf(withTls);
    }
    // No memcached case chosen: no memcached backends either.
    boolean anyMemcache = cases.stream().anyMatch(c -> c.startsWith("mc "));
    int idleClients = idle.equals("0") ? 0 : positive(idle, "--idle-clients: ");
    int settleSeconds = settle.equals("0") ? 0 : positive(settle, "--settle: ");
    return new Options(help, quick, List.copyOf(threadList), transportList,
        rounds == null ? (quick ? 1 : 3) : positive(rounds, ""),
        seconds == null ? (quick ? 1 : 5) : positive(seconds, ""),
        positive(clients, ""), cases, memcache && anyMemcache, keep, out, List.copyOf(also),
        List.copyOf(candidates), idleClients, settleSeconds, List.copyOf(providerList));
  }

  /** Whether any chosen case speaks TLS: the run then makes certificates and TLS pools. */
  boolean tls() {
    return cases.stream().anyMatch(c -> TlsCase.of(c) != TlsCase.PLAIN);
  }

  /** Whether any chosen case has Walnut speak TLS to its backends: TLS redis-servers then. */
  boolean tlsBackends() {
    return cases.stream().anyMatch(c -> TlsCase.of(c).serverSide());
  }

  /** The results' file names: {@code e2e-quick.*} for a quick run, so it never hides a full one. */
  String prefix() {
    return quick ? "e2e-quick" : "e2e";
  }

  static boolean hasDistribution(Path checkout) {
    Path lib = checkout.resolve("server/target/walnut/lib");
    if (!Files.isDirectory(lib)) {
      return false;
    }
    try (var files = Files.list(lib)) {
      return files.anyMatch(f -> f.getFileName().toString().startsWith("walnut-server-"));
    } catch (java.io.IOException e) {
      return false;
    }
  }

  private static String value(String[] args, int i, String missing) {
    if (i >= args.length) {
      throw new IllegalArgumentException(missing);
    }
    return args[i];
  }

  private static int positive(String v, String what) {
    if (!POSITIVE.matcher(v).matches() || v.length() > 9) {
      throw new IllegalArgumentException(what + "'" + v + "' is not a positive integer");
    }
    return Integer.parseInt(v);
  }
}
