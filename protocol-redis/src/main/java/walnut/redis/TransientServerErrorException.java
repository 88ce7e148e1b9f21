package walnut.redis;

import io.netty.handler.codec.DecoderException;

/**
 * A Redis server answered {@code -OOM}, {@code -BUSY} or {@code -LOADING}. twemproxy does not pass
 * these on: it closes the server connection, and every request in flight on it gets
 * {@code -ERR Invalid argument} (docs/compatibility.md#transient-server-errors). Raised by {@link
 * RedisReplyDecoder}; the message is the server's error line, for the log.
 */
public final class TransientServerErrorException extends DecoderException {

  private static final long serialVersionUID = 1L;

  public TransientServerErrorException(String serverError) {
    super("server replied " + serverError);
  }
}
