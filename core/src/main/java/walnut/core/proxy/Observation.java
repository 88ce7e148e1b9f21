package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;

/**
 * What a {@link RequestObserver} is told of one request, gathered as it goes: made at dispatch
 * (only when the engine has an observer), counted as a long reply streams, and handed over when
 * the reply is ready. Confined to the client's event loop.
 */
final class Observation {

  private final String pool;
  private final String server;
  private final String command;
  private final byte[] key;
  private final int requestBytes;
  private long streamed;

  private Observation(String pool, String server, String command, byte[] key, int requestBytes) {
    this.pool = pool;
    this.server = server;
    this.command = command;
    this.key = key;
    this.requestBytes = requestBytes;
  }

  /**
   * A request routed to {@code server}; its key is {@code keyLength} bytes at {@code keyIndex} of
   * {@code keyBuf} ({@code keyLength < 0}: keyless). Never throws: a protocol that cannot name the
   * command leaves it unnamed.
   */
  static Observation routed(Pool pool, RequestObserver observer, ByteBuf frame, ByteBuf keyBuf,
      int keyIndex, int keyLength, int server) {
    byte[] key = null;
    if (observer.wantsKeys() && keyLength >= 0) {
      key = ByteBufUtil.getBytes(keyBuf, keyIndex,
          Math.min(keyLength, RequestObserver.KEY_BYTES + 1));
    }
    return new Observation(pool.config().name(), pool.serverName(server),
        commandName(pool, frame), key, frame.readableBytes());
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
    return new Observation(pool.config().name(), names.toString(), command, null, requestBytes);
  }

  /** A placeholder for a request nobody observes. */
  static Observation none() {
    return new Observation(null, null, null, null, 0);
  }

  /** A piece of a long reply went to the client: counted, and returned for writing. */
  static ByteBuf streamed(Observation observation, ByteBuf piece) {
    if (observation != null && piece != null) {
      observation.streamed += piece.readableBytes();
    }
    return piece;
  }

  /** The reply is ready, {@code nanos} after the request came, its last piece {@code last}. */
  void completed(RequestObserver observer, long nanos, ByteBuf last) {
    observer.completed(pool, server, command, key, nanos, requestBytes,
        streamed + (last == null ? 0 : last.readableBytes()));
  }
}
