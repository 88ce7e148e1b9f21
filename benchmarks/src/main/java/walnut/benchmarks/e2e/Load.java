package walnut.benchmarks.e2e;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The load of one case against one port: {@code redis-benchmark -c C -r KEYSPACE} (GET, SET, MGET
 * of 10 random keys; pipeline 1 or 16; in RESP3 with the suffix {@link #RESP3}) or, for the
 * memcached cases ({@code mc get P1} and so on), {@code mcload -c C -r KEYSPACE} with the same
 * pipelines ({@code benchmarks/e2e/mcload.c}, which {@code run.sh} compiles into {@link #MCLOAD});
 * and its figures. A case whose client side speaks TLS ({@link TlsCase#clientSide}) runs
 * {@code redis-benchmark --tls --cacert CA}, which verifies the certificate it is served. Every tool's command line and output go to the run's {@code load.log}.
 */
final class Load {

  /** A Redis case's suffix: the same load in RESP3 ({@code redis-benchmark -3}). */
  static final String RESP3 = " RESP3";

  /** The keys every case draws from ({@code -r}), filled through twemproxy first. */
  static final int KEYSPACE = 10_000;

  /** Where {@code run.sh} compiles {@code benchmarks/e2e/mcload.c}, under the checkout. */
  static final String MCLOAD = "benchmarks/target/mcload";

  private final Path log;
  private final Path scratch;
  private final int clients;
  private final Duration limit;
  private final String mcload;
  private final Path ca;

  /** {@code ca}: the CA file the TLS cases verify certificates with; null without TLS cases. */
  Load(Path work, int clients, int seconds, Path mcload, Path ca) {
    this.mcload = mcload.toString();
    this.ca = ca;
    this.log = work.resolve("load.log");
    this.scratch = work.resolve("tool-output.txt");
    this.clients = clients;
    // Far beyond a run's length: only a tool that hangs (redis-benchmark spins forever on a
    // refused connection) reaches it.
    this.limit = Duration.ofSeconds(seconds * 20L + 60);
  }

  /** Runs {@code testCase} with {@code requests} requests against 127.0.0.1:{@code port}. */
  LoadOutput.Figures run(String testCase, int port, long requests) throws LoadOutput.Unreadable {
    Tools.Result r =
        Tools.run(command(testCase, port, requests, clients, mcload, ca), limit, scratch, log);
    if (r.timedOut()) {
      throw new LoadOutput.Unreadable(testCase + " was killed after " + limit.toSeconds() + " s");
    }
    LoadOutput.Figures f = testCase.startsWith("mc ") ? LoadOutput.mcload(r.output())
        : LoadOutput.redisBenchmark(r.output());
    if (r.status() != 0) {
      throw new LoadOutput.Unreadable(testCase + ": exit status " + r.status());
    }
    return f;
  }

  /**
   * Sets {@code KEYSPACE} Redis keys (ten passes of random keys, pipeline 64) through
   * {@code port}.
   */
  void fill(int port) throws LoadOutput.Unreadable {
    List<String> command = List.of("redis-benchmark", "-h", "127.0.0.1", "-p",
        Integer.toString(port), "-c", Integer.toString(clients), "-n",
        Integer.toString(KEYSPACE * 10), "-P", "64", "-r", Integer.toString(KEYSPACE), "-t", "set");
    Tools.Result r = Tools.run(command, limit, scratch, log);
    if (!r.ok()) {
      throw new LoadOutput.Unreadable("filling the keys failed");
    }
    LoadOutput.redisBenchmark(r.output());
  }

  /**
   * Sets every one of the {@code KEYSPACE} memcached keys once, in order ({@code mcload -q},
   * pipeline 64), through {@code port}, so that the {@code mc get} cases hit.
   */
  void fillMemcache(int port) throws LoadOutput.Unreadable {
    List<String> command = List.of(mcload, "-s", "127.0.0.1:" + port, "-c",
        Integer.toString(clients), "-n", Integer.toString(KEYSPACE), "-P", "64", "-t", "set",
        "-r", Integer.toString(KEYSPACE), "-q");
    Tools.Result r = Tools.run(command, limit, scratch, log);
    LoadOutput.mcload(r.output());
    if (!r.ok()) {
      throw new LoadOutput.Unreadable("mcload exited with status " + r.status());
    }
  }

  static List<String> command(String testCase, int port, long requests, int clients,
      String mcload) {
    return command(testCase, port, requests, clients, mcload, null);
  }

  /** The command line of {@code testCase}; {@code ca} verifies a TLS case's certificates. */
  static List<String> command(String testCase, int port, long requests, int clients,
      String mcload, Path ca) {
    TlsCase tls = TlsCase.of(testCase);
    if (tls != TlsCase.PLAIN) {
      if (!TlsCase.hasVariants(TlsCase.workload(testCase))) {
        throw new IllegalArgumentException("case '" + testCase + "'");
      }
      testCase = TlsCase.workload(testCase);
    }
    List<String> c = new ArrayList<>();
    if (testCase.startsWith("mc ")) {
      String[] words = testCase.split(" ");
      if (words.length != 3 || !words[1].matches("get|set") || !words[2].matches("P[1-9][0-9]*")) {
        throw new IllegalArgumentException("case '" + testCase + "'");
      }
      c.addAll(List.of(mcload, "-s", "127.0.0.1:" + port, "-c", Integer.toString(clients),
          "-n", Long.toString(requests), "-P", words[2].substring(1), "-t", words[1],
          "-r", Integer.toString(KEYSPACE)));
      return c;
    }
    String redisCase = testCase;
    boolean resp3 = testCase.endsWith(RESP3);
    if (resp3) {
      redisCase = testCase.substring(0, testCase.length() - RESP3.length());
    }
    int space = redisCase.indexOf(" P");
    if (space < 0) {
      throw new IllegalArgumentException("case '" + testCase + "'");
    }
    c.addAll(List.of("redis-benchmark", "-h", "127.0.0.1", "-p", Integer.toString(port),
        "-c", Integer.toString(clients), "-n", Long.toString(requests),
        "-P", redisCase.substring(space + 2), "-r", Integer.toString(KEYSPACE)));
    if (resp3) {
      c.add("-3"); // every connection starts with HELLO 3
    }
    if (tls.clientSide()) {
      if (ca == null) {
        throw new IllegalArgumentException("case '" + testCase + tls.suffix + "' needs a CA file");
      }
      c.addAll(List.of("--tls", "--cacert", ca.toString()));
    }
    switch (redisCase.substring(0, space)) {
      case "GET" -> c.addAll(List.of("-t", "get"));
      case "SET" -> c.addAll(List.of("-t", "set"));
      case "MGET10" -> {
        c.add("mget");
        for (int i = 0; i < 10; i++) {
          c.add("key:__rand_int__");
        }
      }
      default -> throw new IllegalArgumentException("case '" + testCase + "'");
    }
    return c;
  }
}
