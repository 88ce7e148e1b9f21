package walnut.core.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.netty.util.concurrent.ImmediateExecutor;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.config.Endpoint;
import walnut.core.tls.TlsErrors;

/**
 * Opens one event loop's connections to the servers of one pool: the connect itself, the back-off
 * after failed connects, and the handshake (Redis AUTH, SELECT) every new connection starts with.
 * {@link BackendConnection} calls it; it never calls a connection back.
 *
 * <p>Back-off: after a failed connect, the next attempts to that server wait 10 ms, 20 ms, ... up
 * to 1 s, failing fast in between, so a dead server is not hammered with a connect per request.
 * Confined to its event loop.
 */
final class Connector {

  /** The connection's logger, as before connecting had a class of its own. */
  private static final Logger log = LoggerFactory.getLogger(BackendConnection.class);

  /**
   * A backend connection shared by many clients takes a few MiB of their requests before its
   * senders stop reading: a burst is written before it is flushed, so a small mark would flap.
   */
  private static final WriteBufferWaterMark BACKEND_WATER_MARK =
      new WriteBufferWaterMark(1 << 20, 4 << 20);
  private static final long FIRST_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
  private static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(1);
  private static final String TLS = "tls";

  /** Opens a channel to a server with the given pipeline: Netty's bootstrap, or a test's. */
  interface Opener {
    ChannelFuture open(Endpoint server, ChannelHandler initializer);
  }

  /** How a connect attempt ends, for the connection that asked for it. */
  interface Attempt {
    /**
     * Connected: {@code handshake} goes first on {@code channel}; the callee owns its buffers.
     * Returns false when the connection was closed meanwhile (the connect then counts for
     * nothing).
     */
    boolean connected(Channel channel, List<ByteBuf> handshake);

    /**
     * The connect of {@code channel} ({@code null} when none could be made) failed; the caller
     * closes it and reports {@link #failed(int, String)} unless the proxy closed it itself.
     */
    void failed(Channel channel, String reason, boolean timedOut, Throwable cause);

    /** The server refused the connection's dialect in the handshake. */
    void dialectRefused();

    /** The server says in the handshake that it is not a master ({@code why}, for the log). */
    void notPrimary(String why);

    /** The reply to the handshake's last step is in (and said nothing above). */
    void handshaken();

    /**
     * Whether the connection already failed or was closed by the proxy (its requests timed out
     * first, a reload, the shutdown): how its TLS handshake then ends says nothing of the server.
     */
    boolean isClosed();
  }

  private final Pool pool;
  private final EventLoop loop;
  private final Opener opener;
  /** Per server: consecutive failed connects, when the next may be tried (0: now), and why. */
  private final int[] failures;
  private final long[] retryAt;
  private final String[] lastFailure;

  Connector(Pool pool, EventLoop loop) {
    this(pool, loop, bootstraps(pool, loop, pool.connectTimeoutMillis()));
  }

  Connector(Pool pool, EventLoop loop, Opener opener) {
    this.pool = pool;
    this.loop = loop;
    this.opener = opener;
    int servers = pool.config().servers().size();
    this.failures = new int[servers];
    this.retryAt = new long[servers];
    this.lastFailure = new String[servers];
  }

