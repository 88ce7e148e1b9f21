package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.spi.Request;
import walnut.core.spi.Splitter;
import walnut.core.stats.Latency;
import walnut.core.stats.PoolStat;

/**
 * A client's replies in request order, whatever order the servers answer in: the client side's
 * FIFO of {@link PendingReply}s, the writes to the client, and the bytes held for it. A reply is
 * written when every reply before it was; a long reply at the head streams as it arrives.
 *
 * <p>What one client may cost the others (docs/compatibility.md#slow-readers): while it cannot
 * take more of a long reply, that reply holds its server connection's reading, so the proxy holds
 * little of it, but for at most {@link #holdLimit} in all; then the rest is gathered for the
 * client, and none of its later replies holds a server until its socket drains. The replies held
 * for a client, gathered or written and not yet taken by its socket, never exceed
 * {@link EngineOptions#maxPendingBytesPerClient()}: past it, the client is closed.
 *
 * <p>Calls go one way: its replies report to it as their {@link PendingReply.Owner}, and it tells
 * its session through {@link Listener}. Confined to the client's event loop.
 */
final class ReplyQueue implements PendingReply.Owner, Burst.Flushable {

  private static final Logger log = LoggerFactory.getLogger(ClientSession.class);
  /** The client sockets' high water mark (Listeners), lowered for a smaller client budget. */
  private static final int MAX_HIGH_WATER_MARK = 16 << 20;
  private static final int MIN_HIGH_WATER_MARK = 64 << 10;

  /** What the session hears from its queue. */
  interface Listener {
    /** The queue wrote what it could: reading may resume, or a half-closed client end. */
    void drained();
  }

  private final ChannelHandlerContext ctx;
  private final Listener listener;
  /** Every write to the client goes through it. */
  private final WriteCoalescer writer;
  private final ArrayDeque<PendingReply> pending = new ArrayDeque<>();
  private Pool pool;
  private Burst burst;
  private Latency.Recorder latency;
  /** Bytes of this client's requests in flight, until their replies are written. */
  private long requestBytes;
  /** Bytes of the replies held for this client and not yet handed to its channel. */
  private long replyBytes;
  /** The client's long replies may hold their servers: not after one held its limit, until the
   * client's socket drains. */
  private boolean mayHold = true;
  /** When the head started holding its server, on the loop's ticker. */
  private long holdStartedAt;
  /** Bytes written to the client, in all; and how many its socket had taken at the last check. */
  private long written;
  private long takenAtCheck;
  /** Runs while the replies held for the client exceed its budget: is it draining them? */
  private ScheduledFuture<?> budgetTimer;
  private boolean dirty;
  private boolean open = true;
  /** The queue closed the client for a fault: counted as a client error. */
  private boolean failed;
  /** Runs while the streaming head holds its server's reading: ends the hold at its limit. */
  private ScheduledFuture<?> stallTimer;
  private final Observations observations; // for the engine's observer; null without one

  ReplyQueue(ChannelHandlerContext ctx, Listener listener, Pool pool, Upstream upstream) {
    this.ctx = ctx;
    this.listener = listener;
    this.writer = new WriteCoalescer(ctx, ctx.alloc());
    this.observations = Observations.of(pool.options());
    moveTo(pool, upstream);
    long limit = pool.options().maxPendingBytesPerClient();
    if (limit < 2 * MAX_HIGH_WATER_MARK) {
      // The socket must count as full (and long replies hold their servers) well before the
      // replies written to it reach the client's budget.
      int high = (int) Math.max(MIN_HIGH_WATER_MARK, limit / 2);
      ctx.channel().config().setWriteBufferWaterMark(new WriteBufferWaterMark(high / 4, high));
    }
  }

  /** Replies queued from now on count in {@code pool}; writes are flushed by its burst. */
  void moveTo(Pool next, Upstream upstream) {
    this.pool = next;
    this.burst = upstream.burst();
    this.latency = upstream.latency();
  }

  int size() {
    return pending.size();
  }

  boolean isEmpty() {
    return pending.isEmpty();
  }

  /** Bytes held for the client: requests in flight, replies arrived, written and not yet sent. */
  long bytes() {
    return requestBytes + replyBytes + unsent();
  }

  /**
   * Written to the client and not yet taken by its socket. (Not the replies gathered for this
   * burst's write, at most 64 KiB: they are flushed when it ends, with no event to count them
   * down for the session.)
   */
  private long unsent() {
    ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
    return out == null ? 0 : out.totalPendingWriteBytes();
  }

  /** Bytes the client's socket has taken of what was written to it. */
  private long taken() {
    return written - writer.pendingBytes() - unsent();
  }

  private long heldReplies() {
    return replyBytes + writer.pendingBytes() + unsent();
  }

