package walnut.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import walnut.redis.RedisCommand.Action;
import walnut.redis.RedisCommand.Arity;

class CommandTableTest {

  /**
   * docs/compatibility.md#command-table, copied from the spec rather than from the table under
   * test.
   */
  private static final Map<Arity, String> SPEC = Map.of(
      Arity.KEY, "PERSIST PTTL TTL TYPE DUMP DECR GET GETDEL INCR STRLEN HGETALL HKEYS HLEN HVALS "
          + "LLEN SCARD SMEMBERS ZCARD",
      Arity.KEY_PLUS_1, "EXPIRE EXPIREAT PEXPIRE PEXPIREAT MOVE APPEND DECRBY GETBIT GETSET INCRBY "
          + "INCRBYFLOAT SETNX HEXISTS HGET HSTRLEN LINDEX RPOPLPUSH SISMEMBER ZRANK ZREVRANK ZSCORE",
      Arity.KEY_PLUS_2, "GETRANGE PSETEX SETBIT SETEX SETRANGE HINCRBY HINCRBYFLOAT HSETNX LRANGE "
          + "LREM LSET LTRIM SMOVE ZCOUNT ZLEXCOUNT ZINCRBY ZREMRANGEBYLEX ZREMRANGEBYRANK "
          + "ZREMRANGEBYSCORE",
      Arity.KEY_PLUS_3, "LINSERT LMOVE",
      Arity.KEY_ANY, "SORT COPY BITCOUNT BITPOS BITFIELD GETEX SET HDEL HMGET HMSET HSCAN HSET "
          + "HRANDFIELD LPUSH LPUSHX RPUSH RPUSHX LPOP RPOP LPOS SADD SDIFF SDIFFSTORE SINTER "
          + "SINTERSTORE SREM SUNION SUNIONSTORE SRANDMEMBER SSCAN SPOP SMISMEMBER PFADD PFMERGE "
          + "PFCOUNT ZADD ZDIFF ZDIFFSTORE ZINTER ZINTERSTORE ZMSCORE ZPOPMAX ZPOPMIN ZRANDMEMBER "
          + "ZRANGE ZRANGEBYLEX ZRANGEBYSCORE ZRANGESTORE ZREM ZREVRANGE ZREVRANGEBYLEX "
          + "ZREVRANGEBYSCORE ZSCAN ZUNION ZUNIONSTORE GEODIST GEOPOS GEOHASH GEOADD GEORADIUS "
          + "GEORADIUSBYMEMBER GEOSEARCH GEOSEARCHSTORE RESTORE",
      // EXISTS is "key + any" in twemproxy; Walnut splits it, which accepts the same counts.
      Arity.KEYS, "MGET DEL UNLINK TOUCH EXISTS",
      Arity.PAIRS, "MSET",
      Arity.SCRIPT, "EVAL EVALSHA",
      Arity.NONE, "QUIT COMMAND",
      Arity.ANY, "LOLWUT HELLO");

  /** Walnut's deliberate extensions of twemproxy's classes. */
  private static final Map<String, Arity> EXTENDED = Map.of("PING", Arity.UP_TO_ONE,
      "AUTH", Arity.ONE_OR_TWO, "ECHO", Arity.ONE, "SELECT", Arity.ONE, "CLIENT", Arity.KEY_ANY);

  /**
   * Walnut's pool-wide commands, which twemproxy refuses: SCAN, INFO, DBSIZE and SCRIPT go to
   * every server (or SCAN to one by its cursor), and the read-only script commands.
   */
  private static final Map<String, Arity> POOL_WIDE = Map.of("SCAN", Arity.KEY_ANY,
      "INFO", Arity.ANY, "DBSIZE", Arity.NONE, "SCRIPT", Arity.KEY_ANY, "EVAL_RO", Arity.SCRIPT,
      "EVALSHA_RO", Arity.SCRIPT);

