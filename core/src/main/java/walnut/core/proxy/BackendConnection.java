package walnut.core.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ConnectTimeoutException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.config.Endpoint;
import walnut.core.spi.ReplyPart;
import walnut.core.stats.Counters;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ServerStat;

/**
 * One connection from one event loop to one backend server, and the FIFO that matches its
 * replies to requests.
 *
 * <p>Ownership: {@link #send} takes ownership of the request frame (it is written, which releases
 * it, or released here if the connection fails first). Each decoded reply is handed to the FIFO's
 * head entry, which then owns it; a reply with no entry waiting ("stray") is released and fails
 * the connection. Confined to its event loop: every field is touched by that thread only.
 *
 * <p>Failure model (spec §7): any failure closes the whole connection and answers every queued
 * and in-flight request with the failure's text, since the reply stream can no longer be matched.
 * Only the FIFO's head needs a timer: later entries were queued later.
 */
final class BackendConnection extends ChannelInboundHandlerAdapter {

  private static final Logger log = LoggerFactory.getLogger(BackendConnection.class);

  /** A shared FIFO entry for requests that expect no reply (memcached noreply). */
  static final Outstanding NO_REPLY = new Outstanding() {
    @Override
    void onReply(ByteBuf reply) {
      throw new IllegalStateException("a noreply request never takes a reply");
    }

    @Override
    void onError(String reason) {}
  };

  /**
   * Why the connection closed. RETIRED (a reload replaced it, once idle) and SHUTDOWN (the proxy
   * is stopping) are Walnut's own closes: not a server failure, so they count nothing and never
   * eject a server.
   */
  private enum Close {
    EOF, ERROR, TIMEOUT, RETIRED, SHUTDOWN;

    boolean byProxy() {
      return this == RETIRED || this == SHUTDOWN;
    }
  }

  private final LoopPool loop;
  final int server;
  final int slot;
  private final Pool pool;
  /** Requests waiting for the connect to complete (twemproxy's in_queue). */
  private final ArrayDeque<Outstanding> queued = new ArrayDeque<>();
  private final ArrayDeque<ByteBuf> queuedFrames = new ArrayDeque<>();
  /** Requests written and waiting for a reply (twemproxy's out_queue). */
  private final ArrayDeque<Outstanding> waiting = new ArrayDeque<>();
  private Channel channel;
  /** Every write to {@link #channel} goes through it; set once connected. */
  private WriteCoalescer writer;
  private boolean connected;
  private boolean closed;
  private boolean dirty;
  /** Why the connection failed: answers requests that arrive after the failure. */
  private String failure = ErrorText.UNKNOWN;
  private ScheduledFuture<?> timer;
  /** A back-off failure: logged once by the real attempt before it, not again per request. */
  private boolean quiet;
  /** A reload replaced this connection's pool: close once nothing is outstanding. */
  private boolean retiring;
  /** The long reply whose slow client stopped this connection's reading, and since when. */
  private PendingReply pausedFor;
  private long pausedSince;
  private ScheduledFuture<?> stallTimer;
  /** The pieces of a long reply so far, for a head entry that takes its reply whole. */
  private CompositeByteBuf gathered;
  /** Sessions that stopped reading because this connection's outbound buffer is full. */
  private final ArrayList<ClientSession> parked = new ArrayList<>();

  BackendConnection(LoopPool loop, int server, int slot) {
    this.loop = loop;
    this.pool = loop.pool;
    this.server = server;
    this.slot = slot;
  }

  /** Fails this never-connected connection at once with {@code reason} (connect back-off). */
  void failFast(String reason) {
    quiet = true;
    pool.stats.connectionOpened(); // fail() counts the close
    fail(reason, Close.ERROR, null);
  }

  void connect(Bootstrap template) {
    Endpoint endpoint = pool.config.servers().get(server).endpoint();
    BackendConnection self = this;
    Bootstrap b = template.clone().handler(new ChannelInitializer<>() {
      @Override
      protected void initChannel(Channel ch) {
        ch.pipeline().addLast("decoder", pool.protocol.newReplyDecoder(pool.config));
        ch.pipeline().addLast("backend", self);
      }
    });
    // Unresolved: the host is resolved again on every new connection, as twemproxy does.
    ChannelFuture f;
    try {
      f = b.connect(endpoint.isUnix() ? pool.transport.domainSocketAddress(endpoint.path())
          : InetSocketAddress.createUnresolved(endpoint.host(), endpoint.port()));
    } catch (RuntimeException e) {
      pool.stats.connectionOpened(); // fail() counts the close
      fail(ErrorText.of(e), Close.ERROR, e);
      return;
    }
    channel = f.channel();
    pool.stats.connectionOpened();
    f.addListener(done -> {
      if (done.isSuccess()) {
        connected();
      } else {
        fail(ErrorText.of(done.cause()),
            done.cause() instanceof ConnectTimeoutException ? Close.TIMEOUT : Close.ERROR,
            done.cause());
      }
    });
  }

