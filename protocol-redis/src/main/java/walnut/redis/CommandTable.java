package walnut.redis;

import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import walnut.redis.RedisCommand.Action;
import walnut.redis.RedisCommand.Arity;

/**
 * The commands the proxy knows: twemproxy 0.5.0's 137 (docs/compatibility.md#command-table, with
 * their argument classes), the single-stream commands twemproxy lacks, and the ones Walnut answers
 * itself so that ordinary clients connect (ECHO, SELECT, CLIENT, HELLO).
 *
 * <p>Implementation note: names are matched case-insensitively for ASCII letters only, as
 * twemproxy does. Lookup must not allocate, so instead of upper-casing into a {@code String} the
 * name's bytes are hashed with letters folded to upper case, and the hash picks a slot of an
 * open-addressed array (linear probing, load below 30%); the candidate is then compared byte by
 * byte. Names longer than the longest known one are refused before any hashing, so a huge unknown
 * command name costs nothing.
 */
final class CommandTable {

  private static final int SLOTS = 512;
  private static final RedisCommand[] TABLE = new RedisCommand[SLOTS];
  private static final List<RedisCommand> ALL = new ArrayList<>();
  private static int maxNameLength;

  static {
    add(Arity.UP_TO_ONE, Action.PING, "PING");
    add(Arity.NONE, Action.QUIT, "QUIT");
    add(Arity.NONE, Action.KEYLESS, "COMMAND");
    add(Arity.ANY, Action.KEYLESS, "LOLWUT");
    add(Arity.ONE_OR_TWO, Action.AUTH, "AUTH");
    add(Arity.KEY, Action.ROUTE, "PERSIST", "PTTL", "TTL", "TYPE", "DUMP", "DECR", "GET",
        "GETDEL", "INCR", "STRLEN", "HGETALL", "HKEYS", "HLEN", "HVALS", "LLEN", "SCARD",
        "SMEMBERS", "ZCARD");
    add(Arity.KEY_PLUS_1, Action.MOVE, "MOVE");
    add(Arity.KEY_PLUS_1, Action.ROUTE, "EXPIRE", "EXPIREAT", "PEXPIRE", "PEXPIREAT", "APPEND",
        "DECRBY", "GETBIT", "GETSET", "INCRBY", "INCRBYFLOAT", "SETNX", "HEXISTS", "HGET",
        "HSTRLEN", "LINDEX", "RPOPLPUSH", "SISMEMBER", "ZRANK", "ZREVRANK", "ZSCORE");
    add(Arity.KEY_PLUS_2, Action.ROUTE, "GETRANGE", "PSETEX", "SETBIT", "SETEX", "SETRANGE",
        "HINCRBY", "HINCRBYFLOAT", "HSETNX", "LRANGE", "LREM", "LSET", "LTRIM", "SMOVE", "ZCOUNT",
        "ZLEXCOUNT", "ZINCRBY", "ZREMRANGEBYLEX", "ZREMRANGEBYRANK", "ZREMRANGEBYSCORE");
    add(Arity.KEY_PLUS_3, Action.ROUTE, "LINSERT", "LMOVE");
    add(Arity.KEY_ANY, Action.COPY, "COPY");
    add(Arity.KEY_ANY, Action.ROUTE, "SORT", "BITCOUNT", "BITPOS", "BITFIELD", "GETEX",
        "SET", "HDEL", "HMGET", "HMSET", "HSCAN", "HSET", "HRANDFIELD", "LPUSH", "LPUSHX", "RPUSH",
        "RPUSHX", "LPOP", "RPOP", "LPOS", "SADD", "SDIFF", "SDIFFSTORE", "SINTER", "SINTERSTORE",
        "SREM", "SUNION", "SUNIONSTORE", "SRANDMEMBER", "SSCAN", "SPOP", "SMISMEMBER", "PFADD",
        "PFMERGE", "PFCOUNT", "ZADD", "ZDIFF", "ZDIFFSTORE", "ZINTER", "ZINTERSTORE", "ZMSCORE",
        "ZPOPMAX", "ZPOPMIN", "ZRANDMEMBER", "ZRANGE", "ZRANGEBYLEX", "ZRANGEBYSCORE",
        "ZRANGESTORE", "ZREM", "ZREVRANGE", "ZREVRANGEBYLEX", "ZREVRANGEBYSCORE", "ZSCAN",
        "ZUNION", "ZUNIONSTORE", "GEODIST", "GEOPOS", "GEOHASH", "GEOADD", "GEORADIUS",
        "GEORADIUSBYMEMBER", "GEOSEARCH", "GEOSEARCHSTORE", "RESTORE");
    // Streams, beyond twemproxy's table: the commands on one stream, routed by it. XREAD and
    // XREADGROUP (several streams, and blocking) and XINFO/XGROUP (key after a subcommand) stay
    // refused.
    add(Arity.KEY_ANY, Action.ROUTE, "XADD", "XLEN", "XRANGE", "XREVRANGE", "XDEL", "XTRIM",
        "XACK", "XPENDING", "XCLAIM", "XAUTOCLAIM", "XSETID");
    // twemproxy routes EXISTS by its first key only; Walnut splits it and sums
    // (docs/compatibility.md#where-walnut-differs).
    split(Arity.KEYS, MultiKeySplitter.EXISTS);
    split(Arity.KEYS, MultiKeySplitter.MGET);
    split(Arity.KEYS, MultiKeySplitter.DEL);
    split(Arity.KEYS, MultiKeySplitter.UNLINK);
    split(Arity.KEYS, MultiKeySplitter.TOUCH);
    split(Arity.PAIRS, MultiKeySplitter.MSET);
    add(Arity.SCRIPT, Action.EVAL, "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO");
    // Pool-wide: every server, merged (docs/compatibility.md#scan, #info, #dbsize, #scripts).
    add(Arity.KEY_ANY, Action.SCAN, "SCAN");
    add(Arity.ANY, Action.INFO, "INFO");
    add(Arity.NONE, Action.DBSIZE, "DBSIZE");
    add(Arity.KEY_ANY, Action.SCRIPT, "SCRIPT");
    // On private server connections (docs/compatibility.md#transactions): a transaction on the
    // server of its keys, a blocking command on a connection of its own.
    add(Arity.NONE, Action.PINNED, "MULTI", "EXEC", "DISCARD", "UNWATCH");
    add(Arity.KEYS, Action.PINNED, "WATCH");
    add(Arity.KEYS, Action.PUBSUB, "SUBSCRIBE", "PSUBSCRIBE");
    add(Arity.ANY, Action.PUBSUB, "UNSUBSCRIBE", "PUNSUBSCRIBE");
    add(Arity.KEY_PLUS_1, Action.ROUTE, "PUBLISH"); // by channel, as SUBSCRIBE sends it
    add(Arity.KEY_ANY, Action.PINNED, "BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX", "BLMOVE",
        "BRPOPLPUSH", "BLMPOP", "BZMPOP", "XREAD", "XREADGROUP");
    // Walnut's own: what Jedis, Lettuce and redis-cli send when they connect.
    add(Arity.ONE, Action.ECHO, "ECHO");
    add(Arity.ONE, Action.SELECT, "SELECT");
    add(Arity.ANY, Action.HELLO, "HELLO");
    add(Arity.KEY_ANY, Action.CLIENT, "CLIENT");
  }

