package walnut.benchmarks.e2e;

import java.io.IOException;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import walnut.testing.NutcrackerServer;

/**
 * One proxy under test, or the backend measured directly ({@code direct}: no server, no memory
 * figures), with the ports the cases run against, the proxy's resident memory as measured, and
 * how long its configuration test ({@code -t}) takes.
 */
final class Target {
  final String name;
  final NutcrackerServer server;
  final int redisPort;
  final int memcachePort; // 0: no memcache pool
  final String description;
  String memcacheSkip;
  /** Why the RESP3 cases are skipped for this proxy, or {@code null}. */
  String resp3Skip;
  /**
   * The port each TLS variant ({@link TlsCase}) runs against: a pool of its own on a proxy, one
   * TLS backend for {@code direct}; a variant without one is skipped.
   */
  final Map<TlsCase, Integer> tlsPorts = new EnumMap<>(TlsCase.class);
  /** Why the TLS cases are skipped for this proxy, or {@code null}. */
  String tlsSkip;
  /** The TLS engine Walnut named in its log at start ({@code TLS engine: ...}), or null. */
  String tlsEngine;
  long idleKib = -1;
  int idleClients = -1;
  long withClientsKib = -1;
  long afterLoadKib = -1;
  /** The seconds waited after the load before {@link #settledKib}; 0: not measured. */
  int settleSeconds;
  long settledKib = -1;
  /**
   * The command that tests the proxy's configuration and exits ({@code nutcracker -t -c CONF}),
   * or {@code null} for a proxy the harness does not know to have one.
   */
  List<String> confTest;
  /** The median wall time of {@link #confTest}, in seconds; NaN when not measured. */
  double confTestSeconds = Double.NaN;

  Target(String name, NutcrackerServer server, int redisPort, int memcachePort,
      String description) {
    this.name = name;
    this.server = server;
    this.redisPort = redisPort;
    this.memcachePort = memcachePort;
    this.description = description;
  }

  boolean isProxy() {
    return server != null;
  }

  long pid() {
    return server.pid();
  }

  int port(String testCase) {
    TlsCase tls = TlsCase.of(testCase);
    if (tls != TlsCase.PLAIN) {
      return tlsPorts.getOrDefault(tls, 0);
    }
    return testCase.startsWith("mc ") ? memcachePort : redisPort;
  }

  boolean skips(String testCase) {
    TlsCase tls = TlsCase.of(testCase);
    if (tls != TlsCase.PLAIN) {
      return tlsSkip != null || !tlsPorts.containsKey(tls);
    }
    return testCase.startsWith("mc ") && (memcachePort == 0 || memcacheSkip != null)
        || testCase.endsWith(Load.RESP3) && resp3Skip != null;
  }

  /** The proxy's resident memory now, in KiB; -1 if it cannot be read. */
  long rssKib() {
    try {
      return ProcFs.rssKib(pid());
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** The proxy's CPU time so far (user + system, every thread), in clock ticks. */
  long processTicks() {
    try {
      return ProcFs.processTicks(pid());
    } catch (IOException e) {
      throw new Failure(name + " (pid " + pid() + ") is gone");
    }
  }

  Memory.Row memory() {
    return new Memory.Row(name, idleKib, idleClients, withClientsKib, afterLoadKib,
        settleSeconds, settledKib, confTestSeconds);
  }
}
