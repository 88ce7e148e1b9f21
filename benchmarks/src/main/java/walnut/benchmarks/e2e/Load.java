package walnut.benchmarks.e2e;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The load of one case against one port: {@code redis-benchmark -c C -r KEYSPACE} (GET, SET, MGET
 * of 10 random keys; pipeline 1 or 16; in RESP3 with the suffix {@link #RESP3}) or
 * {@code memcslap -c C} (get, set), and its figures.
 * Every tool's command line and output go to the run's {@code load.log}.
 */
final class Load {

  /** A Redis case's suffix: the same load in RESP3 ({@code redis-benchmark -3}). */
  static final String RESP3 = " RESP3";

  /** The keys the Redis cases draw from ({@code -r}), filled through twemproxy first. */
  static final int KEYSPACE = 10_000;

  private final Path log;
  private final Path scratch;
  private final int clients;
  private final Duration limit;

  Load(Path work, int clients, int seconds) {
    this.log = work.resolve("load.log");
    this.scratch = work.resolve("tool-output.txt");
    this.clients = clients;
    // Far beyond a run's length: only a tool that hangs (redis-benchmark spins forever on a
    // refused connection) reaches it.
    this.limit = Duration.ofSeconds(seconds * 20L + 60);
  }

  /** Runs {@code testCase} with {@code requests} requests against 127.0.0.1:{@code port}. */
  LoadOutput.Figures run(String testCase, int port, long requests) throws LoadOutput.Unreadable {
    Tools.Result r = Tools.run(command(testCase, port, requests, clients), limit, scratch, log);
    if (r.timedOut()) {
      throw new LoadOutput.Unreadable(testCase + " was killed after " + limit.toSeconds() + " s");
    }
    LoadOutput.Figures f = testCase.startsWith("mc ") ? LoadOutput.memcslap(r.output())
        : LoadOutput.redisBenchmark(r.output());
    if (r.status() != 0) {
      throw new LoadOutput.Unreadable(testCase + ": exit status " + r.status());
    }
    return f;
  }

  /** Sets {@code KEYSPACE} keys (ten passes of random keys, pipeline 64) through {@code port}. */
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

  static List<String> command(String testCase, int port, long requests, int clients) {
    List<String> c = new ArrayList<>();
    if (testCase.startsWith("mc ")) {
      long perThread = (requests + clients - 1) / clients;
      c.addAll(List.of("memcslap", "-s", "127.0.0.1:" + port, "-t", testCase.substring(3),
          "-c", Integer.toString(clients), "-e", Long.toString(perThread)));
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
