package walnut.core.spi;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;

/**
 * A piece of one long reply, emitted by a reply decoder as its bytes arrive, so that a 64 MiB
 * value passes through the proxy without being held whole. The pieces of one reply come in order,
 * back to back (no other reply between them), and the last has {@link #last()} set; concatenated,
 * they are the reply byte for byte, exactly as one {@link ByteBuf} would have been.
 *
 * <p>Ownership: like a whole reply, the part's buffer is owned by the receiver, which releases the
 * part (or passes its {@link #content()} on).
 */
public final class ReplyPart extends DefaultByteBufHolder {

  private final boolean last;

  public ReplyPart(ByteBuf content, boolean last) {
    super(content);
    this.last = last;
  }

  /** Whether this piece ends the reply. */
  public boolean last() {
    return last;
  }

  @Override
  public ReplyPart replace(ByteBuf content) {
    return new ReplyPart(content, last);
  }

  @Override
  public String toString() {
    return "ReplyPart(" + content().readableBytes() + " bytes" + (last ? ", last)" : ")");
  }
}
