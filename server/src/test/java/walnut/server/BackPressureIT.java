package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import walnut.core.proxy.EngineOptions;
import walnut.core.stats.ServerStat;
import walnut.testing.Poll;
import walnut.testing.RedisServer;

/**
 * Memory per client stays bounded when a backend stalls or a client stops reading its replies:
 * Walnut stops reading from the clients concerned, and resumes once things drain, with every
 * reply delivered in order.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class BackPressureIT {

  private static final int VALUE = 1 << 20;
  private static final long LIMIT = 4L << 20;

  /**
   * The client-side limits under test. A long reply may hold its server for 2 minutes: these
   * tests are about reading requests, and the only client on the connection is the one being
   * held (SlowReaderIT covers what a hold may cost others; with the default 1 s, the held client
   * here would lose its hold and be closed for its budget, depending on timing).
   */
  private static EngineOptions options(int maxPendingReplies) {
    return new EngineOptions(1, maxPendingReplies, LIMIT, Duration.ofSeconds(5))
        .withSlowReaderLimit(Duration.ofMinutes(2));
  }

  @Test
  void aStalledBackendStopsReadingFromItsClientsAndNothingPilesUp() throws Exception {
    int requests = 200; // 200 MiB: far more than the kernel buffers between client and backend
    try (RedisServer backend = RedisServer.start();
        ProxyFixture walnut = ProxyFixture.start(
            ProxyFixture.redisPool(List.of(backend)).build(),
            options(EngineOptions.DEFAULT_MAX_PENDING_PER_CLIENT));
        Socket client = connect(walnut.port())) {
      backend.pause(); // SIGSTOP
      AtomicLong sent = new AtomicLong();
      AtomicLong lastProgress = new AtomicLong(System.nanoTime());
      Thread writer = new Thread(() -> writeSets(client, requests, sent, lastProgress));
      writer.start();
      try {
        Poll.until(Duration.ofSeconds(60),
            () -> System.nanoTime() - lastProgress.get() > Duration.ofSeconds(1).toNanos(),
            "the client's writes block: Walnut stopped reading from it");
        long held = walnut.serverStat(ServerStat.IN_QUEUE_BYTES)
            + walnut.serverStat(ServerStat.OUT_QUEUE_BYTES);
        assertTrue(sent.get() < requests, "blocked after " + sent.get() + " of " + requests);
        // The limit, plus the request that crossed it, plus what one read brings in.
        assertTrue(held <= LIMIT + 3L * VALUE, "request bytes held in the proxy: " + held);
      } finally {
        backend.resume(); // SIGCONT
      }
      writer.join(60_000);
      assertEquals(requests, sent.get(), "every request written once the backend drains");
      byte[] ok = "+OK\r\n".repeat(requests).getBytes(StandardCharsets.US_ASCII);
      assertTrue(Arrays.equals(ok, readExactly(client.getInputStream(), ok.length)));
      assertEquals(VALUE + "", backend.command("STRLEN", "bp:" + (requests - 1)) + "");
    }
  }

  @Test
  void aClientThatDoesNotReadItsRepliesIsNotReadEither() throws Exception {
    int requests = 400; // 400 MiB of replies if Walnut forwarded every request at once
    int owedLimit = 32;
    try (RedisServer backend = RedisServer.start();
        ProxyFixture walnut = ProxyFixture.start(
            ProxyFixture.redisPool(List.of(backend)).build(), options(owedLimit));
        Socket client = connect(walnut.port())) {
      client.setReceiveBufferSize(64 << 10);
      assertEquals("OK", backend.command("SET", "big", "x".repeat(VALUE)));
      byte[] get = "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n".getBytes(StandardCharsets.US_ASCII);
      AtomicLong sent = new AtomicLong();
      AtomicLong lastProgress = new AtomicLong(System.nanoTime());
      Thread writer = new Thread(() -> {
        try {
          OutputStream out = client.getOutputStream();
          for (int i = 0; i < requests; i++) {
            out.write(get);
            sent.incrementAndGet();
            lastProgress.set(System.nanoTime());
          }
          out.flush();
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      writer.start();
      writer.join(60_000); // 400 GETs are 11 KB: the kernel takes them all
      // The first reply streams to the client until its socket is full; then Walnut stops
      // reading that reply from the server, so no later reply completes, and the client owes
      // replies up to the limit: Walnut stops reading its requests.
      Poll.until(Duration.ofSeconds(60),
          () -> walnut.serverStat(ServerStat.REQUESTS) >= owedLimit,
          "the client owes as many replies as it may");
      long forwarded = walnut.serverStat(ServerStat.REQUESTS);
      assertTrue(forwarded <= owedLimit + 16, "requests forwarded: " + forwarded);
      assertTrue(walnut.serverStat(ServerStat.RESPONSES) < forwarded,
          "replies held back from a client that does not read");
      InputStream in = new BufferedInputStream(client.getInputStream(), 1 << 16);
      byte[] header = ("$" + VALUE + "\r\n").getBytes(StandardCharsets.US_ASCII);
      for (int i = 0; i < requests; i++) {
        assertTrue(Arrays.equals(header, readExactly(in, header.length)), "reply " + i);
        byte[] body = readExactly(in, VALUE + 2);
        assertEquals('x', body[0]);
        assertEquals('\n', body[VALUE + 1]);
      }
      assertEquals(requests, sent.get());
      assertEquals(requests, walnut.serverStat(ServerStat.REQUESTS));
    }
  }

  private static void writeSets(Socket client, int requests, AtomicLong sent,
      AtomicLong lastProgress) {
    try {
      OutputStream out = client.getOutputStream();
      byte[] value = new byte[VALUE];
      Arrays.fill(value, (byte) 'v');
      for (int i = 0; i < requests; i++) {
        String key = "bp:" + i;
        out.write(("*3\r\n$3\r\nSET\r\n$" + key.length() + "\r\n" + key + "\r\n$" + VALUE + "\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        out.write(value);
        out.write('\r');
        out.write('\n');
        sent.incrementAndGet();
        lastProgress.set(System.nanoTime());
      }
      out.flush();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static Socket connect(int port) throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    socket.setSoTimeout(60_000);
    return socket;
  }

  private static byte[] readExactly(InputStream in, int n) throws IOException {
    byte[] data = in.readNBytes(n);
    assertEquals(n, data.length, "bytes before the connection closed");
    return data;
  }
}
