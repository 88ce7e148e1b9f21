package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.output.CommandOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.ProtocolKeyword;
import io.lettuce.core.protocol.ProtocolVersion;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;
import walnut.server.WireClient.Err;
import walnut.server.WireClient.Reply;
import walnut.testing.RedisServer;

/**
 * Every command of twemproxy's table (docs/compatibility.md#command-table) through Walnut in front
 * of three redis-servers gets the reply the same commands get straight from one redis-server, with
 * a raw socket (byte for byte), Jedis and Lettuce; commands twemproxy refuses get an error and the
 * connection goes on.
 *
 * <p>Each case is a short script run twice, through Walnut and directly, under a key prefix of its
 * own (so clients and cases never share keys). Commands whose keys must live together — set
 * algebra, {@code *STORE}, {@code RPOPLPUSH}, {@code COPY}, scripts — use a hash tag, as the spec
 * says a client must; ZDIFF/ZINTER/ZUNION are routed by their numkeys text, so their keys carry
 * that text as their tag ({@code {2}a} lives with the key {@code 2}).
 */
class RedisCommandTableIT {

  private static final String SCRIPT = "return {KEYS[1], ARGV[1], 1, {2, 'x'}, "
      + "redis.call('GET', KEYS[1])}";

  /**
   * One case per paragraph, its commands separated by {@code |}. {@code @key} is a key (prefixed
   * per client and case); {@code 'a b'} one argument with a space; {@code %N} the bulk reply of
   * the case's command N; a command after {@code ~} is compared by the shape of its reply only
   * (TTLs, random output).
   */
  private static final String TABLE = """
      SET @s v | GET @s | GETSET @s w | GETDEL @s | GET @s | SET @s | GET @none | STRLEN @none

      SET @s v EX 100 | ~ TTL @s | ~ PTTL @s | PERSIST @s | PERSIST @s | TTL @s | PTTL @s
      | TTL @none | PTTL @none

      SETEX @a 100 v | ~ TTL @a | PSETEX @b 100000 v | ~ PTTL @b | SETEX @c -1 v | SETNX @d v
      | SETNX @d w | GET @d

      SET @e v | EXPIRE @e 100 | ~ TTL @e | PEXPIRE @e 100000 | ~ PTTL @e | EXPIREAT @e 4102444800
      | ~ TTL @e | PEXPIREAT @e 4102444800000 | ~ PTTL @e | EXPIRE @none 10 | EXPIRE @e x

      APPEND @a hello | APPEND @a world | STRLEN @a | GETRANGE @a 0 4 | GETRANGE @a -3 -1
      | SETRANGE @a 5 XX | GET @a | SETRANGE @n 3 x | GET @n

      INCR @n | INCRBY @n 10 | DECR @n | DECRBY @n 3 | GET @n | INCRBYFLOAT @f 1.5
      | INCRBYFLOAT @f 0.25 | SET @x abc | INCR @x | DECR @x | INCRBY @x 1 | DECRBY @x 1
      | INCRBYFLOAT @x 1

      SETBIT @b 7 1 | SETBIT @b 100 1 | GETBIT @b 7 | GETBIT @b 8 | BITCOUNT @b | BITCOUNT @b 0 0
      | BITPOS @b 1 | BITPOS @b 0 | SETBIT @b 7 2 | BITFIELD @f INCRBY u8 0 200
      | BITFIELD @f INCRBY u8 0 100 GET u8 0 | GET @b

      SET @g v | GETEX @g | GETEX @g EX 100 | ~ TTL @g | GETEX @g PERSIST | TTL @g | GETEX @none
      | GETDEL @none

      SET @k v | TYPE @k | TYPE @none | DUMP @k | RESTORE @r 0 %3 | GET @r | RESTORE @r 0 %3
      | RESTORE @r 0 %3 REPLACE | DUMP @none | RESTORE @r2 0 garbage | TYPE @r

      SET @{c}a v | COPY @{c}a @{c}b | GET @{c}b | COPY @{c}a @{c}b | COPY @{c}a @{c}b REPLACE
      | COPY @{c}none @{c}b

      RPUSH @l 3 1 2 | SORT @l | SORT @l DESC LIMIT 0 2 | SORT @l BY nosort | RPUSH @{o}l c a b
      | SORT @{o}l ALPHA | SORT @{o}l ALPHA STORE @{o}dst | LRANGE @{o}dst 0 -1 | SORT @{o}l

      MSET @m1 1 @m2 2 @m3 3 | MGET @m1 @m2 @m3 @none @m1 | EXISTS @m1 @m2 @none @m1
      | TOUCH @m1 @m2 @none | DEL @m1 @none @m1 | UNLINK @m2 @m3 @none | MGET @m1 @m2 @m3
      | MSET @m1 x | MGET @m1 | EXISTS @m1 | TOUCH @m1 | DEL @m1 | UNLINK @m1

      HSET @h f1 v1 f2 v2 | HSET @h f1 x | HGET @h f1 | HGET @h nope | HMGET @h f1 nope f2
      | HMSET @h f3 v3 | HGETALL @h | HKEYS @h | HVALS @h | HLEN @h | HEXISTS @h f1
      | HEXISTS @h nope | HSTRLEN @h f2 | HDEL @h f1 nope | HSETNX @h f2 z | HSETNX @h f9 z
      | HINCRBY @h n 5 | HINCRBY @h f2 1 | HINCRBYFLOAT @h fl 1.5 | HSCAN @h 0
      | HSCAN @h 0 MATCH f* COUNT 100 | HGETALL @none | GET @h

      HSET @h only v | HRANDFIELD @h | HRANDFIELD @h 1 WITHVALUES | HRANDFIELD @h -2
      | HRANDFIELD @none | HKEYS @none | HVALS @none | HLEN @none

      LPUSH @l a b | RPUSH @l c d | LPUSHX @l z | RPUSHX @l y | LPUSHX @none z | RPUSHX @none z
      | LRANGE @l 0 -1 | LLEN @l | LINDEX @l 1 | LINDEX @l 99 | LSET @l 0 Z | LSET @l 99 x
      | LINSERT @l BEFORE c C | LINSERT @l AFTER nope x | LREM @l 1 a | LPOS @l c
      | LPOS @l y RANK -1 | LTRIM @l 1 -2 | LRANGE @l 0 -1 | LPOP @l | RPOP @l | LPOP @l 2
      | RPOP @l 5 | LPOP @l | LPOP @none 2 | LLEN @none

      RPUSH @{q}a 1 2 3 | RPOPLPUSH @{q}a @{q}b | LMOVE @{q}a @{q}b LEFT RIGHT
      | LMOVE @{q}b @{q}b RIGHT LEFT | LRANGE @{q}a 0 -1 | LRANGE @{q}b 0 -1
      | RPOPLPUSH @{q}none @{q}b | LMOVE @{q}a @{q}b UP DOWN

      SADD @s 3 1 2 | SADD @s 2 | SCARD @s | SISMEMBER @s 1 | SISMEMBER @s 9 | SMISMEMBER @s 1 9 2
      | SMEMBERS @s | SREM @s 3 9 | SSCAN @s 0 | SMEMBERS @none | SCARD @none

      SADD @one 7 | SPOP @one | SADD @one 7 | SPOP @one 1 | SADD @one 8 | SRANDMEMBER @one
      | SRANDMEMBER @one 2 | SRANDMEMBER @one -2 | SPOP @none

      SADD @{t}a 1 2 3 4 | SADD @{t}b 3 4 5 | SDIFF @{t}a @{t}b | SINTER @{t}a @{t}b
      | SUNION @{t}a @{t}b | SDIFFSTORE @{t}d @{t}a @{t}b | SINTERSTORE @{t}i @{t}a @{t}b
      | SUNIONSTORE @{t}u @{t}a @{t}b | SMEMBERS @{t}u | SMOVE @{t}a @{t}b 1 | SMOVE @{t}a @{t}b 99
      | SMEMBERS @{t}b

      ZADD @z 1 a 2 b 3 c | ZADD @z XX CH 5 c | ZCARD @z | ZSCORE @z a | ZSCORE @z nope
      | ZMSCORE @z a nope c | ZRANK @z b | ZREVRANK @z b | ZRANK @z nope | ZCOUNT @z 1 2
      | ZCOUNT @z (1 +inf | ZINCRBY @z 2.5 a | ZRANGE @z 0 -1 WITHSCORES
      | ZRANGE @z (1 5 BYSCORE LIMIT 0 2 | ZRANGEBYSCORE @z -inf +inf WITHSCORES
      | ZRANGEBYSCORE @z 2 5 LIMIT 1 1 | ZREVRANGE @z 0 1 | ZREVRANGEBYSCORE @z +inf 2 WITHSCORES
      | ZREM @z a nope | ZSCAN @z 0 | ZRANGE @z 0 -1 | ZCARD @none

      ZADD @zl 0 a 0 b 0 c 0 d | ZLEXCOUNT @zl - + | ZLEXCOUNT @zl [b (d | ZRANGEBYLEX @zl - [c
      | ZREVRANGEBYLEX @zl + (b LIMIT 0 1 | ZREMRANGEBYLEX @zl [a [a | ZRANGE @zl 0 -1
      | ZRANGEBYLEX @zl x y

      ZADD @zr 1 a 2 b 3 c 4 d 5 e | ZREMRANGEBYRANK @zr 0 0 | ZREMRANGEBYSCORE @zr 4 (5
      | ZPOPMAX @zr | ZPOPMIN @zr | ZPOPMAX @zr 5 | ZPOPMIN @none | ZPOPMAX @none

      ZADD @z1 1 only | ZRANDMEMBER @z1 | ZRANDMEMBER @z1 1 WITHSCORES | ZRANDMEMBER @z1 -2
      | ZRANDMEMBER @none

      ZADD @{2}a 1 x 2 y 3 z | ZADD @{2}b 1 y | ZDIFF 2 @{2}a @{2}b | ZDIFF 2 @{2}a @{2}b WITHSCORES
      | ZINTER 2 @{2}a @{2}b | ZINTER 2 @{2}a @{2}b WITHSCORES | ZUNION 2 @{2}a @{2}b WITHSCORES
      | ZUNION 2 @{2}a @{2}b AGGREGATE MAX WEIGHTS 1 10

      ZADD @{y}a 1 x 2 y | ZADD @{y}b 5 y | ZDIFFSTORE @{y}d 2 @{y}a @{y}b
      | ZINTERSTORE @{y}i 2 @{y}a @{y}b | ZUNIONSTORE @{y}u 2 @{y}a @{y}b WEIGHTS 2 1
      | ZRANGESTORE @{y}r @{y}u 0 0 | ZRANGE @{y}u 0 -1 WITHSCORES | ZRANGE @{y}r 0 -1 WITHSCORES
      | ZRANGE @{y}d 0 -1

      PFADD @p a b c | PFADD @p a | PFCOUNT @p | PFADD @{h}a x y | PFADD @{h}b y z
      | PFMERGE @{h}m @{h}a @{h}b | PFCOUNT @{h}m | PFCOUNT @{h}a @{h}b | PFCOUNT @none
      | PFADD @{h}x | SET @{h}s str | PFCOUNT @{h}s

      GEOADD @g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
      | GEOADD @g XX CH 13.361389 38.115556 Palermo | GEODIST @g Palermo Catania
      | GEODIST @g Palermo Catania km | GEODIST @g Palermo nope | GEOPOS @g Palermo nope
      | GEOHASH @g Palermo Catania | GEORADIUS @g 15 37 200 km WITHDIST ASC
      | GEORADIUSBYMEMBER @g Palermo 200 km ASC WITHCOORD
      | GEOSEARCH @g FROMLONLAT 15 37 BYRADIUS 200 km ASC WITHCOORD WITHDIST
      | GEOSEARCH @g FROMMEMBER Palermo BYBOX 400 400 km ASC | GEOADD @g 200 100 x

      GEOADD @{w}s 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
      | GEOSEARCHSTORE @{w}d @{w}s FROMMEMBER Palermo BYRADIUS 300 km | ZRANGE @{w}d 0 -1
      | GEOSEARCHSTORE @{w}e @{w}s FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST
      | ZRANGE @{w}e 0 -1 WITHSCORES

      EVAL 'return redis.call("SET", KEYS[1], ARGV[1])' 1 @e v | EVAL '%SCRIPT' 1 @e arg
      | EVALSHA %SHA 1 @e arg | EVALSHA 0000000000000000000000000000000000000000 1 @e
      | EVAL 'return redis.error_reply("boom")' 1 @e | EVAL 'return' x @e
      | EVAL 'return KEYS' 2 @{e}a @{e}b | EVAL_RO 'return redis.call("GET", KEYS[1])' 1 @e
      | EVAL_RO 'return redis.call("SET", KEYS[1], 1)' 1 @e | EVALSHA_RO %SHA 1 @e arg

      XADD @x 1-1 f v | XADD @x 2-1 g w h u | XADD @x 1-1 f v | XLEN @x | XRANGE @x - +
      | XREVRANGE @x + - COUNT 1 | XDEL @x 1-1 | XRANGE @x - + | XTRIM @x MAXLEN 5 | XSETID @x 5-0
      | XADD @x 3-0 f v | XACK @x g 2-1 | XPENDING @x g | XCLAIM @x g c 0 2-1
      | XAUTOCLAIM @x g c 0 0 | XLEN @none | XADD @y NOMKSTREAM * f v | XLEN @y

      ~ COMMAND | ~ LOLWUT | ~ LOLWUT VERSION 5 | PING | PING hello | ECHO hi | SELECT 0

      FOO a b | GET | GET a b | EXPIRE k | HGET h | ZADD | SETEX k 1 | LINSERT k a b | MGET | DEL
      | MSET a | EVAL x | PERSIST
      """;

