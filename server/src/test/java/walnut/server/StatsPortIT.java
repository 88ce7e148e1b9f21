package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.server.WireClient.resp;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import walnut.testing.FreePorts;
import walnut.testing.MemcachedServer;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.SingleTransport;

/**
 * The stats port read as twemproxy's monitoring scripts read it: after known traffic through a
 * Redis pool and a memcached pool, on two event loops, the whole document equals the one built
 * here from twemproxy's layout (docs/compatibility.md#json-layout) — field names, nesting, order,
 * separators — with every count exact. Also {@code -i} and {@code -D} through {@code bin/walnut}.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
@SingleTransport
class StatsPortIT {

  /**
   * twemproxy's field names in its order (docs/compatibility.md#json-layout), written out, not
   * taken from the code.
   */
  private static final List<String> POOL_FIELDS = List.of("client_eof", "client_err",
      "client_connections", "server_ejects", "forward_error", "fragments");
  private static final List<String> SERVER_FIELDS = List.of("server_eof", "server_err",
      "server_timedout", "server_connections", "server_ejected_at", "requests", "request_bytes",
      "responses", "response_bytes", "in_queue", "in_queue_bytes", "out_queue",
      "out_queue_bytes");

  @TempDir
  Path tmp;

  @Test
  void knownTrafficThroughTwoPoolsIsCountedExactlyInTwemproxysLayout() throws Exception {
    try (RedisServer r1 = RedisServer.start(); RedisServer r2 = RedisServer.start();
        MemcachedServer m1 = MemcachedServer.start()) {
      int dead = FreePorts.next(); // nothing listens here
      String m1Name = "127.0.0.1:" + m1.port();
      String deadName = "127.0.0.1:" + dead;
      Path conf = tmp.resolve("nutcracker.yml");
      // Config order alpha, mc; twemproxy prints mc first (shorter name).
      Files.writeString(conf, """
          alpha:
            listen: 127.0.0.1:%d
            redis: true
            preconnect: true
            servers:
             - 127.0.0.1:%d:1 r1
             - 127.0.0.1:%d:1 r2
          mc:
            listen: 127.0.0.1:%d
            auto_eject_hosts: true
            server_failure_limit: 1
            server_retry_timeout: 600000
            servers:
             - %s:1
             - %s:1
          """.formatted(FreePorts.next(), r1.port(), r2.port(), FreePorts.next(), m1Name,
          deadName));
      long before = System.currentTimeMillis();
      try (OpsFixture walnut = OpsFixture.start(conf, 2, false, false)) {
        // preconnect: each of the 2 loops connects to each Redis server.
        Poll.until(Duration.ofSeconds(20), () -> count(stats(walnut), "\"server_connections\":2,")
            == 2, "alpha's 4 preconnected server connections");

        // alpha: ten SETs and one MGET on client a, a PING on client b.
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
          // The first byte varies: fnv1a_64's small multiplier keeps keys that differ only at
          // the end close together on the ring.
          keys.add(i + ":stats:key");
        }
        WireClient a = WireClient.open(walnut.port("alpha"));
        WireClient b = WireClient.open(walnut.port("alpha"));
        for (String key : keys) {
          a.write(resp("SET", key, "v"));
          a.expectBytes("+OK\r\n");
        }
        List<String> onR1 = keys.stream().filter(k -> "v".equals(r1.command("GET", k))).toList();
        List<String> onR2 = keys.stream().filter(k -> "v".equals(r2.command("GET", k))).toList();
        assertEquals(keys.size(), onR1.size() + onR2.size(), "each key on one server");
        assertFalse(onR1.isEmpty() || onR2.isEmpty(), "named servers spread these keys");
        List<String> mget = new ArrayList<>(List.of("MGET"));
        mget.addAll(keys);
        a.write(resp(mget.toArray(String[]::new)));
        a.expectBytes(array(keys.size()));
        b.write(resp("PING"));
        b.expectBytes("+PONG\r\n");

        // mc: sets until one lands on the dead server, which is then ejected; one more set.
        WireClient d = WireClient.open(walnut.port("mc"));
        long m1Requests = 0;
        long m1Bytes = 0;
        String deadRequest = null;
        for (int i = 0; deadRequest == null; i++) {
          assertTrue(i < 500, "some key maps to the dead server");
          // The number first: fnv1a_64 keeps keys differing only at the end together.
          String request = "set " + i + ":mk 0 0 1\r\nv\r\n";
          int bytes = d.write(request);
          String line = d.readLine();
          if (line.equals("STORED\r\n")) {
            m1Requests++;
            m1Bytes += bytes;
          } else {
            assertEquals("SERVER_ERROR Connection refused\r\n", line);
            deadRequest = request;
          }
        }
        m1Bytes += d.write("set mk:after 0 0 1\r\nv\r\n");
        assertEquals("STORED\r\n", d.readLine(), "the ejected server's keys go to the other");
        m1Requests++;
        long ejectedBy = System.currentTimeMillis();

        ServerCounts r1Counts = redisCounts(onR1);
        ServerCounts r2Counts = redisCounts(onR2);
        ServerCounts m1Counts = new ServerCounts(0, 0, 1, m1Requests, m1Bytes, m1Requests,
            m1Requests * "STORED\r\n".length());
        ServerCounts deadCounts = new ServerCounts(0, 1, 0, 1, deadRequest.length(), 0, 0);

        // Read once, with no wait: counters are live, so the reading is fresher than any -i.
        String expectedNow = document(11, 10,
            pool("mc", 0, 0, 1, 1, 1, 0, mcServers(m1Name, m1Counts, deadName, deadCounts)),
            pool("alpha", 0, 0, 2, 0, 0, 2,
                List.of(server("r1", r1Counts, 0), server("r2", r2Counts, 0))));
        assertDocument(expectedNow, stats(walnut), before, ejectedBy);

        // Closes: a and d by EOF, b by a reset.
        a.close();
        d.close();
        b.reset();
        String expectedAfter = document(11, 7,
            pool("mc", 1, 0, 0, 1, 1, 0, mcServers(m1Name, m1Counts, deadName, deadCounts)),
            pool("alpha", 1, 1, 0, 0, 0, 2,
                List.of(server("r1", r1Counts, 0), server("r2", r2Counts, 0))));
        AtomicReference<String> last = new AtomicReference<>();
        boolean settled = Poll.within(Duration.ofSeconds(20), () -> {
          last.set(stats(walnut));
          return normalize(last.get(), before, ejectedBy).equals(expectedAfter);
        });
        if (!settled) {
          assertDocument(expectedAfter, last.get(), before, ejectedBy);
        }
      }
    }
  }

  @Test
  void statsIntervalIsValidatedAsTwemproxyValidatesIt() throws Exception {
    WalnutProcess.Result r = WalnutProcess.run("-i", "soon", "-t");
    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains("option -i requires a number"), r.output());
    r = WalnutProcess.run("-i", "-5", "-t");
    assertEquals(1, r.exit(), r.output());
  }

  @Test
  void liveCountersAreFresherThanAnyIntervalThroughTheLauncher() throws Exception {
    try (RedisServer backend = RedisServer.start()) {
      int port = FreePorts.next();
      Path conf = tmp.resolve("interval.yml");
      Files.writeString(conf, "one:\n  listen: 127.0.0.1:" + port + "\n  redis: true\n"
          + "  servers:\n   - 127.0.0.1:" + backend.port() + ":1 only\n");
      int statsPort = FreePorts.next();
      // twemproxy may show a change up to one interval late; Walnut never does, even at 30 s.
      try (WalnutProcess walnut = WalnutProcess.daemon(tmp, "-c", conf.toString(), "-s",
          Integer.toString(statsPort), "-i", "30000", "--threads", "1")) {
        assertTrue(walnut.alive());
        try (WireClient c = WireClient.open(port)) {
          c.write(resp("SET", "k", "v"));
          c.expectBytes("+OK\r\n");
          String doc = OpsFixture.readStats(statsPort);
          assertTrue(doc.contains("\"only\": {\"server_eof\":0, \"server_err\":0,"
              + " \"server_timedout\":0, \"server_connections\":1, \"server_ejected_at\":0,"
              + " \"requests\":1, \"request_bytes\":" + resp("SET", "k", "v").length()
              + ", \"responses\":1, \"response_bytes\":5,"), doc);
          assertTrue(doc.contains("\"one\": {\"client_eof\":0, \"client_err\":0,"
              + " \"client_connections\":1,"), doc);
        }
      }
    }
  }

  @Test
  void describeStatsPrintsTwemproxysDescriptions() throws Exception {
    WalnutProcess.Result r = WalnutProcess.run("-D");
    assertEquals(0, r.exit(), r.output());
    String expected = String.join("\n",
        "pool stats:",
        "  client_eof          \"# eof on client connections\"",
        "  client_err          \"# errors on client connections\"",
        "  client_connections  \"# active client connections\"",
        "  server_ejects       \"# times backend server was ejected\"",
        "  forward_error       \"# times we encountered a forwarding error\"",
        "  fragments           \"# fragments created from a multi-vector request\"",
        "",
        "server stats:",
        "  server_eof          \"# eof on server connections\"",
        "  server_err          \"# errors on server connections\"",
        "  server_timedout     \"# timeouts on server connections\"",
        "  server_connections  \"# active server connections\"",
        "  server_ejected_at   \"timestamp when server was ejected in usec since epoch\"",
        "  requests            \"# requests\"",
        "  request_bytes       \"total request bytes\"",
        "  responses           \"# responses\"",
        "  response_bytes      \"total response bytes\"",
        "  in_queue            \"# requests in incoming queue\"",
        "  in_queue_bytes      \"current request bytes in incoming queue\"",
        "  out_queue           \"# requests in outgoing queue\"",
        "  out_queue_bytes     \"current request bytes in outgoing queue\"",
        "",
        "server stats of a pool with health_check_interval (Walnut's):",
        "  health_probes          \"# probes of an ejected server\"",
        "  health_probe_failures  \"# probes of an ejected server that failed\"",
        "  health_returns         \"# times an ejected server returned after a probe succeeded\"",
        "",
        "server stats once a private connection was taken or refused (Walnut's):",
        "  pinned_connections     \"# private server connections held by clients now\"",
        "  pinned_taken           \"# times a client took a private server connection\"",
        "  pinned_refused         \"# requests refused because max_pinned_connections was"
            + " reached\"",
        "",
        "stats of a pool with sentinels (Walnut's):",
        "  sentinel_<host:port>   \"up or down: whether the sentinel answered when last asked\"",
        "  address                \"where the server is now: its master's host:port\"",
        "  failovers              \"# failovers that moved the server\"",
        "");
    assertTrue(r.output().startsWith("This is walnut-" + Main.VERSION), r.output());
    assertTrue(r.output().endsWith("\n\n" + expected), r.output());
  }

  /** What one Redis server saw: a SET per key, one MGET fragment, each answered. */
  private static ServerCounts redisCounts(List<String> keys) {
    long requestBytes = 0;
    long responseBytes = 0;
    for (String key : keys) {
      requestBytes += resp("SET", key, "v").length();
      responseBytes += "+OK\r\n".length();
    }
    List<String> fragment = new ArrayList<>(List.of("MGET"));
    fragment.addAll(keys);
    requestBytes += resp(fragment.toArray(String[]::new)).length();
    responseBytes += array(keys.size()).length();
    return new ServerCounts(0, 0, 2, keys.size() + 1, requestBytes, keys.size() + 1,
        responseBytes);
  }

  record ServerCounts(long eof, long err, long connections, long requests, long requestBytes,
      long responses, long responseBytes) {}

  /** An MGET reply of {@code n} values "v". */
  private static String array(int n) {
    return "*" + n + "\r\n" + "$1\r\nv\r\n".repeat(n);
  }

  private static List<String> mcServers(String m1, ServerCounts m1Counts, String dead,
      ServerCounts deadCounts) {
    // Servers in twemproxy's order: name length, then bytes.
    List<String[]> named = new ArrayList<>(List.of(new String[] {m1, "m1"},
        new String[] {dead, "dead"}));
    named.sort(Comparator.comparing((String[] s) -> s[0].length()).thenComparing(s -> s[0]));
    List<String> out = new ArrayList<>();
    for (String[] s : named) {
      out.add(s[1].equals("m1") ? server(m1, m1Counts, 0) : server(dead, deadCounts, -1));
    }
    return out;
  }

  /** A server object; {@code ejectedAt} -1 stands for the time checked by normalize. */
  private static String server(String name, ServerCounts c, long ejectedAt) {
    long[] values = {c.eof(), c.err(), 0, c.connections(), ejectedAt, c.requests(),
        c.requestBytes(), c.responses(), c.responseBytes(), 0, 0, 0, 0};
    List<String> fields = new ArrayList<>();
    for (int i = 0; i < SERVER_FIELDS.size(); i++) {
      fields.add("\"" + SERVER_FIELDS.get(i) + "\":"
          + (values[i] == -1 ? "EJECTED_AT" : Long.toString(values[i])));
    }
    return "\"" + name + "\": {" + String.join(", ", fields) + "}";
  }

  private static String pool(String name, long eof, long err, long clients, long ejects,
      long forwardErrors, long fragments, List<String> servers) {
    long[] values = {eof, err, clients, ejects, forwardErrors, fragments};
    List<String> fields = new ArrayList<>();
    for (int i = 0; i < POOL_FIELDS.size(); i++) {
      fields.add("\"" + POOL_FIELDS.get(i) + "\":" + values[i]);
    }
    return "\"" + name + "\": {" + String.join(", ", fields) + ", " + String.join(",", servers)
        + "}";
  }

  private static String document(long total, long current, String... pools) throws Exception {
    return "{\"service\":\"nutcracker\", \"source\":\""
        + InetAddress.getLocalHost().getHostName() + "\", \"version\":\"0.5.0\", "
        + "\"uptime\":UPTIME, \"timestamp\":TIMESTAMP, \"total_connections\":" + total
        + ", \"curr_connections\":" + current + ", " + String.join(",", pools) + "}\n";
  }

  /** Replaces uptime, timestamp and the ejection time by placeholders once they are in range. */
  private static String normalize(String doc, long startMillis, long ejectedByMillis) {
    long now = System.currentTimeMillis();
    String out = replace(doc, "\"uptime\":(\\d+)", "\"uptime\":UPTIME", 0,
        (now - startMillis) / 1000 + 1);
    out = replace(out, "\"timestamp\":(\\d+)", "\"timestamp\":TIMESTAMP", startMillis / 1000,
        now / 1000);
    return replace(out, "\"server_ejected_at\":([1-9]\\d*)", "\"server_ejected_at\":EJECTED_AT",
        startMillis * 1000, ejectedByMillis * 1000);
  }

  private static String replace(String doc, String regex, String placeholder, long min,
      long max) {
    Matcher m = Pattern.compile(regex).matcher(doc);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      long value = Long.parseLong(m.group(1));
      m.appendReplacement(out, value >= min && value <= max ? placeholder
          : Matcher.quoteReplacement(m.group()));
    }
    m.appendTail(out);
    return out.toString();
  }

  private static void assertDocument(String expected, String actual, long start, long ejectedBy) {
    assertEquals(expected, normalize(actual, start, ejectedBy), "raw document: " + actual);
  }

  private static String stats(OpsFixture walnut) {
    try {
      return walnut.stats();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static int count(String text, String needle) {
    int n = 0;
    for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
      n++;
    }
    return n;
  }
}
