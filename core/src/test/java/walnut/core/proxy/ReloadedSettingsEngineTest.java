package walnut.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.core.proxy.EngineHarness.written;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import walnut.core.config.PoolConfig;
import walnut.core.spi.Protocol;

/**
 * Settings of a pool that the client side reads, changed by a reload under a client connected
 * before it: they apply to that client from its next request. The request decoder is given the
 * pool's settings as they are now (its protocol reads them as each request starts:
 * {@code redis_auth}, {@code max_request_size}); {@code client_idle_timeout} and
 * {@code tcpkeepalive} follow when the session moves to the new generation.
 */
class ReloadedSettingsEngineTest {

  private EngineHarness h;

  @AfterEach
  void close() {
    if (h != null) {
      h.close();
    }
  }

  /** A line protocol that keeps the live settings its last request decoder was given. */
  private static final class Recording implements Protocol {
    private final LineProtocol line = new LineProtocol();
    Supplier<PoolConfig> live;

    @Override
    public String name() {
      return line.name();
    }

    @Override
    public ChannelHandler newRequestDecoder(PoolConfig pool) {
      return line.newRequestDecoder(pool);
    }

    @Override
    public ChannelHandler newLiveRequestDecoder(Supplier<PoolConfig> pool) {
      live = pool;
      return line.newRequestDecoder(pool.get());
    }

    @Override
    public ChannelHandler newReplyDecoder(PoolConfig pool) {
      return line.newReplyDecoder(pool);
    }

    @Override
    public ByteBuf errorReply(ByteBufAllocator alloc, String message) {
      return line.errorReply(alloc, message);
    }
  }

  /** A reload to {@code next} (same protocol): the handle's next generation; the old retires. */
  private void reload(PoolConfig next, Protocol protocol) {
    Pool previous = h.handle.current();
    h.handle.replace(h.newPool(next, previous.options(), protocol,
        Reload.statsFor(next, h.poolStats)));
    previous.retire();
    h.run();
  }

  /** A client accepted by the listener: the pipeline {@link ClientPipeline} sets up. */
  private EmbeddedChannel accept() {
    EmbeddedChannel c = EmbeddedChannel.builder().ticker(h.ticker)
        .handlers(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            ClientPipeline.init(ch, h.handle);
          }
        }).build();
    h.clients.add(c);
    return c;
  }

  private static PoolConfig idle(int millis) {
    return EngineHarness.poolConfig(1, 0).clientIdleTimeout(millis).build();
  }

  @Test
  void theDecoderOfAClientReadsThePoolsSettingsAsTheyAreNow() {
    h = new EngineHarness(idle(0), EngineHarness.defaults());
    Recording protocol = new Recording();
    reload(h.config, protocol);
    accept();
    assertNotNull(protocol.live, "the decoder was given the pool's live settings");
    assertSame(h.config, protocol.live.get());
    PoolConfig next = h.config.toBuilder().maxRequestSize(4096).build();
    reload(next, protocol);
    assertSame(next, protocol.live.get(), "a reload's settings, for the next request");
  }

  @Test
  void anIdleTimeoutSetByAReloadAppliesFromTheNextRequest() {
    h = new EngineHarness(idle(0), EngineHarness.defaults());
    EmbeddedChannel c = accept();
    reload(idle(1000), h.pool.protocol());
    h.advance(5000);
    assertTrue(c.isOpen(), "a client that sent nothing since keeps the settings it had");

    h.send(c, "ping\n");
    assertEquals(LineProtocol.PONG, written(c));
    h.advance(999);
    assertTrue(c.isOpen());
    h.advance(2);
    assertFalse(c.isOpen(), "idle for the new client_idle_timeout");
  }

  @Test
  void anIdleTimeoutChangedOrRemovedByAReloadAppliesFromTheNextRequest() {
    h = new EngineHarness(idle(1000), EngineHarness.defaults());
    EmbeddedChannel longer = accept();
    EmbeddedChannel none = accept();
    reload(idle(3000), h.pool.protocol());
    h.send(longer, "ping\n");
    h.advance(2000);
    assertTrue(longer.isOpen(), "the new, longer timeout");
    assertFalse(none.isOpen(), "a client that sent nothing since keeps the timeout it had");
    h.advance(1001);
    assertFalse(longer.isOpen());

    EmbeddedChannel kept = accept();
    reload(idle(0), h.pool.protocol());
    h.send(kept, "ping\n");
    h.advance(60_000);
    assertTrue(kept.isOpen(), "client_idle_timeout 0: never closed for idleness");
    assertEquals(List.of(ClientPipeline.DECODER, ClientPipeline.SESSION),
        kept.pipeline().names().subList(0, 2));
  }

  @Test
  void tcpKeepaliveFollowsTheGeneration() throws Exception {
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    try {
      CompletableFuture<Channel> accepted = new CompletableFuture<>();
      Channel listener = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
          .childHandler(new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
              accepted.complete(ch);
            }
          }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
      try (Socket client = new Socket("127.0.0.1",
          ((InetSocketAddress) listener.localAddress()).getPort())) {
        assertTrue(client.isConnected());
        Channel ch = accepted.get(10, TimeUnit.SECONDS);
        PoolConfig off = EngineHarness.poolConfig(1, 0).build();
        PoolConfig on = off.toBuilder().tcpKeepalive(true).build();
        assertFalse(ch.config().getOption(ChannelOption.SO_KEEPALIVE));
        ch.eventLoop().submit(() -> ClientPipeline.moved(ch, off, on)).sync();
        assertTrue(ch.config().getOption(ChannelOption.SO_KEEPALIVE));
        ch.eventLoop().submit(() -> ClientPipeline.moved(ch, on, off)).sync();
        assertFalse(ch.config().getOption(ChannelOption.SO_KEEPALIVE));
      } finally {
        listener.close().sync();
      }
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }
}