  /**
   * twemproxy's table (docs/compatibility.md#command-table); QUIT, AUTH and MOVE are covered
   * elsewhere.
   */
  private static final String SPEC_COMMANDS = """
      PING COMMAND LOLWUT PERSIST PTTL TTL TYPE DUMP DECR GET GETDEL INCR STRLEN HGETALL HKEYS HLEN
      HVALS LLEN SCARD SMEMBERS ZCARD EXPIRE EXPIREAT PEXPIRE PEXPIREAT APPEND DECRBY GETBIT GETSET
      INCRBY INCRBYFLOAT SETNX HEXISTS HGET HSTRLEN LINDEX RPOPLPUSH SISMEMBER ZRANK ZREVRANK ZSCORE
      GETRANGE PSETEX SETBIT SETEX SETRANGE HINCRBY HINCRBYFLOAT HSETNX LRANGE LREM LSET LTRIM SMOVE
      ZCOUNT ZLEXCOUNT ZINCRBY ZREMRANGEBYLEX ZREMRANGEBYRANK ZREMRANGEBYSCORE LINSERT LMOVE SORT
      COPY BITCOUNT BITPOS BITFIELD EXISTS GETEX SET HDEL HMGET HMSET HSCAN HSET HRANDFIELD LPUSH
      LPUSHX RPUSH RPUSHX LPOP RPOP LPOS SADD SDIFF SDIFFSTORE SINTER SINTERSTORE SREM SUNION
      SUNIONSTORE SRANDMEMBER SSCAN SPOP SMISMEMBER PFADD PFMERGE PFCOUNT ZADD ZDIFF ZDIFFSTORE
      ZINTER ZINTERSTORE ZMSCORE ZPOPMAX ZPOPMIN ZRANDMEMBER ZRANGE ZRANGEBYLEX ZRANGEBYSCORE
      ZRANGESTORE ZREM ZREVRANGE ZREVRANGEBYLEX ZREVRANGEBYSCORE ZSCAN ZUNION ZUNIONSTORE GEODIST
      GEOPOS GEOHASH GEOADD GEORADIUS GEORADIUSBYMEMBER GEOSEARCH GEOSEARCHSTORE RESTORE MGET DEL
      UNLINK TOUCH MSET EVAL EVALSHA
      """;