  /**
   * Watches a client whose replies held in the proxy exceed its budget: they are not refused, since
   * holding its servers would stall the other clients, but a client that stays past it with its
   * socket taking nothing for the hold limit is closed, and so is one past twice the budget at
   * once, which bounds the memory it can hold.
   */
  private void checkBudget() {
    if (!open || failed) {
      return;
    }
    long held = heldReplies();
    long limit = pool.options().maxPendingBytesPerClient();
    if (held > 2 * limit) {
      closeOverBudget(held, "more than twice its limit of " + limit);
    } else if (held > limit && budgetTimer == null) {
      takenAtCheck = taken();
      budgetTimer = ctx.executor().schedule(this::budgetCheck, pool.holdLimitNanos(),
          TimeUnit.NANOSECONDS);
    }
  }

  private void budgetCheck() {
    budgetTimer = null;
    if (!open || failed) {
      return;
    }
    long held = heldReplies();
    long limit = pool.options().maxPendingBytesPerClient();
    if (held > limit && taken() == takenAtCheck) {
      closeOverBudget(held, "more than its limit of " + limit + ", and its socket took nothing for "
          + TimeUnit.NANOSECONDS.toMillis(pool.holdLimitNanos()) + " ms");
    } else {
      checkBudget(); // still over but draining: look again later
    }
  }

  private void closeOverBudget(long held, String why) {
    log.warn("pool '{}': {} bytes of replies are held for client {}, {} (--client-pending-limit);"
        + " closing it", pool.config().name(), held, ctx.channel().remoteAddress(), why);
    failed = true;
    ctx.close(); // the session's close abandons its replies and releases what they hold
  }

  boolean failed() {
    return failed;
  }

  /** Queues a reply the proxy has, and writes what is ready. */
  void local(ByteBuf reply, boolean closeAfter) {
    enqueue(PendingReply.local(this, reply, closeAfter), null);
    drain();
    checkBudget(); // held behind an owed reply (a subscriber's messages), it counts all the same
  }

  /** Queues the reply of {@code request} ({@code requestBytes}) from one server, as observed. */
  PendingReply routed(Request request, int requestBytes, Observation observed) {
    return enqueue(PendingReply.routed(this, request.replyFilter(), requestBytes, now(),
        request.ownsErrorReplies()), observed);
  }

  /**
   * Queues the reply of a request of {@code requestBytes} split per server; {@code partial}: a
   * failed fragment errs only its keys' places ({@code mget_partial_errors}).
   */
  PendingReply split(Splitter.Split split, int requestBytes, boolean partial,
      Observation observed) {
    return enqueue(PendingReply.split(this, split, requestBytes, now(), partial), observed);
  }

  private PendingReply enqueue(PendingReply reply, Observation observed) {
    if (observations != null && !reply.isLocal()) {
      observations.add(observed, pool); // null: unnamed, but in line
    }
    requestBytes += reply.requestBytes();
    replyBytes += reply.replyBytes();
    pending.add(reply);
    pool.inflight().increment();
    return reply;
  }

  private long now() {
    return ctx.executor().ticker().nanoTime();
  }

  @Override
  public void held(int n) {
    replyBytes += n;
    checkBudget();
  }

  @Override
  public void ready(PendingReply reply) {
    if (reply == pending.peek()) {
      drain();
    }
  }

  /**
   * Writes the next piece of the long reply at the head; on the last, goes on to the replies
   * behind it. While the client's socket is full the reply's server is not read.
   */
  @Override
  public void streamed(PendingReply reply, ByteBuf part, boolean last) {
    write(Observations.streamed(observations, part));
    markDirty();
    if (last) {
      cancelStall();
      drain();
    } else {
      if (!ctx.channel().isWritable()) {
        holdSource(reply);
      }
      checkBudget();
    }
  }

