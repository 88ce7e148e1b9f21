package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.util.ReferenceCountUtil;
import walnut.core.spi.Protocol;
import walnut.core.spi.Request;
import walnut.core.spi.Splitter;

/**
 * The reply a client is owed for one request, in the client's FIFO. For a routed request it is
 * also the backend FIFO entry; a split request has one {@link Fragment} per server instead.
 *
 * <p>A long reply that comes in pieces (a {@link walnut.core.spi.ReplyPart} stream) is gathered
 * until the request is the client's next to answer, then written as it arrives, so the proxy holds
 * little of it; while the client cannot take more, the server connection stops reading. Gathering
 * does not pause the server connection: with two clients pipelining long replies from the same
 * two servers in opposite orders, each would wait for the other's turn for ever.
 *
 * <p>Ownership: holds the reply buffers that arrived until {@link #takeReply} hands the final
 * reply to the session, or {@link #abandon} (client gone) releases them; parts that arrive after
 * abandonment are released at once. Confined to the client's event loop, which is also the loop of
 * every backend connection the request went to.
 */
final class PendingReply extends Outstanding {

  private final ClientSession session;
  private final Splitter.Split split;
  private final ByteBuf[] parts;
  private final Request.ReplyFilter filter;
  private int remaining;
  private ByteBuf reply;
  private String error;
  private boolean abandoned;
  final boolean closeAfter;
  /** The request's bytes and the reply bytes held so far: the session's byte budget. */
  long heldBytes;
  /** When a forwarded request arrived, for the pool's latency; 0 for a local reply. */
  final long startNanos;
  /** A long reply's first bytes went to the client: the rest follows as it arrives. */
  private boolean streaming;
  /** The connection a long reply comes from, and whether this reply stopped its reading. */
  private BackendConnection source;
  private boolean sourcePaused;

  private PendingReply(ClientSession session, Splitter.Split split, int parts, ByteBuf reply,
      boolean closeAfter) {
    this(session, split, parts, reply, closeAfter, null);
  }

  private PendingReply(ClientSession session, Splitter.Split split, int parts, ByteBuf reply,
      boolean closeAfter, Request.ReplyFilter filter) {
    this.session = session;
    this.filter = filter;
    this.startNanos = reply == null ? System.nanoTime() : 0;
    this.split = split;
    this.parts = split == null ? null : new ByteBuf[parts];
    this.remaining = reply == null ? parts : 0;
    this.reply = reply;
    this.closeAfter = closeAfter;
  }

  /** A reply the proxy already has (PING, errors, QUIT). */
  static PendingReply local(ClientSession session, ByteBuf reply, boolean closeAfter) {
    return new PendingReply(session, null, 0, reply, closeAfter);
  }

  /** Waits for one reply from one server. */
  static PendingReply routed(ClientSession session) {
    return new PendingReply(session, null, 1, null, false);
  }

  /** Waits for one reply from one server, dropped when {@code filter} suppresses it. */
  static PendingReply quiet(ClientSession session, Request.ReplyFilter filter) {
    return new PendingReply(session, null, 1, null, false, filter);
  }

  /** Waits for one reply per fragment of {@code split}. */
  static PendingReply split(ClientSession session, Splitter.Split split) {
    return new PendingReply(session, split, split.size(), null, false);
  }

  boolean isDone() {
    return remaining == 0;
  }

  @Override
  void onReply(ByteBuf r) {
    partReply(0, r);
  }

  @Override
  void onError(String reason) {
    partError(reason);
  }

  /** A plain routed reply can be streamed; a split's or a filtered one is needed whole. */
  @Override
  boolean takesParts() {
    return parts == null && filter == null;
  }

  /**
   * A piece of a long reply: written to the client at once when this reply is the session's next
   * one to write and has started ({@link #streaming}); gathered until then.
   */
  @Override
  void onPart(ByteBuf part, boolean last, BackendConnection from) {
    source = from;
    if (last) {
      resumeSource(); // a read got through a pause: the reply is complete, its server is free
    }
    if (abandoned) {
      part.release();
      if (last) {
        partDone();
      }
    } else if (streaming) {
      if (last) {
        remaining--;
      }
      session.streamPart(this, part, last);
    } else {
      int bytes = part.readableBytes();
      heldBytes += bytes;
      session.replyBytesHeld(bytes);
      if (reply == null) {
        reply = part.alloc().compositeBuffer(Integer.MAX_VALUE)
            .touch("the start of a long reply, written once the client's turn comes");
      }
      ((CompositeByteBuf) reply).addComponent(true, part);
      if (last) {
        partDone();
      } else {
        session.partArrived(this);
      }
    }
  }

