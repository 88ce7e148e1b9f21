package walnut.server;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import walnut.testing.KvDialect;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.ServerTls;
import walnut.testing.SingleTransport;
import walnut.testing.TestPki;
import walnut.testing.TlsSockets;

/**
 * The fourth invariant against a TLS handshake flood (issue 23, what the attack review found):
 * with the JDK engine, a few hundred clients per handshake thread that each send a real
 * ClientHello and then neither read nor go on queue their delegated tasks (the server's
 * signature) on Walnut's handshake executor. Walnut's own handshakes with its servers must not
 * wait behind them. Every server closes Walnut's connection ({@code CLIENT KILL TYPE normal}: one
 * failure each), the flood comes, and a steady TLS client's next MGET over every server has Walnut
 * handshake with each again: within the pool's {@code timeout: 400}, so no server is ejected
 * ({@code auto_eject_hosts}, {@code server_failure_limit: 2}), the client gets no error and the
 * servers' connections are back. Before the fix those handshakes' tasks queued behind the
 * flood's, timed out (the second failure) and every server was ejected. The OpenSSL engine never
 * showed this; the JDK engine is the one tested.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
@SingleTransport
class TlsFloodIT {

  /**
   * Half-open clients: 300 per thread of Walnut's handshake executor (half the cores). On two
   * cores (one thread) 100 already ejected every server before the fix, 50 did not: each costs
   * the executor some 5 ms of signing.
   */
  private static final int FLOOD =
      300 * Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
  private static final int SERVERS = 3;
  private static final long STEADY_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
  /** MGETs the steady client completes during the flood before the test looks. */
  private static final int AFTER_RESUME = 60;

  @TempDir
  Path tmp;

  @Test
  void aFloodOfHalfOpenTlsClientsNeitherDelaysNorEjectsWalnutsOwnServerHandshakes()
      throws Exception {
    TestPki pki = TlsRig.pki();
    ServerTls tls = ServerTls.serving(pki.server());
    List<AutoCloseable> processes = new CopyOnWriteArrayList<>();
    List<Socket> flood = new ArrayList<>();
    AtomicBoolean stop = new AtomicBoolean();
    Thread steady = null;
    try {
      List<Callable<RedisServer>> starts = new ArrayList<>();
      for (int i = 0; i < SERVERS; i++) {
        starts.add(() -> keep(processes, RedisServer.startTls(tls)));
      }
      List<RedisServer> backends = TlsRig.inParallel(starts);
      TlsRig.Pool pool = new TlsRig.Pool("flooded", true)
          .listenerTls(pki.server(), pki.server().key()).serverTls(pki)
          .key("timeout", 400).key("auto_eject_hosts", true).key("server_failure_limit", 2)
          .key("server_retry_timeout", 60_000).servers(backends);
      // The flood must stay half-open for the whole test: a long client handshake timeout.
      TlsRig.Walnut walnut = keep(processes, TlsRig.start(tmp.resolve("walnut"), TlsRig.yaml(pool),
          "--tls-provider", "jdk", "--tls-handshake-timeout", "60000"));

      // Keys over every server (the varying part first: fnv1a_64 spreads those), stored through
      // Walnut.
      KvDialect redis = KvDialect.REDIS;
      List<String> keys = IntStream.range(0, 30).mapToObj(i -> i + ":flood").toList();
      String[] keyArray = keys.toArray(String[]::new);
      List<String> values = keys.stream().map(k -> "v-" + k).toList();
      // One client connection for all: it is on one event loop, so Walnut has one connection to
      // each server (a second loop's would be a second close, and two closes eject).
      Jedis jedis = keep(processes, TlsRig.jedis(pool.port));
      for (int i = 0; i < keys.size(); i++) {
        assertEquals("OK", jedis.set(keys.get(i), values.get(i)));
      }
      for (RedisServer backend : backends) {
        assertFalse(redis.held(backend, keys).isEmpty(), "some keys on " + backend);
      }

      // The steady client: an MGET over every server each 20 ms, every failure remembered.
      List<String> errors = Collections.synchronizedList(new ArrayList<>());
      AtomicLong done = new AtomicLong();
      AtomicBoolean hold = new AtomicBoolean();
      AtomicBoolean held = new AtomicBoolean();
      long testStart = System.nanoTime();
      steady = new Thread(() -> {
        try {
          while (!stop.get()) {
            if (hold.get()) {
              held.set(true);
              LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
              continue;
            }
            held.set(false);
            long at = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - testStart);
            try {
              List<String> got = jedis.mget(keyArray);
              if (!values.equals(got)) {
                errors.add("at " + at + " ms: MGET returned " + got);
              }
            } catch (redis.clients.jedis.exceptions.JedisDataException e) {
              errors.add("at " + at + " ms: " + e.getMessage());
            }
            done.incrementAndGet();
            LockSupport.parkNanos(STEADY_PAUSE_NANOS); // the client's pace, not a wait
          }
        } catch (RuntimeException e) {
          errors.add("the steady client's connection failed: " + e);
        }
      }, "tls-flood-steady");
      steady.start();
      Poll.until(Duration.ofSeconds(10), () -> done.get() >= 10 || !errors.isEmpty(),
          "the steady client's first MGETs");
      assertEquals(List.of(), errors, "before the flood");

      for (int i = 0; i < SERVERS; i++) {
        assertEquals(1.0, walnut.metric("walnut_server_connections", "pool", "flooded",
            "server", "s" + i), "Walnut's one connection to s" + i);
      }

      // Every server closes Walnut's connection while the steady client waits between requests
      // (a request in flight would get the close's error: that is not what is tested). Each
      // close is one failure of its server; the failed handshake that follows would be the second.
      hold.set(true);
      Poll.until(Duration.ofSeconds(5), held::get, "the steady client between requests");
      for (RedisServer backend : backends) {
        backend.command("CLIENT", "KILL", "TYPE", "normal");
      }
      Poll.until(Duration.ofSeconds(5), () -> IntStream.range(0, SERVERS).allMatch(i ->
          walnut.metric("walnut_server_connections", "pool", "flooded", "server", "s" + i) == 0),
          "Walnut has seen every server close its connection");

      // The flood: one real ClientHello, written on FLOOD plain sockets that never read.
      byte[] hello = clientHello(pki, pool.port);
      long floodStart = System.nanoTime();
      for (int i = 0; i < FLOOD; i++) {
        Socket socket = new Socket();
        flood.add(socket);
        socket.connect(new InetSocketAddress(TlsRig.HOST, pool.port), 5_000);
        socket.getOutputStream().write(hello);
      }
      long floodMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - floodStart);

      // Now the steady client's next MGET has Walnut handshake with every server again, its
      // handshakes' tasks competing with the flood's.
      long resumedAt = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - testStart);
      long doneAtResume = done.get();
      hold.set(false);

      // The steady client goes on (its MGETs reconnect every server) and the servers are back;
      // an ejection ends the wait at once.
      boolean back = Poll.within(Duration.ofSeconds(10), () -> ejects(walnut) > 0
          || done.get() >= doneAtResume + AFTER_RESUME
          && backends.stream().allMatch(b -> connectedClients(b) >= 2));
      stop.set(true);
      steady.join(10_000);
      String context = " (flood of " + FLOOD + " written in " + floodMillis
          + " ms; steady client resumed at " + resumedAt + " ms; the pool's log:\n"
          + walnut.logOf("flooded") + ")";
      List<String> seen = List.copyOf(errors);
      assertAll(
          () -> assertEquals(0.0, ejects(walnut), "no server ejected" + context),
          () -> assertTrue(seen.isEmpty(), "the steady client got " + summary(seen) + context),
          () -> assertEquals(0.0, walnut.metric("walnut_tls_handshake_failures_total", "pool",
              "flooded", "side", "server", "reason", "timeout"),
              "no server handshake timed out" + context),
          () -> assertEquals(0.0, walnut.metric("walnut_tls_handshake_failures_total", "pool",
              "flooded", "side", "client", "reason", "timeout"),
              "the flood is still half-open: it was in the way the whole time"),
          () -> assertTrue(back, "Walnut reconnected every server and the steady client made "
              + AFTER_RESUME + " MGETs (it made " + (done.get() - doneAtResume) + ")" + context));
    } finally {
      stop.set(true);
      if (steady != null) {
        steady.join(10_000);
      }
      for (Socket s : flood) {
        try {
          s.close();
        } catch (IOException ignored) {
          // closing anyway
        }
      }
      TlsRig.closeAll(processes);
    }
  }

  private static double ejects(TlsRig.Walnut walnut) {
    return walnut.metric("walnut_pool_server_ejects_total", "pool", "flooded");
  }

  /** The first few errors and how many there were. */
  private static String summary(List<String> errors) {
    synchronized (errors) {
      return errors.size() + " errors" + (errors.isEmpty() ? ""
          : ", the first: " + errors.subList(0, Math.min(5, errors.size())));
    }
  }

  private static <T extends AutoCloseable> T keep(List<AutoCloseable> all, T process) {
    all.add(process);
    return process;
  }

  /** A JDK client's first flight for {@code 127.0.0.1:port}: a real TLS 1.3 ClientHello. */
  private static byte[] clientHello(TestPki pki, int port) throws SSLException {
    SSLEngine engine = TlsSockets.trusting(pki.ca().cert())
        .createSSLEngine(TlsRig.HOST, port);
    engine.setUseClientMode(true);
    ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
    engine.wrap(ByteBuffer.allocate(0), out);
    out.flip();
    byte[] hello = new byte[out.remaining()];
    out.get(hello);
    assertTrue(hello.length > 5 && hello[0] == 22, "a TLS handshake record");
    return hello;
  }

  /** {@code connected_clients} of {@code backend}: the asking connection and Walnut's. */
  private static int connectedClients(RedisServer backend) {
    Matcher m = Pattern.compile("connected_clients:(\\d+)")
        .matcher(String.valueOf(backend.command("INFO", "clients")));
    return m.find() ? Integer.parseInt(m.group(1)) : 0;
  }
}