  /**
   * Commands twemproxy refuses by closing the connection; Walnut answers each with an error and
   * goes on. Of the streams (not in twemproxy's table, docs/compatibility.md#command-table), those
   * on several streams or with the key after a subcommand are refused too. SCAN, INFO, DBSIZE and
   * SCRIPT LOAD/FLUSH/EXISTS/KILL run over the whole pool (PoolWideCommandsIT); the other SCRIPT
   * subcommands stay refused. Transactions, blocking commands and pub/sub run on private
   * connections (TransactionsIT, BlockingIT, PubSubIT); EXEC and DISCARD without MULTI are errors.
   */
  private static final String REFUSED = """
      EXEC | DISCARD | KEYS * | CONFIG GET maxmemory
      CONFIG SET maxmemory 1 | FLUSHALL | FLUSHDB | SHUTDOWN | SAVE | BGSAVE
      DEBUG SLEEP 0 | REPLICAOF no one | RENAME a b | RENAMENX a b | BITOP AND d a b
      OBJECT ENCODING k | MSETNX a 1 b 2 | SCRIPT DEBUG yes | SCRIPT HELP | FUNCTION LIST
      XINFO STREAM s | XGROUP CREATE s g $
      WAIT 0 0 | TIME | RANDOMKEY
      MOVE k 1 | SELECT 1 | AUTH user pass | AUTH pass | CLIENT LIST | CLIENT KILL 1.2.3.4:5
      HELLO three | CLIENT TRACKING on | EVAL 'return 1' 0 | PING a b | COMMAND COUNT
      """;

