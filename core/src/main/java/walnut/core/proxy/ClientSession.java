package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.spi.KeyRouter;
import walnut.core.spi.Request;
import walnut.core.spi.Splitter;
import walnut.core.stats.PoolStat;

/**
 * One client connection: routes its requests and writes the replies back strictly in request
 * order, whatever order the servers answer in.
 *
 * <p>Ownership: receives {@link Request}s from the protocol's decoder and owns their frames: a
 * frame is passed to a backend connection (which then owns it), split into fragments and
 * released, or (for a local request) kept as the reply. Replies are owned by their
 * {@link PendingReply} until written here; when the client goes away every pending reply is
 * abandoned, which releases what arrived and what will arrive.
 *
 * <p>Confined to the channel's event loop, which is also the loop of every backend connection it
 * uses. A session always uses the same connection slot per server, so its requests to one server
 * are never reordered, even with {@code server_connections} above one.
 */
final class ClientSession extends ChannelInboundHandlerAdapter {

  private static final Logger log = LoggerFactory.getLogger(ClientSession.class);

  private final PoolHandle handle;
  /** The pool generation this session routes with; a reload moves it to the next one. */
  private Pool pool;
  private final ArrayDeque<PendingReply> pending = new ArrayDeque<>();
  private final boolean[] madeError = new boolean[1];
  private ChannelHandlerContext ctx;
  /** Every write to the client goes through it. */
  private WriteCoalescer writer;
  private LoopPool loop;
  private int slot;
  /** QUIT or a framing error is queued: nothing after it is read or answered. */
  private boolean closing;
  /** The client sent FIN: close once every reply owed is written. */
  private boolean inputShutdown;
  private boolean errored;
  private boolean dirty;
  private boolean readPaused;
  private boolean open;
  /** Bytes of this client's requests in flight and of the replies held for it. */
  private long pendingBytes;
  /** Backend connections whose outbound buffers are full with this client's writes among them. */
  private final ArrayList<BackendConnection> parkedOn = new ArrayList<>(2);
  /** Requests decoded while reading was paused, handled in order once it resumes. */
  private final ArrayDeque<Request> deferred = new ArrayDeque<>();
  private boolean resuming;
  /** Refused at accept (a connection limit): never counted, never read. */
  private boolean rejected;

