package walnut.redis;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import walnut.core.config.PoolConfig;
import walnut.core.spi.Protocol;

/**
 * The Redis protocol (RESP2), as twemproxy 0.5.0 speaks it with the differences of
 * docs/compatibility.md#where-walnut-differs.
 *
 * <p>Stateless and thread-safe: per-connection state lives in the decoders it creates, one
 * {@link RedisRequestDecoder} per client channel and one {@link RedisReplyDecoder} per backend
 * channel, never shared. Every buffer it returns is owned by the caller.
 *
 * <p>Backend handshake: AUTH first when {@code redis_auth} is set, then {@code SELECT <redis_db>}
 * when {@code redis_db > 0}. twemproxy sends SELECT before AUTH, so with both keys its data lands
 * in DB 0; Walnut does it in the working order (docs/compatibility.md#where-walnut-differs).
 */
public final class RedisProtocol implements Protocol {

  @Inject
  public RedisProtocol() {}

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

  @Override
  public ChannelHandler newReplyDecoder(PoolConfig pool) {
    return new RedisReplyDecoder();
  }

  @Override
  public List<ByteBuf> handshake(PoolConfig pool, ByteBufAllocator alloc) {
    List<ByteBuf> steps = new ArrayList<>(2);
    if (pool.redisAuth() != null) {
      steps.add(command(alloc, "AUTH", pool.redisAuth().getBytes(StandardCharsets.UTF_8)));
    }
    if (pool.redisDb() > 0) {
      steps.add(command(alloc, "SELECT",
          Integer.toString(pool.redisDb()).getBytes(StandardCharsets.US_ASCII)));
    }
    return steps;
  }

  @Override
  public String checkHandshakeReply(PoolConfig pool, int index, ByteBuf reply) {
    if (reply.readableBytes() == 5
        && reply.toString(reply.readerIndex(), 5, StandardCharsets.US_ASCII).equals("+OK\r\n")) {
      return null;
    }
    boolean auth = pool.redisAuth() != null && index == 0;
    String step = auth ? "AUTH" : "SELECT " + pool.redisDb();
    int end = reply.readerIndex();
    int limit = reply.readerIndex() + Math.min(reply.readableBytes(), 200);
    while (end < limit && reply.getByte(end) != '\r' && reply.getByte(end) != '\n') {
      end++;
    }
    String text = reply.toString(reply.readerIndex(), end - reply.readerIndex(),
        StandardCharsets.ISO_8859_1);
    return step + " to backend failed: " + text;
  }

  @Override
  public ByteBuf errorReply(ByteBufAllocator alloc, String message) {
    return Replies.error(alloc, "ERR " + message);
  }

  private static ByteBuf command(ByteBufAllocator alloc, String name, byte[] arg) {
    byte[] nameBytes = name.getBytes(StandardCharsets.US_ASCII);
    ByteBuf out = alloc.buffer(
        Resp.headerSize(2) + Resp.bulkSize(nameBytes.length) + Resp.bulkSize(arg.length));
    Resp.writeHeader(out, '*', 2);
    Resp.writeBulk(out, nameBytes);
    Resp.writeBulk(out, arg);
    return out;
  }
}
