package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.server.PinnedRig.NAMES;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.SingleTransport;

/**
 * Blocking commands through Walnut (issue #24), in RESP2 and RESP3, against three redis-servers:
 * each runs on a private connection to the one server of its keys, so it stalls no other client;
 * the pool's {@code timeout} (400 ms here) does not cut a block shorter than the command's own;
 * a client's later requests wait for its block's reply, in order; keys on several servers are
 * refused; past {@code max_pinned_connections} a block is refused at once, nothing else affected.
 * Replies are compared byte for byte with a fourth redis-server holding the same data.
 */
@SingleTransport
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class BlockingIT {

  private static PinnedRig rig;
  private static RedisServer direct;
  private static int serial;

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    rig = PinnedRig.start(Map.of("alpha", -1, "tight", 2), 2, dir);
    direct = RedisServer.start();
  }

  @AfterAll
  static void stop() {
    try {
      if (rig != null) {
        rig.close();
      }
    } finally {
      if (direct != null) {
        direct.close();
      }
    }
  }

  @AfterEach
  void nothingStaysPinned() {
    rig.awaitNonePinned("alpha", Duration.ofSeconds(10));
    rig.awaitNonePinned("tight", Duration.ofSeconds(10));
  }

  /**
   * A blocking command over keys named by {@code k} ({@code k.apply("l")} is key {@code l} of
   * the test's server), the set-up that gives it something to pop at once, and the write that
   * wakes it when it waits.
   */
  record Blocking(String name, Function<Function<String, String>, List<String>> command,
      Function<Function<String, String>, List<List<String>>> data,
      Function<Function<String, String>, List<String>> wake) {
    @Override
    public String toString() {
      return name;
    }
  }

  static List<Blocking> blocking() {
    return List.of(
        new Blocking("BLPOP", k -> List.of("BLPOP", k.apply("l"), k.apply("l2"), "5"),
            k -> List.of(List.of("RPUSH", k.apply("l2"), "a", "b")),
            k -> List.of("RPUSH", k.apply("l"), "woken")),
        new Blocking("BRPOP", k -> List.of("BRPOP", k.apply("l"), "5"),
            k -> List.of(List.of("RPUSH", k.apply("l"), "a", "b")),
            k -> List.of("LPUSH", k.apply("l"), "woken")),
        new Blocking("BLMOVE", k -> List.of("BLMOVE", k.apply("l"), k.apply("d"), "LEFT",
            "RIGHT", "5"),
            k -> List.of(List.of("RPUSH", k.apply("l"), "a", "b")),
            k -> List.of("RPUSH", k.apply("l"), "woken")),
        new Blocking("BRPOPLPUSH", k -> List.of("BRPOPLPUSH", k.apply("l"), k.apply("d"), "5"),
            k -> List.of(List.of("RPUSH", k.apply("l"), "a", "b")),
            k -> List.of("RPUSH", k.apply("l"), "woken")),
        new Blocking("BLMPOP", k -> List.of("BLMPOP", "5", "2", k.apply("l"), k.apply("l2"),
            "LEFT", "COUNT", "2"),
            k -> List.of(List.of("RPUSH", k.apply("l2"), "a", "b", "c")),
            k -> List.of("RPUSH", k.apply("l2"), "woken")),
        new Blocking("BZPOPMIN", k -> List.of("BZPOPMIN", k.apply("z"), "5"),
            k -> List.of(List.of("ZADD", k.apply("z"), "1", "a", "2", "b")),
            k -> List.of("ZADD", k.apply("z"), "3", "woken")),
        new Blocking("BZPOPMAX", k -> List.of("BZPOPMAX", k.apply("z"), k.apply("z2"), "5"),
            k -> List.of(List.of("ZADD", k.apply("z2"), "1", "a", "2", "b")),
            k -> List.of("ZADD", k.apply("z"), "3", "woken")),
        new Blocking("BZMPOP", k -> List.of("BZMPOP", "5", "1", k.apply("z"), "MIN", "COUNT",
            "5"),
            k -> List.of(List.of("ZADD", k.apply("z"), "1", "a", "2", "b")),
            k -> List.of("ZADD", k.apply("z"), "3", "woken")),
        new Blocking("XREAD", k -> List.of("XREAD", "COUNT", "5", "BLOCK", "5000", "STREAMS",
            k.apply("s"), k.apply("s2"), "0-0", "0-0"),
            k -> List.of(List.of("XADD", k.apply("s2"), "1-1", "f", "v")),
            k -> List.of("XADD", k.apply("s"), "2-1", "f", "woken")),
        new Blocking("XREADGROUP", k -> List.of("XREADGROUP", "GROUP", "g", "c", "COUNT", "5",
            "BLOCK", "5000", "STREAMS", k.apply("s"), ">"),
            k -> List.of(List.of("XGROUP", "CREATE", k.apply("s"), "g", "$", "MKSTREAM"),
                List.of("XADD", k.apply("s"), "1-1", "f", "v")),
            k -> List.of("XADD", k.apply("s"), "2-1", "f", "woken")));
  }

  static Stream<Arguments> blockingInBothProtocols() {
    return Stream.of(2, 3).flatMap(p -> blocking().stream().map(b -> Arguments.of(p, b)));
  }

  private static String call(RedisServer server, int protocol, List<String> command)
      throws IOException {
    try (WireClient w = WireClient.open(server.port(), protocol)) {
      return w.call(command.toArray(new String[0])).raw();
    }
  }

  /** With data present it answers at once what Redis answers. */
  @ParameterizedTest(name = "RESP{0} {1}")
  @MethodSource("blockingInBothProtocols")
  void withDataItAnswersAsRedisDoes(int protocol, Blocking b) throws Exception {
    int s = serial % 3;
    String prefix = "d" + (++serial) + ":";
    Function<String, String> here = name -> rig.key(s, prefix + name);
    String expected;
    // the same keys on one plain server
    try (WireClient d = WireClient.open(direct.port(), protocol)) {
      for (List<String> set : b.data().apply(here)) {
        // The set-up straight to the server holding the keys (XGROUP is not proxied).
        assertTrue(!(rig.direct(s, set.toArray(new String[0])) instanceof RedisServer.ErrorReply),
            set::toString);
        d.call(set.toArray(new String[0]));
      }
      expected = d.call(b.command().apply(here).toArray(new String[0])).raw();
    }
    try (WireClient c = WireClient.open(rig.port(), protocol)) {
      long start = System.nanoTime();
      assertEquals(expected, c.call(b.command().apply(here).toArray(new String[0])).raw());
      assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(3), "answered at once");
      c.expect("+PONG\r\n", "PING");
    }
  }

  /** Waiting, it is woken by another client's write through Walnut. */
  @ParameterizedTest(name = "RESP{0} {1}")
  @MethodSource("blockingInBothProtocols")
  void itIsWokenByAnotherClientsWrite(int protocol, Blocking b) throws Exception {
    int s = serial % 3;
    String prefix = "w" + (++serial) + ":";
    Function<String, String> here = name -> rig.key(s, prefix + name);
    if (b.name().equals("XREADGROUP")) {
      rig.direct(s, "XGROUP", "CREATE", here.apply("s"), "g", "$", "MKSTREAM");
    }
    try (WireClient c = WireClient.open(rig.port(), protocol);
        WireClient writer = WireClient.open(rig.port(), 2)) {
      c.send(b.command().apply(here).toArray(new String[0]));
      c.flush();
      // The block has reached the server when the server counts a blocked client.
      Poll.until(Duration.ofSeconds(5), () -> blockedClients(s) > 0,
          b.name() + " blocked on server " + NAMES.get(s));
      long start = System.nanoTime();
      String wrote = writer.call(b.wake().apply(here).toArray(new String[0])).raw();
      assertTrue(!wrote.startsWith("-"), wrote);
      String got = c.read().raw();
      assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(3), "woken at once");
      assertTrue(got.contains("woken"), b.name() + " got " + got);
      assertTrue(!got.startsWith("-") && !got.equals("*-1\r\n") && !got.equals("_\r\n"), got);
      c.expect("+PONG\r\n", "PING");
    }
  }

  private static long blockedClients(int s) {
    String info = (String) rig.direct(s, "INFO", "clients");
    for (String line : info.split("\r\n")) {
      if (line.startsWith("blocked_clients:")) {
        return Long.parseLong(line.substring("blocked_clients:".length()).trim());
      }
    }
    return 0;
  }

  /** Keys on several servers: refused at once, the connection goes on. */
  @ParameterizedTest(name = "RESP{0} {1}")
  @MethodSource("blockingInBothProtocols")
  void keysOnSeveralServersAreRefused(int protocol, Blocking b) throws Exception {
    String prefix = "x" + (++serial) + ":";
    // Every second key name on another server: each command here names two keys or more ...
    int[] turn = {0};
    Function<String, String> spread = name -> rig.key(turn[0]++ % 2, prefix + name);
    List<String> command = b.command().apply(spread);
    if (turn[0] < 2) {
      return; // ... but for those with one key, which cannot spread.
    }
    try (WireClient c = WireClient.open(rig.port(), protocol)) {
      long start = System.nanoTime();
      c.expect(PinnedRig.CROSS_KEYS, command.toArray(new String[0]));
      assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(2), "refused at once");
      c.expect("+PONG\r\n", "PING");
    }
  }

  /**
   * {@code BLPOP k 2} in a pool with {@code timeout: 400} answers nil after its own 2 s, while a
   * hundred other clients' GETs go on as before it.
   */
  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void aBlockLongerThanThePoolTimeoutRunsItsCourseWhileOthersAreServed(int protocol)
      throws Exception {
    String list = rig.key(0, "empty:" + (++serial));
    List<String> getKeys = new ArrayList<>();
    for (int s = 0; s < 3; s++) {
      String key = rig.key(s, "g:" + serial);
      rig.direct(s, "SET", key, "v");
      getKeys.add(key);
    }
    int clients = 100;
    AtomicInteger phase = new AtomicInteger(); // 0 before, 1 during the block, 2 after
    List<ConcurrentLinkedQueue<Long>> latencies = List.of(new ConcurrentLinkedQueue<>(),
        new ConcurrentLinkedQueue<>(), new ConcurrentLinkedQueue<>());
    AtomicReference<Throwable> failure = new AtomicReference<>();
    AtomicBoolean stop = new AtomicBoolean();
    CountDownLatch connected = new CountDownLatch(clients);
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    List<CompletableFuture<Void>> loops = new ArrayList<>();
    try {
      for (int i = 0; i < clients; i++) {
        String key = getKeys.get(i % 3);
        loops.add(CompletableFuture.runAsync(() -> {
          try (WireClient w = WireClient.open(rig.port(), 2)) {
            connected.countDown();
            while (!stop.get()) {
              int at = phase.get();
              long t0 = System.nanoTime();
              String reply = w.call("GET", key).raw();
              long took = System.nanoTime() - t0;
              if (!reply.equals("$1\r\nv\r\n")) {
                throw new AssertionError("GET " + key + " answered " + reply);
              }
              latencies.get(at).add(took);
              Thread.sleep(5); // 100 clients, at most ~20,000 GETs/s: load, not a flood
            }
          } catch (Throwable e) {
            failure.compareAndSet(null, e);
          }
        }, pool));
      }
      assertTrue(connected.await(20, TimeUnit.SECONDS), "100 clients connected");
      // Warm-up (connections, JIT) is not "before": its samples are dropped.
      Poll.until(Duration.ofSeconds(10), () -> latencies.get(0).size() >= 2_000,
          "2,000 GETs of warm-up");
      latencies.get(0).clear();
      Poll.until(Duration.ofSeconds(10), () -> latencies.get(0).size() >= 2_000,
          "2,000 GETs before the block");
      try (WireClient blocked = WireClient.open(rig.port(), protocol)) {
        phase.set(1);
        long start = System.nanoTime();
        String reply = blocked.call("BLPOP", list, "2").raw();
        long took = System.nanoTime() - start;
        phase.set(2);
        assertEquals(PinnedRig.nilArray(protocol), reply);
        assertTrue(took >= TimeUnit.MILLISECONDS.toNanos(1_900),
            "BLPOP k 2 answered after " + took / 1_000_000 + " ms: cut short");
        assertTrue(took < TimeUnit.SECONDS.toNanos(5),
            "BLPOP k 2 answered after " + took / 1_000_000 + " ms");
        blocked.expect("+PONG\r\n", "PING");
      }
      stop.set(true);
      CompletableFuture.allOf(loops.toArray(new CompletableFuture[0])).get(20, TimeUnit.SECONDS);
      assertEquals(null, failure.get(), () -> "a GET failed: " + failure.get());
      long p99Before = p99(latencies.get(0));
      long p99During = p99(latencies.get(1));
      System.out.printf("BLPOP 2 s, RESP%d: GET p99 before %.2f ms (%d GETs), during %.2f ms"
          + " (%d GETs)%n", protocol, p99Before / 1e6, latencies.get(0).size(),
          p99During / 1e6, latencies.get(1).size());
      assertTrue(latencies.get(1).size() >= 1_000, "GETs went on during the block: "
          + latencies.get(1).size());
      // Not a ratio (a loaded 2-core machine moves it): no GET waits anything near the block.
      assertTrue(p99During < TimeUnit.MILLISECONDS.toNanos(200),
          "GET p99 during the block " + p99During / 1e6 + " ms (before: " + p99Before / 1e6
              + " ms)");
    } finally {
      stop.set(true);
      pool.shutdownNow();
      assertTrue(pool.awaitTermination(20, TimeUnit.SECONDS));
    }
  }

  private static long p99(ConcurrentLinkedQueue<Long> samples) {
    List<Long> sorted = new ArrayList<>(samples);
    Collections.sort(sorted);
    return sorted.isEmpty() ? 0 : sorted.get((int) Math.floor(sorted.size() * 0.99));
  }

  /**
   * Every blocking command, with its own timeout of 1 s in a pool with {@code timeout: 400} and
   * nothing to pop: each answers what a plain redis-server answers, after its 1 s, not the
   * pool's 400 ms. All at once, each on its own client (and private connection).
   */
  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void everyBlockingCommandRunsItsOwnTimeoutNotThePools(int protocol) throws Exception {
    List<CompletableFuture<String>> runs = new ArrayList<>();
    ExecutorService pool = Executors.newCachedThreadPool();
    try {
      for (Blocking b : blocking()) {
        int s = serial % 3;
        String prefix = "t" + (++serial) + ":";
        Function<String, String> here = name -> rig.key(s, prefix + name);
        List<String> command = b.command().apply(here).stream()
            .map(a -> a.equals("5") ? "1" : a.equals("5000") ? "1000" : a).toList();
        if (b.name().equals("XREADGROUP")) {
          rig.direct(s, "XGROUP", "CREATE", here.apply("s"), "g", "$", "MKSTREAM");
          direct.command("XGROUP", "CREATE", here.apply("s"), "g", "$", "MKSTREAM");
        }
        for (int port : new int[] {direct.port(), rig.port()}) {
          runs.add(CompletableFuture.supplyAsync(() -> {
            try (WireClient c = WireClient.open(port, protocol)) {
              long start = System.nanoTime();
              String reply = c.call(command.toArray(new String[0])).raw();
              long ms = (System.nanoTime() - start) / 1_000_000;
              return b.name() + (ms >= 950 && ms < 4_000 ? " after its 1 s: " : " after " + ms
                  + " ms: ") + reply;
            } catch (IOException e) {
              return b.name() + ": " + e;
            }
          }, pool));
        }
      }
      for (int i = 0; i < runs.size(); i += 2) {
        String fromRedis = runs.get(i).get(20, TimeUnit.SECONDS);
        assertTrue(fromRedis.contains(" after its 1 s: "), fromRedis);
        assertEquals(fromRedis, runs.get(i + 1).get(20, TimeUnit.SECONDS));
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** A client's requests after its BLPOP wait for the BLPOP's reply: replies stay in order. */
  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void requestsPipelinedAfterABlockAreAnsweredAfterIt(int protocol) throws Exception {
    String list = rig.key(1, "order:" + (++serial));
    String other = rig.key(2, "order-other:" + serial);
    rig.direct(2, "SET", other, "x");
    try (WireClient c = WireClient.open(rig.port(), protocol)) {
      long start = System.nanoTime();
      c.send("BLPOP", list, "1");
      c.send("PING");
      c.send("GET", other);
      c.flush();
      assertEquals(PinnedRig.nilArray(protocol), c.read().raw());
      long blpop = System.nanoTime() - start;
      assertEquals("+PONG\r\n", c.read().raw());
      long ping = System.nanoTime() - start;
      assertEquals("$1\r\nx\r\n", c.read().raw());
      assertTrue(blpop >= TimeUnit.MILLISECONDS.toNanos(900), "BLPOP after " + blpop / 1e6);
      assertTrue(ping >= TimeUnit.MILLISECONDS.toNanos(900), "PING after " + ping / 1e6);
      assertTrue(ping < TimeUnit.SECONDS.toNanos(4), "PING after " + ping / 1e6);
    }
  }

  /**
   * With {@code max_pinned_connections: 2}, a third block on the same server is refused at once
   * with the reason, counted in {@code pinned_refused}; other clients and other servers go on.
   */
  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void pastTheBoundABlockIsRefusedAtOnceAndNothingElseIsAffected(int protocol) throws Exception {
    String list = rig.key(1, "bound:" + (++serial));
    String plain = rig.key(1, "bound-plain:" + serial);
    String elsewhere = rig.key(0, "bound-else:" + serial);
    long refusedBefore = rig.stat("tight", NAMES.get(1), "pinned_refused");
    try (WireClient first = WireClient.open(rig.port("tight"), protocol);
        WireClient second = WireClient.open(rig.port("tight"), protocol);
        WireClient third = WireClient.open(rig.port("tight"), protocol);
        WireClient bystander = WireClient.open(rig.port("tight"), protocol)) {
      first.send("BLPOP", list, "10");
      first.flush();
      second.send("BRPOP", list, "10");
      second.flush();
      Poll.until(Duration.ofSeconds(5), () -> blockedClients(1) >= 2, "two blocks on B");
      assertEquals(2, rig.stat("tight", NAMES.get(1), "pinned_connections"));
      long start = System.nanoTime();
      third.expect("-ERR no private connection to server '" + NAMES.get(1)
          + "' is free (max_pinned_connections 2)\r\n", "BLPOP", list, "10");
      assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(1), "refused at once");
      assertEquals(refusedBefore + 1, rig.stat("tight", NAMES.get(1), "pinned_refused"));
      // A transaction on that server is refused too; one on another server is not.
      third.expect("+OK\r\n", "MULTI");
      third.expect("-ERR no private connection to server '" + NAMES.get(1)
          + "' is free (max_pinned_connections 2)\r\n", "SET", plain, "t");
      third.expect(PinnedRig.EXECABORT, "EXEC");
      third.expect("+OK\r\n", "MULTI");
      third.expect("+QUEUED\r\n", "SET", elsewhere, "t");
      third.expect("*1\r\n+OK\r\n", "EXEC");
      // Everyone else's GET and SET, on the blocked server too.
      for (int i = 0; i < 50; i++) {
        bystander.expect("+OK\r\n", "SET", plain, "v" + i);
        bystander.expect("$" + ("v" + i).length() + "\r\nv" + i + "\r\n", "GET", plain);
        third.expect("+OK\r\n", "SET", plain, "w" + i);
      }
      bystander.expect(":1\r\n", "RPUSH", list, "one");
      bystander.expect(":1\r\n", "RPUSH", list, "two");
      String one = first.read().raw();
      String two = second.read().raw();
      assertTrue(one.contains("one") || one.contains("two"), one);
      assertTrue(two.contains("one") || two.contains("two"), two);
      first.expect("+PONG\r\n", "PING");
    }
    assertEquals("t", rig.direct(0, "GET", elsewhere));
    assertEquals("w49", rig.direct(1, "GET", plain));
    // Given back: a block there is served again.
    rig.awaitNonePinned("tight", Duration.ofSeconds(10));
    try (WireClient again = WireClient.open(rig.port("tight"), protocol)) {
      again.expect(PinnedRig.nilArray(protocol), "BLPOP", list, "0.1");
    }
  }
}