  private static final List<RedisServer> backends = new ArrayList<>();
  private static RedisServer direct;
  private static ProxyFixture walnut;
  private static RedisClient lettuce;

  @BeforeAll
  static void start() throws Exception {
    backends.addAll(ProxyFixture.redisServers(3));
    direct = RedisServer.start();
    walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).hashTag("{}").build(), 2);
    lettuce = RedisClient.create();
    lettuce.setOptions(ClientOptions.builder().protocolVersion(ProtocolVersion.RESP2).build());
  }

  @AfterAll
  static void stop() throws Exception {
    List<RedisServer> servers = new ArrayList<>(backends);
    if (direct != null) {
      servers.add(direct);
    }
    try {
      if (lettuce != null) {
        lettuce.shutdown(0, 2, TimeUnit.SECONDS);
      }
    } finally {
      ProxyFixture.closeAll(walnut, servers);
    }
  }

  // ---- the table

  record Case(int index, String line) {
    @Override
    public String toString() {
      return line.length() > 90 ? line.substring(0, 87) + "..." : line;
    }

    List<String> commands() {
      return Arrays.stream(line.split(" \\| ")).map(String::trim).toList();
    }
  }

  static Stream<Case> cases() {
    List<String> lines = Arrays.stream(TABLE.split("\n\\s*\n"))
        .map(paragraph -> String.join(" ", paragraph.trim().split("\\s*\n\\s*"))).toList();
    return IntStream.range(0, lines.size()).mapToObj(i -> new Case(i, lines.get(i)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void rawRepliesAreTheSameBytesAsRedisGives(Case c) throws Exception {
    try (WireClient proxied = WireClient.openResp2(walnut.port());
        WireClient straight = WireClient.openResp2(direct.port())) {
      compare(c, "raw", proxied::call, straight::call, Reply::raw);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void jedisGetsTheRepliesRedisGives(Case c) throws Exception {
    try (Jedis proxied = new Jedis("127.0.0.1", walnut.port());
        Jedis straight = new Jedis("127.0.0.1", direct.port())) {
      compare(c, "jedis", args -> jedis(proxied, args), args -> jedis(straight, args),
          RedisCommandTableIT::show);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void lettuceGetsTheRepliesRedisGives(Case c) throws Exception {
    try (StatefulRedisConnection<byte[], byte[]> proxied = lettuce.connect(ByteArrayCodec.INSTANCE,
        RedisURI.create("127.0.0.1", walnut.port()));
        StatefulRedisConnection<byte[], byte[]> straight = lettuce.connect(
            ByteArrayCodec.INSTANCE, RedisURI.create("127.0.0.1", direct.port()))) {
      compare(c, "lettuce", args -> lettuce(proxied, args), args -> lettuce(straight, args),
          RedisCommandTableIT::show);
    }
  }

  /**
   * Runs the case's commands through both clients and compares each reply, in full or (after
   * {@code ~}) by shape.
   */
  private static <R> void compare(Case c, String client, Call<R> proxied, Call<R> straight,
      Function<R, Object> full) throws Exception {
    String prefix = client + ":" + c.index() + ":";
    List<Object> proxiedReplies = new ArrayList<>();
    List<Object> straightReplies = new ArrayList<>();
    List<String> commands = c.commands();
    for (int i = 0; i < commands.size(); i++) {
      String command = commands.get(i);
      boolean loose = command.startsWith("~ ");
      List<byte[]> args = args(loose ? command.substring(2) : command, prefix, proxiedReplies);
      List<byte[]> straightArgs = args(loose ? command.substring(2) : command, prefix,
          straightReplies);
      R viaWalnut = proxied.call(args);
      R fromRedis = straight.call(straightArgs);
      proxiedReplies.add(value(viaWalnut));
      straightReplies.add(value(fromRedis));
      Object expected = loose ? shape(value(fromRedis)) : full.apply(fromRedis);
      Object actual = loose ? shape(value(viaWalnut)) : full.apply(viaWalnut);
      assertEquals(expected, actual, client + " command " + i + ": " + command);
    }
  }

  /**
   * The parsed value of a client's reply: raw replies carry both forms, their strings turned to
   * the bytes they were read from, as the other clients give them.
   */
  private static Object value(Object reply) {
    return reply instanceof Reply r ? asBytes(r.value()) : reply;
  }

  private static Object asBytes(Object value) {
    if (value instanceof String s) {
      return WireClient.bytes(s);
    }
    if (value instanceof List<?> list) {
      return list.stream().map(RedisCommandTableIT::asBytes).toList();
    }
    return value;
  }

  @FunctionalInterface
  interface Call<R> {
    R call(List<byte[]> args) throws Exception;
  }

  /** Splits a command into arguments, expanding keys, quoted arguments and earlier replies. */
  static List<byte[]> args(String command, String prefix, List<Object> earlier) {
    List<byte[]> args = new ArrayList<>();
    for (int i = 0; i < command.length(); ) {
      if (command.charAt(i) == ' ') {
        i++;
        continue;
      }
      String token;
      if (command.charAt(i) == '\'') {
        int end = command.indexOf('\'', i + 1);
        token = command.substring(i + 1, end);
        i = end + 1;
      } else {
        int end = command.indexOf(' ', i);
        end = end < 0 ? command.length() : end;
        token = command.substring(i, end);
        i = end;
      }
      if (token.equals("%SCRIPT")) {
        args.add(bytes(SCRIPT));
      } else if (token.equals("%SHA")) {
        args.add(bytes(sha1(SCRIPT)));
      } else if (token.startsWith("%")) {
        args.add((byte[]) earlier.get(Integer.parseInt(token.substring(1))));
      } else if (token.startsWith("@")) {
        args.add(bytes(prefix + token.substring(1)));
      } else {
        args.add(bytes(token));
      }
    }
    return args;
  }

  private static Object jedis(Jedis jedis, List<byte[]> args) {
    byte[] name = args.get(0);
    try {
      return jedis.sendCommand(() -> name, args.subList(1, args.size()).toArray(new byte[0][]));
    } catch (JedisDataException e) {
      return new Err(e.getMessage());
    }
  }

  private static Object lettuce(StatefulRedisConnection<byte[], byte[]> connection,
      List<byte[]> args) {
    byte[] name = args.get(0);
    ProtocolKeyword keyword = new ProtocolKeyword() {
      @Override
      public byte[] getBytes() {
        return name;
      }

      @Override
      public String toString() {
        return new String(name, StandardCharsets.ISO_8859_1);
      }
    };
    CommandArgs<byte[], byte[]> commandArgs = new CommandArgs<>(ByteArrayCodec.INSTANCE);
    args.subList(1, args.size()).forEach(commandArgs::add);
    try {
      return connection.sync().dispatch(keyword, new RawOutput(), commandArgs);
    } catch (RedisCommandExecutionException e) {
      return new Err(e.getMessage());
    }
  }

  /** A client's reply as comparable text: bulk and status as quoted bytes, errors with '!'. */
  static String show(Object value) {
    if (value == null) {
      return "nil";
    }
    if (value instanceof byte[] b) {
      return '"' + new String(b, StandardCharsets.ISO_8859_1) + '"';
    }
    if (value instanceof List<?> list) {
      StringBuilder s = new StringBuilder("[");
      for (Object o : list) {
        s.append(s.length() > 1 ? ", " : "").append(show(o));
      }
      return s.append(']').toString();
    }
    if (value instanceof JedisDataException e) {
      return "!" + e.getMessage();
    }
    if (value instanceof Err e) {
      return "!" + e.text();
    }
    return ":" + value;
  }

  /** What a reply is, without its exact value: for TTLs and random output. */
  static String shape(Object value) {
    if (value instanceof Long n) {
      return n > 0 ? "positive integer" : "integer " + n;
    }
    if (value instanceof List<?> list) {
      return "array of " + list.size();
    }
    if (value instanceof byte[]) {
      return "bulk";
    }
    return show(value);
  }

  // ---- coverage and spread

  @Test
  void theTableCoversEveryCommandOfTheSpec() {
    Set<String> used = new TreeSet<>();
    cases().forEach(c -> c.commands().forEach(command -> used.add(
        command.replaceFirst("^~ ", "").split(" ")[0].toUpperCase(Locale.ROOT))));
    Set<String> missing = new TreeSet<>(Arrays.asList(SPEC_COMMANDS.trim().split("\\s+")));
    assertEquals(137 - 3, missing.size(), "the spec's 137 less QUIT, AUTH and MOVE");
    missing.removeAll(used);
    assertEquals(Set.of(), missing);
  }

  @Test
  void keysOfTheTableSpreadOverAllThreeBackends() throws Exception {
    try (WireClient client = WireClient.openResp2(walnut.port())) {
      for (int i = 0; i < 60; i++) {
        assertEquals("+OK\r\n", client.call(List.of(bytes("SET"), bytes(RedisMultiKeyIT.key("spread", i)),
            bytes("v"))).raw());
      }
    }
    for (RedisServer backend : backends) {
      assertTrue((Long) backend.command("DBSIZE") > 0, backend + " holds keys");
    }
  }

  // ---- refused commands

  static Stream<String> refused() {
    return Arrays.stream(REFUSED.split("[|\\n]")).map(String::trim).filter(s -> !s.isEmpty());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("refused")
  void refusedCommandsGetAnErrorAfterEarlierPipelinedRepliesAndTheConnectionGoesOn(
      String command) throws Exception {
    try (WireClient client = WireClient.openResp2(walnut.port())) {
      String key = "refused:" + command.replace(' ', '_');
      // Pipelined in one write: a SET before, the refused command, a GET after.
      client.send(List.of(bytes("SET"), bytes(key), bytes("v")));
      client.send(args(command, "", List.of()));
      client.send(List.of(bytes("GET"), bytes(key)));
      client.flush();
      assertEquals("+OK\r\n", client.read().raw());
      String error = client.read().raw();
      assertTrue(error.startsWith("-ERR "), command + " answered " + error);
      assertEquals("$1\r\nv\r\n", client.read().raw());
      assertEquals("+PONG\r\n", client.call(List.of(bytes("PING"))).raw());
    }
    // Nothing refused reached a backend: no stray subscription, shutdown or flush happened.
    for (RedisServer backend : backends) {
      assertEquals("PONG", backend.command("PING"));
    }
  }

  // ---- redis-cli

  @Test
  void redisCliPrintsWhatItPrintsStraightFromRedis() throws Exception {
    String[][] commands = {
        {"SET", "cli:s", "hello world"}, {"GET", "cli:s"}, {"HSET", "cli:h", "a", "1", "b", "2"},
        {"HGETALL", "cli:h"}, {"ZADD", "cli:z", "1.5", "x", "2", "y"},
        {"ZRANGE", "cli:z", "0", "-1", "WITHSCORES"}, {"RPUSH", "cli:l", "a", "b"},
        {"LRANGE", "cli:l", "0", "-1"}, {"MGET", "cli:s", "cli:none", "cli:s"},
        {"EVAL", "return {1, 'two', {3}}", "1", "cli:s"}, {"INCR", "cli:s"},
        {"GEOADD", "cli:g", "13.361389", "38.115556", "Palermo"}, {"GEOPOS", "cli:g", "Palermo"},
        {"TTL", "cli:s"}, {"DEL", "cli:s", "cli:h", "cli:z", "cli:none"},
    };
    for (String[] command : commands) {
      assertEquals(RedisProxyIT.redisCli(direct.port(), command),
          RedisProxyIT.redisCli(walnut.port(), command), String.join(" ", command));
    }
  }

  // ---- helpers shared by the Redis ITs

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String sha1(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(bytes(s)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  /**
   * A Lettuce output keeping the reply's structure as the other clients give it: bulk and status
   * as {@code byte[]}, integers as {@code Long}, arrays as lists, nils as {@code null}.
   */
  static final class RawOutput extends CommandOutput<byte[], byte[], Object> {
    private final Deque<List<Object>> open = new ArrayDeque<>();
    private final Deque<int[]> left = new ArrayDeque<>();

    RawOutput() {
      super(ByteArrayCodec.INSTANCE, null);
    }

    @Override
    public void set(ByteBuffer bytes) {
      if (bytes == null) {
        add(null);
        return;
      }
      byte[] b = new byte[bytes.remaining()];
      bytes.get(b);
      add(b);
    }

    @Override
    public void set(long integer) {
      add(integer);
    }

    @Override
    public void multi(int count) {
      if (count <= 0) {
        add(count < 0 ? null : new ArrayList<>());
        return;
      }
      open.push(new ArrayList<>(count));
      left.push(new int[] {count});
    }

    private void add(Object value) {
      Object done = value;
      while (true) {
        if (open.isEmpty()) {
          output = done;
          return;
        }
        open.peek().add(done);
        if (--left.peek()[0] > 0) {
          return;
        }
        left.pop();
        done = open.pop();
      }
    }
  }
}
