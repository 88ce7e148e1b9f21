package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.server.PinnedRig.NAMES;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import walnut.testing.Poll;

/**
 * Clients that leave in the middle of a transaction, of a block, or after WATCH give their
 * private server connection back (issue #24): the stats port's {@code pinned_connections} of
 * every server returns to 0, a transaction left unfinished runs nothing, and after a thousand
 * such clients Walnut's connections to each server stay few (idle private connections are kept,
 * at most 4 per server per event loop). Walnut runs in this JVM, so Netty's paranoid leak
 * detector, which fails the test on a leaked buffer (LeakCheckExtension), watches it.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PinnedLeakIT {

  /** Kept idle private connections (4 per server per loop, 2 loops), shared ones, the asker. */
  private static final int MAX_SERVER_CLIENTS = 4 * 2 + 2 + 1 + 2;

  private static final boolean IO_URING =
      "io_uring".equals(System.getProperty("walnut.it.transport"));

  private static PinnedRig rig;
  private static int serial;

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    rig = PinnedRig.start(dir);
  }

  @AfterAll
  static void stop() {
    if (rig != null) {
      rig.close();
    }
  }

  private static void awaitPinned(int server, long n) {
    Poll.until(Duration.ofSeconds(5), () -> {
      try {
        return rig.stat("alpha", NAMES.get(server), "pinned_connections") == n;
      } catch (java.io.IOException e) {
        throw new IllegalStateException(e);
      }
    }, NAMES.get(server) + " has " + n + " private connections in use");
  }

  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void aClientLeavingInTheMiddleOfMultiGivesItBackAndNothingRuns(int protocol)
      throws Exception {
    String k = rig.key(0, "left-multi:" + (++serial));
    WireClient c = WireClient.open(rig.port(), protocol);
    c.expect("+OK\r\n", "MULTI");
    c.expect("+QUEUED\r\n", "SET", k, "1");
    awaitPinned(0, 1);
    c.close();
    rig.awaitNonePinned("alpha", Duration.ofSeconds(10));
    assertFalse(rig.anywhere(k), "an unfinished transaction ran");
  }

  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void aClientLeavingInTheMiddleOfABlockGivesItBack(int protocol) throws Exception {
    String list = rig.key(1, "left-block:" + (++serial));
    WireClient c = WireClient.open(rig.port(), protocol);
    c.send("BLPOP", list, "0"); // forever
    c.flush();
    awaitPinned(1, 1);
    c.close();
    rig.awaitNonePinned("alpha", Duration.ofSeconds(10));
    // The server's blocked client went with it: a push stays in the list.
    try (WireClient w = WireClient.open(rig.port(), 2)) {
      Poll.until(Duration.ofSeconds(5), () -> blocked(1) == 0, "no client blocked on B");
      w.expect(":1\r\n", "RPUSH", list, "x");
      w.expect(":1\r\n", "LLEN", list);
    }
  }

  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void aClientLeavingAfterWatchGivesItBack(int protocol) throws Exception {
    String k = rig.key(2, "left-watch:" + (++serial));
    WireClient c = WireClient.open(rig.port(), protocol);
    c.expect("+OK\r\n", "WATCH", k);
    awaitPinned(2, 1);
    c.close();
    rig.awaitNonePinned("alpha", Duration.ofSeconds(10));
  }

  /** A finished transaction, an UNWATCH and a block's reply give the connection back at once. */
  @Test
  void aConversationThatEndsGivesItBackWithoutTheClientLeaving() throws Exception {
    try (WireClient c = WireClient.open(rig.port(), 2)) {
      String k = rig.key(0, "ends:" + (++serial));
      c.expect("+OK\r\n", "WATCH", k);
      c.expect("+OK\r\n", "UNWATCH");
      rig.awaitNonePinned("alpha", Duration.ofSeconds(5));
      c.expect("+OK\r\n", "MULTI");
      c.expect("+QUEUED\r\n", "SET", k, "1");
      c.expect("*1\r\n+OK\r\n", "EXEC");
      rig.awaitNonePinned("alpha", Duration.ofSeconds(5));
      c.expect("+OK\r\n", "MULTI");
      c.expect("+QUEUED\r\n", "SET", k, "2");
      c.expect("+OK\r\n", "DISCARD");
      rig.awaitNonePinned("alpha", Duration.ofSeconds(5));
      c.expect("*-1\r\n", "BLPOP", rig.key(1, "ends-list"), "0.05");
      rig.awaitNonePinned("alpha", Duration.ofSeconds(5));
      c.expect("$1\r\n1\r\n", "GET", k);
    }
  }

  /**
   * A thousand clients, each leaving mid-MULTI, mid-block or after WATCH, over all three servers
   * and both protocols: nothing stays in use, no queued command ran, and each server sees only a
   * few connections of Walnut's afterwards.
   */
  @Test
  void aThousandClientsLeavingMidConversationLeaveNothingBehind() throws Exception {
    thousandClientsLeave(true);
  }

  private void thousandClientsLeave(boolean blocks) throws Exception {
    Random random = new Random(24);
    boolean[] resets = new boolean[1_000];
    Random resetting = new Random(42);
    for (int i = 0; i < resets.length; i++) {
      resets[i] = resetting.nextInt(4) == 0;
    }
    List<String> queued = new ArrayList<>();
    long start = System.nanoTime();
    for (int i = 0; i < 1_000; i++) {
      int server = i % 3;
      String k = rig.key(server, "thousand:" + i);
      try (WireClient c = WireClient.open(rig.port(), random.nextBoolean() ? 3 : 2)) {
        switch (blocks ? random.nextInt(3) : 2 * random.nextInt(2)) {
          case 0 -> {
            c.expect("+OK\r\n", "MULTI");
            c.expect("+QUEUED\r\n", "SET", k, "ran");
            if (random.nextBoolean()) {
              c.send("INCR", k); // and one more in flight as it goes
              c.flush();
            }
            queued.add(k);
          }
          case 1 -> {
            // Now and then, certainly blocked when it goes. Always so before a reset on
            // io_uring: Netty's io_uring transport misses a reset that arrives right behind the
            // request (no read reports it), so Walnut notices it only when the block ends
            // (docs/compatibility.md#blocking-commands); a reset after that is seen.
            boolean surely = i % 30 == 0 || (IO_URING && resets[i]);
            if (surely) {
              awaitPinned(server, 0);
            }
            c.send("BLPOP", k, "30");
            if (random.nextBoolean()) {
              c.send("GET", k); // waiting behind the block
            }
            c.flush();
            if (surely) {
              awaitPinned(server, 1);
            }
          }
          default -> {
            c.expect("+OK\r\n", "WATCH", k);
            if (random.nextBoolean()) {
              c.expect("+OK\r\n", "MULTI"); // and then leaves without EXEC
            }
          }
        }
        if (resets[i]) {
          c.socket().setSoLinger(true, 0); // a reset rather than a FIN, now and then
        }
      }
    }
    System.out.printf("1,000 clients leaving mid-conversation: %d ms%n",
        (System.nanoTime() - start) / 1_000_000);
    rig.awaitNonePinned("alpha", Duration.ofSeconds(20));
    for (int s = 0; s < 3; s++) {
      int server = s;
      Poll.until(Duration.ofSeconds(20), () -> rig.connectedClients(server) <= MAX_SERVER_CLIENTS,
          () -> NAMES.get(server) + " has " + rig.connectedClients(server) + " clients, more than"
              + " the " + MAX_SERVER_CLIENTS + " Walnut may keep");
    }
    for (String k : queued) {
      assertFalse(rig.anywhere(k), "an unfinished transaction ran: " + k);
    }
    // Walnut still serves, privately and not.
    try (WireClient c = WireClient.open(rig.port(), 2)) {
      String k = rig.key(1, "after-thousand");
      c.expect("+OK\r\n", "MULTI");
      c.expect("+QUEUED\r\n", "SET", k, "1");
      c.expect("*1\r\n+OK\r\n", "EXEC");
      c.expect("$1\r\n1\r\n", "GET", k);
    }
    long taken = 0;
    for (String name : NAMES) {
      taken += rig.stat("alpha", name, "pinned_taken");
      assertEquals(0, rig.stat("alpha", name, "pinned_refused"), name);
    }
    assertTrue(taken >= (blocks ? 500 : 900), "private connections taken: " + taken);
  }

  private static long blocked(int s) {
    String info = (String) rig.direct(s, "INFO", "clients");
    for (String line : info.split("\r\n")) {
      if (line.startsWith("blocked_clients:")) {
        return Long.parseLong(line.substring("blocked_clients:".length()).trim());
      }
    }
    return 0;
  }
}
