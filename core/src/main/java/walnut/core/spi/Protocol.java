package walnut.core.spi;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import java.util.List;
import java.util.function.Supplier;
import walnut.core.config.PoolConfig;

/**
 * A wire protocol the proxy speaks on both sides ({@code redis}, {@code memcache}).
 *
 * <p>Contract: the protocol object is shared and stateless; per-connection state lives in the
 * handlers it creates, which are never {@code @Sharable} and run on their channel's event loop.
 * <ul>
 *   <li>The request decoder receives client bytes and emits {@link Request}s, in order, each owning
 *       its frame. Requests it answers itself (PING, QUIT, AUTH, errors for unknown commands, a
 *       framing error followed by a close) come out as {@link Request.Kind#LOCAL} in their turn.
 *   <li>The reply decoder receives backend bytes and emits one {@link ByteBuf} per complete reply,
 *       owned by the receiver; a long reply may instead come as consecutive {@link ReplyPart}s as
 *       its bytes arrive (the Redis decoder does so for a top-level bulk string of 256 KiB or
 *       more), which the engine streams to the client. A reply in which the server reports
 *       trouble of its own (Redis's {@code -OOM}/{@code -BUSY}/{@code -LOADING}) comes as a
 *       {@link ServerTrouble}: it answers its request and counts against the server. A reply
 *       that cannot be parsed is raised as an exception from the decoder; the engine then closes
 *       that backend connection and answers {@code Invalid argument} to every request on it.
 * </ul>
 */
public interface Protocol {

  /** The protocol's name: {@code redis} or {@code memcache}. */
  String name();

  /** A new request decoder for one client connection of {@code pool}. */
  ChannelHandler newRequestDecoder(PoolConfig pool);

  /**
   * A new request decoder for one client connection of a pool that a reload may change while the
   * connection stays open: {@code pool} gives the pool's settings as they are now. A decoder reads
   * it as each request starts, so a reloaded setting it uses ({@code redis_auth},
   * {@code max_request_size}) applies to the client from its next request, while a request partly
   * received keeps the settings it started with. The default reads the settings once, at accept.
   */
  default ChannelHandler newLiveRequestDecoder(Supplier<PoolConfig> pool) {
    return newRequestDecoder(pool.get());
  }

  /** A new reply decoder for one backend connection of {@code pool}. */
  ChannelHandler newReplyDecoder(PoolConfig pool);

  /**
   * Requests sent first on every new backend connection (Redis AUTH, then SELECT); their replies
   * are not forwarded but given to {@link #checkHandshakeReply}. The caller owns the buffers.
   */
  default List<ByteBuf> handshake(PoolConfig pool, ByteBufAllocator alloc) {
    return List.of();
  }

  /**
   * Checks the reply to handshake request {@code index}; returns {@code null} when it is fine, or
   * a message for the log. Does not release {@code reply}.
   */
  default String checkHandshakeReply(PoolConfig pool, int index, ByteBuf reply) {
    return null;
  }

  /**
   * How many kinds of server connection the protocol's requests may need ({@link
   * Request#dialect()}): the engine keeps the connections of each dialect apart, per server and
   * event loop. 1 by default; Redis has 2, RESP2 and RESP3.
   */
  default int dialects() {
    return 1;
  }

  /**
   * How many of its dialects a pool with settings {@code pool} may use, each with its own
   * connections: what the connection cap and the descriptor budget count. By default all.
   */
  default int dialectsUsed(PoolConfig pool) {
    return dialects();
  }

  /**
   * The handshake of a new server connection for requests of {@code dialect}: by default, for
   * every dialect, {@link #handshake(PoolConfig, ByteBufAllocator)}.
   */
  default List<ByteBuf> handshake(PoolConfig pool, int dialect, ByteBufAllocator alloc) {
    return handshake(pool, alloc);
  }

  /**
   * Whether {@code reply} to step {@code index} of {@code dialect}'s handshake says the server
   * cannot speak that dialect at all (Redis older than 6 answering {@code HELLO 3}). The engine
   * then closes the connection, answers its requests and later ones of that dialect with an
   * error, and decodes clients' requests with {@link #withoutDialect}.
   */
  default boolean refusesDialect(PoolConfig pool, int dialect, int index, ByteBuf reply) {
    return false;
  }

  /**
   * The settings client requests are decoded with once the pool's servers refused
   * {@code dialect}, so that no client asks for it again: by default, {@code pool}.
   */
  default PoolConfig withoutDialect(PoolConfig pool, int dialect) {
    return pool;
  }

  /** Checks the reply to step {@code index} of {@code dialect}'s handshake (see above). */
  default String checkHandshakeReply(PoolConfig pool, int dialect, int index, ByteBuf reply) {
    return checkHandshakeReply(pool, index, reply);
  }

  /**
   * The request that probes an ejected server ({@code health_check_interval}), sent after the
   * RESP2 handshake on a connection of its own: Redis {@code PING}, memcached {@code version}.
   * The caller owns the buffer. Any reply but one the decoder emits as {@link ServerTrouble}
   * (Redis {@code -LOADING}) passes: an answer, even an error such as {@code -NOPERM}, is what a
   * client's connection would see too. By default {@code null}: a connection and its handshake
   * are the whole probe.
   */
  default ByteBuf healthProbe(PoolConfig pool, ByteBufAllocator alloc) {
    return null;
  }

  /**
   * Whether {@code reply} to step {@code index} of {@code dialect}'s handshake says the server is
   * not a master that takes writes: in a pool with sentinels the Redis handshake ends with
   * {@code ROLE}, and a replica's answer fails the connection before any client request is
   * written to it. False by default.
   */
  default boolean notPrimary(PoolConfig pool, int dialect, int index, ByteBuf reply) {
    return false;
  }

  /**
   * What tells where the pool's servers are now, or {@code null} when they stay where the
   * configuration puts them (the default). Redis: the sentinels of a pool with {@code sentinels}.
   */
  default ServerLocator locator(PoolConfig pool) {
    return null;
  }

  /**
   * An error reply in the protocol's form, for example {@code -ERR Connection refused\r\n} or
   * {@code SERVER_ERROR Connection refused\r\n}. The caller owns the buffer.
   */
  ByteBuf errorReply(ByteBufAllocator alloc, String message);

  /**
   * The name of the command in request {@code frame} (its readable bytes), lower case, from a
   * fixed set the protocol knows, so that metrics labelled by it stay bounded; {@code null} for
   * anything else. Only asked when requests are observed ({@code --command-metrics},
   * {@code --slowlog-threshold}); must not throw on any frame its decoder produced.
   */
  default String commandName(ByteBuf frame) {
    return null;
  }
}