  ClientSession(PoolHandle handle) {
    this.handle = handle;
    this.pool = handle.current();
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    if (!handle.admitClient()) {
      rejected = true;
      log.warn("pool '{}': client {} refused: {} client connections", pool.config.name(),
          ctx.channel().remoteAddress(), pool.config.clientConnections() > 0
              ? "client_connections " + pool.config.clientConnections() + " reached"
              : "the file-descriptor budget is used up");
      ctx.close();
      return;
    }
    this.ctx = ctx;
    this.writer = new WriteCoalescer(ctx, ctx.alloc());
    this.pool = handle.current();
    this.loop = pool.loop(ctx.channel().eventLoop());
    loop.sessionOpened(this);
    this.slot = loop.nextSlot();
    this.open = true;
    pool.poolStats().increment(PoolStat.CLIENT_CONNECTIONS);
    pool.stats.connectionOpened();
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
      // One read can hold many requests: past a limit they wait here, in order, so the limits
      // hold per request rather than per read.
      deferred.add(request);
      return;
    }
    handle(request);
  }

  private void handle(Request request) {
    handle0(request);
    if (!readPaused && overLimit()) {
      pauseReading();
    }
  }

  private boolean overLimit() {
    return pending.size() >= pool.options.maxPendingPerClient()
        || pendingBytes >= pool.options.maxPendingBytesPerClient() || !parkedOn.isEmpty();
  }

  private void local(Request request) {
    enqueue(PendingReply.local(this, request.frame(), request.closeAfterReply()),
        request.frame().readableBytes());
    if (request.closeAfterReply()) {
      closing = true;
      errored |= request.isProtocolError();
      ctx.channel().config().setAutoRead(false);
    }
    drain();
  }

  private void routed(Request request) {
    ByteBuf frame = request.frame();
    ByteBuf key = request.routingKey();
    int server;
    try {
      server = !request.hasKey() ? pool.router.serverForKeyless()
          : pool.router.serverFor(key == null ? frame : key, request.keyIndex(),
              request.keyLength());
    } catch (RuntimeException e) {
      request.release();
      throw e; // exceptionCaught closes the client: no slot was taken in its FIFO
    }
    if (key != null) {
      key.release();
    }
    if (!request.expectsReply()) {
      if (server == KeyRouter.NO_SERVER) {
        frame.release();
      } else {
        send(server, BackendConnection.NO_REPLY, frame);
      }
      return;
    }
    PendingReply reply = request.replyFilter() == null
        ? PendingReply.routed(this)
        : PendingReply.quiet(this, request.replyFilter());
    enqueue(reply, frame.readableBytes());
    if (server == KeyRouter.NO_SERVER) {
      frame.release();
      reply.onError(ErrorText.REFUSED);
    } else {
      send(server, reply, frame);
    }
  }

  /** Hands {@code frame} to this session's connection to {@code server}; parks on a full one. */
  private void send(int server, Outstanding entry, ByteBuf frame) {
    BackendConnection connection = loop.connection(server, slot);
    connection.send(entry, frame);
    if (connection.congested() && !parkedOn.contains(connection)) {
      parkedOn.add(connection);
      connection.park(this);
    }
  }

  /**
   * Routes this session's next requests with {@code next} (a reload replaced its pool). Replies
   * owed stay in order: they are matched in this session's FIFO, wherever they come from.
   */
  void moveTo(Pool next) {
    if (!open || next == pool) {
      return;
    }
    loop.sessionClosed(this);
    pool = next;
    loop = pool.loop(ctx.channel().eventLoop());
    slot = loop.nextSlot();
    loop.sessionOpened(this);
  }

  /** A connection this session parked on can take writes again (or failed). */
  void unparked(BackendConnection connection) {
    parkedOn.remove(connection);
    if (open && parkedOn.isEmpty()) {
      maybeResumeReading(); // the waking connection flushes the loop afterwards
    }
  }

  private void split(Request request) {
    Splitter.Split split;
    int bytes = request.frame().readableBytes();
    try {
      split = request.splitter().split(request.frame(), pool.router, ctx.alloc());
    } finally {
      request.frame().release();
    }
    PendingReply reply = PendingReply.split(this, split);
    enqueue(reply, bytes);
    pool.poolStats().add(PoolStat.FRAGMENTS, split.size());
    int sent = 0;
    try {
      for (; sent < split.size(); sent++) {
        int server = split.server(sent);
        ByteBuf fragment = split.fragment(sent);
        if (server == KeyRouter.NO_SERVER) {
          fragment.release();
          reply.partError(ErrorText.REFUSED);
        } else {
          send(server, new PendingReply.Fragment(reply, sent), fragment);
        }
      }
    } catch (RuntimeException e) {
      split.discard();
      for (; sent < split.size(); sent++) {
        reply.partError(ErrorText.INVALID);
      }
      log.error("pool '{}': splitting a request failed", pool.config.name(), e);
    }
  }

  private void enqueue(PendingReply reply, int requestBytes) {
    reply.heldBytes = requestBytes;
    pendingBytes += requestBytes;
    pending.add(reply);
    pool.inflight.increment();
  }

  /** Reply bytes arrived for a request still queued here. */
  void replyBytesHeld(int bytes) {
    pendingBytes += bytes;
  }

  /** Called by a {@link PendingReply} when its last part arrived. */
  void replyReady(PendingReply reply) {
    if (reply == pending.peek()) {
      drain();
    }
  }

  /** The first pieces of a long reply arrived: its streaming starts if its turn has come. */
  void partArrived(PendingReply reply) {
    if (reply == pending.peek()) {
      drain();
    }
  }

  /**
   * Writes the next piece of the long reply at the head of the FIFO; on the last, goes on to the
   * replies behind it. While the client's socket is full the reply's server is not read.
   */
  void streamPart(PendingReply reply, ByteBuf part, boolean last) {
    writer.write(part);
    markDirty();
    if (last) {
      drain();
    } else if (!ctx.channel().isWritable()) {
      reply.pauseSource();
    }
  }

  /** This client stopped reading a long reply that holds up a server connection: close it. */
  void closeSlowReader() {
    if (open) {
      errored = true;
      ctx.close(); // channelInactive abandons the reply, which lets the server be read again
    }
  }

  private void markDirty() {
    if (!dirty) {
      dirty = true;
      loop.sessionDirty(this);
    }
  }

  /** Writes every completed reply at the head of the FIFO; flushed when the burst ends. */
  private void drain() {
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
            head.pauseSource();
          }
        }
        break;
      }
      pending.poll();
      if (head.startNanos != 0) {
        if (now == 0) {
          now = System.nanoTime();
        }
        loop.latency.record(now - head.startNanos);
      }
      pool.inflight.decrement();
      pendingBytes -= head.heldBytes;
      if (head.brokenMidStream()) {
        // The client has part of a reply and its server failed: no reply can follow in frame.
        log.warn("pool '{}': server failed in the middle of a long reply; closing client {}",
            pool.config.name(), ctx.channel().remoteAddress());
        pool.poolStats().increment(PoolStat.FORWARD_ERROR);
        errored = true;
        writer.flush();
        ctx.close();
        return;
      }
      madeError[0] = false;
      ByteBuf out;
      try {
        out = head.takeReply(pool.protocol, ctx.alloc(), madeError);
      } catch (RuntimeException | Error e) {
        // No reply for this slot: closing is the only way the next reply cannot take it.
        log.error("pool '{}': cannot build a reply; closing client {}", pool.config.name(),
            ctx.channel().remoteAddress(), e);
        errored = true;
        writer.flush();
        ctx.close();
        return;
      }
      if (madeError[0]) {
        pool.poolStats().increment(PoolStat.FORWARD_ERROR);
      }
      if (head.closeAfter) {
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
    if (pending.isEmpty() && deferred.isEmpty() && inputShutdown) {
      writeLastAndClose(Unpooled.EMPTY_BUFFER);
      return;
    }
    maybeResumeReading();
  }

  /**
   * Reading resumes once the client owes at most half the reply and byte limits, its socket takes
   * writes, and no backend connection it wrote to is full: hysteresis, so a client near a limit
   * does not flip autoRead on every request.
   */
  private void maybeResumeReading() {
    if (!readPaused || resuming || !open
        || pending.size() > pool.options.maxPendingPerClient() / 2
        || pendingBytes > pool.options.maxPendingBytesPerClient() / 2
        || !parkedOn.isEmpty() || !ctx.channel().isWritable()) {
      return;
    }
    resuming = true;
    try {
      while (!deferred.isEmpty()) {
        Request request = deferred.poll();
        if (closing) {
          discard(request);
          continue;
        }
        handle0(request);
        if (overLimit()) {
          return; // still paused; the rest waits for the next drain
        }
      }
    } finally {
      resuming = false;
    }
    resumeReading();
    if (inputShutdown && pending.isEmpty()) {
      loop.flushDirty();
      writeLastAndClose(Unpooled.EMPTY_BUFFER);
    }
  }

  /** {@link #handle} without the pause check, for the deferred requests of a paused session. */
  private void handle0(Request request) {
    Pool current = handle.current();
    if (current != pool) {
      moveTo(current); // a reload: new requests use the new pool, in-flight ones finish
    }
    try {
      switch (request.kind()) {
        case LOCAL -> local(request);
        case ROUTED -> routed(request);
        case SPLIT -> split(request);
      }
    } finally {
      request.recycle(); // its frame went on, or was released; the object is done with
    }
  }

  private static void discard(Request request) {
    request.release();
    request.recycle();
  }

  /**
   * Writes {@code last} behind everything written before it, flushes, and closes the connection
   * once it is out (an empty {@code last}: once what was flushed has really been written).
   */
  private void writeLastAndClose(ByteBuf last) {
    writer.emit();
    ctx.writeAndFlush(last).addListener(ChannelFutureListener.CLOSE);
  }

  /** Flushes what {@link #drain} wrote; called once per burst by the loop. */
  void flush() {
    dirty = false;
    writer.flush();
  }

  private void pauseReading() {
    readPaused = true;
    ctx.channel().config().setAutoRead(false);
  }

  private void resumeReading() {
    readPaused = false;
    if (!closing) {
      ctx.channel().config().setAutoRead(true);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    loop.flushSoon();
    ctx.fireChannelReadComplete();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    PendingReply head = pending.peek();
    if (!ctx.channel().isWritable()) {
      if (!readPaused) {
        pauseReading();
      }
      if (head != null) {
        head.pauseSource();
      }
    } else {
      if (head != null) {
        head.resumeSource();
      }
      maybeResumeReading();
      loop.flushDirty(); // deferred requests handled just now go out
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof IdleStateEvent && open && pending.isEmpty() && deferred.isEmpty()
        && !closing) {
      // client_idle_timeout: nothing sent, nothing owed. An orderly close, like Redis's timeout.
      closing = true;
      loop.flushDirty();
      ctx.close();
    }
    if (evt instanceof ChannelInputShutdownEvent) {
      inputShutdown = true;
      if (pending.isEmpty() && deferred.isEmpty()) {
        // Close after what was flushed has really been written, not before.
        loop.flushDirty();
        writeLastAndClose(Unpooled.EMPTY_BUFFER);
      }
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    errored = true;
    if (!(cause instanceof IOException)) {
      log.warn("pool '{}': closing client {}: {}", pool.config.name(), ctx.channel().remoteAddress(),
          cause.toString(), cause);
    }
    ctx.close();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (rejected) {
      ctx.fireChannelInactive();
      return;
    }
    handle.clientClosed();
    loop.sessionClosed(this);
    open = false;
    writer.discard();
    for (PendingReply reply : pending) {
      reply.abandon();
      pool.inflight.decrement();
    }
    pending.clear();
    pendingBytes = 0;
    while (!deferred.isEmpty()) {
      discard(deferred.poll());
    }
    parkedOn.clear(); // a connection that wakes this session later finds it closed
    pool.poolStats().decrement(PoolStat.CLIENT_CONNECTIONS);
    pool.poolStats().increment(
        (inputShutdown || closing) && !errored ? PoolStat.CLIENT_EOF : PoolStat.CLIENT_ERR);
    pool.stats.connectionClosed();
    ctx.fireChannelInactive();
  }
}