  /** Sends {@code frame} and queues {@code entry} for its reply; takes ownership of the frame. */
  void send(Outstanding entry, ByteBuf frame) {
    int bytes = frame.readableBytes();
    var counters = pool.serverStats(server);
    counters.increment(ServerStat.REQUESTS);
    counters.add(ServerStat.REQUEST_BYTES, bytes);
    if (closed) {
      frame.release();
      entry.onError(failure);
      return;
    }
    if (entry != NO_REPLY) {
      entry.bytes = bytes;
      entry.deadline = pool.config.hasTimeout()
          ? System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(pool.config.timeout()) : 0;
    }
    if (!connected) {
      queued.add(entry);
      queuedFrames.add(frame.touch("queued until the backend connects"));
      counters.increment(ServerStat.IN_QUEUE);
      counters.add(ServerStat.IN_QUEUE_BYTES, bytes);
    } else {
      write(entry, frame);
      if (!dirty) {
        dirty = true;
        loop.backendDirty(this);
      }
    }
    armTimer(entry);
  }

  private void write(Outstanding entry, ByteBuf frame) {
    // Queue first: a write that fails (now or at the flush) fails the connection through
    // exceptionCaught, which must find the entry to answer it.
    if (entry != NO_REPLY) {
      waiting.add(entry);
      var counters = pool.serverStats(server);
      counters.increment(ServerStat.OUT_QUEUE);
      counters.add(ServerStat.OUT_QUEUE_BYTES, entry.bytes);
    }
    writer.write(frame);
  }

  /**
   * Whether the outbound buffer is above its high water mark (the server reads slower than its
   * clients write): the senders should stop reading until it drains.
   */
  boolean congested() {
    return connected && !closed && !channel.isWritable();
  }

  /** {@code session} stopped reading until this connection drains or fails. */
  void park(ClientSession session) {
    parked.add(session);
  }

