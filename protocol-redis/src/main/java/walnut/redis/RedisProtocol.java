package walnut.redis;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import walnut.core.config.PoolConfig;
import walnut.core.spi.Protocol;
import walnut.core.spi.ServerLocator;

/**
 * The Redis protocol (RESP2, and RESP3 after {@code HELLO 3}), as twemproxy 0.5.0 speaks it with the differences of
 * docs/compatibility.md#where-walnut-differs.
 *
 * <p>Stateless and thread-safe: per-connection state lives in the decoders it creates, one
 * {@link RedisRequestDecoder} per client channel and one {@link RedisReplyDecoder} per backend
 * channel, never shared. Every buffer it returns is owned by the caller.
 *
 * <p>Backend handshake: AUTH first when {@code redis_auth} is set, then {@code SELECT <redis_db>}
 * when {@code redis_db > 0}. twemproxy sends SELECT before AUTH, so with both keys its data lands
 * in DB 0; Walnut does it in the working order (docs/compatibility.md#where-walnut-differs). A
 * connection for RESP3 clients ({@link #RESP3}) then says {@code HELLO 3}: replies are passed
 * through, never converted, so each client gets its own protocol's shapes.
 */
public final class RedisProtocol implements Protocol {

  /** The dialect of a RESP3 client's requests (after {@code HELLO 3}): RESP3 connections. */
  static final int RESP3 = 1;

  @Inject
  public RedisProtocol() {}

  private static final byte[] PING = "*1\r\n$4\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] ROLE = "*1\r\n$4\r\nROLE\r\n".getBytes(StandardCharsets.US_ASCII);
  /** What a master's ROLE reply starts with, after the array's header. */
  private static final byte[] MASTER = "$6\r\nmaster\r\n".getBytes(StandardCharsets.US_ASCII);

  @Override
  public String name() {
    return "redis";
  }

  @Override
  public ChannelHandler newRequestDecoder(PoolConfig pool) {
    return new RedisRequestDecoder(pool);
  }

  /** A reloaded pool's settings apply to the client from its next request. */
  @Override
  public ChannelHandler newLiveRequestDecoder(Supplier<PoolConfig> pool) {
    return new RedisRequestDecoder(pool);
  }

  /** In a pool with sentinels, a {@code -READONLY} reply says the master moved. */
  @Override
  public ChannelHandler newReplyDecoder(PoolConfig pool) {
    return new RedisReplyDecoder(pool.sentinelled());
  }

  @Override
  public List<ByteBuf> handshake(PoolConfig pool, ByteBufAllocator alloc) {
    List<ByteBuf> steps = new ArrayList<>(3);
    if (pool.redisAuth() != null) {
      steps.add(command(alloc, "AUTH", pool.redisAuth().getBytes(StandardCharsets.UTF_8)));
    }
    if (pool.redisDb() > 0) {
      steps.add(command(alloc, "SELECT",
          Integer.toString(pool.redisDb()).getBytes(StandardCharsets.US_ASCII)));
    }
    return steps;
  }

  /** RESP2 and RESP3: a client's requests after {@code HELLO 3} need RESP3 connections. */
  @Override
  public int dialects() {
    return 2;
  }

  /** RESP3 connections only where clients may switch to RESP3 ({@code resp3}, the default). */
  @Override
  public int dialectsUsed(PoolConfig pool) {
    return pool.resp3() ? 2 : 1;
  }

  /**
   * A RESP3 connection ({@link #RESP3}) says {@code HELLO 3} after AUTH and SELECT. Then every
   * connection, of either dialect, loads the scripts loaded through Walnut
   * ({@link ScriptRegistry}), after everything else: a server that restarted empty, or one a
   * reload added, has them before the connection's first request (docs/compatibility.md#scripts).
   */
  @Override
  public List<ByteBuf> handshake(PoolConfig pool, int dialect, ByteBufAllocator alloc) {
    List<ByteBuf> steps = handshake(pool, alloc);
    if (dialect == RESP3) {
      steps.add(command(alloc, "HELLO", new byte[] {'3'}));
    }
    if (pool.sentinelled()) {
      steps.add(alloc.buffer(ROLE.length).writeBytes(ROLE)); // opens the connection
    }
    for (byte[] script : ScriptRegistry.of(pool.name()).bodies()) {
      steps.add(command(alloc, "SCRIPT", "LOAD".getBytes(StandardCharsets.US_ASCII), script));
    }
    return steps;
  }

  /** How many handshake steps come before the scripts' loads. */
  private static int fixedSteps(PoolConfig pool, int dialect) {
    return helloStep(pool) + (dialect == RESP3 ? 1 : 0) + (pool.sentinelled() ? 1 : 0);
  }

  /** The step that asks {@code ROLE}, in a pool with sentinels (the last), else -1. */
  private static int roleStep(PoolConfig pool, int dialect) {
    return pool.sentinelled() ? helloStep(pool) + (dialect == RESP3 ? 1 : 0) : -1;
  }

