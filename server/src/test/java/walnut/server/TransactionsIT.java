package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.server.PinnedRig.EXECABORT;
import static walnut.server.PinnedRig.NAMES;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
import walnut.testing.SingleTransport;

/**
 * MULTI/EXEC/DISCARD and WATCH/UNWATCH through Walnut (issue #24) on the wire, in RESP2 and RESP3,
 * against three redis-servers: a transaction runs on a private connection to the one server of
 * its keys; a key of another server, a multi-key command spread over servers, or a command Walnut
 * cannot queue is refused with an error that says why, and the transaction is then discarded as
 * Redis discards one after a refused command ({@code -EXECABORT}), nothing of it having run on any
 * server (checked directly on each). WATCH + a concurrent write makes EXEC answer nil. The
 * client-library side is {@link TransactionClientsIT}.
 *
 * <p>Where the contract left it open, Redis's behaviour (7.0, checked by hand with redis-cli):
 * {@code WATCH} inside MULTI and a nested {@code MULTI} are errors that do <em>not</em> discard
 * the transaction, so its EXEC still runs what was queued.
 */
@SingleTransport
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TransactionsIT {

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

  /** Every test gives its private connections back. */
  @AfterEach
  void nothingStaysPinned() {
    rig.awaitNonePinned("alpha", Duration.ofSeconds(10));
  }

  private static String nilBulk(int protocol) {
    return protocol == 3 ? "_\r\n" : "$-1\r\n";
  }

  /** A fresh key on server {@code s}, so tests never see each other's data. */
  private static String key(int s, String name) {
    return rig.key(s, name + ":" + (++serial));
  }

  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void execReturnsTheResultsOfTheQueuedCommands(int protocol) throws Exception {
    String a = key(1, "a");
    String n = key(1, "n");
    try (WireClient c = WireClient.open(rig.port(), protocol)) {
      c.expect("+OK\r\n", "MULTI");
      c.expect("+QUEUED\r\n", "SET", a, "1");
      c.expect("+QUEUED\r\n", "INCR", n);
      c.expect("+QUEUED\r\n", "GET", a);
      c.expect("+QUEUED\r\n", "PING");
      c.expect("*4\r\n+OK\r\n:1\r\n$1\r\n1\r\n+PONG\r\n", "EXEC");
      // The connection is back to normal.
      c.expect("$1\r\n1\r\n", "GET", a);
    }
    assertEquals("1", rig.direct(1, "GET", a));
    assertEquals("1", rig.direct(1, "GET", n));
  }

  /** Each server in turn: the transaction's connection goes to the server of its keys. */
  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void aTransactionRunsOnTheServerOfItsKeysWhicheverItIs(int protocol) throws Exception {
    try (WireClient c = WireClient.open(rig.port(), protocol)) {
      for (int s = 0; s < 3; s++) {
        String k = key(s, "each");
        String other = "{" + rig.tag(s, 1) + "}each:" + serial; // another tag of the same server
        c.expect("+OK\r\n", "MULTI");
        c.expect("+QUEUED\r\n", "SET", k, "v");
        c.expect("+QUEUED\r\n", "SET", other, "w");
        c.expect("+QUEUED\r\n", "MGET", k, other);
        c.expect("*3\r\n+OK\r\n+OK\r\n*2\r\n$1\r\nv\r\n$1\r\nw\r\n", "EXEC");
        assertEquals("v", rig.direct(s, "GET", k));
        assertEquals("w", rig.direct(s, "GET", other));
      }
    }
  }

  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void aKeyOfAnotherServerIsRefusedAndTheTransactionDiscarded(int protocol) throws Exception {
    String first = key(0, "first");
    String elsewhere = key(1, "elsewhere");
    String after = key(0, "after");
    try (WireClient c = WireClient.open(rig.port(), protocol)) {
      c.expect("+OK\r\n", "MULTI");
      c.expect("+QUEUED\r\n", "SET", first, "1");
      c.expect("-ERR its key is on server '" + NAMES.get(1) + "', the transaction's on '"
          + NAMES.get(0) + "' (a hash tag keeps keys together)\r\n", "SET", elsewhere, "2");
      c.expect("+QUEUED\r\n", "SET", after, "3");
      c.expect("+QUEUED\r\n", "INCR", first);
      c.expect(EXECABORT, "EXEC");
      c.expect("+PONG\r\n", "PING");
    }
    for (String k : List.of(first, elsewhere, after)) {
      assertFalse(rig.anywhere(k), k + " was written by a discarded transaction");
    }
  }

  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void aMultiKeyCommandOverSeveralServersIsRefusedAndTheTransactionDiscarded(int protocol)
      throws Exception {
    String a = key(2, "a");
    String b = key(0, "b");
    try (WireClient c = WireClient.open(rig.port(), protocol)) {
      // After the transaction's server is chosen ...
      c.expect("+OK\r\n", "MULTI");
      c.expect("+QUEUED\r\n", "SET", a, "1");
      c.expect(PinnedRig.CROSS_KEYS, "MSET", a, "2", b, "2");
      c.expect("+QUEUED\r\n", "SET", a, "3");
      c.expect(EXECABORT, "EXEC");
      // ... and as the transaction's first keyed command.
      c.expect("+OK\r\n", "MULTI");
      c.expect(PinnedRig.CROSS_KEYS, "DEL", a, b);
      c.expect("+QUEUED\r\n", "SET", a, "4");
      c.expect(EXECABORT, "EXEC");
      c.expect("+OK\r\n", "MULTI");
      c.expect("+QUEUED\r\n", "PING");
      c.expect(PinnedRig.CROSS_KEYS, "MGET", b, a);
      c.expect(EXECABORT, "EXEC");
    }
    assertFalse(rig.anywhere(a));
    assertFalse(rig.anywhere(b));
  }

  static Stream<Arguments> unqueueable() {
    return Stream.of(2, 3).flatMap(p -> Stream.of(
        List.of("SUBSCRIBE", "news"), List.of("PSUBSCRIBE", "n*"), List.of("SCAN", "0"),
        List.of("INFO"), List.of("DBSIZE"), List.of("SCRIPT", "LOAD", "return 1"),
        List.of("CLIENT", "LIST"), List.of("AUTH", "secret"), List.of("HELLO", "3"),
        List.of("SELECT", "1"), List.of("NOSUCHCOMMAND", "x"), List.of("GET"),
        List.of("SET", "only-a-key")).map(command -> Arguments.of(p, command)));
  }

  @ParameterizedTest(name = "RESP{0} {1}")
  @MethodSource("unqueueable")
  void aCommandWalnutCannotQueueIsAnErrorAndDiscardsTheTransaction(int protocol,
      List<String> command) throws Exception {
    String k = key(1, "q");
    try (WireClient c = WireClient.open(rig.port(), protocol)) {
      c.expect("+OK\r\n", "MULTI");
      c.expect("+QUEUED\r\n", "SET", k, "1");
      String reply = c.call(command.toArray(new String[0])).raw();
      assertTrue(reply.startsWith("-"), command + " inside MULTI answered " + reply);
      c.expect("+QUEUED\r\n", "INCR", k);
      c.expect(EXECABORT, "EXEC");
      c.expect("+PONG\r\n", "PING");
    }
    assertFalse(rig.anywhere(k), "the discarded transaction ran");
  }

  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void watchAndAConcurrentWriteMakeExecAnswerNil(int protocol) throws Exception {
    String k = key(2, "watched");
    try (WireClient c = WireClient.open(rig.port(), protocol);
        WireClient other = WireClient.open(rig.port(), 2)) {
      c.expect("+OK\r\n", "SET", k, "before");
      c.expect("+OK\r\n", "WATCH", k);
      other.expect("+OK\r\n", "SET", k, "theirs");
      c.expect("+OK\r\n", "MULTI");
      c.expect("+QUEUED\r\n", "SET", k, "mine");
      c.expect(PinnedRig.nilArray(protocol), "EXEC");
      c.expect("$6\r\ntheirs\r\n", "GET", k);
    }
    assertEquals("theirs", rig.direct(2, "GET", k));
  }

  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void watchWithoutAConflictingWriteExecutes(int protocol) throws Exception {
    String k = key(0, "calm");
    try (WireClient c = WireClient.open(rig.port(), protocol)) {
      c.expect("+OK\r\n", "WATCH", k);
      c.expect(nilBulk(protocol), "GET", k);
      c.expect("+OK\r\n", "MULTI");
      c.expect("+QUEUED\r\n", "SET", k, "mine");
      c.expect("*1\r\n+OK\r\n", "EXEC");
      // UNWATCH after WATCH: the write of another client no longer matters.
      c.expect("+OK\r\n", "WATCH", k);
      c.expect("+OK\r\n", "UNWATCH");
      try (WireClient other = WireClient.open(rig.port(), 2)) {
        other.expect("+OK\r\n", "SET", k, "theirs");
      }
      c.expect("+OK\r\n", "MULTI");
      c.expect("+QUEUED\r\n", "GET", k);
      c.expect("*1\r\n$6\r\ntheirs\r\n", "EXEC");
    }
  }

  /** A WATCHed key of another server than the transaction's: refused like any other key. */
  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void aTransactionOnAnotherServerThanItsWatchIsRefused(int protocol) throws Exception {
    String watched = key(0, "w");
    String written = key(1, "x");
    try (WireClient c = WireClient.open(rig.port(), protocol)) {
      c.expect("+OK\r\n", "WATCH", watched);
      c.expect("+OK\r\n", "MULTI");
      c.expect("-ERR its key is on server '" + NAMES.get(1) + "', the transaction's on '"
          + NAMES.get(0) + "' (a hash tag keeps keys together)\r\n", "SET", written, "1");
      c.expect(EXECABORT, "EXEC");
    }
    assertFalse(rig.anywhere(written));
  }

  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void misplacedTransactionCommandsGetRedisErrors(int protocol) throws Exception {
    String k = key(2, "m");
    try (WireClient c = WireClient.open(rig.port(), protocol)) {
      c.expect("+OK\r\n", "UNWATCH");
      c.expect("-ERR EXEC without MULTI\r\n", "EXEC");
      c.expect("-ERR DISCARD without MULTI\r\n", "DISCARD");
      c.expect("+OK\r\n", "MULTI");
      c.expect("+QUEUED\r\n", "SET", k, "1");
      // As in Redis, these two are errors that leave the transaction as it was.
      c.expect("-ERR WATCH inside MULTI is not allowed\r\n", "WATCH", k);
      c.expect("-ERR MULTI calls can not be nested\r\n", "MULTI");
      c.expect("+QUEUED\r\n", "INCR", k);
      c.expect("*2\r\n+OK\r\n:2\r\n", "EXEC");
      c.expect("-ERR EXEC without MULTI\r\n", "EXEC");
    }
    assertEquals("2", rig.direct(2, "GET", k));
  }

  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void keylessTransactionsWork(int protocol) throws Exception {
    try (WireClient c = WireClient.open(rig.port(), protocol)) {
      c.expect("+OK\r\n", "MULTI");
      c.expect("+QUEUED\r\n", "PING");
      c.expect("+QUEUED\r\n", "ECHO", "hi");
      c.expect("*2\r\n+PONG\r\n$2\r\nhi\r\n", "EXEC");
      c.expect("+OK\r\n", "MULTI");
      c.expect("*0\r\n", "EXEC");
      c.expect("+OK\r\n", "MULTI");
      c.expect("+QUEUED\r\n", "PING");
      c.expect("+OK\r\n", "DISCARD");
      c.expect("+PONG\r\n", "PING");
    }
  }

  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void discardRunsNothing(int protocol) throws Exception {
    String k = key(1, "d");
    try (WireClient c = WireClient.open(rig.port(), protocol)) {
      c.expect("+OK\r\n", "MULTI");
      c.expect("+QUEUED\r\n", "SET", k, "1");
      c.expect("+QUEUED\r\n", "INCR", k);
      c.expect("+OK\r\n", "DISCARD");
      c.expect(nilBulk(protocol), "GET", k);
    }
    assertFalse(rig.anywhere(k));
  }

  /** A pipelined transaction gets its replies in order, as from one redis-server. */
  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void aPipelinedTransactionAmongOtherRequests(int protocol) throws Exception {
    String k = key(0, "p");
    String far = key(2, "far");
    try (WireClient c = WireClient.open(rig.port(), protocol)) {
      c.send("SET", far, "x");
      c.send("MULTI");
      c.send("SET", k, "1");
      c.send("INCR", k);
      c.send("EXEC");
      c.send("GET", far);
      c.send("GET", k);
      c.flush();
      assertEquals("+OK\r\n", c.read().raw());
      assertEquals("+OK\r\n", c.read().raw());
      assertEquals("+QUEUED\r\n", c.read().raw());
      assertEquals("+QUEUED\r\n", c.read().raw());
      assertEquals("*2\r\n+OK\r\n:2\r\n", c.read().raw());
      assertEquals("$1\r\nx\r\n", c.read().raw());
      assertEquals("$1\r\n2\r\n", c.read().raw());
    }
  }

  /**
   * The same refusal as {@link #aKeyOfAnotherServerIsRefusedAndTheTransactionDiscarded}, with the
   * whole transaction sent in one write, as redis-py's {@code pipeline(transaction=True)} and
   * Jedis's pipelines send it: the commands queued before the refused one must still get their
   * {@code +QUEUED}, as from Redis.
   */
  @ParameterizedTest(name = "RESP{0}")
  @ValueSource(ints = {2, 3})
  void aPipelinedTransactionWithAKeyOfAnotherServerGetsEveryReplyAsRedisWould(int protocol)
      throws Exception {
    String first = key(0, "pfirst");
    String elsewhere = key(1, "pelsewhere");
    String after = key(0, "pafter");
    try (WireClient c = WireClient.open(rig.port(), protocol)) {
      c.send("MULTI");
      c.send("SET", first, "1");
      c.send("SET", elsewhere, "2");
      c.send("SET", after, "3");
      c.send("EXEC");
      c.send("PING");
      c.flush();
      List<String> replies = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        replies.add(c.read().raw());
      }
      assertEquals(List.of("+OK\r\n", "+QUEUED\r\n", "-ERR its key is on server '"
          + NAMES.get(1) + "', the transaction's on '" + NAMES.get(0)
          + "' (a hash tag keeps keys together)\r\n", "+QUEUED\r\n", EXECABORT,
          "+PONG\r\n"), replies);
    }
    for (String k : List.of(first, elsewhere, after)) {
      assertFalse(rig.anywhere(k), k + " was written by a discarded transaction");
    }
  }

  /**
   * A private connection Walnut closes itself (a refused command broke the transaction, the
   * client left) is no server failure: nothing is logged as one, nothing counted in server_err.
   * Otherwise any client can write a WARN line per request and hide real failures in the noise.
   */
  @Test
  void closingABrokenTransactionsConnectionIsNoServerFailure() throws Exception {
    long errBefore = rig.stat("alpha", NAMES.get(0), "server_err");
    try (RedisAuthDbIT.LogCapture log = new RedisAuthDbIT.LogCapture()) {
      for (int i = 0; i < 3; i++) {
        try (WireClient c = WireClient.open(rig.port(), 2)) {
          c.send("MULTI");
          c.send("SET", key(0, "quiet"), "1");
          c.send("SET", key(1, "quiet"), "2");
          c.send("EXEC");
          c.flush();
          for (int r = 0; r < 4; r++) {
            c.read();
          }
        }
        // leaves with a queued command in flight
        try (WireClient c = WireClient.open(rig.port(), 2)) {
          c.expect("+OK\r\n", "MULTI");
          c.send("SET", key(0, "quiet-left"), "1");
          c.flush();
        }
      }
      rig.awaitNonePinned("alpha", Duration.ofSeconds(10));
      assertFalse(log.text().contains("failed: "), log.text());
    }
    assertEquals(errBefore, rig.stat("alpha", NAMES.get(0), "server_err"));
  }

  /** The stats count the private connections taken, and none is left in use. */
  @Test
  void theStatsCountTheTransactionsPrivateConnections() throws Exception {
    long before = rig.stat("alpha", NAMES.get(1), "pinned_taken");
    try (WireClient c = WireClient.open(rig.port(), 2)) {
      c.expect("+OK\r\n", "MULTI");
      c.expect("+QUEUED\r\n", "SET", key(1, "s"), "1");
      assertEquals(1, rig.stat("alpha", NAMES.get(1), "pinned_connections"),
          "the transaction holds one connection to its server");
      c.expect("*1\r\n+OK\r\n", "EXEC");
    }
    assertEquals(before + 1, rig.stat("alpha", NAMES.get(1), "pinned_taken"));
  }
}
