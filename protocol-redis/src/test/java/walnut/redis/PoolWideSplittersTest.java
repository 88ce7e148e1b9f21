package walnut.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.redis.RequestHarness.resp;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import walnut.core.spi.KeyRouter;
import walnut.core.spi.Splitter;
import walnut.core.spi.Splitter.Split;
import walnut.testing.TrackingAllocator;

/**
 * SCAN, INFO, DBSIZE, SCRIPT and EVAL's splitters with a fake pool: a key goes to the server named
 * by its first byte ({@code a} → 0, {@code b} → 1, …); servers can be ejected (with or without
 * remap). Every buffer is tracked: none may leak.
 */
class PoolWideSplittersTest {

  private final TrackingAllocator alloc = new TrackingAllocator();

  /** {@code n} servers {@code s0…}; {@code ejected[i]}: 0 up, 1 out (remap), 2 refused. */
  private static KeyRouter pool(String name, int n, int... ejected) {
    return new KeyRouter() {
      @Override
      public int serverFor(ByteBuf buf, int offset, int length) {
        return buf.getByte(offset) - 'a';
      }

      @Override
      public int servers() {
        return n;
      }

      @Override
      public String serverName(int server) {
        return "s" + server;
      }

      private int state(int server) {
        return server < ejected.length ? ejected[server] : 0;
      }

      @Override
      public boolean live(int server) {
        return state(server) == 0;
      }

      @Override
      public String refusal(int server) {
        return state(server) == 2 ? "server ejected" : null;
      }

      @Override
      public String poolName() {
        return name;
      }

      @Override
      public long connectedClients() {
        return 7;
      }

      @Override
      public long startedMillis() {
        return System.currentTimeMillis() - 90_061_000L; // 1 day, 1 h, 1 min, 1 s ago
      }
    };
  }

  private static final KeyRouter THREE = pool("p", 3);

  @AfterEach
  void releaseAll() {
    alloc.releaseHeldAndAssertAllReleased();
  }

  private ByteBuf buf(String s) {
    return alloc.held(s);
  }

  private Split split(Splitter splitter, KeyRouter router, String... argv) {
    return splitter.split(buf(resp(argv)), router, alloc);
  }

  private static String text(ByteBuf b) {
    try {
      return b.toString(StandardCharsets.ISO_8859_1);
    } finally {
      b.release();
    }
  }

  /** The local reply of a split that sends nothing, or null. */
  private String refusal(Split split) {
    ByteBuf r = split.refusal(alloc);
    split.discard();
    return r == null ? null : text(r);
  }

