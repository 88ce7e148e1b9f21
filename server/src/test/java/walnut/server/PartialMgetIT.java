package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import walnut.core.config.PoolConfig;
import walnut.core.stats.PoolStat;
import walnut.testing.KeyPlacement;
import walnut.testing.KvDialect;
import walnut.testing.Poll;
import walnut.testing.RedisServer;

/**
 * {@code mget_partial_errors: true} (issue #21): an MGET split over three servers, one of which
 * fails, answers an array with the healthy servers' values (and nils) in place and an error
 * element in each of the failed server's slots, instead of one error for the whole request; in
 * RESP3 too; and the client connection goes on. A pool without the key answers one {@code -ERR},
 * as twemproxy. Exact bytes, through a raw client.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PartialMgetIT {

  private static final int TIMEOUT_MS = 500;
  /** On top of {@code timeout}: the timer's tick and an idle 2-core machine's scheduling. */
  private static final long SLACK_MS = 50;
  private static final int VICTIM = 1;
  private static final int PER_SERVER = 10;
  private static final String TIMED_OUT = "-ERR Connection timed out\r\n";
  private static final String HELLO3 = WireClient.resp("HELLO", "3");

  private static final List<RedisServer> backends = new ArrayList<>();
  private static ProxyFixture partial;
  private static ProxyFixture plain;
  /** The MGET's 30 keys, ten per server, interleaved; and the server of each. */
  private static List<String> keys;
  private static Map<String, Integer> placement;

  @BeforeAll
  static void start() throws Exception {
    backends.addAll(ProxyFixture.redisServers(3));
    PoolConfig.Builder pool = ProxyFixture.redisPool(backends).timeout(TIMEOUT_MS);
    partial = ProxyFixture.start(pool.mgetPartialErrors(true).build(), 2);
    plain = ProxyFixture.start(pool.mgetPartialErrors(false).build(), 2);
    List<String> candidates = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      candidates.add(i + ":pm");
    }
    placement = KeyPlacement.of(KvDialect.REDIS, address(partial), backends, candidates);
    List<String> chosen = new ArrayList<>();
    for (int s = 0; s < backends.size(); s++) {
      List<String> on = KeyPlacement.on(placement, candidates, s);
      assertTrue(on.size() >= PER_SERVER, "only " + on.size() + " candidate keys on server " + s);
      chosen.addAll(on.subList(0, PER_SERVER));
    }
    Collections.shuffle(chosen, new Random(21));
    keys = List.copyOf(chosen);
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (plain != null) {
        plain.close();
      }
    } finally {
      ProxyFixture.closeAll(partial, backends);
    }
  }

  /** Every server running and holding "v-<key>" for each key but the first of each server's. */
  @BeforeEach
  void fill() {
    for (RedisServer b : backends) {
      if (!b.isRunning()) {
        b.restart();
      }
    }
    for (int s = 0; s < backends.size(); s++) {
      boolean first = true;
      for (String key : keys) {
        if (placement.get(key) == s) {
          Object reply = first ? backends.get(s).command("DEL", key)
              : backends.get(s).command("SET", key, value(key));
          assertTrue(reply != null, "filling " + key);
          first = false;
        }
      }
    }
  }

  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void aStoppedServersKeysGetAnErrorInTheirSlotsAndTheOthersTheirValues(int resp)
      throws Exception {
    try (Socket client = connect(partial)) {
      hello(client, resp);
      backends.get(VICTIM).pause();
      try {
        long start = System.nanoTime();
        List<String> exists = new ArrayList<>(List.of("EXISTS"));
        exists.addAll(keys);
        List<String> stopped = keys.stream().filter(k -> placement.get(k) == VICTIM).toList();
        String reply = call(client, mget(keys) + WireClient.resp(exists.toArray(String[]::new))
            + mget(stopped) + WireClient.resp("PING"));
        long ms = Duration.ofNanos(System.nanoTime() - start).toMillis();
        assertEquals(expected(resp, k -> placement.get(k) == VICTIM ? TIMED_OUT : null), reply);
        assertTrue(ms <= TIMEOUT_MS + SLACK_MS, "answered after " + ms + " ms (timeout "
            + TIMEOUT_MS + " ms)");
        // A split command with no place per key still answers one error, as twemproxy.
        assertEquals(TIMED_OUT, read(client), "the EXISTS sent behind the MGET");
        // Nothing to answer in part when every fragment failed: one error, as twemproxy.
        assertEquals(TIMED_OUT, read(client), "an MGET of the stopped server's keys only");
        assertEquals("+PONG\r\n", read(client), "the PING sent behind them");
        // The connection goes on, on the healthy servers' keys.
        List<String> healthy = keys.stream().filter(k -> placement.get(k) != VICTIM).toList();
        assertEquals(expectedFor(resp, healthy, k -> null), call(client, mget(healthy)));
      } finally {
        backends.get(VICTIM).resume();
      }
      // And, the server continued, on all of them.
      Poll.until(Duration.ofSeconds(10), () -> callQuietly(client, mget(keys))
          .equals(expected(resp, k -> null)), "the whole MGET is answered once it is continued");
    }
  }

  /** twemproxy's answer, and the default: the whole MGET is one error. */
  @Test
  void aPoolWithoutTheKeyAnswersOneErrorForTheWholeMget() throws Exception {
    try (Socket client = connect(plain)) {
      backends.get(VICTIM).pause();
      try {
        long start = System.nanoTime();
        String reply = call(client, mget(keys) + WireClient.resp("PING"));
        long ms = Duration.ofNanos(System.nanoTime() - start).toMillis();
        assertEquals(TIMED_OUT, reply);
        assertTrue(ms <= TIMEOUT_MS + SLACK_MS, "answered after " + ms + " ms");
        assertEquals("+PONG\r\n", read(client));
      } finally {
        backends.get(VICTIM).resume();
      }
    }
  }

  /**
   * With {@code auto_eject_remap: false} the ejected server's slots say so at once: {@code -ERR
   * server '<its name in the stats>' is ejected: <cause>}.
   */
  @Test
  void anEjectedServersSlotsSayItIsEjected() throws Exception {
    PoolConfig pool = ProxyFixture.redisPool(backends).timeout(TIMEOUT_MS).mgetPartialErrors(true)
        .autoEjectHosts(true).autoEjectRemap(false).serverFailureLimit(1)
        .serverRetryTimeout(120_000).build();
    try (ProxyFixture proxy = ProxyFixture.start(pool, 2);
        Socket client = connect(proxy)) {
      // Its twemproxy name, as the stats print it: host:port for a server line with no name.
      String name = proxy.proxy.stats().pools().get(0).servers().stream()
          .map(server -> server.name())
          .filter(n -> n.equals("127.0.0.1:" + backends.get(VICTIM).port())).findFirst()
          .orElseThrow(() -> new AssertionError("no server named for the victim's port"));
      backends.get(VICTIM).kill();
      Poll.until(Duration.ofSeconds(10), () -> {
        callQuietly(client, mget(keys));
        return proxy.proxy.stats().pools().get(0).counters().get(PoolStat.SERVER_EJECTS) >= 1;
      }, "the killed server is ejected");
      long start = System.nanoTime();
      String reply = call(client, mget(keys));
      long ms = Duration.ofNanos(System.nanoTime() - start).toMillis();
      String prefix = "-ERR server '" + name + "' is ejected: ";
      int at = reply.indexOf(prefix);
      assertTrue(at > 0, "no 'is ejected' element in " + reply);
      String error = reply.substring(at, reply.indexOf("\r\n", at) + 2);
      assertTrue(FaultNoRemapIT.KILLED_CAUSES.contains(error.substring(prefix.length(),
          error.length() - 2)), error);
      assertEquals(expected(2, k -> placement.get(k) == VICTIM ? error : null), reply);
      assertTrue(ms <= SLACK_MS, "answered after " + ms + " ms: the slots of an ejected server"
          + " are answered at once");
      assertEquals("+PONG\r\n", call(client, WireClient.resp("PING")));
    }
  }

  private static String value(String key) {
    return "v-" + key;
  }

  /** The reply to MGET of every key, {@code error} giving each failed slot's bytes (or null). */
  private static String expected(int resp, Function<String, String> error) {
    return expectedFor(resp, keys, error);
  }

  private static String expectedFor(int resp, List<String> asked, Function<String, String> error) {
    StringBuilder b = new StringBuilder("*").append(asked.size()).append("\r\n");
    List<String> missing = new ArrayList<>();
    for (int s = 0; s < backends.size(); s++) {
      int server = s;
      keys.stream().filter(k -> placement.get(k) == server).findFirst().ifPresent(missing::add);
    }
    for (String key : asked) {
      String failed = error.apply(key);
      if (failed != null) {
        b.append(failed);
      } else if (missing.contains(key)) {
        b.append(resp == 3 ? "_\r\n" : "$-1\r\n");
      } else {
        b.append('$').append(value(key).length()).append("\r\n").append(value(key))
            .append("\r\n");
      }
    }
    return b.toString();
  }

  private static String mget(List<String> keys) {
    List<String> args = new ArrayList<>();
    args.add("MGET");
    args.addAll(keys);
    return WireClient.resp(args.toArray(String[]::new));
  }

  private static InetSocketAddress address(ProxyFixture proxy) {
    return new InetSocketAddress("127.0.0.1", proxy.port());
  }

  private static Socket connect(ProxyFixture proxy) throws IOException {
    Socket socket = new Socket();
    socket.connect(address(proxy), 5_000);
    socket.setSoTimeout(10_000);
    socket.setTcpNoDelay(true);
    return socket;
  }

  private static void hello(Socket client, int resp) throws IOException {
    if (resp == 3) {
      String reply = call(client, HELLO3);
      assertTrue(reply.startsWith("%"), "HELLO 3 answered " + reply);
    }
  }

  /** Sends {@code request} and returns the bytes of the first reply. */
  private static String call(Socket client, String request) throws IOException {
    OutputStream out = client.getOutputStream();
    out.write(request.getBytes(StandardCharsets.UTF_8));
    out.flush();
    return read(client);
  }

  private static String callQuietly(Socket client, String request) {
    try {
      return call(client, request);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /**
   * The raw bytes of one RESP2 or RESP3 reply, read unbuffered so that the next reply's bytes
   * stay in the socket for the next read.
   */
  private static String read(Socket client) throws IOException {
    ByteArrayOutputStream raw = new ByteArrayOutputStream();
    readInto(client.getInputStream(), raw);
    return raw.toString(StandardCharsets.UTF_8);
  }

  private static void readInto(InputStream in, ByteArrayOutputStream raw) throws IOException {
    int type = in.read();
    if (type < 0) {
      throw new EOFException("connection closed; read so far: " + raw);
    }
    raw.write(type);
    StringBuilder line = new StringBuilder();
    for (int prev = -1, c; ; prev = c) {
      c = in.read();
      if (c < 0) {
        throw new EOFException("connection closed inside a line: " + raw);
      }
      raw.write(c);
      if (prev == '\r' && c == '\n') {
        line.setLength(line.length() - 1);
        break;
      }
      line.append((char) c);
    }
    switch (type) {
      case '$', '!', '=' -> {
        int n = Integer.parseInt(line.toString());
        if (n >= 0) {
          raw.write(in.readNBytes(n + 2));
        }
      }
      case '*', '~', '>', '%' -> {
        int n = Integer.parseInt(line.toString()) * (type == '%' ? 2 : 1);
        for (int i = 0; i < n; i++) {
          readInto(in, raw);
        }
      }
      default -> {
        // a line: + - : _ # , (
      }
    }
  }
}
