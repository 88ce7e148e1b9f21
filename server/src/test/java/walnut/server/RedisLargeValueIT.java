package walnut.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.Jedis;
import walnut.core.config.Endpoint;
import walnut.core.config.ServerConfig;
import walnut.core.proxy.EngineOptions;
import walnut.core.proxy.ProxyServer;
import walnut.core.stats.ServerStat;
import walnut.testing.ChaosRelay;
import walnut.testing.Poll;
import walnut.testing.RedisServer;

/**
 * Long values through Walnut: a 64 MiB value set and read back with Jedis, byte for byte; long
 * replies streamed to a slow reader while the proxy holds little of them; pipelined long replies
 * in order; a client that leaves, and a server that fails, in the middle of one.
 */
class RedisLargeValueIT {

  private static final int SIZE = 64 << 20;
  /** The 64 MiB value, stored straight into every backend under {@link #BIG}. */
  private static final byte[] VALUE = new byte[SIZE];
  private static final String BIG = "large:stored";

  private static final List<RedisServer> backends = new ArrayList<>();
  private static ProxyFixture walnut;

  @BeforeAll
  static void start() throws Exception {
    // Random bytes: CR, LF and '$' all occur inside the value, so framing by scanning would fail.
    new Random(64).nextBytes(VALUE);
    backends.addAll(ProxyFixture.redisServers(3));
    for (RedisServer backend : backends) {
      try (Jedis direct = jedis(backend.port())) {
        direct.set(BIG.getBytes(StandardCharsets.US_ASCII), VALUE);
      }
    }
    walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).build(), 2);
  }

  @AfterAll
  static void stop() throws Exception {
    ProxyFixture.closeAll(walnut, backends);
  }

  private static Jedis jedis(int port) {
    return new Jedis("127.0.0.1", port,
        DefaultJedisClientConfig.builder().socketTimeoutMillis(60_000).build());
  }

  @Test
  void aSixtyFourMebibyteValueIsSetAndReadBackUnchanged() {
    byte[] key = "large:64mib".getBytes(StandardCharsets.US_ASCII);
    try (Jedis jedis = jedis(walnut.port())) {
      assertEquals("OK", jedis.set(key, VALUE));
      assertEquals(SIZE, jedis.strlen(key));
      assertArrayEquals(VALUE, jedis.get(key));
      // A small command after it on the same connection is still in step.
      assertEquals("PONG", jedis.ping());
      assertEquals(1, jedis.del(key));
    }
  }

  @Test
  void aLongReplyIsStreamedToASlowReaderWithoutBeingHeldWhole() throws IOException {
    ByteBufAllocatorMetric memory =
        ((ByteBufAllocatorMetricProvider) ProxyServer.ALLOCATOR).metric();
    try (Socket client = connect(walnut.port())) {
      long before = memory.usedDirectMemory() + memory.usedHeapMemory();
      long[] most = {before};
      client.getOutputStream().write(command("GET", BIG));
      InputStream in = client.getInputStream();
      byte[] header = ("$" + SIZE + "\r\n").getBytes(StandardCharsets.US_ASCII);
      // 64 KiB at a time, with a pause after each: a reader slower than the server.
      expect(in, header, 0, header.length, () -> { });
      expect(in, VALUE, 0, SIZE, () -> {
        most[0] = Math.max(most[0], memory.usedDirectMemory() + memory.usedHeapMemory());
        LockSupport.parkNanos(50_000);
      });
      expect(in, "\r\n".getBytes(StandardCharsets.US_ASCII), 0, 2, () -> { });
      // Held whole, the reply grows the allocator by more than its size (74 MB measured); passed
      // on as it comes, by what the client's channel may hold before it stops being writable
      // (its 16 MiB high water mark) and the reads in flight.
      long grew = most[0] - before;
      System.out.println("RedisLargeValueIT: the allocator grew by " + grew + " bytes");
      assertTrue(grew < SIZE / 2, "the proxy's buffers grew by " + grew
          + " bytes while it passed on a " + SIZE + "-byte reply");
      assertPing(client);
    }
  }

  @Test
  void pipelinedLongRepliesFromDifferentServersKeepTheirOrder() throws IOException {
    // Keys on different servers, so the second long reply can arrive while the first streams.
    byte[] first = new byte[6 << 20];
    byte[] second = new byte[5 << 20];
    new Random(1).nextBytes(first);
    new Random(2).nextBytes(second);
    String a = "long:a";
    String b = keyOnAnotherServer(a);
    try (Jedis jedis = jedis(walnut.port())) {
      jedis.set(a.getBytes(StandardCharsets.US_ASCII), first);
      jedis.set(b.getBytes(StandardCharsets.US_ASCII), second);
      jedis.set("small", "s");
    }
    try (Socket client = connect(walnut.port())) {
      OutputStream out = client.getOutputStream();
      out.write(concat(command("GET", a), command("GET", "small"), command("GET", b),
          command("GET", a), command("PING")));
      InputStream in = client.getInputStream();
      for (byte[] value : List.of(first, "s".getBytes(StandardCharsets.US_ASCII), second, first)) {
        expectBulk(in, value);
      }
      byte[] pong = "+PONG\r\n".getBytes(StandardCharsets.US_ASCII);
      expect(in, pong, 0, pong.length, () -> { });
    }
  }

  @Test
  void aClientThatLeavesInTheMiddleOfALongReplyHarmsNoOne() throws IOException {
    for (int i = 0; i < 3; i++) {
      try (Socket leaver = connect(walnut.port())) {
        leaver.getOutputStream().write(concat(command("GET", BIG), command("GET", BIG)));
        InputStream in = leaver.getInputStream();
        byte[] header = ("$" + SIZE + "\r\n").getBytes(StandardCharsets.US_ASCII);
        expect(in, header, 0, header.length, () -> { });
        expect(in, VALUE, 0, 1 << 20, () -> { });
      } // closed with most of two long replies owed
    }
    try (Socket client = connect(walnut.port())) {
      client.getOutputStream().write(command("GET", BIG));
      expectBulk(client.getInputStream(), VALUE);
      assertPing(client);
    }
  }

  @Test
  void aClientThatStopsReadingALongReplyBeyondItsBudgetIsClosedSoThatTheRepliesBehindItFlow()
      throws Exception {
    // One loop, one connection to the server: the two clients share it. The stuck client may
    // hold it for 500 ms; then the rest of its 64 MiB reply is gathered, past its 16 MiB budget.
    try (ProxyFixture proxy = ProxyFixture.start(
        ProxyFixture.redisPool(List.of(backends.get(1))).build(),
        new EngineOptions(1, 16_384, 16 << 20, Duration.ofSeconds(5), 0,
            Duration.ofMillis(500)))) {
      try (Socket stuck = connect(proxy.port()); Socket next = connect(proxy.port())) {
        stuck.getOutputStream().write(command("GET", BIG));
        byte[] header = ("$" + SIZE + "\r\n").getBytes(StandardCharsets.US_ASCII);
        expect(stuck.getInputStream(), header, 0, header.length, () -> { });
        // ... and reads no more. The next client's reply queues behind the stuck one's.
        next.getOutputStream().write(concat(command("GET", BIG), command("PING")));
        expectBulk(next.getInputStream(), VALUE);
        assertPing(next);
        // The stuck client was closed, with part of its reply.
        InputStream in = stuck.getInputStream();
        long got = 0;
        byte[] buffer = new byte[1 << 16];
        try {
          for (int n; (n = in.read(buffer)) >= 0; ) {
            got += n;
          }
        } catch (IOException reset) {
          // closed with bytes unread on the proxy's side: a reset is as good as an end
        }
        assertTrue(got < SIZE, "the stuck client got the whole value");
      }
    }
  }

  /**
   * The rule, whatever the sockets' buffers hold: a slow reader holds the connection for at most
   * half the pool's timeout, then the rest of its reply is gathered for it (within its budget) and
   * the reply behind it flows, before the slow reader reads another byte; nothing times out.
   */
  @Test
  void aSlowReaderHoldsAConnectionForAtMostHalfTheTimeoutAndKeepsItsWholeReply() throws Exception {
    try (ProxyFixture proxy = ProxyFixture.start(
        ProxyFixture.redisPool(List.of(backends.get(2))).timeout(3_000).build(),
        new EngineOptions(1, 16_384, 256 << 20, Duration.ofSeconds(5), 0))) {
      try (Jedis jedis = jedis(proxy.port())) {
        jedis.set("behind", "b");
      }
      try (Socket slow = connect(proxy.port()); Socket behind = connect(proxy.port())) {
        slow.getOutputStream().write(command("GET", BIG));
        byte[] header = ("$" + SIZE + "\r\n").getBytes(StandardCharsets.US_ASCII);
        expect(slow.getInputStream(), header, 0, header.length, () -> { });
        long start = System.nanoTime();
        behind.getOutputStream().write(command("GET", "behind"));
        expectBulk(behind.getInputStream(), "b".getBytes(StandardCharsets.US_ASCII));
        long waited = (System.nanoTime() - start) / 1_000_000;
        System.out.println("RedisLargeValueIT: the reply behind the slow reader took " + waited
            + " ms");
        assertTrue(waited < 3_000, "the reply behind waited " + waited + " ms");
        expect(slow.getInputStream(), VALUE, 0, SIZE, () -> { });
        expect(slow.getInputStream(), "\r\n".getBytes(StandardCharsets.US_ASCII), 0, 2, () -> { });
        assertPing(slow);
        assertEquals(0, proxy.serverStat(ServerStat.SERVER_TIMEDOUT));
      }
    }
  }

  @Test
  void aServerThatFailsInTheMiddleOfALongReplyClosesThatClient() throws Exception {
    RedisServer backend = backends.get(0);
    try (ChaosRelay relay = ChaosRelay.start(backend.address());
        ProxyFixture proxy = ProxyFixture.start(ProxyFixture.redisPool(List.of())
            .servers(List.of(ServerConfig.of(Endpoint.tcp("127.0.0.1", relay.port()), 1)))
            .build(), 1)) {
      try (Socket client = connect(proxy.port())) {
        client.getOutputStream().write(concat(command("GET", BIG), command("PING")));
        InputStream in = client.getInputStream();
        byte[] header = ("$" + SIZE + "\r\n").getBytes(StandardCharsets.US_ASCII);
        expect(in, header, 0, header.length, () -> { });
        expect(in, VALUE, 0, 1 << 20, () -> { });
        relay.cutMidReply();
        // What still comes is the value's next bytes, and then the end: never an error reply
        // inside the value, never the PING's reply.
        int at = 1 << 20;
        byte[] buffer = new byte[1 << 16];
        for (int n; (n = in.read(buffer)) >= 0; at += n) {
          assertTrue(at + n <= SIZE, "more than the value's bytes arrived");
          for (int i = 0; i < n; i++) {
            if (buffer[i] != VALUE[at + i]) {
              throw new AssertionError("byte " + (at + i) + " of the value differs");
            }
          }
        }
        assertTrue(at < SIZE, "the whole value arrived although its server failed");
        assertEquals(1, relay.cuts());
      }
      try (Socket next = connect(proxy.port())) {
        // The proxy reconnects for the next client (if not ejected, which needs auto_eject_hosts).
        Poll.until(Duration.ofSeconds(10), () -> {
          try {
            next.getOutputStream().write(command("PING"));
            return readLine(next.getInputStream()).equals("+PONG");
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }, "a PING answered after the server failed mid-reply");
      }
    }
  }

  /** A key that Walnut places on another server than {@code key}'s. */
  private static String keyOnAnotherServer(String key) {
    int owner = owner(key);
    for (int i = 0; ; i++) {
      String other = i + ":other";
      if (owner(other) != owner) {
        return other;
      }
    }
  }

  private static int owner(String key) {
    try (Jedis jedis = jedis(walnut.port())) {
      jedis.set(key, "probe");
    }
    for (int i = 0; i < backends.size(); i++) {
      try (Jedis direct = jedis(backends.get(i).port())) {
        if (direct.exists(key)) {
          return i;
        }
      }
    }
    throw new AssertionError(key + " is on no backend");
  }

  private static Socket connect(int port) throws IOException {
    Socket socket = new Socket();
    socket.setReceiveBufferSize(64 * 1024);
    socket.setSoTimeout(60_000);
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    return socket;
  }

  private static void assertPing(Socket client) throws IOException {
    client.getOutputStream().write(command("PING"));
    assertEquals("+PONG", readLine(client.getInputStream()));
  }

  private static void expectBulk(InputStream in, byte[] value) throws IOException {
    byte[] header = ("$" + value.length + "\r\n").getBytes(StandardCharsets.US_ASCII);
    expect(in, header, 0, header.length, () -> { });
    expect(in, value, 0, value.length, () -> { });
    expect(in, "\r\n".getBytes(StandardCharsets.US_ASCII), 0, 2, () -> { });
  }

  /** Reads {@code length} bytes and checks them against {@code expected}, running {@code each}. */
  private static void expect(InputStream in, byte[] expected, int from, int length, Runnable each)
      throws IOException {
    byte[] buffer = new byte[1 << 16];
    for (int at = from; at < from + length; ) {
      int n = in.read(buffer, 0, Math.min(buffer.length, from + length - at));
      if (n < 0) {
        throw new AssertionError("the connection closed at byte " + at + " of " + length);
      }
      for (int i = 0; i < n; i++) {
        if (buffer[i] != expected[at + i]) {
          throw new AssertionError("byte " + (at + i) + " differs: " + buffer[i] + " instead of "
              + expected[at + i]);
        }
      }
      at += n;
      each.run();
    }
  }

  private static String readLine(InputStream in) throws IOException {
    StringBuilder line = new StringBuilder();
    for (int c; (c = in.read()) != '\n'; ) {
      if (c < 0) {
        throw new IOException("closed");
      }
      if (c != '\r') {
        line.append((char) c);
      }
    }
    return line.toString();
  }

  private static byte[] command(String... args) {
    StringBuilder b = new StringBuilder("*").append(args.length).append("\r\n");
    for (String arg : args) {
      b.append('$').append(arg.length()).append("\r\n").append(arg).append("\r\n");
    }
    return b.toString().getBytes(StandardCharsets.US_ASCII);
  }

  private static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] all = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, all, at, p.length);
      at += p.length;
    }
    return all;
  }
}
