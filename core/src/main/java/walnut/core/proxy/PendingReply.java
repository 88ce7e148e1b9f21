package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.util.ReferenceCountUtil;
import walnut.core.spi.Protocol;
import walnut.core.spi.Request;
import walnut.core.spi.Splitter;

/**
 * The reply a client is owed for one request, in its {@link ReplyQueue}. For a routed request it
 * is also the {@link ReplyHandler} the backend answers; a split request has one {@link Fragment}
 * per server instead, which reports to it by index. It tells its queue what happened through
 * {@link Owner}, and never knows the client session.
 *
 * <p>A long reply that comes in pieces (a {@link walnut.core.spi.ReplyPart} stream) is gathered
 * until the request is the client's next to answer, then written as it arrives, so the proxy holds
 * little of it; while the client cannot take more, the queue holds its source's reading. Gathering
 * does not hold the source: with two clients pipelining long replies from the same two servers in
 * opposite orders, each would wait for the other's turn for ever.
 *
 * <p>Ownership: holds the reply buffers that arrived until {@link #takeReply} hands the final
 * reply to the queue, or {@link #abandon} (client gone) releases them; parts that arrive after
 * abandonment are released at once. Confined to the client's event loop, which is also the loop of
 * every backend connection the request went to.
 */
final class PendingReply implements ReplyHandler {

  /** The queue a reply reports to. */
  interface Owner {
    /** {@code bytes} of reply arrived and are held for the client. */
    void held(int bytes);

    /** {@code reply} is complete, or the first piece of its long reply arrived. */
    void ready(PendingReply reply);

    /** A piece of {@code reply}, which is streaming, for the client now. */
    void streamed(PendingReply reply, ByteBuf part, boolean last);
  }

  private final Owner owner;
  private final Splitter.Split split;
  private final ByteBuf[] parts;
  private final Request.ReplyFilter filter;
  private final boolean local;
  private final boolean closeAfter;
  /** A script's request: its error replies never count against the server. */
  private final boolean ownsErrorReplies;
  /** When a forwarded request was sent, on the loop's ticker, for the pool's latency. */
  private final long startNanos;
  private int remaining;
  private ByteBuf reply;
  /**
   * {@code null}; the failure's text ({@code String}); or, for a split answered in part
   * ({@code mget_partial_errors}), each fragment's failure by index ({@code String[]}, entries
   * {@code null} until one fails). One field for the three: this object is made per request.
   */
  private Object error;
  private boolean abandoned;
  /** The request's bytes, counted for the client until its reply is written. */
  private final int requestBytes;
  /** The reply's bytes held here so far (not yet handed to the client's channel). */
  private long replyBytes;
  /** A long reply's first bytes went to the client: the rest follows as it arrives. */
  private boolean streaming;
  /** The connection a long reply comes from, and whether this reply holds its reading. */
  private ReadGate source;
  private boolean sourcePaused;
  /** How long this reply held its source in all, and whether it may no longer hold it. */
  private long holdNanos;
  private boolean holdLost;
  /** Bytes reported waiting in a connection's reply decoder, per part ({@link #buffering}). */
  private int buffered;
  private int[] partsBuffered;
  /** {@link #takeReply} made an error reply. */
  private boolean madeError;

  private PendingReply(Owner owner, Splitter.Split split, int parts, ByteBuf reply,
      boolean closeAfter, Request.ReplyFilter filter, int requestBytes, long startNanos,
      boolean ownsErrorReplies, boolean partial) {
    this.owner = owner;
    this.error = partial ? new String[parts] : null;
    this.ownsErrorReplies = ownsErrorReplies;
    this.filter = filter;
    this.local = reply != null;
    this.startNanos = startNanos;
    this.split = split;
    this.parts = split == null ? null : new ByteBuf[parts];
    this.remaining = reply == null ? parts : 0;
    this.reply = reply;
    this.closeAfter = closeAfter;
    this.requestBytes = requestBytes;
    this.replyBytes = reply == null ? 0 : reply.readableBytes();
  }

