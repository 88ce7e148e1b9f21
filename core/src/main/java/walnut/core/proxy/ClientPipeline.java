package walnut.core.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;
import walnut.core.config.PoolConfig;
import walnut.core.tls.RotatingTls;

/**
 * The pipeline of an accepted client connection: TLS when the pool's listener speaks it (the
 * context of the generation current when the client connects), the idle timer
 * ({@code client_idle_timeout}), the protocol's request decoder and the {@link ClientSession};
 * and the pool's settings on it that a reload changes, which apply to an established client from
 * its next request (docs/architecture.md#reload):
 * <ul>
 *   <li>the request decoder reads the pool's settings as each request starts
 *       ({@link walnut.core.spi.Protocol#newLiveRequestDecoder}): {@code redis_auth},
 *       {@code max_request_size};
 *   <li>{@code client_idle_timeout} and {@code tcpkeepalive} follow when the session moves to the
 *       pool's new generation, which it does with its next request ({@link #moved}).
 * </ul>
 * {@code client_connections} is checked when a client connects: a reload that lowers it closes no
 * established client.
 */
final class ClientPipeline {

  static final String TLS = "tls";
  static final String IDLE = "idle";
  static final String DECODER = "decoder";
  static final String SESSION = "session";

  private ClientPipeline() {}

  /** Sets up {@code ch}, a connection of {@code handle}'s pool. */
  static void init(Channel ch, PoolHandle handle) {
    Pool current = handle.current();
    RotatingTls tls = current.tls().listener();
    if (tls != null) {
      ch.pipeline().addLast(TLS, TlsHandshakes.client(ch, tls, current.config().name(),
          current.tls().clientHandshakeTimeoutMillis(), current.tls().handshakeTasks()));
    }
    int idle = current.config().clientIdleTimeout();
    if (idle > 0) {
      ch.pipeline().addLast(IDLE, idleTimer(idle));
    }
    ch.pipeline().addLast(DECODER, current.protocol().newLiveRequestDecoder(handle::config));
    ch.pipeline().addLast(SESSION, new ClientSession(handle));
  }

  /**
   * The client moved from a generation with settings {@code before} to one with {@code now}: the
   * channel takes the settings that changed. On the channel's event loop.
   */
  static void moved(Channel ch, PoolConfig before, PoolConfig now) {
    if (before.clientIdleTimeout() != now.clientIdleTimeout()) {
      // The new timer counts from now: the client has just sent a request.
      ChannelPipeline p = ch.pipeline();
      if (p.get(IDLE) != null) {
        p.remove(IDLE);
      }
      if (now.clientIdleTimeout() > 0) {
        if (p.get(TLS) != null) {
          p.addAfter(TLS, IDLE, idleTimer(now.clientIdleTimeout()));
        } else {
          p.addFirst(IDLE, idleTimer(now.clientIdleTimeout()));
        }
      }
    }
    if (before.tcpKeepalive() != now.tcpKeepalive() && ch instanceof SocketChannel) {
      ch.config().setOption(ChannelOption.SO_KEEPALIVE, now.tcpKeepalive());
    }
  }

  private static IdleStateHandler idleTimer(int millis) {
    return new IdleStateHandler(0, 0, millis, TimeUnit.MILLISECONDS);
  }
}
