package walnut.core.spi;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.ByteToMessageDecoder;

/**
 * The part of a reply decoder that {@link PartialReplies} asks for, shared by every protocol's:
 * what has arrived of the reply being framed, and dropping it as it is framed once no one wants
 * it. A subclass frames replies in {@link #decode}, keeping its progress relative to the reply's
 * first byte; it says how many of the bytes it holds are framed ({@link #framedBytes}) and moves
 * its offsets when they go ({@link #framedDropped}), calls {@link #dropFramedIfUnwanted} when a
 * read ends inside a reply, and {@link #replyEnded} once a reply is passed on or the stream fails.
 *
 * <p>A reply that arrives in many reads is kept as the reads' buffers, not copied into one that
 * grows: growing a buffer copies what it holds, which made gathering a reply of n bytes cost about
 * n squared over 8 MiB (a 100 MB reply: 0.8 s instead of 0.07 s).
 *
 * <p>One instance per backend channel, confined to its event loop.
 */
public abstract class PartialReplyDecoder extends ByteToMessageDecoder implements PartialReplies {

  /** The reply being framed is wanted by no one: what is framed of it is dropped as it goes. */
  private boolean dropping;
  /** Bytes of the reply being framed dropped so far: still received, not passed on. */
  private long dropped;

  protected PartialReplyDecoder() {
    setCumulator(COMPOSITE_CUMULATOR);
  }

  /** What has arrived of the reply being framed: the bytes held, and those dropped. */
  @Override
  public final int partialReplyBytes() {
    return (int) Math.min(Integer.MAX_VALUE, actualReadableBytes() + dropped);
  }

  /** Bytes this decoder holds now; those dropped are gone. */
  public final int heldBytes() {
    return actualReadableBytes();
  }

  @Override
  public final void dropPartialReply() {
    dropping = mayDrop();
    dropFramedIfUnwanted(internalBuffer()); // between reads: what the last one framed goes now
  }

  /**
   * Whether the reply being framed can be dropped: not once the stream has failed, nor while it
   * is passed on in parts.
   */
  protected abstract boolean mayDrop();

  /**
   * How many bytes at the start of {@code in} are framed parts of the reply in progress that can
   * go: whole elements before the one being read, or a value's bytes short of its CRLF.
   */
  protected abstract int framedBytes(ByteBuf in);

  /** {@code bytes} at the start of the reply were dropped: move the offsets kept into it. */
  protected abstract void framedDropped(int bytes);

  /** Drops what is framed of the reply in progress, if no one wants it. */
  protected final void dropFramedIfUnwanted(ByteBuf in) {
    if (!dropping) {
      return;
    }
    int k = framedBytes(in);
    if (k > 0) {
      in.skipBytes(k);
      dropped += k;
      framedDropped(k);
    }
  }

  /** The reply in progress was passed on (what is left of it, if dropped) or the stream failed. */
  protected final void replyEnded() {
    dropping = false;
    dropped = 0;
  }
}
