package walnut.core.proxy;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.Executor;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.config.BackendTls;
import walnut.core.config.Endpoint;
import walnut.core.tls.RotatingTls;
import walnut.core.tls.TlsErrors;

/**
 * The TLS handler of a new connection, from the context its pool uses now: clients' handshakes
 * are timed and their failures counted; a server connection is verified against the name its
 * pool says ({@code server_tls_server_name}, or the host it connects to). The engine's delegated
 * tasks (signing, certificate checks) run on {@code tasks}, off the event loop, so a burst of
 * handshakes does not hold up the requests of established clients.
 */
final class TlsHandshakes {

  private static final Logger log = LoggerFactory.getLogger(TlsHandshakes.class);

  private TlsHandshakes() {}

  /** The handler of an accepted client of pool {@code pool}. */
  static SslHandler client(Channel ch, RotatingTls tls, String pool, long timeoutMillis,
      Executor tasks) {
    SslHandler ssl = tls.context().newHandler(ch.alloc(), tasks);
    ssl.setHandshakeTimeoutMillis(timeoutMillis);
    ssl.handshakeFuture().addListener(f -> {
      Throwable cause = f.cause();
      if (cause == null || closedByPeer(cause)) {
        return; // done, or a client that left (a load balancer's TCP check) before it began
      }
      boolean timedOut = cause instanceof SslHandshakeTimeoutException;
      tls.counters().handshakeFailed(timedOut);
      if (tls.mayLog()) {
        log.info("pool '{}': client {} refused: TLS handshake {}", pool, ch.remoteAddress(),
            timedOut ? "timed out: not finished in " + timeoutMillis + " ms"
                : "failed: " + TlsErrors.reason(cause));
      }
    });
    return ssl;
  }

  /** The handler of a connection to a server at {@code address}. */
  static SslHandler server(Channel ch, RotatingTls tls, BackendTls config, Endpoint address,
      long timeoutMillis, Executor tasks) {
    SslHandler ssl = tls.context().newHandler(ch.alloc(), config.nameFor(address.host()),
        address.port(), tasks);
    ssl.setHandshakeTimeoutMillis(timeoutMillis);
    return ssl;
  }

  /**
   * The text for requests that timed out on a connection to {@code server}: when they waited for
   * a TLS handshake the server has not finished ({@code unconnected}: the channel, while the
   * connection is not connected), the handshake is what they waited for, and it counts so.
   */
  static String timeoutText(Pool pool, int server, Channel unconnected) {
    SslHandler ssl = unconnected == null || !unconnected.isActive() ? null
        : unconnected.pipeline().get(SslHandler.class);
    if (ssl == null || ssl.handshakeFuture().isDone()) {
      return ErrorText.TIMED_OUT;
    }
    pool.tls().backend().counters().handshakeFailed(true);
    log.warn("pool '{}': server '{}' ({}): TLS handshake timed out: not finished when its"
        + " requests timed out ({} ms)", pool.config().name(), pool.serverName(server),
        unconnected.remoteAddress(), pool.config().timeout());
    return ErrorText.TLS_TIMED_OUT;
  }

  /**
   * A TLS error on a connection to {@code server} before its first reply: in TLS 1.3 a server
   * refuses Walnut's certificate (or its lack of one) only after the handshake is over, so this
   * is logged and counted as the failed handshake it is. Returns whether it was one.
   */
  static boolean refusedAfterHandshake(Pool pool, int server, Endpoint address,
      Throwable cause) {
    if (!isTls(cause) || pool.tls().backend() == null) {
      return false;
    }
    pool.tls().backend().counters().handshakeFailed(false);
    log.warn("pool '{}': server '{}' ({}): TLS handshake failed: {}", pool.config().name(),
        pool.serverName(server), address, TlsErrors.reason(cause));
    return true;
  }

  /** Whether {@code cause} is TLS's: a failed handshake, a bad record, plain text on TLS. */
  static boolean isTls(Throwable cause) {
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof SSLException) {
        return true;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return false;
  }

  /** The peer closed before the handshake was over, without a word of TLS gone wrong. */
  static boolean closedByPeer(Throwable cause) {
    return cause instanceof ClosedChannelException
        || (cause instanceof SSLException && cause.getMessage() != null
            && cause.getMessage().startsWith("Connection closed while SSL/TLS handshake"));
  }
}
