package walnut.memcache;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;
import walnut.core.config.PoolConfig;
import walnut.core.spi.Protocol;

/**
 * The memcached ASCII and meta protocol, as memcached 1.6 speaks it (see the package
 * documentation for where that differs from twemproxy 0.5.0).
 *
 * <p>Stateless and thread-safe: per-connection state lives in the decoders it creates, one
 * {@link MemcacheRequestDecoder} per client channel and one {@link MemcacheReplyDecoder} per
 * backend channel, never shared. There is no backend handshake. Every buffer it returns is owned by
 * the caller.
 */
public final class MemcacheProtocol implements Protocol {

  private static final byte[] VERSION = "version\r\n".getBytes(StandardCharsets.US_ASCII);

  @Inject
  public MemcacheProtocol() {}

  @Override
  public String name() {
    return "memcache";
  }

  @Override
  public ChannelHandler newRequestDecoder(PoolConfig pool) {
    return new MemcacheRequestDecoder(pool);
  }

  /** A reloaded pool's settings apply to the client from its next request. */
  @Override
  public ChannelHandler newLiveRequestDecoder(Supplier<PoolConfig> pool) {
    return new MemcacheRequestDecoder(pool);
  }

  @Override
  public ChannelHandler newReplyDecoder(PoolConfig pool) {
    return new MemcacheReplyDecoder();
  }

  /** {@code version}: any answer passes, as for a client. */
  @Override
  public ByteBuf healthProbe(PoolConfig pool, ByteBufAllocator alloc) {
    return alloc.buffer(VERSION.length).writeBytes(VERSION);
  }


  /** {@code SERVER_ERROR <message>\r\n}, as twemproxy answers a failed memcached request. */
  @Override
  public ByteBuf errorReply(ByteBufAllocator alloc, String message) {
    return Replies.serverError(alloc, message);
  }

  @Override
  public String commandName(ByteBuf frame) {
    MemcacheCommand command = MemcacheCommand.of(frame);
    return command == null ? null : command.text;
  }
}
