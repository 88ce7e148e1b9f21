package walnut.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.redis.RequestHarness.resp;

import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import walnut.core.spi.Request.Kind;
import walnut.redis.RequestHarness.Decoded;
import walnut.testing.Chunking;

/** What the proxy answers itself, and how AUTH gates the rest. */
class LocalCommandsTest {

  @BeforeAll
  static void printSeed() {
    System.out.println(Chunking.describeSeed(LocalCommandsTest.class));
  }

  /** Sends {@code requests} pipelined; returns the local replies (non-local ones as "ROUTED"). */
  private static List<String> replies(RequestHarness h, Chunking chunking, String... requests) {
    List<Decoded> out = h.send(String.join("", requests), chunking);
    return out.stream().map(d -> d.kind() == Kind.LOCAL ? d.frame() : d.kind().name()).toList();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void answersPingEchoSelectAndMoveLocally(Chunking chunking) {
    RequestHarness h = new RequestHarness(null, Chunking.seed());
    assertEquals(List.of("+PONG\r\n", "$5\r\nhello\r\n", "$0\r\n\r\n", "$2\r\nhi\r\n",
        "+OK\r\n", "-ERR SELECT is not allowed through the proxy: clients use DB 0\r\n",
        "-ERR MOVE is not supported through the proxy\r\n", "ROUTED"),
        replies(h, chunking, resp("ping"), resp("PING", "hello"), resp("PING", ""),
            resp("ECHO", "hi"), resp("SELECT", "0"), resp("select", "3"), resp("MOVE", "k", "1"),
            resp("GET", "k")));
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  /**
   * {@code COPY … DB n} would write into another database of the server, around the pool's
   * {@code redis_db}, as {@code MOVE} and {@code SELECT n} would: refused the same way. A COPY
   * within the database, and a key or value that merely reads "db", are routed.
   */
  @ParameterizedTest
  @EnumSource(Chunking.class)
  void copyIntoAnotherDatabaseIsRefusedAndCopyWithinItRouted(Chunking chunking) {
    RequestHarness h = new RequestHarness(null, Chunking.seed());
    String refused = "-ERR COPY ... DB is not allowed through the proxy: clients use DB 0\r\n";
    assertEquals(List.of(refused, refused, "ROUTED", "ROUTED", "ROUTED"),
        replies(h, chunking, resp("COPY", "k", "k2", "DB", "5", "REPLACE"),
            resp("copy", "k", "k2", "REPLACE", "db", "0"), resp("COPY", "k", "k2"),
            resp("COPY", "db", "DB", "REPLACE"), resp("COPY", "k", "db")));
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void quitAnswersOkThenCloses(Chunking chunking) {
    RequestHarness h = new RequestHarness(null, Chunking.seed());
    List<Decoded> out = h.send(resp("GET", "a") + resp("QUIT") + resp("GET", "after"), chunking);
    assertEquals(2, out.size(), "nothing after QUIT is answered");
    assertEquals("+OK\r\n", out.get(1).frame());
    assertTrue(out.get(1).closeAfter());
    assertFalse(out.get(0).closeAfter());
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void unknownCommandsGetRedisWordingAndKeepTheConnection(Chunking chunking) {
    RequestHarness h = new RequestHarness(null, Chunking.seed());
    String longArg = "y".repeat(200);
    assertEquals(List.of(
        "-ERR unknown command 'FOOBAR', with args beginning with: 'a' 'b  c' \r\n",
        "-ERR unknown command 'keys', with args beginning with: '*' \r\n",
        "-ERR unknown command 'x y', with args beginning with: \r\n",
        "-ERR unknown command '', with args beginning with: \r\n",
        "-ERR unknown command 'FOO', with args beginning with: 'ab' '" + "y".repeat(123)
            + "' \r\n",
        "-ERR Syntax error in HELLO option 'AUTH'\r\n",
        "-ERR unknown command 'monitor', with args beginning with: \r\n",
        "ROUTED"),
        replies(h, chunking, resp("FOOBAR", "a", "b\r\nc"), resp("keys", "*"), resp("x\ny"),
            resp(""), resp("FOO", "ab", longArg, "more"), resp("HELLO", "3", "AUTH"),
            "monitor\r\n", resp("GET", "k")));
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void wrongArgumentCountsGetRedisWording(Chunking chunking) {
    RequestHarness h = new RequestHarness(null, Chunking.seed());
    assertEquals(List.of(
        "-ERR wrong number of arguments for 'get' command\r\n",
        "-ERR wrong number of arguments for 'get' command\r\n",
        "-ERR wrong number of arguments for 'expire' command\r\n",
        "-ERR wrong number of arguments for 'mget' command\r\n",
        "-ERR wrong number of arguments for 'mset' command\r\n",
        "-ERR wrong number of arguments for 'eval' command\r\n",
        "-ERR wrong number of arguments for 'ping' command\r\n",
        "-ERR wrong number of arguments for 'command' command\r\n",
        "-ERR wrong number of arguments for 'linsert' command\r\n",
        "ROUTED"),
        replies(h, chunking, resp("GET"), resp("GET", "k", "x"), resp("EXPIRE", "k"),
            resp("MGET"), resp("MSET", "a", "1", "b"), resp("EVAL", "s", "1"),
            resp("PING", "a", "b"), resp("COMMAND", "COUNT"), resp("LINSERT", "k", "a", "b"),
            resp("GET", "k")));
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void evalNeedsNumkeysOfAtLeastOne(Chunking chunking) {
    RequestHarness h = new RequestHarness(null, Chunking.seed());
    assertEquals(List.of(
        "-ERR EVAL needs numkeys >= 1 through the proxy: its keys choose the server\r\n",
        "-ERR EVALSHA needs numkeys >= 1 through the proxy: its keys choose the server\r\n",
        "-ERR value is not an integer or out of range\r\n",
        "-ERR value is not an integer or out of range\r\n",
        "-ERR Number of keys can't be greater than number of args\r\n",
        "-ERR EVAL_RO needs numkeys >= 1 through the proxy: its keys choose the server\r\n",
        "SPLIT", "SPLIT"),
        replies(h, chunking, resp("EVAL", "s", "0", "k"), resp("evalsha", "s", "00", "k"),
            resp("EVAL", "s", "-1", "k"), resp("EVAL", "s", "", "k"),
            resp("EVAL", "s", "10", "k"), resp("EVAL_RO", "s", "0", "k"),
            resp("EVAL", "s", "1", "k"), resp("EVALSHA_RO", "s", "2", "k", "j")));
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void clientSubcommandsForLibraries(Chunking chunking) {
    RequestHarness h = new RequestHarness(null, Chunking.seed());
    assertEquals(List.of("$-1\r\n", "+OK\r\n", "$5\r\nmy-id\r\n", "+OK\r\n",
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
        "$5\r\nmy-id\r\n", "+OK\r\n", "$-1\r\n",
        "-ERR wrong number of arguments for 'client|setinfo' command\r\n",
        "-ERR CLIENT ID is not supported through the proxy (supported: SETNAME, GETNAME, SETINFO)"
            + "\r\n",
        "-ERR wrong number of arguments for 'client' command\r\n",
        "-ERR wrong number of arguments for 'client|getname' command\r\n"),
        replies(h, chunking, resp("CLIENT", "GETNAME"), resp("client", "setname", "my-id"),
            resp("CLIENT", "GETNAME"), resp("CLIENT", "SETINFO", "lib-name", "jedis"),
            resp("CLIENT", "SETNAME", "a b"), resp("CLIENT", "GETNAME"),
            resp("CLIENT", "SETNAME", ""), resp("CLIENT", "GETNAME"),
            resp("CLIENT", "SETINFO", "lib-ver"), resp("CLIENT", "ID"), resp("CLIENT"),
            resp("CLIENT", "GETNAME", "x")));
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void authWithoutPasswordInThePool(Chunking chunking) {
    RequestHarness h = new RequestHarness(null, Chunking.seed());
    assertEquals(List.of("-ERR Client sent AUTH, but no password is set\r\n",
        "-ERR Client sent AUTH, but no password is set\r\n", "ROUTED"),
        replies(h, chunking, resp("AUTH", "x"), resp("AUTH", "default", "x"),
            resp("GET", "k")));
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void authGatesEveryCommandUntilThePasswordMatches(Chunking chunking) {
    RequestHarness h = new RequestHarness("s3cret", Chunking.seed());
    String noauth = "-NOAUTH Authentication required\r\n";
    assertEquals(List.of(noauth, noauth, noauth, noauth,
        "-ERR unknown command 'FOO', with args beginning with: \r\n",
        "-ERR wrong number of arguments for 'get' command\r\n",
        "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO"
            + " AUTH <user> <pass> option can be used to authenticate the client and"
            + " select the RESP protocol version at the same time\r\n",
        "-ERR invalid password\r\n", noauth,
        "+OK\r\n", "ROUTED", "+PONG\r\n", "SPLIT",
        "-ERR invalid password\r\n", noauth,
        "+OK\r\n", "ROUTED",
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n", noauth,
        "+OK\r\n", "ROUTED",
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"),
        replies(h, chunking, resp("GET", "k"), resp("PING"), resp("MGET", "a", "b"),
            resp("SELECT", "0"), resp("FOO"), resp("GET"), resp("HELLO", "3"),
            resp("AUTH", "wrong"), resp("GET", "k"),
            resp("AUTH", "s3cret"), resp("GET", "k"), resp("PING"), resp("MGET", "a", "b"),
            resp("AUTH", "s3cre"), resp("GET", "k"),
            resp("AUTH", "s3cret"), resp("GET", "k"),
            resp("AUTH", "default", "nope"), resp("GET", "k"),
            resp("AUTH", "default", "s3cret"), resp("GET", "k"),
            resp("AUTH", "Default", "s3cret")));
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void quitWorksBeforeAuth(Chunking chunking) {
    RequestHarness h = new RequestHarness("pw", Chunking.seed());
    List<Decoded> out = h.send(resp("QUIT"), chunking);
    assertEquals("+OK\r\n", out.get(0).frame());
    assertTrue(out.get(0).closeAfter());
    assertNull(out.get(0).key());
    assertFalse(h.ch.finish());
    h.alloc.assertAllReleased();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void authStateBelongsToOneConnection(Chunking chunking) {
    RequestHarness a = new RequestHarness("pw", Chunking.seed());
    RequestHarness b = new RequestHarness("pw", Chunking.seed());
    assertEquals(List.of("+OK\r\n", "ROUTED"), replies(a, chunking, resp("AUTH", "pw"),
        resp("GET", "k")));
    assertEquals(List.of("-NOAUTH Authentication required\r\n"),
        replies(b, chunking, resp("GET", "k")));
    assertFalse(a.ch.finish());
    assertFalse(b.ch.finish());
    a.alloc.assertAllReleased();
    b.alloc.assertAllReleased();
  }
}
