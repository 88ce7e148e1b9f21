package walnut.core.proxy;

import static com.google.common.base.Preconditions.checkArgument;
import static java.util.Objects.requireNonNull;

import java.time.Duration;
import walnut.core.tls.TlsEngine;

/**
 * Process-wide engine settings (command-line flags, since nutcracker.yml holds only pools).
 *
 * @param threads event loops; every loop has its own backend connections
 * @param maxPendingPerClient replies a client may owe before the proxy stops reading from it
 * @param maxPendingBytesPerClient bytes a client may have in the proxy (its requests in flight, the
 *     replies held for it and those written to it that its socket has not taken) before the proxy
 *     stops reading from it; one request larger than this is still read whole. A client whose
 *     replies alone exceed it is closed
 * @param shutdownGrace how long a graceful shutdown waits for in-flight requests
 * @param maxConnectionsPerServer the most connections one server may get from this process
 *     (threads x server_connections of its pool), checked at start and on reload; 0 for no cap
 * @param slowReaderLimit how long, in all, one long reply streamed to a client that takes nothing
 *     may hold the server connection it comes from (whose other replies queue behind it); at most
 *     half the pool's timeout. Then the rest of the reply is gathered for the client, within
 *     {@code maxPendingBytesPerClient}
 * @param tlsEngine the TLS implementation of pools that use TLS ({@code --tls-provider})
 * @param tlsHandshakeTimeout how long a client has to finish its TLS handshake
 *     ({@code --tls-handshake-timeout}); a server's handshake is part of its connect
 * @param observer told of every forwarded request once answered ({@code --command-metrics},
 *     {@code --slowlog-threshold}); {@code null}, the default: nothing is observed
 */
public record EngineOptions(int threads, int maxPendingPerClient, long maxPendingBytesPerClient,
    Duration shutdownGrace, int maxConnectionsPerServer, Duration slowReaderLimit,
    TlsEngine tlsEngine, Duration tlsHandshakeTimeout, RequestObserver observer) {

  public static final int DEFAULT_MAX_PENDING_PER_CLIENT = 16_384;
  public static final long DEFAULT_MAX_PENDING_BYTES_PER_CLIENT = 64L << 20;
  public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(10);
  public static final Duration DEFAULT_SLOW_READER_LIMIT = Duration.ofSeconds(1);
  /** Netty's default: a client that has not finished its TLS handshake by then is closed. */
  public static final Duration DEFAULT_TLS_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);

  public EngineOptions {
    checkArgument(threads > 0, "threads: %s (expected: > 0)", threads);
    checkArgument(maxPendingPerClient > 0, "max pending per client: %s (expected: > 0)",
        maxPendingPerClient);
    checkArgument(maxPendingBytesPerClient > 0,
        "max pending bytes per client: %s (expected: > 0)", maxPendingBytesPerClient);
    checkArgument(maxConnectionsPerServer >= 0,
        "max connections per server: %s (expected: >= 0)", maxConnectionsPerServer);
    checkArgument(!slowReaderLimit.isNegative() && !slowReaderLimit.isZero(),
        "slow reader limit: %s (expected: > 0)", slowReaderLimit);
    requireNonNull(tlsEngine, "tlsEngine");
    checkArgument(!tlsHandshakeTimeout.isNegative() && !tlsHandshakeTimeout.isZero(),
        "TLS handshake timeout: %s (expected: > 0)", tlsHandshakeTimeout);
  }

  /** The default TLS engine ({@code auto}) and handshake timeout. */
  public EngineOptions(int threads, int maxPendingPerClient, long maxPendingBytesPerClient,
      Duration shutdownGrace, int maxConnectionsPerServer, Duration slowReaderLimit) {
    this(threads, maxPendingPerClient, maxPendingBytesPerClient, shutdownGrace,
        maxConnectionsPerServer, slowReaderLimit, TlsEngine.AUTO, DEFAULT_TLS_HANDSHAKE_TIMEOUT,
        null);
  }

  /** These options with another TLS engine and client handshake timeout. */
  public EngineOptions withTls(TlsEngine engine, Duration handshakeTimeout) {
    return new EngineOptions(threads, maxPendingPerClient, maxPendingBytesPerClient, shutdownGrace,
        maxConnectionsPerServer, slowReaderLimit, engine, handshakeTimeout, observer);
  }

  /** These options with {@code observer} told of every forwarded request ({@code null}: none). */
  public EngineOptions withObserver(RequestObserver observer) {
    return new EngineOptions(threads, maxPendingPerClient, maxPendingBytesPerClient, shutdownGrace,
        maxConnectionsPerServer, slowReaderLimit, tlsEngine, tlsHandshakeTimeout, observer);
  }

  /** The default slow-reader limit. */
  public EngineOptions(int threads, int maxPendingPerClient, long maxPendingBytesPerClient,
      Duration shutdownGrace, int maxConnectionsPerServer) {
    this(threads, maxPendingPerClient, maxPendingBytesPerClient, shutdownGrace,
        maxConnectionsPerServer, DEFAULT_SLOW_READER_LIMIT);
  }

  /** These options with another {@link #slowReaderLimit}. */
  public EngineOptions withSlowReaderLimit(Duration limit) {
    return new EngineOptions(threads, maxPendingPerClient, maxPendingBytesPerClient, shutdownGrace,
        maxConnectionsPerServer, limit, tlsEngine, tlsHandshakeTimeout, observer);
  }

  /** No cap on the connections per server. */
  public EngineOptions(int threads, int maxPendingPerClient, long maxPendingBytesPerClient,
      Duration shutdownGrace) {
    this(threads, maxPendingPerClient, maxPendingBytesPerClient, shutdownGrace, 0);
  }

  /** The connections one server gets from {@code serverConnections} per loop. */
  public long connectionsPerServer(int serverConnections) {
    return (long) threads * serverConnections;
  }

  /** {@code threads} loops and the defaults for everything else. */
  public static EngineOptions threads(int threads) {
    return new EngineOptions(threads, DEFAULT_MAX_PENDING_PER_CLIENT,
        DEFAULT_MAX_PENDING_BYTES_PER_CLIENT, DEFAULT_SHUTDOWN_GRACE);
  }

  public static EngineOptions defaults() {
    return threads(Runtime.getRuntime().availableProcessors());
  }
}