  /** Single-stream commands, which twemproxy lacks: routed by their stream. */
  private static final String STREAMS =
      "XADD XLEN XRANGE XREVRANGE XDEL XTRIM XACK XPENDING XCLAIM XAUTOCLAIM XSETID";

  @Test
  void holdsTwemproxysCommandsWithTheirArgumentClasses() {
    Map<String, Arity> expected = new HashMap<>(EXTENDED);
    SPEC.forEach((arity, names) -> {
      for (String n : names.split(" ")) {
        expected.put(n, arity);
      }
    });
    Set<String> walnutOnly = Set.of("ECHO", "SELECT", "HELLO", "CLIENT");
    assertEquals(137, expected.size() - walnutOnly.size());
    for (String n : STREAMS.split(" ")) {
      expected.put(n, Arity.KEY_ANY);
    }
    // On private server connections (Transaction).
    for (String n : "MULTI EXEC DISCARD UNWATCH".split(" ")) {
      expected.put(n, Arity.NONE);
    }
    expected.put("WATCH", Arity.KEYS);
    expected.put("SUBSCRIBE", Arity.KEYS);
    expected.put("PSUBSCRIBE", Arity.KEYS);
    expected.put("UNSUBSCRIBE", Arity.ANY);
    expected.put("PUNSUBSCRIBE", Arity.ANY);
    expected.put("PUBLISH", Arity.KEY_PLUS_1);
    for (String n : ("BLPOP BRPOP BZPOPMIN BZPOPMAX BLMOVE BRPOPLPUSH BLMPOP BZMPOP XREAD"
        + " XREADGROUP").split(" ")) {
      expected.put(n, Arity.KEY_ANY);
    }
    expected.putAll(POOL_WIDE);
    Map<String, Arity> actual = new HashMap<>();
    CommandTable.all().forEach(c -> actual.put(c.name, c.arity));
    assertEquals(expected, actual);
  }

  @Test
  void findsEveryCommandInAnyLetterCase() {
    for (RedisCommand c : CommandTable.all()) {
      assertSame(c, lookup(c.name));
      assertSame(c, lookup(c.name.toLowerCase(Locale.ROOT)));
      assertSame(c, lookup(mixed(c.name)));
    }
  }

  @Test
  void refusesUnknownNamesWithoutFoldingNonLetters() {
    for (String name : new String[] {"", "GETT", "GE", "KEYS", "MONITOR", "G\u00c5T", "get\u0000",
        "SSUBSCRIBE", "X".repeat(10_000), "GEORADIUSBYMEMBERX", "\u00e7et"}) {
      assertNull(lookup(name), name);
    }
    // '@' + 32 = '`': only a-z fold, so "G`T"/"G@T" must not match GET's neighbours.
    assertNull(lookup("G@T"));
  }

  @Test
  void actionsMatchTheSpecialCommands() {
    assertEquals(Action.KEYLESS, lookup("COMMAND").action);
    assertEquals(Action.KEYLESS, lookup("LOLWUT").action);
    assertEquals(Action.MOVE, lookup("MOVE").action);
    assertEquals(Action.EVAL, lookup("EVALSHA").action);
    assertEquals(Action.ROUTE, lookup("ZDIFF").action);
    assertSame(MultiKeySplitter.EXISTS, lookup("exists").splitter);
    assertSame(MultiKeySplitter.MSET, lookup("mset").splitter);
    assertNotNull(lookup("Touch").splitter);
  }

  private static RedisCommand lookup(String name) {
    ByteBuf buf = Unpooled.copiedBuffer("xx" + name, StandardCharsets.ISO_8859_1);
    try {
      return CommandTable.lookup(buf, 2, buf.readableBytes() - 2);
    } finally {
      buf.release();
    }
  }

  private static String mixed(String name) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      b.append(i % 2 == 0 ? Character.toLowerCase(c) : c);
    }
    return b.toString();
  }
}