  /** A reply the proxy already has (PING, errors, QUIT), owning {@code reply}. */
  static PendingReply local(Owner owner, ByteBuf reply, boolean closeAfter) {
    return new PendingReply(owner, null, 0, reply, closeAfter, null, 0, 0, false, false);
  }

  /** One reply from one server (dropped when a non-null {@code filter} suppresses it). */
  static PendingReply routed(Owner owner, Request.ReplyFilter filter, int requestBytes,
      long now, boolean ownsErrorReplies) {
    return new PendingReply(owner, null, 1, null, false, filter, requestBytes, now,
        ownsErrorReplies, false);
  }

  /**
   * Waits for one reply per fragment of {@code split}; {@code partial}: a fragment's failure errs
   * only its keys' places ({@link Splitter.Split#mergePartial}), when the split can merge so.
   */
  static PendingReply split(Owner owner, Splitter.Split split, int requestBytes, long now,
      boolean partial) {
    return new PendingReply(owner, split, split.size(), null, false, null, requestBytes, now,
        split.ownsErrorReplies(), partial || split.mergesFailures());
  }

  boolean isDone() {
    return remaining == 0;
  }

  boolean isLocal() {
    return local;
  }

  boolean closeAfter() {
    return closeAfter;
  }

  long startNanos() {
    return startNanos;
  }

  /** The request's bytes, counted in the client's budget until the reply is written. */
  int requestBytes() {
    return requestBytes;
  }

  /** The reply's bytes held here, counted in the client's budget until handed to its channel. */
  long replyBytes() {
    return replyBytes;
  }

  @Override
  public void onReply(ByteBuf r) {
    partReply(0, r);
  }

  @Override
  public void onError(String reason) {
    partError(0, reason);
  }

  @Override
  public void buffering(int bytes) {
    partBuffering(0, bytes);
  }

  @Override
  public boolean wanted() {
    return !abandoned;
  }

  /** Part {@code index}'s reply has {@code bytes} so far in its connection's decoder. */
  void partBuffering(int index, int bytes) {
    if (abandoned || remaining == 0) {
      return;
    }
    int before;
    if (parts == null) {
      before = buffered;
      buffered = bytes;
    } else {
      if (partsBuffered == null) {
        partsBuffered = new int[parts.length];
      }
      before = partsBuffered[index];
      partsBuffered[index] = bytes;
    }
    hold(bytes - before);
  }

  /** The bytes reported waiting for part {@code index}, which has now arrived: no longer waiting. */
  private int arrived(int index) {
    int before;
    if (parts == null) {
      before = buffered;
      buffered = 0;
    } else {
      before = partsBuffered == null ? 0 : partsBuffered[index];
      if (partsBuffered != null) {
        partsBuffered[index] = 0;
      }
    }
    return before;
  }

  @Override
  public boolean ownsErrorReplies() {
    return ownsErrorReplies;
  }

  /** A plain routed reply can be streamed; a split's or a filtered one is needed whole. */
  @Override
  public boolean takesParts() {
    return parts == null && filter == null;
  }

