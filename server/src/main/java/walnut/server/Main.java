package walnut.server;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import walnut.core.config.ProxyConfig;
import walnut.core.plugin.PluginRegistry;
import walnut.core.stats.HealthStat;
import walnut.core.stats.PinStat;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ServerStat;

/**
 * The {@code walnut} command: twemproxy's command line ({@code nutcracker -c conf -t -d -p …})
 * plus Walnut's process-wide flags ({@code --threads}, {@code --transport}).
 *
 * <p>Numbers are validated with twemproxy's messages, so scripts written against nutcracker see
 * the same failures. The stats address defaults to 127.0.0.1 (twemproxy: 0.0.0.0), so a fresh
 * install does not publish its counters to the network; so does the Prometheus endpoint
 * ({@code --metrics-port}, off by default). Once serving, the process answers twemproxy's signals
 * ({@link Signals}) and reloads its configuration on SIGUSR1 or {@code --watch-config}
 * ({@link ConfigReloader}).
 */
@Command(name = "walnut", sortOptions = false, exitCodeOnInvalidInput = 1, usageHelpAutoWidth = true,
    description = "A Redis and Memcached proxy compatible with twemproxy (nutcracker).")
public final class Main implements Callable<Integer> {

  static final String VERSION = "0.1.0";
  static final String DEFAULT_CONF = "conf/nutcracker.yml";

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "this help")
  boolean help;

  @Option(names = {"-V", "--version"}, description = "show version and exit")
  boolean version;

  @Option(names = {"-t", "--test-conf"},
      description = "test configuration for syntax errors and exit")
  boolean testConf;

  @Option(names = {"-d", "--daemonize"}, description = "run as a daemon")
  boolean daemonize;

  @Option(names = {"-D", "--describe-stats"}, description = "print stats description and exit")
  boolean describeStats;

  @Option(names = {"-v", "--verbose"}, paramLabel = "N",
      description = "set logging level (default: 5, min: 0, max: 11)")
  String verbose = "5";

  @Option(names = {"-o", "--output"}, paramLabel = "S",
      description = "set logging file (default: stderr)")
  Path output;

  @Option(names = {"-c", "--conf-file"}, paramLabel = "S",
      description = "set configuration file (default: " + DEFAULT_CONF + ")")
  Path confFile = Path.of(DEFAULT_CONF);

  @Option(names = {"-s", "--stats-port"}, paramLabel = "N",
      description = "set stats monitoring port (default: 22222)")
  String statsPort = "22222";

  @Option(names = {"-a", "--stats-addr"}, paramLabel = "S",
      description = "set stats monitoring ip (default: 127.0.0.1)")
  String statsAddr = "127.0.0.1";

  @Option(names = {"-i", "--stats-interval"}, paramLabel = "N",
      description = "set stats aggregation interval in msec (default: 30000 msec);"
          + " Walnut's counters are live, so every reading is fresher than this")
  String statsInterval = "30000";

  @Option(names = {"-p", "--pid-file"}, paramLabel = "S",
      description = "set pid file (default: off)")
  Path pidFile;

  @Option(names = {"-m", "--mbuf-size"}, paramLabel = "N",
      description = "set size of mbuf chunk in bytes (default: 16384 bytes);"
          + " Walnut reads into pooled buffers, so this is accepted for compatibility")
  String mbufSize = "16384";

  @Option(names = "--threads", paramLabel = "N",
      description = "event loops (default: the number of cores); 1 behaves as twemproxy")
  Integer threads;

  @Option(names = "--transport", paramLabel = "NAME",
      description = "I/O engine: auto, nio, epoll, io_uring (default: auto: epoll, else io_uring,"
          + " else nio)")
  String transport = "auto";

  @Option(names = "--metrics-port", paramLabel = "N",
      description = "serve Prometheus metrics over HTTP on this port (default: off)")
  String metricsPort;

  @Option(names = "--metrics-addr", paramLabel = "S",
      description = "address of the metrics endpoint (default: 127.0.0.1)")
  String metricsAddr = "127.0.0.1";

  @Option(names = "--command-metrics",
      description = "label the latency histogram of --metrics-port by command (the commands"
          + " Walnut knows; any other counts as 'other')")
  boolean commandMetrics;

  @Option(names = "--slowlog-threshold", paramLabel = "MS",
      description = "log each request slower than MS ms (pool, server, command, key, latency,"
          + " sizes) and count it in walnut_slow_requests_total (default: off)")
  String slowlogThreshold;

  @Option(names = "--slowlog-rate", paramLabel = "N",
      description = "at most N slow-request lines a second; the others are counted, and the next"
          + " line says how many were left out (default: 10)")
  String slowlogRate;

  @Option(names = "--locate", paramLabel = "POOL",
      description = "print the server each KEY of POOL goes to (twemproxy's placement, from the"
          + " configuration alone; '-' as the only KEY: one key a line from standard input),"
          + " and exit")
  String locatePool;

  @Parameters(paramLabel = "KEY", arity = "0..*", description = "keys for --locate")
  java.util.List<String> keys = new java.util.ArrayList<>();

  @Option(names = "--watch-config",
      description = "reload the configuration when the file changes (SIGUSR1 always reloads)")
  boolean watchConfig;

  @Option(names = "--max-server-connections", paramLabel = "N",
      description = "refuse a pool whose servers would get more than N connections from this"
          + " process (--threads x server_connections, twice that for a redis pool with resp3),"
          + " at start and on reload (default: no cap)")
  String maxServerConnections;

  @Option(names = "--shutdown-grace", paramLabel = "MS",
      description = "on SIGTERM/SIGINT, wait this long for in-flight requests (default: 10000)")
  long shutdownGraceMillis = 10_000;

  @Option(names = "--client-pending-limit", paramLabel = "SIZE",
      description = "stop reading from a client while it has this many bytes in the proxy"
          + " (requests in flight, replies held or not yet taken by its socket), and close it"
          + " when its replies alone exceed it (k, m, g allowed; default: 64m)")
  String clientPendingLimit = "64m";

  @Option(names = "--tls-provider", paramLabel = "auto|openssl|jdk",
      description = "the TLS engine of pools that use TLS: openssl (BoringSSL, bundled for"
          + " linux-x86_64), jdk, or auto: openssl when it loads (default: auto)")
  String tlsProvider = "auto";

  @Option(names = "--tls-handshake-timeout", paramLabel = "MS",
      description = "close a client of a TLS listener that has not finished its TLS handshake"
          + " in MS ms, and count it (default: 10000)")
  long tlsHandshakeTimeoutMillis = 10_000;

  @Option(names = "--slow-reader-limit", paramLabel = "MS",
      description = "the longest one long reply to a client that takes nothing may hold its"
          + " server connection, in all (at most half the pool's timeout); then the rest is"
          + " gathered for the client (default: 1000)")
  long slowReaderLimitMillis = 1_000;

  /** Set by a daemonizing parent: the file to write "ok" (or the error) to once listening. */
  @Option(names = "--daemon-ready-file", hidden = true)
  Path readyFile;

  private final PrintStream err;
  private final java.util.List<String> originalArgs;

  Main(PrintStream err, String... args) {
    this.err = err;
    this.originalArgs = java.util.List.of(args);
  }

  public static void main(String[] args) {
    System.exit(run(System.err, args));
  }

  /** Runs the command and returns its exit code (the proxy itself returns on shutdown). */
  static int run(PrintStream err, String... args) {
    CommandLine cli = new CommandLine(new Main(err, args));
    cli.setErr(new java.io.PrintWriter(err, true));
    cli.setOut(new java.io.PrintWriter(System.out, true));
    return cli.execute(args);
  }

  @Override
  public Integer call() throws Exception {
    Options options;
    try {
      options = Options.from(this, originalArgs);
    } catch (IllegalArgumentException e) {
      err.println("walnut: " + e.getMessage());
      return 1;
    }
    if (!keys.isEmpty() && locatePool == null) {
      err.println("walnut: unexpected argument '" + keys.get(0) + "' (keys go with --locate)");
      return 1;
    }
    if (locatePool != null && (testConf || daemonize || describeStats || version)) {
      err.println("walnut: option --locate goes alone (not with -t, -d, -D or -V)");
      return 1;
    }
    if (locatePool != null && keys.isEmpty()) {
      err.println("walnut: option --locate requires keys (or '-' to read them from stdin)");
      return 1;
    }
    AllocatorSizing.apply(options.threads(), System.getProperties());
    try {
      Logging.configure(options.logLevel(), output);
    } catch (IllegalArgumentException e) {
      err.println("walnut: " + e.getMessage());
      return 1;
    }
    if (version) {
      err.println("This is walnut-" + VERSION + " (compatible with nutcracker-0.5.0)");
      err.println();
      return 0;
    }
    if (describeStats) {
      describeStats(System.out);
      return 0;
    }
    PluginRegistry plugins = WalnutComponent.create().plugins();
    // Taken before the file is read, so an edit racing the start is seen by --watch-config.
    byte[] confDigest = ConfigReloader.digest(confFile);
    ProxyConfig config;
    try {
      config = ConfigCheck.load(confFile, plugins);
    } catch (ConfigCheck.InvalidConfigException e) {
      err.println("walnut: " + e.getMessage());
      err.println("walnut: configuration file '" + confFile + "' syntax is invalid");
      return 1;
    }
    if (testConf) {
      err.println("walnut: configuration file '" + confFile + "' syntax is ok");
      return 0;
    }
    if (locatePool != null) {
      return locate(config, plugins);
    }
    if (daemonize && readyFile == null) {
      return Daemon.spawn(err, options, pidFile);
    }
    return serve(config, confDigest, plugins, options);
  }

  private int locate(ProxyConfig config, PluginRegistry plugins) throws java.io.IOException {
    Locate locate;
    try {
      locate = Locate.of(config, plugins, locatePool);
    } catch (IllegalArgumentException e) {
      err.println("walnut: " + e.getMessage());
      return 1;
    }
    if (keys.stream().anyMatch(k -> k.indexOf('\uFFFD') >= 0)) {
      // The JVM decoded the arguments in the locale's charset (sun.jnu.encoding): bytes it could
      // not read became U+FFFD, and the key's own bytes are lost.
      err.println("walnut: a key has bytes the locale's charset ("
          + System.getProperty("sun.jnu.encoding") + ") cannot read (or U+FFFD itself): give"
          + " the keys on standard input ('-'), which takes bytes as they are");
      return 1;
    }
    if (locate.random()) {
      err.println("walnut: pool '" + locatePool + "' has distribution random: each request goes"
          + " to a server picked at random (printed as '*')");
    }
    locate.print(keys, System.in, new java.io.BufferedOutputStream(System.out, 1 << 16));
    return 0;
  }

  private int serve(ProxyConfig config, byte[] confDigest, PluginRegistry plugins,
      Options options) throws Exception {
    // Every handler is in place before the proxy says it started: a signal sent on seeing
    // that line must not meet the JVM's default action (SIGHUP and SIGUSR1 would end it).
    CountDownLatch stop = new CountDownLatch(1);
    Signals.onTermination(stop::countDown);
    Signals.onLogControl();
    AtomicReference<RunningProxy> running = new AtomicReference<>();
    if (!Signals.onReload(() -> {
      RunningProxy current = running.get();
      if (current != null) {
        current.reload("SIGUSR1");
      }
    }) && !watchConfig) {
      org.slf4j.LoggerFactory.getLogger(Main.class).warn("without SIGUSR1, only --watch-config"
          + " reloads the configuration");
    }
    RunningProxy proxy;
    try {
      proxy = RunningProxy.start(config, plugins, options, confFile, confDigest);
    } catch (RuntimeException e) {
      err.println("walnut: " + e.getMessage());
      if (readyFile != null) {
        Files.writeString(readyFile, "error: " + e.getMessage());
      }
      return 1;
    }
    running.set(proxy);
    if (pidFile != null) {
      Files.writeString(pidFile, Long.toString(ProcessHandle.current().pid()));
    }
    if (readyFile != null) {
      Files.writeString(readyFile, "ok");
    }
    stop.await();
    proxy.close();
    return 0;
  }

  private static void describeStats(PrintStream out) {
    out.println("This is walnut-" + VERSION + " (compatible with nutcracker-0.5.0)");
    out.println();
    out.println("pool stats:");
    for (PoolStat s : PoolStat.values()) {
      out.printf("  %-20s\"%s\"%n", s.field(), s.description());
    }
    out.println();
    out.println("server stats:");
    for (ServerStat s : ServerStat.values()) {
      out.printf("  %-20s\"%s\"%n", s.field(), s.description());
    }
    out.println();
    out.println("server stats of a pool with health_check_interval (Walnut's):");
    for (HealthStat s : HealthStat.values()) {
      out.printf("  %-23s\"%s\"%n", s.field(), s.description());
    }
    out.println();
    out.println("server stats once a private connection was taken or refused (Walnut's):");
    for (PinStat s : PinStat.values()) {
      out.printf("  %-23s\"%s\"%n", s.field(), s.description());
    }
    out.println();
    out.println("stats of a pool with sentinels (Walnut's):");
    out.printf("  %-23s\"%s\"%n", "sentinel_<host:port>",
        "up or down: whether the sentinel answered when last asked");
    out.printf("  %-23s\"%s\"%n", "address", "where the server is now: its master's host:port");
    out.printf("  %-23s\"%s\"%n", "failovers", "# failovers that moved the server");
  }
}
