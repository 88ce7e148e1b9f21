package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
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
 * written when every reply before it was; a long reply at the head streams as it arrives, and
 * while the client cannot take more its server connection's reading is held, for at most
 * {@link EngineOptions#slowReaderLimit()} of the client taking nothing.
 *
 * <p>Calls go one way: its replies report to it as their {@link PendingReply.Owner}, and it tells
 * its session through {@link Listener}. Confined to the client's event loop.
 */
final class ReplyQueue implements PendingReply.Owner, Burst.Flushable {

  private static final Logger log = LoggerFactory.getLogger(ClientSession.class);

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
  /** Bytes of this client's requests in flight and of the replies held for it. */
  private long bytes;
  private boolean dirty;
  private boolean open = true;
  /** The queue closed the client for a fault: counted as a client error. */
  private boolean failed;
  /** Runs while the streaming head holds its server's reading. */
  private ScheduledFuture<?> stallTimer;

  ReplyQueue(ChannelHandlerContext ctx, Listener listener, Pool pool, Upstream upstream) {
    this.ctx = ctx;
    this.listener = listener;
    this.writer = new WriteCoalescer(ctx, ctx.alloc());
    moveTo(pool, upstream);
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

  /** Bytes held for the client: its requests in flight and the replies that arrived. */
  long bytes() {
    return bytes;
  }

  boolean failed() {
    return failed;
  }

  /** Queues a reply the proxy has, and writes what is ready. */
  void local(ByteBuf reply, boolean closeAfter) {
    enqueue(PendingReply.local(this, reply, closeAfter));
    drain();
  }

  /** Queues the reply of {@code request} ({@code requestBytes}), sent to one server. */
  PendingReply routed(Request request, int requestBytes) {
    return enqueue(PendingReply.routed(this, request.replyFilter(), requestBytes, now(),
        request.ownsErrorReplies()));
  }

  /** Queues the reply of a request of {@code requestBytes} split per server. */
  PendingReply split(Splitter.Split split, int requestBytes) {
    return enqueue(PendingReply.split(this, split, requestBytes, now()));
  }

  private PendingReply enqueue(PendingReply reply) {
    bytes += reply.heldBytes();
    pending.add(reply);
    pool.inflight().increment();
    return reply;
  }

  private long now() {
    return ctx.executor().ticker().nanoTime();
  }

  @Override
  public void held(int n) {
    bytes += n;
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
    writer.write(part);
    markDirty();
    if (last) {
      cancelStall();
      drain();
    } else if (!ctx.channel().isWritable()) {
      holdSource(reply);
    }
  }

  /** Writes every completed reply at the head; flushed when the burst ends. */
  void drain() {
    if (!open) {
      return;
    }
    PendingReply head;
    boolean wrote = false;
    long now = 0;
    while ((head = pending.peek()) != null) {
      if (!head.isDone()) {
        if (head.canStartStreaming()) {
          // A long reply's turn: what came of it goes out now, the rest as it arrives.
          writer.write(head.startStreaming());
          wrote = true;
          if (!ctx.channel().isWritable()) {
            holdSource(head);
          }
        }
        break;
      }
      pending.poll();
      cancelStall();
      if (!head.isLocal()) {
        if (now == 0) {
          now = now();
        }
        latency.record(now - head.startNanos());
      }
      pool.inflight().decrement();
      bytes -= head.heldBytes();
      if (head.brokenMidStream()) {
        // The client has part of a reply and its server failed: no reply can follow in frame.
        log.warn("pool '{}': server failed in the middle of a long reply; closing client {}",
            pool.config().name(), ctx.channel().remoteAddress());
        pool.poolStats().increment(PoolStat.FORWARD_ERROR);
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
        closeForFault();
        return;
      }
      if (head.madeError()) {
        pool.poolStats().increment(PoolStat.FORWARD_ERROR);
      }
      if (head.closeAfter()) {
        writeLastAndClose(out);
        return;
      }
      if (out == null) {
        continue; // a quiet request's reply the client does not want
      }
      writer.write(out);
      wrote = true;
    }
    if (wrote) {
      markDirty();
    }
    listener.drained();
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

  /** The client's socket takes writes again: a streaming head's server is read again. */
  void clientWritable() {
    PendingReply head = pending.peek();
    if (head != null && head.resumeSource()) {
      cancelStall();
    }
  }

  private void holdSource(PendingReply head) {
    if (!head.pauseSource()) {
      return;
    }
    long limit = pool.options().slowReaderLimit().toNanos();
    stallTimer = ctx.executor().schedule(() -> {
      stallTimer = null;
      if (open && head == pending.peek() && head.holdsSource()) {
        log.warn("pool '{}': a client took nothing of a long reply from {} for {} s; closing it,"
                + " so that the server's other replies can flow", pool.config().name(),
            head.source(), pool.options().slowReaderLimit().toMillis() / 1000.0);
        failed = true;
        ctx.close(); // the session's close abandons the reply, which frees the server
      }
    }, limit, TimeUnit.NANOSECONDS);
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
    for (PendingReply reply : pending) {
      reply.abandon();
      pool.inflight().decrement();
    }
    pending.clear();
    bytes = 0;
  }
}