  /** Takes every fragment as text, releasing it. */
  private static List<String> fragments(Split split) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < split.size(); i++) {
      out.add(text(split.fragment(i)));
    }
    return out;
  }

  /** Merges {@code replies} (one per fragment; null = failed with {@code -ERR down}). */
  private String merge(Split split, String... replies) {
    ByteBuf[] r = new ByteBuf[replies.length];
    ByteBuf[] errors = new ByteBuf[replies.length];
    boolean failed = false;
    for (int i = 0; i < replies.length; i++) {
      if (replies[i] == null) {
        errors[i] = buf("-ERR down\r\n");
        failed = true;
      } else {
        r[i] = buf(replies[i]);
      }
    }
    ByteBuf out = failed ? split.mergePartial(r, errors, alloc) : split.merge(r, alloc);
    return out == null ? null : text(out);
  }

  // ---- SCAN

  @Test
  void scanStartsOnServerZeroAndPassesTheOptionsVerbatim() {
    Split s = split(ScanSplitter.INSTANCE, THREE, "scan", "0", "MATCH", "k*", "COUNT", "100");
    assertEquals(1, s.size());
    assertEquals(0, s.server(0));
    assertEquals(List.of(resp("SCAN", "0", "MATCH", "k*", "COUNT", "100")), fragments(s));
  }

  @Test
  void scanUnpacksServerIndexAndCursor() {
    long client = (12345L << 10) | 2;
    Split s = split(ScanSplitter.INSTANCE, THREE, "SCAN", Long.toString(client), "TYPE", "list");
    assertEquals(2, s.server(0));
    assertEquals(List.of(resp("SCAN", "12345", "TYPE", "list")), fragments(s));
  }

  @ParameterizedTest
  @ValueSource(strings = {"abc", "", "-1", "1.5", "9223372036854775808",
      "18446744073709551615", "3", "1027"})
  void invalidCursorsAreRefusedWithRedisText(String cursor) {
    assertEquals("-ERR invalid cursor\r\n",
        refusal(split(ScanSplitter.INSTANCE, THREE, "SCAN", cursor)));
  }

  @Test
  void theLargestCursorIsAccepted() {
    Split s = split(ScanSplitter.INSTANCE, pool("p", 1024), "SCAN", "9223372036854775807");
    assertEquals(1023, s.server(0));
    assertEquals(List.of(resp("SCAN", Long.toString(Long.MAX_VALUE >>> 10))), fragments(s));
  }

  @Test
  void moreThan1024ServersAreRefused() {
    String r = refusal(split(ScanSplitter.INSTANCE, pool("p", 1025), "SCAN", "0"));
    assertTrue(r.startsWith("-ERR SCAN through the proxy walks pools of at most 1024 servers"), r);
  }

  @Test
  void aNonZeroCursorIsPackedWithTheIndex() {
    Split s = split(ScanSplitter.INSTANCE, THREE, "SCAN", "1");
    fragments(s);
    assertEquals("*2\r\n$5\r\n17409\r\n*2\r\n$1\r\nk\r\n$2\r\nk2\r\n",
        merge(s, "*2\r\n$2\r\n17\r\n*2\r\n$1\r\nk\r\n$2\r\nk2\r\n"));
  }

  @Test
  void zeroMovesToTheNextServerAndEndsAfterTheLast() {
    Split s = split(ScanSplitter.INSTANCE, THREE, "SCAN", "1");
    fragments(s);
    assertEquals("*2\r\n$1\r\n2\r\n*0\r\n", merge(s, "*2\r\n$1\r\n0\r\n*0\r\n"));
    Split last = split(ScanSplitter.INSTANCE, THREE, "SCAN", "2");
    fragments(last);
    String lastKeys = "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nz\r\n";
    assertEquals(lastKeys, merge(last, lastKeys));
  }

  @Test
  void resp3KeyArraysAreCopiedVerbatim() {
    Split s = split(ScanSplitter.INSTANCE, THREE, "SCAN", "0");
    fragments(s);
    String keys = "*3\r\n$1\r\na\r\n$3\r\nabc\r\n$0\r\n\r\n";
    assertEquals("*2\r\n$4\r\n3072\r\n" + keys, merge(s, "*2\r\n$1\r\n3\r\n" + keys));
  }

  @Test
  void aCursorThatCannotBePackedIsAnErrorNamingTheServer() {
    Split s = split(ScanSplitter.INSTANCE, THREE, "SCAN", "1");
    fragments(s);
    long limit = 1L << 53;
    String packed = Long.toString(((limit - 1) << 10) | 1);
    assertEquals("*2\r\n$" + packed.length() + "\r\n" + packed + "\r\n*0\r\n",
        merge(s, "*2\r\n$16\r\n" + (limit - 1) + "\r\n*0\r\n"));
    for (String big : new String[] {Long.toString(limit), "18446744073709551615",
        "99999999999999999999"}) {
      Split again = split(ScanSplitter.INSTANCE, THREE, "SCAN", "1");
      fragments(again);
      String r = merge(again, "*2\r\n$" + big.length() + "\r\n" + big + "\r\n*0\r\n");
      assertEquals("-ERR SCAN cursor " + big + " of server 's1' is too large to pack with its"
          + " server index into one cursor (the limit is 2^53)\r\n", r);
    }
  }

  @Test
  void aServerErrorPassesThroughAndAStrangeReplyIsInvalid() {
    Split s = split(ScanSplitter.INSTANCE, THREE, "SCAN", "0", "COUNT", "0");
    fragments(s);
    assertEquals("-ERR syntax error\r\n", merge(s, "-ERR syntax error\r\n"));
    Split t = split(ScanSplitter.INSTANCE, THREE, "SCAN", "0");
    fragments(t);
    assertNull(merge(t, ":1\r\n"));
  }

  @Test
  void remappedEjectedServersAreSkippedRefusedOnesAreAsked() {
    KeyRouter remap = pool("p", 3, 0, 1, 1);
    Split s = split(ScanSplitter.INSTANCE, remap, "SCAN", "1");
    assertEquals("*2\r\n$1\r\n0\r\n*0\r\n", refusal(s));
    Split fromZero = split(ScanSplitter.INSTANCE, pool("p", 3, 1), "SCAN", "0");
    assertEquals(1, fromZero.server(0));
    assertEquals(List.of(resp("SCAN", "0")), fragments(fromZero));
    Split refused = split(ScanSplitter.INSTANCE, pool("p", 3, 0, 2), "SCAN", "1");
    assertEquals(1, refused.server(0)); // the engine answers its ejection's error
    fragments(refused);
  }

  // ---- DBSIZE, SCRIPT

  @Test
  void dbsizeGoesToEveryServerAndSums() {
    Split s = split(ServerCommands.DBSIZE, THREE, "DBSIZE");
    assertEquals(3, s.size());
    assertEquals(List.of(resp("DBSIZE"), resp("DBSIZE"), resp("DBSIZE")), fragments(s));
    assertEquals(":15\r\n", merge(s, ":4\r\n", ":0\r\n", ":11\r\n"));
    assertFalse(s.ownsErrorReplies());
  }

  @Test
  void dbsizeWithAServerDownIsItsError() {
    Split s = split(ServerCommands.DBSIZE, THREE, "DBSIZE");
    fragments(s);
    assertEquals("-ERR down\r\n", merge(s, ":4\r\n", null, ":1\r\n"));
    Split t = split(ServerCommands.DBSIZE, THREE, "DBSIZE");
    fragments(t);
    assertEquals("-LOADING x\r\n", merge(t, ":4\r\n", "-LOADING x\r\n", ":1\r\n"));
  }

  private static final String SHA = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db";

  @Test
  void scriptLoadAnswersTheShaAndRemembersTheScript() {
    ScriptRegistry.of("load").clear();
    Split s = split(ServerCommands.SCRIPT, pool("load", 3), "script", "load", "return 1");
    assertTrue(s.ownsErrorReplies());
    assertEquals(3, fragments(s).size());
    String sha = "$40\r\n" + SHA + "\r\n";
    assertEquals(sha, merge(s, sha, sha, sha));
    assertTrue(ScriptRegistry.of("load").contains(SHA));
    assertEquals("return 1", new String(ScriptRegistry.of("load").bodies().get(0),
        StandardCharsets.UTF_8));
  }

  @Test
  void scriptLoadWithAServerDownIsAnErrorButIsRemembered() {
    ScriptRegistry.of("down").clear();
    Split s = split(ServerCommands.SCRIPT, pool("down", 3), "SCRIPT", "LOAD", "return 1");
    fragments(s);
    String sha = "$40\r\n" + SHA + "\r\n";
    assertEquals("-ERR down\r\n", merge(s, sha, null, sha));
    assertTrue(ScriptRegistry.of("down").contains(SHA));
  }

  @Test
  void aScriptThatDoesNotCompileIsItsErrorAndNotRemembered() {
    ScriptRegistry.of("bad").clear();
    Split s = split(ServerCommands.SCRIPT, pool("bad", 2), "SCRIPT", "LOAD", "nope(");
    fragments(s);
    String e = "-ERR Error compiling script\r\n";
    assertEquals(e, merge(s, e, e));
    assertTrue(ScriptRegistry.of("bad").bodies().isEmpty());
  }

  @Test
  void differentShasAreAnError() {
    Split s = split(ServerCommands.SCRIPT, pool("diff", 2), "SCRIPT", "LOAD", "x");
    fragments(s);
    assertEquals("-ERR SCRIPT LOAD: the pool's servers answered different SHA1s\r\n",
        merge(s, "$40\r\n" + SHA + "\r\n", "$40\r\n" + SHA.replace('e', 'f') + "\r\n"));
  }

  @Test
  void scriptFlushAnswersOkAndForgets() {
    ScriptRegistry.of("flush").remember(SHA, "return 1".getBytes(StandardCharsets.UTF_8));
    Split s = split(ServerCommands.SCRIPT, pool("flush", 3), "SCRIPT", "FLUSH", "ASYNC");
    assertEquals(List.of(resp("SCRIPT", "FLUSH", "ASYNC"), resp("SCRIPT", "FLUSH", "ASYNC"),
        resp("SCRIPT", "FLUSH", "ASYNC")), fragments(s));
    assertEquals("+OK\r\n", merge(s, "+OK\r\n", "+OK\r\n", "+OK\r\n"));
    assertTrue(ScriptRegistry.of("flush").bodies().isEmpty());
  }

  @Test
  void scriptExistsIsTrueOnlyWhereEveryServerHasIt() {
    Split s = split(ServerCommands.SCRIPT, THREE, "SCRIPT", "EXISTS", "a", "b", "c");
    fragments(s);
    assertEquals("*3\r\n:1\r\n:0\r\n:0\r\n", merge(s, "*3\r\n:1\r\n:1\r\n:0\r\n",
        "*3\r\n:1\r\n:0\r\n:0\r\n", "*3\r\n:1\r\n:1\r\n:1\r\n"));
    Split t = split(ServerCommands.SCRIPT, THREE, "SCRIPT", "EXISTS", "a");
    fragments(t);
    assertEquals("-ERR down\r\n", merge(t, "*1\r\n:1\r\n", "*1\r\n:1\r\n", null));
  }

  @Test
  void scriptKillIsOkWhenAnyServerKilledElseNotBusy() {
    String notBusy = "-NOTBUSY No scripts in execution right now.\r\n";
    Split s = split(ServerCommands.SCRIPT, THREE, "SCRIPT", "KILL");
    fragments(s);
    assertEquals("+OK\r\n", merge(s, notBusy, "+OK\r\n", notBusy));
    Split t = split(ServerCommands.SCRIPT, THREE, "SCRIPT", "KILL");
    fragments(t);
    assertEquals(notBusy, merge(t, notBusy, notBusy, notBusy));
    Split u = split(ServerCommands.SCRIPT, THREE, "SCRIPT", "KILL");
    fragments(u);
    assertEquals("-UNKILLABLE x\r\n", merge(u, notBusy, "-UNKILLABLE x\r\n", notBusy));
  }

  @Test
  void otherScriptSubcommandsAndWrongArityAreRefusedLocally() {
    assertEquals("-ERR SCRIPT HELP is not supported through the proxy (supported: LOAD, EXISTS,"
        + " FLUSH, KILL)\r\n", refusal(split(ServerCommands.SCRIPT, THREE, "SCRIPT", "help")));
    assertEquals("-ERR wrong number of arguments for 'script|load' command\r\n",
        refusal(split(ServerCommands.SCRIPT, THREE, "SCRIPT", "LOAD")));
    assertEquals("-ERR wrong number of arguments for 'script|exists' command\r\n",
        refusal(split(ServerCommands.SCRIPT, THREE, "SCRIPT", "EXISTS")));
    assertEquals("-ERR wrong number of arguments for 'script|kill' command\r\n",
        refusal(split(ServerCommands.SCRIPT, THREE, "SCRIPT", "KILL", "x")));
  }

  @Test
  void theRegistryIsBounded() {
    ScriptRegistry r = ScriptRegistry.of("bounded");
    r.clear();
    for (int i = 0; i < ScriptRegistry.MAX_SCRIPTS; i++) {
      assertTrue(r.remember("sha" + i, new byte[1]));
    }
    assertFalse(r.remember("one-more", new byte[1]));
    r.clear();
    assertFalse(r.remember("huge", new byte[(int) ScriptRegistry.MAX_BYTES + 1]));
    assertTrue(r.remember("fits", new byte[(int) ScriptRegistry.MAX_BYTES]));
    r.clear();
  }

  // ---- INFO

  private static final String INFO_SERVER = resp("INFO", "server");

  private static String bulk(String body) {
    return "$" + body.length() + "\r\n" + body + "\r\n";
  }

  private static String verbatim(String body) {
    return "=" + (body.length() + 4) + "\r\ntxt:" + body + "\r\n";
  }

  @Test
  void infoAsksEveryLiveServerAndReportsTheLowestVersion() {
    Split s = split(InfoSplitter.RESP2, pool("p", 3, 0, 1), "INFO");
    assertEquals(2, s.size());
    assertEquals(0, s.server(0));
    assertEquals(2, s.server(1));
    assertEquals(List.of(INFO_SERVER, INFO_SERVER), fragments(s));
    String r = merge(s, bulk("# Server\r\nredis_version:7.10.2\r\nx:1\r\n"),
        verbatim("# Server\r\nredis_git_sha1:0\r\nredis_version:7.2.0\r\n"));
    String body = r.substring(r.indexOf("\r\n") + 2, r.length() - 2);
    assertEquals(bulk(body), r);
    String pid = Long.toString(ProcessHandle.current().pid());
    assertTrue(body.startsWith("# Server\r\nredis_version:7.2.0\r\nredis_mode:proxy\r\nprocess_id:"
        + pid + "\r\nuptime_in_seconds:9006"), body);
    assertTrue(body.contains("\r\nuptime_in_days:1\r\n\r\n# Clients\r\nconnected_clients:7\r\n\r\n"
        + "# Walnut\r\nwalnut_version:" + InfoSplitter.WALNUT_VERSION
        + "\r\npool:p\r\nservers:3\r\n"
        + "servers_up:2\r\nservers_ejected:1\r\nserver0:name=s0,state=up\r\n"
        + "server1:name=s1,state=ejected\r\nserver2:name=s2,state=up\r\n"), body);
    assertTrue(body.endsWith("state=up\r\n"), body);
    assertFalse(InfoSplitter.WALNUT_VERSION.contains("$"), InfoSplitter.WALNUT_VERSION);
  }

  @Test
  void infoWithEveryServerFailingStillAnswersWalnutsSections() {
    Split s = split(InfoSplitter.RESP3, THREE, "INFO", "SERVER", "walnut");
    assertTrue(s.mergesFailures());
    fragments(s);
    String r = merge(s, null, "-ERR x\r\n", null);
    assertTrue(r.startsWith("=") && r.contains("\r\ntxt:# Server\r\nredis_mode:proxy\r\n"), r);
    assertFalse(r.contains("redis_version"), r);
    assertTrue(r.contains("# Walnut\r\n") && !r.contains("# Clients"), r);
    int length = Integer.parseInt(r.substring(1, r.indexOf('\r')));
    assertEquals(r.length(), r.indexOf('\n') + 1 + length + 2);
  }

  @Test
  void infoSectionsWithoutServerSendNothing() {
    assertEquals(bulk("# Clients\r\nconnected_clients:7\r\n"),
        refusal(split(InfoSplitter.RESP2, THREE, "info", "CLIENTS", "nosuch")));
    assertEquals("$0\r\n\r\n", refusal(split(InfoSplitter.RESP2, THREE, "INFO", "nosuch")));
    assertEquals("=4\r\ntxt:\r\n", refusal(split(InfoSplitter.RESP3, THREE, "INFO", "memory")));
  }

  @Test
  void infoWithNoLiveServerAnswersWithoutAsking() {
    String r = refusal(split(InfoSplitter.RESP2, pool("p", 2, 1, 2), "INFO", "server"));
    assertEquals(bulk("# Server\r\nredis_mode:proxy\r\nprocess_id:"
        + ProcessHandle.current().pid() + "\r\nuptime_in_seconds:90061\r\nuptime_in_days:1\r\n"),
        r.replaceAll("9006[0-9]", "90061"));
  }

  @Test
  void versionsCompareNumerically() {
    assertEquals("7.0.15", InfoSplitter.lowest("7.0.15", "7.2.4"));
    assertEquals("6.2.14", InfoSplitter.lowest("7.0.15", "6.2.14"));
    assertEquals("7.9.0", InfoSplitter.lowest("7.10.0", "7.9.0"));
    assertEquals("7.0.0", InfoSplitter.lowest(null, "7.0.0"));
    assertNull(InfoSplitter.lowest(null, null));
  }

  // ---- EVAL

  @Test
  void evalWithKeysOnOneServerGoesThereUnchanged() {
    String frame = resp("EVAL", "return 1", "2", "ax", "ay", "arg");
    Split s = EvalSplitter.INSTANCE.split(buf(frame), THREE, alloc);
    assertNull(s.refusal(alloc));
    assertEquals(0, s.server(0));
    assertTrue(s.ownsErrorReplies());
    assertEquals(List.of(frame), fragments(s));
    assertEquals("-BUSY x\r\n", merge(s, "-BUSY x\r\n"));
  }

  @Test
  void evalWithKeysOnDifferentServersIsRefusedAndSendsNothing() {
    Split s = split(EvalSplitter.INSTANCE, THREE, "evalsha_ro", "abc", "3", "ax", "ay", "bz");
    assertEquals("-ERR EVALSHA_RO's keys are on different servers of the pool, and a script runs"
        + " on one server: give them a common hash tag, e.g. {user1}a {user1}b\r\n", refusal(s));
  }

  @Test
  void numkeysIsChecked() {
    ByteBuf b = buf("x10y0z-1");
    assertNull(EvalSplitter.checkNumkeys(b, 1, 2, 12, "EVAL"));
    assertEquals("ERR Number of keys can't be greater than number of args",
        EvalSplitter.checkNumkeys(b, 1, 2, 11, "EVAL"));
    assertEquals("ERR EVAL needs numkeys >= 1 through the proxy: its keys choose the server",
        EvalSplitter.checkNumkeys(b, 4, 1, 3, "EVAL"));
    assertEquals("ERR value is not an integer or out of range",
        EvalSplitter.checkNumkeys(b, 6, 2, 3, "EVAL"));
  }
}