  /** Whether a long reply has begun and can go to the client ahead of its end. */
  boolean canStartStreaming() {
    return !streaming && remaining > 0 && reply != null && error == null && !abandoned;
  }

  /** The client's turn came for a long reply: what arrived of it so far, for the caller. */
  ByteBuf startStreaming() {
    streaming = true;
    ByteBuf out = reply;
    reply = null;
    return out;
  }

  /** Part of the reply went out and then the server failed: the client can only be closed. */
  boolean brokenMidStream() {
    return streaming && error != null;
  }

  /** The client cannot take more now: stop reading the long reply from its server. */
  void pauseSource() {
    if (streaming && !sourcePaused && remaining > 0 && source != null) {
      sourcePaused = true;
      source.pauseReading(this);
    }
  }

  /** The client can take more again (or went away). */
  void resumeSource() {
    if (sourcePaused) {
      sourcePaused = false;
      source.resumeReading(this);
    }
  }

  /** The client took nothing of this long reply for too long: it is closed. */
  void dropClient() {
    if (!abandoned && remaining > 0) {
      session.closeSlowReader();
    }
  }

  void partReply(int index, ByteBuf r) {
    if (!abandoned) {
      int bytes = r.readableBytes();
      heldBytes += bytes;
      session.replyBytesHeld(bytes);
    }
    if (abandoned) {
      r.release();
    } else if (parts == null) {
      reply = r;
    } else {
      parts[index] = r.touch("fragment reply, merged when all arrived");
    }
    partDone();
  }

  void partError(String reason) {
    if (error == null) {
      error = reason;
    }
    partDone();
  }

  private void partDone() {
    if (--remaining == 0 && !abandoned) {
      session.replyReady(this);
    }
  }

  /**
   * Builds the client's reply; the caller owns it, or {@code null} when a quiet request's reply is
   * suppressed (nothing to write). Returns whether it is an error the proxy made
   * through {@code errorOut[0]}, for the {@code forward_error} counter.
   */
  ByteBuf takeReply(Protocol protocol, ByteBufAllocator alloc, boolean[] errorOut) {
    ByteBuf out;
    if (error != null) {
      releaseHeld();
      out = protocol.errorReply(alloc, error);
      errorOut[0] = true;
    } else if (split != null) {
      ByteBuf merged;
      try {
        merged = split.merge(parts, alloc);
      } finally {
        releaseHeld();
      }
      if (merged == null) {
        out = protocol.errorReply(alloc, ErrorText.INVALID);
        errorOut[0] = true;
      } else {
        out = merged;
      }
    } else {
      out = reply;
      reply = null;
      if (filter != null && filter.suppress(out)) {
        out.release();
        out = null;
      }
    }
    return out;
  }

  /** The client is gone: release what arrived, and whatever arrives later. */
  void abandon() {
    abandoned = true;
    resumeSource();
    releaseHeld();
  }

  private void releaseHeld() {
    if (reply != null) {
      ReferenceCountUtil.safeRelease(reply);
      reply = null;
    }
    if (parts != null) {
      for (int i = 0; i < parts.length; i++) {
        if (parts[i] != null) {
          ReferenceCountUtil.safeRelease(parts[i]);
          parts[i] = null;
        }
      }
    }
  }

  /** One server's part of a split request, as an entry of that backend's FIFO. */
  static final class Fragment extends Outstanding {
    private final PendingReply owner;
    private final int index;

    Fragment(PendingReply owner, int index) {
      this.owner = owner;
      this.index = index;
    }

    @Override
    void onReply(ByteBuf reply) {
      owner.partReply(index, reply);
    }

    @Override
    void onError(String reason) {
      owner.partError(reason);
    }
  }
}