  /**
   * A piece of a long reply: written to the client at once when this reply is the queue's next
   * one to write and has started ({@link #streaming}); gathered until then.
   */
  @Override
  public void onPart(ByteBuf part, boolean last, ReadGate from) {
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
      hold(-arrived(0)); // nothing waits in the decoder once it streams
      if (last) {
        remaining--;
      }
      owner.streamed(this, part, last);
    } else {
      hold(part.readableBytes() - arrived(0));
      if (reply == null) {
        reply = part.alloc().compositeBuffer(Integer.MAX_VALUE)
            .touch("the start of a long reply, written once the client's turn comes");
      }
      ((CompositeByteBuf) reply).addComponent(true, part);
      if (last) {
        partDone();
      } else {
        owner.ready(this);
      }
    }
  }

  private void hold(int bytes) {
    replyBytes += bytes;
    owner.held(bytes);
  }

  /** Whether a long reply has begun and can go to the client ahead of its end. */
  boolean canStartStreaming() {
    return !streaming && remaining > 0 && reply != null && !(error instanceof String)
        && !abandoned;
  }

  /** The client's turn came for a long reply: what arrived of it so far, for the caller. */
  ByteBuf startStreaming() {
    streaming = true;
    replyBytes = 0;
    ByteBuf out = reply;
    reply = null;
    return out;
  }

  /** Part of the reply went out and then the server failed: the client can only be closed. */
  boolean brokenMidStream() {
    return streaming && error instanceof String;
  }

  /** The client cannot take more now: holds the source's reading; whether this paused it. */
  boolean pauseSource() {
    if (streaming && !sourcePaused && !holdLost && remaining > 0 && source != null) {
      sourcePaused = true;
      source.pauseReading(this);
      return true;
    }
    return false;
  }

  /** The client can take more again (or went away): whether the source was held. */
  boolean resumeSource() {
    if (sourcePaused) {
      sourcePaused = false;
      source.resumeReading(this);
      return true;
    }
    return false;
  }

  /** Adds {@code nanos} to the time this reply held its source. */
  void heldFor(long nanos) {
    holdNanos += nanos;
  }

  /** How long this reply held its source in all. */
  long holdNanos() {
    return holdNanos;
  }

  /** Held its source as long as it may: releases it, and never holds it again. */
  void loseHold() {
    holdLost = true;
    resumeSource();
  }

  /** Whether this reply still holds its source while the client takes nothing. */
  boolean holdsSource() {
    return sourcePaused && !abandoned && remaining > 0;
  }

  /** The connection a long reply comes from, for the log. */
  ReadGate source() {
    return source;
  }

  void partReply(int index, ByteBuf r) {
    if (abandoned) {
      r.release();
    } else {
      hold(r.readableBytes() - arrived(index));
      if (parts == null) {
        reply = r;
      } else {
        parts[index] = r.touch("fragment reply, merged when all arrived");
      }
    }
    partDone();
  }

  void partError(int index, String reason) {
    if (error instanceof String[] failures) {
      failures[index] = reason;
    } else if (error == null) {
      error = reason;
    }
    partDone();
  }

  private void partDone() {
    if (--remaining == 0 && !abandoned) {
      owner.ready(this);
    }
  }

  /** The client's reply, the caller's; {@code null} when a quiet request's is suppressed. */
  ByteBuf takeReply(Protocol protocol, ByteBufAllocator alloc) {
    if (error instanceof String e) {
      releaseHeld();
      madeError = true;
      return protocol.errorReply(alloc, e);
    }
    if (error instanceof String[] failures) {
      madeError = PartialReply.anyFailed(failures);
      try {
        return PartialReply.merge(split, parts, failures, protocol, alloc);
      } finally {
        releaseHeld();
      }
    }
    if (split != null) {
      ByteBuf merged;
      try {
        merged = split.merge(parts, alloc);
      } finally {
        releaseHeld();
      }
      if (merged == null) {
        madeError = true;
        return protocol.errorReply(alloc, ErrorText.INVALID);
      }
      return merged;
    }
    ByteBuf out = reply;
    reply = null;
    if (filter != null && filter.suppress(out)) {
      out.release();
      return null;
    }
    return out;
  }

  /** Whether {@link #takeReply} gave an error the proxy made, for {@code forward_error}. */
  boolean madeError() {
    return madeError;
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

  /** One server's part of a split request: reports to its reply by index. */
  static final class Fragment implements ReplyHandler {
    private final PendingReply owner;
    private final int index;

    Fragment(PendingReply owner, int index) {
      this.owner = owner;
      this.index = index;
    }

    @Override
    public void onReply(ByteBuf reply) {
      owner.partReply(index, reply);
    }

    @Override
    public void onError(String reason) {
      owner.partError(index, reason);
    }

    @Override
    public void buffering(int bytes) {
      owner.partBuffering(index, bytes);
    }

    @Override
    public boolean wanted() {
      return owner.wanted();
    }

    @Override
    public boolean ownsErrorReplies() {
      return owner.ownsErrorReplies();
    }
  }
}
