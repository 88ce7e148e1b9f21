package walnut.core.spi;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;

/**
 * A message the server sends of its own accord, answering no request (a RESP3 push, {@code >}),
 * emitted by a reply decoder in place of the plain buffer so that it is never taken as the reply
 * to the request at the head of the connection's queue. A proxy that shares the connection among
 * clients cannot tell whose it is; it drops it unless a feature that knows (pub/sub) claims it.
 *
 * <p>Ownership: as a reply's buffer, the holder's content is owned by the receiver.
 */
public final class ServerPush extends DefaultByteBufHolder {

  public ServerPush(ByteBuf message) {
    super(message);
  }

  @Override
  public ServerPush replace(ByteBuf content) {
    return new ServerPush(content);
  }

  @Override
  public String toString() {
    return "ServerPush(" + content().readableBytes() + " bytes)";
  }
}