  /** Writes every completed reply at the head; flushed when the burst ends. */
  void drain() {
    if (!open || failed) {
      return; // closed, or closing for a fault: nothing may follow in frame
    }
    PendingReply head;
    boolean wrote = false;
    long now = 0;
    while ((head = pending.peek()) != null) {
      if (!head.isDone()) {
        if (head.canStartStreaming()) {
          // A long reply's turn: what came of it goes out now, the rest as it arrives.
          replyBytes -= head.replyBytes();
          write(Observations.streamed(observations, head.startStreaming()));
          wrote = true;
          if (!ctx.channel().isWritable()) {
            holdSource(head);
          }
        }
        break;
      }
      pending.poll();
      cancelStall();
      Observation observed = Observations.take(observations, head);
      if (!head.isLocal()) {
        if (now == 0) {
          now = now();
        }
        latency.record(now - head.startNanos());
      }
      pool.inflight().decrement();
      requestBytes -= head.requestBytes();
      replyBytes -= head.replyBytes();
      if (head.brokenMidStream()) {
        // The client has part of a reply and its server failed: no reply can follow in frame.
        log.warn("pool '{}': server failed in the middle of a long reply; closing client {}",
            pool.config().name(), ctx.channel().remoteAddress());
        pool.poolStats().increment(PoolStat.FORWARD_ERROR);
        Observations.completed(observations, observed, now - head.startNanos(), null);
        closeForFault();
        return;
      }
      ByteBuf out;
      try {
        out = head.takeReply(pool.protocol(), ctx.alloc());
      } catch (RuntimeException | Error e) {
        // No reply for this slot: closing is the only way the next reply cannot take it.
        log.error("pool '{}': cannot build a reply; closing client {}", pool.config().name(),
            ctx.channel().remoteAddress(), e);
        Observations.completed(observations, observed, now - head.startNanos(), null);
        closeForFault();
        return;
      }
      if (head.madeError()) {
        pool.poolStats().increment(PoolStat.FORWARD_ERROR);
      }
      Observations.completed(observations, observed, now - head.startNanos(), out);
      if (head.closeAfter()) {
        writeLastAndClose(out);
        return;
      }
      if (out == null) {
        continue; // a quiet request's reply the client does not want
      }
      write(out);
      wrote = true;
    }
    if (wrote) {
      markDirty();
      checkBudget();
      if (failed) {
        return;
      }
    }
    listener.drained();
  }

  /** Every write to the client, counted for {@link #taken()}. */
  private void write(ByteBuf out) {
    written += out.readableBytes();
    writer.write(out);
  }

  private void closeForFault() {
    failed = true;
    writer.flush();
    ctx.close();
  }

  private void markDirty() {
    if (!dirty) {
      dirty = true;
      burst.clientWritten(this);
    }
  }

  /** Flushes what was written; called once per burst. */
  @Override
  public void flush() {
    dirty = false;
    writer.flush();
  }

  /**
   * Writes {@code last} behind everything written before it, flushes, and closes the connection
   * once it is out (an empty {@code last}: once what was flushed has really been written).
   */
  void writeLastAndClose(ByteBuf last) {
    writer.emit();
    ctx.writeAndFlush(last).addListener(ChannelFutureListener.CLOSE);
  }

  /** Closes the client once everything written so far is out. */
  void closeWhenWritten() {
    writeLastAndClose(Unpooled.EMPTY_BUFFER);
  }

  /** The client's socket is full: a streaming head stops reading its server. */
  void clientBlocked() {
    PendingReply head = pending.peek();
    if (head != null) {
      holdSource(head);
    }
  }

  /**
   * The client's socket takes writes again: a streaming head's server is read again, and the
   * client's long replies may hold their servers again.
   */
  void clientWritable() {
    mayHold = true;
    PendingReply head = pending.peek();
    if (head != null && head.resumeSource()) {
      head.heldFor(now() - holdStartedAt);
      cancelStall();
    }
  }

  /**
   * Holds the streaming head's server while the client cannot take more, for what is left of the
   * hold limit; not once a reply of this client held it in full, until the client drains.
   */
  private void holdSource(PendingReply head) {
    if (!mayHold || !head.pauseSource()) {
      return;
    }
    holdStartedAt = now();
    long left = Math.max(0, holdLimit() - head.holdNanos());
    stallTimer = ctx.executor().schedule(() -> {
      stallTimer = null;
      if (open && head == pending.peek() && head.holdsSource()) {
        loseHold(head);
      }
    }, left, TimeUnit.NANOSECONDS);
  }

  /**
   * The head held its server as long as it may: the server is read again and the rest of the
   * reply is gathered for the client, within its budget.
   */
  private void loseHold(PendingReply head) {
    head.heldFor(now() - holdStartedAt);
    head.loseHold();
    mayHold = false;
    if (log.isDebugEnabled()) {
      log.debug("pool '{}': client {} took nothing of a long reply from {} for {} ms; the rest is"
              + " gathered for it", pool.config().name(), ctx.channel().remoteAddress(),
          head.source(), TimeUnit.NANOSECONDS.toMillis(head.holdNanos()));
    }
    checkBudget();
  }

  /** How long one long reply may hold its server in all ({@link Pool#holdLimitNanos()}). */
  private long holdLimit() {
    return pool.holdLimitNanos();
  }

  private void cancelStall() {
    if (stallTimer != null) {
      stallTimer.cancel(false);
      stallTimer = null;
    }
  }

  /** The client is gone: every reply owed is abandoned, which releases what arrived and will. */
  void close() {
    open = false;
    writer.discard();
    cancelStall();
    if (budgetTimer != null) {
      budgetTimer.cancel(false);
      budgetTimer = null;
    }
    for (PendingReply reply : pending) {
      reply.abandon();
      pool.inflight().decrement();
    }
    pending.clear();
    requestBytes = 0;
    replyBytes = 0;
  }
}
