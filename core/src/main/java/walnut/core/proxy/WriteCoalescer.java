package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelOutboundInvoker;

/**
 * Gathers the small frames written to one channel during a burst into one buffer, so that the
 * sixteen replies of a pipelined batch, or the requests of many clients to one server, are one
 * message in Netty's outbound buffer rather than one each. Every message costs an outbound-buffer
 * entry, a walk of the pipeline, pending-bytes accounting and an iovec; at pipeline 16 that was a
 * quarter of the event loop's own time, while copying a few dozen bytes costs almost nothing.
 *
 * <p>A lone frame goes out as it is, uncopied (the common case without pipelining), and so does a
 * frame larger than {@link #SMALL_FRAME}, after what was gathered before it: order is never
 * changed. Every write to the channel must go through here, or follow {@link #emit()}.
 *
 * <p>Takes ownership of every frame it is given. Confined to the channel's event loop.
 */
final class WriteCoalescer {

  /** Frames up to this many bytes are copied together; larger ones are written as they are. */
  static final int SMALL_FRAME = 1024;
  /** A gathered buffer is written once the next frame would take it past this many bytes. */
  static final int MAX_GATHERED = 64 * 1024;
  private static final int FIRST_CAPACITY = 2048;

  private final ChannelOutboundInvoker out;
  private final ByteBufAllocator alloc;
  /** The burst's first small frame, kept as it is until a second one comes. */
  private ByteBuf held;
  /** The small frames of the burst so far, copied; {@code held} is then {@code null}. */
  private ByteBuf gathered;
  /** The channel closed: frames go straight to it, which releases them. */
  private boolean discarded;

  WriteCoalescer(ChannelOutboundInvoker out, ByteBufAllocator alloc) {
    this.out = out;
    this.alloc = alloc;
  }

  /**
   * Writes {@code frame} (not flushed). Never throws: should the copy fail (out of direct memory),
   * the frames go out uncopied, in order, and a failing write then fails the channel through
   * Netty's promise, as any write does.
   */
  void write(ByteBuf frame) {
    int size = frame.readableBytes();
    if (size > SMALL_FRAME || discarded) {
      // emit() may fire a writability change before the frame follows: the handlers it reaches
      // only pause reading, they never write, so nothing can come between the two.
      emit();
      out.write(frame, out.voidPromise());
      return;
    }
    if (gathered != null && gathered.readableBytes() + size > MAX_GATHERED) {
      emit();
    }
    if (gathered == null) {
      if (held == null) {
        held = frame;
        return;
      }
      ByteBuf first = held;
      held = null;
      try {
        gathered = alloc.ioBuffer(Math.max(FIRST_CAPACITY, first.readableBytes() + size),
            MAX_GATHERED);
      } catch (RuntimeException | OutOfMemoryError e) {
        out.write(first, out.voidPromise());
        out.write(frame, out.voidPromise());
        return;
      }
      gathered.writeBytes(first); // fits: the buffer was sized for both
      first.release();
    } else {
      try {
        gathered.ensureWritable(size);
      } catch (RuntimeException | OutOfMemoryError e) {
        emit();
        out.write(frame, out.voidPromise());
        return;
      }
    }
    gathered.writeBytes(frame);
    frame.release();
  }

  /** The bytes gathered or held here, not yet written to the channel. */
  int pendingBytes() {
    return held != null ? held.readableBytes() : gathered != null ? gathered.readableBytes() : 0;
  }

  /** Writes what is gathered or held, ahead of anything written to the channel directly. */
  void emit() {
    if (held != null) {
      ByteBuf frame = held;
      held = null;
      out.write(frame, out.voidPromise());
    } else if (gathered != null) {
      ByteBuf frames = gathered;
      gathered = null;
      out.write(frames, out.voidPromise());
    }
  }

  /** Writes what is gathered or held, and flushes the channel. */
  void flush() {
    emit();
    out.flush();
  }

  /** The channel closed: releases what was never written; later frames pass straight through. */
  void discard() {
    discarded = true;
    if (held != null) {
      held.release();
      held = null;
    }
    if (gathered != null) {
      gathered.release();
      gathered = null;
    }
  }
}
