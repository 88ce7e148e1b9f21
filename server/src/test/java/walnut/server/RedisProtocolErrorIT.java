package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.server.RedisCommandTableIT.bytes;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import walnut.core.stats.PoolStat;
import walnut.testing.Poll;
import walnut.testing.RedisServer;

/**
 * Hostile input through the real engine: absurd or broken lengths, binary garbage and requests
 * over the pool's {@code max_request_size} get {@code -ERR Protocol error: …} after the replies
 * owed for earlier requests, then the connection closes (as Redis does) and counts as a client
 * error; a client next to it is not affected.
 */
class RedisProtocolErrorIT {

  private static final int LIMIT = 1 << 20;

  private static final List<RedisServer> backends = new ArrayList<>();
  private static ProxyFixture walnut;

  @BeforeAll
  static void start() throws Exception {
    backends.addAll(ProxyFixture.redisServers(3));
    walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).maxRequestSize(LIMIT).build(),
        2);
  }

  @AfterAll
  static void stop() throws Exception {
    ProxyFixture.closeAll(walnut, backends);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
      "*2147483647\\r\\n | invalid multibulk length",
      "*-1\\r\\n | invalid multibulk length",
      "*1x\\r\\n | invalid multibulk length",
      "*2\\r\\n$3\\r\\nGET\\r\\n$2147483647\\r\\n | invalid bulk length",
      "*2\\r\\n$3\\r\\nGET\\r\\n$-5\\r\\n | invalid bulk length",
      "*2\\r\\n$3\\r\\nGET\\r\\n$1048577\\r\\n | invalid bulk length",
      "*2\\r\\n$3\\r\\nGET\\r\\n$1\\r\\nab\\r\\n | bulk string not terminated by CRLF",
      "*2\\r\\n$3\\r\\nGET\\r\\n:1\\r\\n | expected '$', got ':'",
      "*\\u0000\\u00ff\\u0001\\u0080 | invalid multibulk length",
  })
  void brokenFramingIsAnsweredAfterEarlierRepliesThenClosed(String input, String message)
      throws Exception {
    long clientErrors = counter(PoolStat.CLIENT_ERR);
    try (WireClient client = WireClient.openResp2(walnut.port());
        WireClient neighbour = WireClient.openResp2(walnut.port())) {
      assertEquals("+OK\r\n", neighbour.call("SET", "neighbour", "n").raw());
      client.send(List.of(bytes("SET"), bytes("before"), bytes("b")));
      client.send(List.of(bytes("GET"), bytes("before")));
      client.sendRaw(unescape(input));
      client.flush();
      assertEquals("+OK\r\n", client.read().raw());
      assertEquals("$1\r\nb\r\n", client.read().raw());
      assertEquals("-ERR Protocol error: " + message + "\r\n", client.read().raw());
      assertTrue(client.closedByPeer(), "the connection closes after the protocol error");
      assertEquals("$1\r\nn\r\n", neighbour.call("GET", "neighbour").raw());
    }
    Poll.until(Duration.ofSeconds(5), () -> counter(PoolStat.CLIENT_ERR) > clientErrors,
        "client_err counts the closed connection");
  }

  @Test
  void requestsUpToTheLimitPassAndLargerOnesAreRefusedBeforeTheyArrive() throws Exception {
    try (WireClient client = WireClient.openResp2(walnut.port())) {
      // SET key value with its headers: 38 bytes besides the value.
      byte[] fits = new byte[LIMIT - 38];
      Arrays.fill(fits, (byte) 'x');
      List<byte[]> set = List.of(bytes("SET"), bytes("limit:k"), fits);
      assertEquals("+OK\r\n", client.call(set).raw());
      assertEquals(":" + fits.length + "\r\n", client.call("STRLEN", "limit:k").raw());
      // One byte more: refused from the headers, before the value is sent.
      client.sendRaw("*3\r\n$3\r\nSET\r\n$7\r\nlimit:k\r\n$" + (fits.length + 1) + "\r\n");
      client.flush();
      assertEquals("-ERR Protocol error: request too big: at least " + (LIMIT + 1)
          + " bytes (expected: <= " + LIMIT + ")\r\n", client.read().raw());
      assertTrue(client.closedByPeer());
    }
    // Many small arguments add up the same way: 150,000 arguments, some 1.6 MB.
    List<byte[]> mset = new ArrayList<>();
    mset.add(bytes("MSET"));
    for (int i = 0; mset.size() < 150_001; i++) {
      mset.add(bytes(String.format("k%07d", i)));
      mset.add(bytes("vv"));
    }
    try (WireClient client = WireClient.openResp2(walnut.port())) {
      // Written from another thread: Walnut answers and closes before it has read everything.
      CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
        try {
          client.send(mset);
          client.flush();
        } catch (IOException closedMeanwhile) {
          // expected once Walnut has closed the connection
        }
      });
      String reply = client.read().raw();
      assertTrue(reply.startsWith("-ERR Protocol error: request too big: at least "), reply);
      assertTrue(reply.endsWith(" bytes (expected: <= " + LIMIT + ")\r\n"), reply);
      writer.get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void aClientThatMustStillAuthenticateCannotSendLargeRequests() throws Exception {
    try (ProxyFixture proxy = ProxyFixture.start(
        ProxyFixture.redisPool(backends).redisAuth("pw").build(), 1);
        WireClient client = WireClient.openResp2(proxy.port())) {
      client.sendRaw("*2\r\n$4\r\nAUTH\r\n$100000\r\n");
      client.flush();
      assertEquals("-ERR Protocol error: unauthenticated bulk length\r\n", client.read().raw());
      assertTrue(client.closedByPeer());
    }
  }

  private static String unescape(String csv) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < csv.length(); i++) {
      char c = csv.charAt(i);
      if (c == '\\' && csv.charAt(i + 1) == 'r') {
        s.append('\r');
        i++;
      } else if (c == '\\' && csv.charAt(i + 1) == 'n') {
        s.append('\n');
        i++;
      } else if (c == '\\' && csv.charAt(i + 1) == 'u') {
        s.append((char) Integer.parseInt(csv.substring(i + 2, i + 6), 16));
        i += 5;
      } else {
        s.append(c);
      }
    }
    return s.toString();
  }

  private static long counter(PoolStat stat) {
    return walnut.proxy.stats().pools().get(0).counters().get(stat);
  }
}