  private CommandTable() {}

  /**
   * The command named by the {@code length} bytes at absolute {@code index} of {@code buf}, in
   * any letter case, or {@code null} when the proxy does not know it.
   */
  static RedisCommand lookup(ByteBuf buf, int index, int length) {
    if (length == 0 || length > maxNameLength) {
      return null;
    }
    int h = length;
    for (int i = 0; i < length; i++) {
      h = 31 * h + upper(buf.getByte(index + i));
    }
    for (int slot = spread(h); ; slot = (slot + 1) & (SLOTS - 1)) {
      RedisCommand c = TABLE[slot];
      if (c == null) {
        return null;
      }
      if (matches(buf, index, length, c.upper)) {
        return c;
      }
    }
  }

  /** Whether the bytes at {@code index} spell {@code upperName} in any letter case. */
  static boolean matches(ByteBuf buf, int index, int length, byte[] upperName) {
    if (length != upperName.length) {
      return false;
    }
    for (int i = 0; i < length; i++) {
      if (upper(buf.getByte(index + i)) != upperName[i]) {
        return false;
      }
    }
    return true;
  }

  /** Every known command, for tests. */
  static List<RedisCommand> all() {
    return Collections.unmodifiableList(ALL);
  }

  private static int upper(byte b) {
    return b >= 'a' && b <= 'z' ? b - ('a' - 'A') : b;
  }

  private static int spread(int h) {
    return (h ^ (h >>> 9) ^ (h >>> 18)) & (SLOTS - 1);
  }

  private static void split(Arity arity, MultiKeySplitter splitter) {
    put(new RedisCommand(splitter.upperName(), arity, Action.SPLIT, splitter));
  }

  private static void add(Arity arity, Action action, String... names) {
    for (String name : names) {
      put(new RedisCommand(name, arity, action, null));
    }
  }

  private static void put(RedisCommand command) {
    byte[] name = command.upper;
    int h = name.length;
    for (byte b : name) {
      h = 31 * h + b;
    }
    int slot = spread(h);
    while (TABLE[slot] != null) {
      if (TABLE[slot].name.equals(command.name)) {
        throw new IllegalStateException("command listed twice: " + command.name);
      }
      slot = (slot + 1) & (SLOTS - 1);
    }
    TABLE[slot] = command;
    ALL.add(command);
    maxNameLength = Math.max(maxNameLength, name.length);
  }
}
