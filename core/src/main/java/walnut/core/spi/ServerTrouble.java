package walnut.core.spi;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;

/**
 * A whole reply in which the server reports trouble of its own rather than an answer to the
 * request (Redis {@code -LOADING}, {@code -BUSY}, {@code -OOM}), emitted by a reply decoder in
 * place of the plain buffer. The engine gives it to the request it answers, like any reply, and
 * keeps the connection, whose other requests are unaffected; it counts as a failure of the server
 * (towards {@code auto_eject_hosts}) unless the request owns its error replies
 * ({@link Request#ownsErrorReplies()}: a script, which can return any error it likes).
 *
 * <p>Ownership: as a reply's buffer, the holder's content is owned by the receiver.
 */
public final class ServerTrouble extends DefaultByteBufHolder {

  public ServerTrouble(ByteBuf reply) {
    super(reply);
  }

  @Override
  public ServerTrouble replace(ByteBuf content) {
    return new ServerTrouble(content);
  }

  @Override
  public String toString() {
    return "ServerTrouble(" + content().readableBytes() + " bytes)";
  }
}
