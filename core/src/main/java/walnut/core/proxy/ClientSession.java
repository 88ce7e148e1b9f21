package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.util.ArrayDeque;
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

  private final Pool pool;
  private final ArrayDeque<PendingReply> pending = new ArrayDeque<>();
  private final boolean[] madeError = new boolean[1];
  private ChannelHandlerContext ctx;
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

  ClientSession(Pool pool) {
    this.pool = pool;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    this.ctx = ctx;
    this.loop = pool.loop(ctx.channel().eventLoop());
    this.slot = loop.nextSlot();
    this.open = true;
    pool.poolStats().increment(PoolStat.CLIENT_CONNECTIONS);
    pool.stats.connectionOpened();
    super.channelActive(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof Request request)) {
      ReferenceCountUtil.release(msg);
      throw new IllegalStateException("expected a Request, got " + msg.getClass().getName());
    }
    if (closing) {
      request.release();
      return;
    }
    switch (request.kind()) {
      case LOCAL -> local(request);
      case ROUTED -> routed(request);
      case SPLIT -> split(request);
    }
    if (!readPaused && pending.size() >= pool.options.maxPendingPerClient()) {
      pauseReading();
    }
  }

  private void local(Request request) {
    enqueue(PendingReply.local(this, request.frame(), request.closeAfterReply()));
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
        loop.connection(server, slot).send(BackendConnection.NO_REPLY, frame);
      }
      return;
    }
    PendingReply reply = request.replyFilter() == null
        ? PendingReply.routed(this)
        : PendingReply.quiet(this, request.replyFilter());
    enqueue(reply);
    if (server == KeyRouter.NO_SERVER) {
      frame.release();
      reply.onError(ErrorText.REFUSED);
    } else {
      loop.connection(server, slot).send(reply, frame);
    }
  }

  private void split(Request request) {
    Splitter.Split split;
    try {
      split = request.splitter().split(request.frame(), pool.router, ctx.alloc());
    } finally {
      request.frame().release();
    }
    PendingReply reply = PendingReply.split(this, split);
    enqueue(reply);
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
          loop.connection(server, slot).send(new PendingReply.Fragment(reply, sent), fragment);
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

  private void enqueue(PendingReply reply) {
    pending.add(reply);
    pool.inflight.increment();
  }

  /** Called by a {@link PendingReply} when its last part arrived. */
  void replyReady(PendingReply reply) {
    if (reply == pending.peek()) {
      drain();
    }
  }

  /** Writes every completed reply at the head of the FIFO; flushed when the burst ends. */
  private void drain() {
    if (!open) {
      return;
    }
    PendingReply head;
    boolean wrote = false;
    while ((head = pending.peek()) != null && head.isDone()) {
      pending.poll();
      pool.inflight.decrement();
      madeError[0] = false;
      ByteBuf out;
      try {
        out = head.takeReply(pool.protocol, ctx.alloc(), madeError);
      } catch (RuntimeException | Error e) {
        // No reply for this slot: closing is the only way the next reply cannot take it.
        log.error("pool '{}': cannot build a reply; closing client {}", pool.config.name(),
            ctx.channel().remoteAddress(), e);
        errored = true;
        ctx.flush();
        ctx.close();
        return;
      }
      if (madeError[0]) {
        pool.poolStats().increment(PoolStat.FORWARD_ERROR);
      }
      if (head.closeAfter) {
        ctx.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
        return;
      }
      if (out == null) {
        continue; // a quiet request's reply the client does not want
      }
      ctx.write(out, ctx.voidPromise());
      wrote = true;
    }
    if (wrote && !dirty) {
      dirty = true;
      loop.sessionDirty(this);
    }
    if (pending.isEmpty() && inputShutdown) {
      ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    if (readPaused && pending.size() <= pool.options.maxPendingPerClient() / 2
        && ctx.channel().isWritable()) {
      resumeReading();
    }
  }

  /** Flushes what {@link #drain} wrote; called once per burst by the loop. */
  void flush() {
    dirty = false;
    ctx.flush();
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
    loop.flushDirty();
    ctx.fireChannelReadComplete();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (!ctx.channel().isWritable()) {
      if (!readPaused) {
        pauseReading();
      }
    } else if (readPaused && pending.size() <= pool.options.maxPendingPerClient() / 2) {
      resumeReading();
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof ChannelInputShutdownEvent) {
      inputShutdown = true;
      if (pending.isEmpty()) {
        // Close after what was flushed has really been written, not before.
        loop.flushDirty();
        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
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
    open = false;
    for (PendingReply reply : pending) {
      reply.abandon();
      pool.inflight.decrement();
    }
    pending.clear();
    pool.poolStats().decrement(PoolStat.CLIENT_CONNECTIONS);
    pool.poolStats().increment(
        (inputShutdown || closing) && !errored ? PoolStat.CLIENT_EOF : PoolStat.CLIENT_ERR);
    pool.stats.connectionClosed();
    ctx.fireChannelInactive();
  }
}
