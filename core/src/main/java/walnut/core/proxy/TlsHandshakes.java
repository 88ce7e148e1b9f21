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

  private static final Logger log = LoggerFactory.getLogger(ClientSession.class);

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
            timedOut ? "not finished in " + timeoutMillis + " ms"
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