  /**
   * A pool with sentinels asks every new connection's {@code ROLE}: a server that says
   * {@code slave} (or {@code sentinel}) takes no request. An error (an ACL without ROLE) cannot
   * tell, and lets the connection serve; it is logged.
   */
  @Override
  public boolean notPrimary(PoolConfig pool, int dialect, int index, ByteBuf reply) {
    if (index != roleStep(pool, dialect) || !reply.isReadable()
        || reply.getByte(reply.readerIndex()) != '*') {
      return false;
    }
    int lf = reply.indexOf(reply.readerIndex(), reply.writerIndex(), (byte) '\n');
    return lf < 0 || reply.writerIndex() - (lf + 1) < MASTER.length
        || !reply.slice(lf + 1, MASTER.length).equals(Unpooled.wrappedBuffer(MASTER));
  }

  @Override
  public ServerLocator locator(PoolConfig pool) {
    if (!pool.sentinelled()) {
      return null;
    }
    return context -> {
      SentinelWatch watch = new SentinelWatch(context, SentinelHub.on(context.loop()));
      watch.start();
      return watch;
    };
  }

  /**
   * A server older than Redis 6 answers HELLO with an error (unknown command, or -NOPROTO): it
   * has no RESP3.
   */
  @Override
  public boolean refusesDialect(PoolConfig pool, int dialect, int index, ByteBuf reply) {
    return dialect == RESP3 && index == helloStep(pool) && reply.isReadable()
        && reply.getByte(reply.readerIndex()) == '-';
  }

  /** Once the servers refused RESP3, HELLO 3 is answered -NOPROTO: clients stay in RESP2. */
  @Override
  public PoolConfig withoutDialect(PoolConfig pool, int dialect) {
    return dialect == RESP3 ? pool.toBuilder().resp3(false).build() : pool;
  }

  private static int helloStep(PoolConfig pool) {
    return (pool.redisAuth() != null ? 1 : 0) + (pool.redisDb() > 0 ? 1 : 0);
  }

  @Override
  public String checkHandshakeReply(PoolConfig pool, int dialect, int index, ByteBuf reply) {
    if (index >= fixedSteps(pool, dialect)) {
      return reply.isReadable() && reply.getByte(reply.readerIndex()) == '$' ? null
          : "SCRIPT LOAD of a script loaded through Walnut failed: " + firstLine(reply);
    }
    if (index == roleStep(pool, dialect)) {
      return reply.isReadable() && reply.getByte(reply.readerIndex()) == '-'
          ? "ROLE to backend failed: " + firstLine(reply) + " (its role is not checked)" : null;
    }
    int helloStep = helloStep(pool);
    if (dialect != RESP3 || index != helloStep) {
      return checkHandshakeReply(pool, index, reply);
    }
    if (reply.isReadable() && reply.getByte(reply.readerIndex()) == '%') {
      return null;
    }
    return "HELLO 3 to backend failed: " + firstLine(reply) + " (the server has no RESP3:"
        + " HELLO 3 is refused from now on; set resp3: false for this pool)";
  }

  @Override
  public String checkHandshakeReply(PoolConfig pool, int index, ByteBuf reply) {
    if (reply.readableBytes() == 5
        && reply.toString(reply.readerIndex(), 5, StandardCharsets.US_ASCII).equals("+OK\r\n")) {
      return null;
    }
    boolean auth = pool.redisAuth() != null && index == 0;
    String step = auth ? "AUTH" : "SELECT " + pool.redisDb();
    return step + " to backend failed: " + firstLine(reply);
  }

  private static String firstLine(ByteBuf reply) {
    int end = reply.readerIndex();
    int limit = reply.readerIndex() + Math.min(reply.readableBytes(), 200);
    while (end < limit && reply.getByte(end) != '\r' && reply.getByte(end) != '\n') {
      end++;
    }
    return reply.toString(reply.readerIndex(), end - reply.readerIndex(),
        StandardCharsets.ISO_8859_1);
  }

  /** {@code PING}, after the RESP2 handshake (AUTH, SELECT). */
  @Override
  public ByteBuf healthProbe(PoolConfig pool, ByteBufAllocator alloc) {
    return alloc.buffer(PING.length).writeBytes(PING);
  }


  @Override
  public ByteBuf errorReply(ByteBufAllocator alloc, String message) {
    return Replies.error(alloc, "ERR " + message);
  }

  private static ByteBuf command(ByteBufAllocator alloc, String name, byte[]... args) {
    byte[] nameBytes = name.getBytes(StandardCharsets.US_ASCII);
    int size = Resp.headerSize(1 + args.length) + Resp.bulkSize(nameBytes.length);
    for (byte[] arg : args) {
      size += Resp.bulkSize(arg.length);
    }
    ByteBuf out = alloc.buffer(size);
    Resp.writeHeader(out, '*', 1 + args.length);
    Resp.writeBulk(out, nameBytes);
    for (byte[] arg : args) {
      Resp.writeBulk(out, arg);
    }
    return out;
  }

  /** The command's name as Redis spells it in errors (lower case), for a command in the table. */
  @Override
  public String commandName(ByteBuf frame) {
    int at = frame.readerIndex();
    if (frame.readableBytes() < 4 || frame.getByte(at) != '*') {
      return null; // the decoder forwards only arrays (inline commands are converted)
    }
    FrameCursor cursor = new FrameCursor(frame, at);
    if (!cursor.next()) {
      return null;
    }
    RedisCommand command = CommandTable.lookup(frame, cursor.start(), cursor.length());
    return command == null ? null : command.lowerName;
  }
}
