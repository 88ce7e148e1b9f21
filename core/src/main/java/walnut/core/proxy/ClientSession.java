package walnut.core.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.spi.Request;
import walnut.core.stats.PoolStat;

/**
 * One client connection: its lifetime, and when it is read. Requests go to its
 * {@link Dispatcher}, replies come back in request order through its {@link ReplyQueue}; the
 * session itself decides when to stop and resume reading (back-pressure) and when to close.
 *
 * <p>Reading stops while the client owes {@link EngineOptions#maxPendingPerClient()} replies or
 * has {@link EngineOptions#maxPendingBytesPerClient()} bytes in the proxy, while its socket is full,
 * or while a backend connection it wrote to holds it (as its {@link ReadGate}); it resumes below
 * half of each limit. Requests decoded from one read past a limit wait in order, so the limits hold
 * per request rather than per read.
 *
 * <p>Confined to the channel's event loop, which is also the loop of every backend connection it
 * uses. A session always uses the same connection slot per server, so its requests to one server
 * are never reordered, even with {@code server_connections} above one.
 */
final class ClientSession extends ChannelInboundHandlerAdapter
    implements ReadGate, ReplyQueue.Listener {

  private static final Logger log = LoggerFactory.getLogger(ClientSession.class);

  private final PoolHandle handle;
  /** The pool generation this session routes with; a reload moves it to the next one. */
  private Pool pool;
  private Upstream upstream;
  private ChannelHandlerContext ctx;
  private ReplyQueue replies;
  private Dispatcher dispatcher;
  /** QUIT or a framing error is queued: nothing after it is read or answered. */
  private boolean closing;
  /** The client sent FIN: close once every reply owed is written. */
  private boolean inputShutdown;
  private boolean errored;
  private boolean readPaused;
  private boolean open;
  /** A blocking request of this client: its later requests wait for its reply, read meanwhile. */
  private Object blockedBy;
  /** Backend connections that hold this client's reading while their outbound buffers are full. */
  private final List<Object> heldBy = new ArrayList<>(2);
  /** Requests decoded while reading was paused, handled in order once it resumes. */
  private final ArrayDeque<Request> deferred = new ArrayDeque<>();
  private long deferredBytes;
  private boolean resuming;
  /** Refused at accept (a connection limit): never counted, never read. */
  private boolean rejected;
  /** Took a client slot at accept: gives it back when it closes, whatever happened since. */
  private boolean admitted;

  ClientSession(PoolHandle handle) {
    this.handle = handle;
    this.pool = handle.current();
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    if (!handle.admitClient()) {
      rejected = true;
      log.warn("pool '{}': client {} refused: {}", pool.config().name(),
          ctx.channel().remoteAddress(), pool.config().clientConnections() > 0
              ? "client_connections " + pool.config().clientConnections() + " reached"
              : "the file-descriptor budget is used up");
      ctx.close();
      return;
    }
    this.admitted = true;
    this.ctx = ctx;
    Pool accepted = pool;
    this.pool = handle.current();
    if (pool != accepted) {
      ClientPipeline.moved(ctx.channel(), accepted.config(), pool.config()); // reloaded meanwhile
    }
    this.upstream = pool.loop(ctx.channel().eventLoop());
    this.replies = new ReplyQueue(ctx, this, pool, upstream);
    this.dispatcher = new Dispatcher(replies, this, ctx.alloc(), pool, upstream);
    this.open = true;
    upstream.sessionJoined(); // left when it closes (open) or moves on
    pool.poolStats().increment(PoolStat.CLIENT_CONNECTIONS);
    pool.stats().connectionOpened();
    super.channelActive(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (rejected) {
      if (msg instanceof Request r) {
        discard(r);
      } else {
        ReferenceCountUtil.release(msg);
      }
      return;
    }
    if (!(msg instanceof Request request)) {
      ReferenceCountUtil.release(msg);
      throw new IllegalStateException("expected a Request, got " + msg.getClass().getName());
    }
    if (closing) {
      discard(request);
      return;
    }
    if (readPaused) {
      deferred.add(request);
      deferredBytes += request.frame().readableBytes();
      if (blockedBy != null && (overLimit()
          || deferred.size() >= pool.options().maxPendingPerClient()
          || deferredBytes >= pool.options().maxPendingBytesPerClient())) {
        // Behind a block it is read so that its leaving is seen; not reading would hide that
        // (and hold its private connection): past its limits it is closed, as Redis closes a
        // client whose query buffer passes its limit.
        log.warn("pool '{}': closing client {}: more requests behind its blocking command than"
            + " its limits allow", pool.config().name(), ctx.channel().remoteAddress());
        errored = true;
        closing = true;
        ctx.close();
      }
      return;
    }
    handle0(request);
    if (!readPaused && overLimit()) {
      stopReading();
    }
  }

  /** Routes with the pool's current generation, then dispatches. */
  private void handle0(Request request) {
    Pool current = handle.current();
    if (current != pool && open && !dispatcher.inConversation()) {
      // A reload: new requests use the new pool; replies owed stay in order in the queue.
      Pool previous = pool;
      pool = current;
      upstream.sessionLeft(); // the old generation goes once nothing else uses it
      upstream = pool.loop(ctx.channel().eventLoop());
      upstream.sessionJoined();
      replies.moveTo(pool, upstream);
      dispatcher.moveTo(pool, upstream);
      ClientPipeline.moved(ctx.channel(), previous.config(), pool.config());
    }
    if (request.kind() == Request.Kind.LOCAL && request.closeAfterReply()) {
      closing = true;
      errored |= request.isProtocolError();
      ctx.channel().config().setAutoRead(false);
    }
    dispatcher.dispatch(request);
  }

  private boolean overLimit() {
    return replies.size() >= pool.options().maxPendingPerClient()
        || replies.bytes() >= pool.options().maxPendingBytesPerClient() || !heldBy.isEmpty();
  }

  /** A backend connection that cannot take more holds this client's reading. */
  @Override
  public void pauseReading(Object holder) {
    if (!heldBy.contains(holder)) {
      heldBy.add(holder);
    }
    if (open && !readPaused) {
      stopReading();
    }
  }

  @Override
  public void holdRequests(Object holder) {
    blockedBy = holder;
    readPaused = true; // requests wait in deferred; reading goes on, so a close is seen
  }

  @Override
  public void releaseRequests(Object holder) {
    if (blockedBy == holder) {
      blockedBy = null;
      if (open) {
        maybeResumeReading();
      }
    }
  }

  /** A connection this client was held by drained (or failed). */
  @Override
  public void resumeReading(Object holder) {
    heldBy.remove(holder);
    if (open && heldBy.isEmpty()) {
      maybeResumeReading(); // the waking connection flushes the loop afterwards
    }
  }

  @Override
  public void drained() {
    if (replies.isEmpty() && deferred.isEmpty() && inputShutdown) {
      replies.closeWhenWritten();
      return;
    }
    maybeResumeReading();
  }

  /**
   * Reading resumes once the client owes at most half the reply and byte limits, its socket takes
   * writes, and no backend connection holds it: hysteresis, so a client near a limit does not
   * flip autoRead on every request.
   */
  private void maybeResumeReading() {
    if (!readPaused || resuming || !open || blockedBy != null
        || replies.size() > pool.options().maxPendingPerClient() / 2
        || replies.bytes() > pool.options().maxPendingBytesPerClient() / 2
        || !heldBy.isEmpty() || !ctx.channel().isWritable()) {
      return;
    }
    resuming = true;
    try {
      while (!deferred.isEmpty()) {
        Request request = deferred.poll();
        deferredBytes -= request.frame().readableBytes();
        if (closing) {
          discard(request);
          continue;
        }
        handle0(request);
        if (overLimit() || blockedBy != null) {
          return; // still paused; the rest waits for the next drain (or the block's reply)
        }
      }
    } finally {
      resuming = false;
    }
    readPaused = false;
    if (!closing) {
      ctx.channel().config().setAutoRead(true);
    }
    if (inputShutdown && replies.isEmpty()) {
      upstream.burst().flush();
      replies.closeWhenWritten();
    }
  }

  private void stopReading() {
    readPaused = true;
    ctx.channel().config().setAutoRead(false);
  }

  private static void discard(Request request) {
    request.release();
    request.recycle();
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (open) {
      upstream.burst().flushSoon();
    }
    ctx.fireChannelReadComplete();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (open) {
      if (!ctx.channel().isWritable()) {
        if (!readPaused) {
          stopReading();
        }
        replies.clientBlocked();
      } else {
        replies.clientWritable();
        maybeResumeReading();
        upstream.burst().flush(); // deferred requests handled just now go out
      }
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (open && evt instanceof IdleStateEvent && replies.isEmpty() && deferred.isEmpty()
        && !closing && !dispatcher.listening()) {
      // client_idle_timeout: nothing sent, nothing owed. An orderly close, like Redis's timeout,
      // which spares subscribers: they wait for messages without a word.
      closing = true;
      upstream.burst().flush();
      ctx.close();
    }
    // A TLS client's close_notify says what a FIN says: it sends nothing more.
    if (open && !inputShutdown && (evt instanceof ChannelInputShutdownEvent
        || evt instanceof SslCloseCompletionEvent)) {
      inputShutdown = true;
      dispatcher.inputShutdown(); // Redis drops a client that closes while blocked: so do we
      if (replies.isEmpty() && deferred.isEmpty()) {
        // Close after what was flushed has really been written, not before.
        upstream.burst().flush();
        replies.closeWhenWritten();
      }
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    errored = true;
    if (TlsHandshakes.isTls(cause)) {
      // Counted, and logged at most once a second, by the handshake's listener.
      log.debug("pool '{}': closing client {}: {}", pool.config().name(),
          ctx.channel().remoteAddress(), cause.toString());
    } else if (!(cause instanceof IOException)) {
      log.warn("pool '{}': closing client {}: {}", pool.config().name(),
          ctx.channel().remoteAddress(), cause.toString(), cause);
    }
    ctx.close();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (rejected || !open) {
      if (admitted) {
        handle.clientClosed(); // channelActive failed after taking the slot
      }
      ctx.fireChannelInactive();
      return;
    }
    handle.clientClosed();
    open = false;
    upstream.sessionLeft();
    replies.close();
    dispatcher.close(); // its private connections close; their replies are abandoned above
    while (!deferred.isEmpty()) {
      discard(deferred.poll());
    }
    heldBy.clear(); // a connection that wakes this session later finds it closed
    pool.poolStats().decrement(PoolStat.CLIENT_CONNECTIONS);
    pool.poolStats().increment((inputShutdown || closing) && !errored && !replies.failed()
        ? PoolStat.CLIENT_EOF : PoolStat.CLIENT_ERR);
    pool.stats().connectionClosed();
    ctx.fireChannelInactive();
  }
}