  /** Netty's bootstraps for the pool's servers, on {@code loop}, over the pool's transport. */
  static Opener bootstraps(Pool pool, EventLoop loop, int connectTimeoutMillis) {
    Bootstrap tcp = new Bootstrap()
        .group(loop)
        .channel(pool.transport().channelClass())
        .resolver(pool.resolver())
        .option(ChannelOption.ALLOCATOR, ProxyServer.ALLOCATOR)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.WRITE_BUFFER_WATER_MARK, BACKEND_WATER_MARK)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis);
    Bootstrap unix =
        pool.config().servers().stream().noneMatch(s -> s.endpoint().isUnix()) ? null
            : new Bootstrap()
                .group(loop)
                .channel(pool.transport().domainChannelClass())
                .option(ChannelOption.ALLOCATOR, ProxyServer.ALLOCATOR)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, BACKEND_WATER_MARK)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis);
    return (server, initializer) -> server.isUnix()
        ? unix.clone().handler(initializer)
            .connect(pool.transport().domainSocketAddress(server.path()))
        // Unresolved: the host is resolved again on every new connection, as twemproxy does.
        : tcp.clone().handler(initializer)
            .connect(InetSocketAddress.createUnresolved(server.host(), server.port()));
  }

  /** Whether connects to {@code server} are backing off: a new connection fails at once. */
  boolean backingOff(int server) {
    return retryAt[server] != 0 && loop.ticker().nanoTime() - retryAt[server] < 0;
  }

  /** Why the last connect to {@code server} failed. */
  String lastFailure(int server) {
    return lastFailure[server];
  }

  /**
   * Starts connecting to {@code server} at {@code address} with the pool's reply decoder and
   * {@code handler} in the new channel's pipeline, and counts the connection; {@code attempt} hears how it ends, perhaps
   * before this returns. Returns the channel (the caller may close it before it connects), or
   * {@code null} when the connect could not even start.
   */
  Channel connect(int server, Endpoint address, int dialect, ChannelHandler handler,
      Attempt attempt) {
    pool.stats().connectionOpened(); // the connection's failure counts the close
    ChannelFuture f;
    try {
      f = opener.open(address, new ChannelInitializer<>() {
        @Override
        protected void initChannel(Channel ch) {
          if (pool.tls().backend() != null) {
            ch.pipeline().addLast(TLS, TlsHandshakes.server(ch, pool.tls().backend(),
                pool.config().serverTls(), address, pool.connectTimeoutMillis(),
                ImmediateExecutor.INSTANCE));
          }
          ch.pipeline().addLast("decoder", pool.protocol().newReplyDecoder(pool.config()));
          ch.pipeline().addLast("backend", handler);
        }
      });
    } catch (RuntimeException e) {
      attempt.failed(null, ErrorText.of(e), false, e);
      return null;
    }
    f.addListener(done -> {
      if (done.isSuccess()) {
        SslHandler tls = f.channel().pipeline().get(SslHandler.class);
        if (tls == null) {
          connected(server, dialect, f.channel(), attempt);
          return;
        }
        // Over TLS, a connection is connected once its handshake is over: until then its
        // requests wait, as during the TCP connect, and a failure backs off like one.
        tls.handshakeFuture().addListener(handshake -> {
          if (handshake.isSuccess()) {
            connected(server, dialect, f.channel(), attempt);
          } else {
            handshakeFailed(server, address, f.channel(), handshake.cause(), attempt);
          }
        });
      } else {
        attempt.failed(f.channel(), ErrorText.of(done.cause()),
            done.cause() instanceof ConnectTimeoutException, done.cause());
      }
    });
    return f.channel();
  }

  private void connected(int server, int dialect, Channel channel, Attempt attempt) {
    if (attempt.connected(channel,
        pool.protocol().handshake(pool.config(), dialect, channel.alloc()))
        && !pool.watched()) {
      succeeded(server); // a watched pool's server succeeds once it says it is a master
    }
  }

  /** The TLS handshake with {@code server} failed: logged with its reason, failed as a connect. */
  private void handshakeFailed(int server, Endpoint address, Channel channel, Throwable cause,
      Attempt attempt) {
    if (attempt.isClosed()) {
      return; // closed under the handshake: its requests were answered and counted already
    }
    boolean timedOut = cause instanceof SslHandshakeTimeoutException;
    pool.tls().backend().counters().handshakeFailed(timedOut);
    log.warn("pool '{}': server '{}' ({}): TLS handshake {}", pool.config().name(),
        pool.config().servers().get(server).name(), address,
        timedOut ? "timed out: not finished in " + pool.connectTimeoutMillis() + " ms"
            : "failed: " + TlsErrors.reason(cause));
    attempt.failed(channel, timedOut ? ErrorText.TLS_TIMED_OUT : ErrorText.TLS_FAILED, timedOut,
        cause);
  }

  /** A connect to {@code server} failed: the next attempts back off. */
  void failed(int server, String reason) {
    int n = Math.min(++failures[server], 8);
    long delay = Math.min(MAX_BACKOFF_NANOS, FIRST_BACKOFF_NANOS << (n - 1));
    retryAt[server] = loop.ticker().nanoTime() + delay;
    if (retryAt[server] == 0) {
      retryAt[server] = 1;
    }
    lastFailure[server] = reason;
  }

  /** {@code server} moved to another address: the old one's failures do not delay the new. */
  void moved(int server) {
    succeeded(server);
  }

  /** A connect to {@code server} succeeded: no more back-off. */
  private void succeeded(int server) {
    failures[server] = 0;
    retryAt[server] = 0;
  }

  /**
   * Checks the reply to {@code dialect}'s handshake step {@code index} on {@code server}, and
   * tells {@code attempt} when it says the server cannot speak the dialect, or is not a master,
   * or, for the {@code last} step, that the handshake is over.
   */
  ReplyHandler handshakeStep(int server, int dialect, int index, boolean last,
      Attempt attempt) {
    return new HandshakeStep(server, dialect, index, last, attempt);
  }

  /** The proxy's own AUTH/SELECT: the reply is checked and logged, never forwarded. */
  private final class HandshakeStep implements ReplyHandler {
    private final int server;
    private final int dialect;
    private final int index;
    private final boolean last;
    private final Attempt attempt;

    HandshakeStep(int server, int dialect, int index, boolean last, Attempt attempt) {
      this.server = server;
      this.dialect = dialect;
      this.index = index;
      this.last = last;
      this.attempt = attempt;
    }

    @Override
    public boolean isClientRequest() {
      return false;
    }

    @Override
    public void onReply(ByteBuf reply) {
      try {
        String problem =
            pool.protocol().checkHandshakeReply(pool.config(), dialect, index, reply);
        if (problem != null) {
          log.error("pool '{}': server '{}': {}", pool.config().name(),
              pool.config().servers().get(server).name(), problem);
        }
        if (pool.protocol().refusesDialect(pool.config(), dialect, index, reply)) {
          pool.dialectRefused(dialect);
          attempt.dialectRefused();
        } else if (pool.protocol().notPrimary(pool.config(), dialect, index, reply)) {
          attempt.notPrimary("it answered ROLE as a replica");
        } else if (last) {
          if (pool.watched()) {
            succeeded(server);
          }
          attempt.handshaken();
        }
      } finally {
        reply.release();
      }
    }

    @Override
    public void onError(String reason) {}
  }
}