  private void wakeParked() {
    if (parked.isEmpty()) {
      return;
    }
    ClientSession[] sessions = parked.toArray(new ClientSession[0]);
    parked.clear();
    for (ClientSession session : sessions) {
      session.unparked(this);
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (ctx.channel().isWritable()) {
      wakeParked();
      loop.flushDirty();
    }
    ctx.fireChannelWritabilityChanged();
  }

  void flush() {
    dirty = false;
    if (!closed) {
      writer.flush();
    }
  }

  /** Closes the connection once nothing is outstanding on it (a reload replaced its pool). */
  void retire() {
    retiring = true;
    closeIfRetiredAndIdle();
  }

  private void closeIfRetiredAndIdle() {
    if (retiring && !closed && waiting.isEmpty() && queued.isEmpty()) {
      fail(ErrorText.UNKNOWN, Close.RETIRED, null);
    }
  }

  /** Closes the connection (shutdown); whatever is still on it is answered as after an EOF. */
  void close() {
    fail(ErrorText.UNKNOWN, Close.SHUTDOWN, null);
  }

  private void connected() {
    if (closed) {
      return;
    }
    connected = true;
    writer = new WriteCoalescer(channel, channel.alloc());
    loop.connectSucceeded(server);
    pool.serverStats(server).increment(ServerStat.SERVER_CONNECTIONS);
    List<ByteBuf> handshake = pool.protocol.handshake(pool.config, channel.alloc());
    // The steps run ahead of the queued requests: they inherit the oldest deadline, so the
    // head timer never fires later than a queued request's own timeout.
    long stepDeadline = !queued.isEmpty() && queued.peek().deadline != 0 ? queued.peek().deadline
        : pool.config.hasTimeout()
            ? System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(pool.config.timeout()) : 0;
    for (int i = 0; i < handshake.size(); i++) {
      HandshakeStep step = new HandshakeStep(i);
      step.deadline = stepDeadline;
      waiting.add(step);
      writer.write(handshake.get(i));
    }
    var counters = pool.serverStats(server);
    while (!queued.isEmpty()) {
      Outstanding entry = queued.poll();
      ByteBuf frame = queuedFrames.poll();
      counters.decrement(ServerStat.IN_QUEUE);
      counters.add(ServerStat.IN_QUEUE_BYTES, -frame.readableBytes());
      write(entry, frame);
    }
    writer.flush();
    if (!waiting.isEmpty()) {
      armTimer(waiting.peek());
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof ReplyPart part) {
      readPart(part);
      return;
    }
    ByteBuf reply = (ByteBuf) msg;
    Outstanding entry = waiting.poll();
    if (entry == null || closed) {
      stray(reply, entry);
      return;
    }
    var counters = pool.serverStats(server);
    if (entry.isClientRequest()) {
      counters.add(ServerStat.RESPONSE_BYTES, reply.readableBytes());
      replied(entry, counters);
    }
    try {
      entry.onReply(reply);
    } catch (RuntimeException e) {
      // A client-side fault must not fail this connection, which other clients share.
      log.error("pool '{}': delivering a reply failed", pool.config.name(), e);
    }
    closeIfRetiredAndIdle();
  }

  /**
   * A piece of a long reply (spec: {@link ReplyPart}). The head entry keeps its place until the
   * last piece: it either takes the pieces as they come (a client's reply, streamed on), or they
   * are gathered here and given to it whole.
   */
  private void readPart(ReplyPart part) {
    ByteBuf bytes = part.content();
    boolean last = part.last();
    Outstanding entry = last ? waiting.poll() : waiting.peek();
    if (entry == null || closed) {
      stray(bytes, last ? entry : null);
      return;
    }
    var counters = pool.serverStats(server);
    if (entry.isClientRequest()) {
      counters.add(ServerStat.RESPONSE_BYTES, bytes.readableBytes());
      if (last) {
        replied(entry, counters);
      }
    }
    try {
      if (entry.takesParts()) {
        entry.onPart(bytes, last, this);
      } else {
        if (gathered == null) {
          gathered = channel.alloc().compositeBuffer(Integer.MAX_VALUE);
        }
        gathered.addComponent(true, bytes);
        if (last) {
          ByteBuf whole = gathered;
          gathered = null;
          entry.onReply(whole);
        }
      }
    } catch (RuntimeException e) {
      log.error("pool '{}': delivering a reply failed", pool.config.name(), e);
    }
    if (last) {
      if (pausedFor != null) {
        resumeReading(pausedFor); // only the head pauses, and the head's reply is complete
      }
      closeIfRetiredAndIdle();
    }
  }

  private void replied(Outstanding entry, Counters<ServerStat> counters) {
    counters.decrement(ServerStat.OUT_QUEUE);
    counters.add(ServerStat.OUT_QUEUE_BYTES, -entry.bytes);
    counters.increment(ServerStat.RESPONSES);
    pool.router.recordSuccess(server);
  }

  /** A reply with no request waiting for it: the stream is out of step. */
  private void stray(ByteBuf reply, Outstanding polled) {
    reply.release();
    if (polled != null) {
      polled.onError(failure);
    }
    if (!closed) {
      fail(ErrorText.INVALID, Close.ERROR, null);
    }
  }

  /**
   * Stops reading from the server while the client a long reply streams to cannot take more; the
   * rest of the reply waits in the kernel's buffers, not in the proxy's memory. The other replies
   * on this connection wait behind it meanwhile, so the time paused does not count against the
   * request's timeout, and a client that takes nothing for
   * {@link EngineOptions#slowReaderLimit()} is closed, which lets the connection read again (the rest of that reply is dropped).
   */
  void pauseReading(PendingReply reading) {
    if (closed || pausedFor != null) {
      return;
    }
    pausedFor = reading;
    pausedSince = System.nanoTime();
    channel.config().setAutoRead(false);
    long limit = pool.options.slowReaderLimit().toNanos();
    stallTimer = loop.eventLoop.schedule(() -> {
      stallTimer = null;
      if (pausedFor == reading) {
        log.warn("pool '{}': a client took nothing of a long reply from server '{}' for {} s;"
            + " closing it, so that the server's other replies can flow", pool.config.name(),
            serverName(), pool.options.slowReaderLimit().toMillis() / 1000.0);
        reading.dropClient();
      }
    }, limit, TimeUnit.NANOSECONDS);
  }

  void resumeReading(PendingReply reading) {
    if (pausedFor != reading) {
      return;
    }
    pausedFor = null;
    if (stallTimer != null) {
      stallTimer.cancel(false);
      stallTimer = null;
    }
    // The client's time, not the server's: every reply queued behind waited for it too.
    long paused = System.nanoTime() - pausedSince;
    for (Outstanding entry : waiting) {
      if (entry.deadline != 0) {
        entry.deadline += paused;
      }
    }
    if (!closed) {
      channel.config().setAutoRead(true);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    loop.flushSoon();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    String reason = ErrorText.of(cause);
    if (log.isDebugEnabled()) {
      log.debug("pool '{}' server '{}': {}", pool.config.name(), serverName(), reason, cause);
    }
    fail(reason, Close.ERROR, cause);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    fail(ErrorText.UNKNOWN, Close.EOF, null);
  }

  private void armTimer(Outstanding entry) {
    if (timer == null && entry.deadline != 0 && !closed) {
      timer = loop.eventLoop.schedule(this::onTimer, Math.max(0, entry.deadline - System.nanoTime()),
          TimeUnit.NANOSECONDS);
    }
  }

  private void onTimer() {
    timer = null;
    if (closed) {
      return;
    }
    Outstanding head = connected ? waiting.peek() : queued.peek();
    if (head == null || head.deadline == 0) {
      return;
    }
    long left = head.deadline - System.nanoTime();
    if (pausedFor != null) {
      // Paused for a slow client: the deadline moves on resume; look again after the budget.
      left = Math.max(left, TimeUnit.MILLISECONDS.toNanos(pool.config.timeout()));
    }
    if (left <= 0) {
      fail(ErrorText.TIMED_OUT, Close.TIMEOUT, null);
    } else {
      timer = loop.eventLoop.schedule(this::onTimer, left, TimeUnit.NANOSECONDS);
    }
  }

  /**
   * Closes the connection and answers everything on it with {@code reason}. Idempotent: the first
   * cause wins (a timeout's close later shows up as channelInactive, which must not count again).
   */
  private void fail(String reason, Close how, Throwable cause) {
    if (closed) {
      return;
    }
    closed = true;
    failure = reason;
    if (writer != null) {
      writer.discard(); // written, not flushed: their entries are answered below
    }
    loop.removed(this);
    if (!connected && !quiet && how != Close.EOF && !how.byProxy()) {
      loop.connectFailed(server, reason);
    }
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    if (stallTimer != null) {
      stallTimer.cancel(false);
      stallTimer = null;
    }
    pausedFor = null;
    if (channel != null) {
      channel.close();
    }
    if (gathered != null) {
      gathered.release();
      gathered = null;
    }
    var counters = pool.serverStats(server);
    switch (how) {
      case EOF -> counters.increment(ServerStat.SERVER_EOF);
      case ERROR -> counters.increment(ServerStat.SERVER_ERR);
      case TIMEOUT -> counters.increment(ServerStat.SERVER_TIMEDOUT);
      case RETIRED, SHUTDOWN -> { }
    }
    if (connected) {
      counters.decrement(ServerStat.SERVER_CONNECTIONS);
    }
    pool.stats.connectionClosed();
    if (!quiet && (!waiting.isEmpty() || !queued.isEmpty() || !(how == Close.EOF
        || how.byProxy()))) {
      log.warn("pool '{}': server '{}' failed: {}{}", pool.config.name(), serverName(), reason,
          waiting.size() + queued.size() > 0
              ? " (" + (waiting.size() + queued.size()) + " requests answered with the error)"
              : "");
    }
    while (!queued.isEmpty()) {
      Outstanding entry = queued.poll();
      ByteBuf frame = queuedFrames.poll();
      counters.decrement(ServerStat.IN_QUEUE);
      counters.add(ServerStat.IN_QUEUE_BYTES, -frame.readableBytes());
      ReferenceCountUtil.safeRelease(frame);
      entry.onError(reason);
    }
    while (!waiting.isEmpty()) {
      Outstanding entry = waiting.poll();
      if (entry.isClientRequest()) {
        counters.decrement(ServerStat.OUT_QUEUE);
        counters.add(ServerStat.OUT_QUEUE_BYTES, -entry.bytes);
      }
      entry.onError(reason);
    }
    wakeParked();
    if (!how.byProxy() && pool.router.recordFailure(server)) {
      pool.poolStats().increment(PoolStat.SERVER_EJECTS);
      counters.set(ServerStat.SERVER_EJECTED_AT, System.currentTimeMillis() * 1000);
      log.warn("pool '{}': server '{}' ejected for {} ms", pool.config.name(), serverName(),
          pool.config.serverRetryTimeout());
    }
    loop.flushDirty();
  }

  private String serverName() {
    return pool.config.servers().get(server).name();
  }

  /** The proxy's own AUTH/SELECT on a new connection: the reply is checked, never forwarded. */
  private final class HandshakeStep extends Outstanding {
    private final int index;

    HandshakeStep(int index) {
      this.index = index;
    }

    @Override
    boolean isClientRequest() {
      return false;
    }

    @Override
    void onReply(ByteBuf reply) {
      try {
        String problem = pool.protocol.checkHandshakeReply(pool.config, index, reply);
        if (problem != null) {
          log.error("pool '{}': server '{}': {}", pool.config.name(), serverName(), problem);
        }
      } finally {
        reply.release();
      }
    }

    @Override
    void onError(String reason) {}
  }
}
