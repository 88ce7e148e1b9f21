package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a {@link RequestObserver} is told of one request, gathered as it goes: made when the
 * request's reply takes its place in the client's queue (only when the engine has an observer),
 * counted as a long reply streams, and handed over when the reply is ready. Confined to the
 * client's event loop.
 *
 * <p>Every reply the pool's latency histogram times is observed, so the histogram by command adds
 * up to the pool's: requests forwarded on shared connections, those of transactions and blocking
 * commands on private ones, and the errors Walnut answers for requests it could not send.
 */
final class Observation {

  private static final Logger log = LoggerFactory.getLogger(Observation.class);
  /** Whether an observer threw already: said once, not per request. */
  private static volatile boolean observerFailed;

  /** The server of a request that was not sent (no server live, refused). */
  static final String NO_SERVER = "-";

  private final String pool;
  private final String server;
  private final String command;
  private final byte[] key;
  private final int requestBytes;
  private final boolean waits;
  private long streamed;

  private Observation(String pool, String server, String command, byte[] key, int requestBytes,
      boolean waits) {
    this.pool = pool;
    this.server = server;
    this.command = command;
    this.key = key;
    this.requestBytes = requestBytes;
    this.waits = waits;
  }

  /**
   * A request for {@code server} ({@link walnut.core.spi.KeyRouter#NO_SERVER}: not sent); its
   * key is {@code keyLength} bytes at {@code keyIndex} of {@code keyBuf} ({@code keyLength < 0}:
   * keyless); {@code waits}: a blocking command, whose time is the client's choice. Never throws:
   * a protocol that cannot name the command leaves it unnamed.
   */
  static Observation of(Pool pool, RequestObserver observer, ByteBuf frame, ByteBuf keyBuf,
      int keyIndex, int keyLength, int server, boolean waits) {
    byte[] key = null;
    if (observer.wantsKeys() && keyLength >= 0) {
      key = ByteBufUtil.getBytes(keyBuf, keyIndex,
          Math.min(keyLength, RequestObserver.KEY_BYTES + 1));
    }
    return new Observation(pool.config().name(), server < 0 ? NO_SERVER : pool.serverName(server),
        commandName(pool, frame), key, frame.readableBytes(), waits);
  }

  /** The protocol's name for the command in {@code frame}, {@code null} when it has none. */
  static String commandName(Pool pool, ByteBuf frame) {
    try {
      return pool.protocol().commandName(frame);
    } catch (RuntimeException e) {
      return null; // a protocol's bug must not cost the request
    }
  }

  /** A request split over {@code servers} of {@code pool} (its command read before splitting). */
  static Observation split(Pool pool, String command, int requestBytes, int[] servers, int n) {
    StringBuilder names = new StringBuilder();
    java.util.BitSet seen = new java.util.BitSet();
    for (int i = 0; i < n; i++) {
      if (servers[i] >= 0 && !seen.get(servers[i])) {
        seen.set(servers[i]);
        names.append(names.length() == 0 ? "" : ",").append(pool.serverName(servers[i]));
      }
    }
    return new Observation(pool.config().name(), names.length() == 0 ? NO_SERVER
        : names.toString(), command, null, requestBytes, false);
  }

  /** A reply of {@code pool} the caller said nothing of: a refusal, its request gone. */
  static Observation unnamed(Pool pool) {
    return new Observation(pool.config().name(), NO_SERVER, null, null, 0, false);
  }

  /** A piece of a long reply went to the client: counted. */
  void streamed(ByteBuf piece) {
    if (piece != null) {
      streamed += piece.readableBytes();
    }
  }

  /**
   * The reply is ready, {@code nanos} after the request came, its last piece {@code last}. An
   * observer that throws is logged once and otherwise ignored: the reply is the client's.
   */
  void completed(RequestObserver observer, long nanos, ByteBuf last) {
    try {
      observer.completed(pool, server, command, key, nanos, requestBytes,
          streamed + (last == null ? 0 : last.readableBytes()), waits);
    } catch (RuntimeException e) {
      if (!observerFailed) {
        observerFailed = true;
        log.error("the request observer failed (said once; the replies go on)", e);
      }
    }
  }
}
