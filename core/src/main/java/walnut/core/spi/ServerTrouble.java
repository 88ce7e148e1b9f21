package walnut.core.spi;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;

/**
 * A whole reply in which the server reports trouble of its own rather than an answer to the
 * request (Redis {@code -LOADING}, {@code -BUSY}, {@code -OOM}), emitted by a reply decoder in
 * place of the plain buffer. The engine gives it to the request it answers, like any reply, and
 * keeps the connection, whose other requests are unaffected. When {@link #counts()}, it is a
 * failure of the server (towards {@code auto_eject_hosts}) unless the request owns its error
 * replies ({@link Request#ownsErrorReplies()}: a script, which can return any error it likes).
 * The proxy's own handshake step (AUTH, SELECT) answered this way fails the connection: it cannot
 * be trusted with clients' requests.
 *
 * <p>Ownership: as a reply's buffer, the holder's content is owned by the receiver.
 */
public final class ServerTrouble extends DefaultByteBufHolder {

  private final boolean counts;
  private final boolean notPrimary;

  /** {@code counts}: whether the trouble is the server's state, a failure of the server. */
  public ServerTrouble(ByteBuf reply, boolean counts) {
    this(reply, counts, false);
  }

  /**
   * {@code notPrimary}: the server refused a write as a replica (Redis {@code -READONLY}, in a
   * pool with sentinels), so its master may have moved; it never counts.
   */
  public ServerTrouble(ByteBuf reply, boolean counts, boolean notPrimary) {
    super(reply);
    this.counts = counts && !notPrimary;
    this.notPrimary = notPrimary;
  }

  /** Whether this counts as a failure of the server. */
  public boolean counts() {
    return counts;
  }

  /** Whether the server says it is not the master (a failover may have moved it). */
  public boolean notPrimary() {
    return notPrimary;
  }

  @Override
  public ServerTrouble replace(ByteBuf content) {
    return new ServerTrouble(content, counts, notPrimary);
  }

  @Override
  public String toString() {
    return "ServerTrouble(" + content().readableBytes() + " bytes)";
  }
}
