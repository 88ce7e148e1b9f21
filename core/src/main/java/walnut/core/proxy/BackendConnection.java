package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.config.Endpoint;
import walnut.core.spi.PartialReplies;
import walnut.core.spi.ReplyPart;
import walnut.core.spi.ServerPush;
import walnut.core.spi.ServerTrouble;
import walnut.core.stats.ServerStat;

/**
 * One connection from one event loop to one backend server: writes requests, and matches each
 * reply to the request at the head of its FIFO ({@link Requests}).
 *
 * <p>Ownership: {@link #send} takes ownership of the request frame (it is written, which releases
 * it, or released here if the connection fails first). Each decoded reply is handed to the head's
 * {@link ReplyHandler}, which then owns it; a reply with no request waiting ("stray") is released
 * and fails the connection. Confined to its event loop: every field is touched by that thread only.
 *
 * <p>Calls go one way: to the requesters' {@link ReplyHandler}s, the senders' {@link ReadGate}s,
 * the {@link Connector} and the loop's {@link Burst}; nothing here knows a client session.
 *
 * <p>Failure model, twemproxy's: any failure closes the whole connection and answers every queued
 * and in-flight request with the failure's text, since the reply stream can no longer be matched.
 * Only the FIFO's head needs a timer: later requests were queued later. A private connection
 * (Pins) is one of these that one client holds alone for a while, outside the shared table.
 */
final class BackendConnection extends ChannelInboundHandlerAdapter
    implements ReadGate, Burst.Flushable, Connector.Attempt {

  private static final Logger log = LoggerFactory.getLogger(BackendConnection.class);

  private final Pool pool;
  private final int server;
  private final int dialect; // Request#dialect(): its handshake, and whose requests it takes
  private final EventLoop loop;
  private final Connector connector;
  private final Burst burst;
  private final Requests requests;
  private Channel channel;
  private Endpoint endpoint; // where it connects; null when it never tried (back-off)
  private WriteCoalescer writer; // every write to the channel goes through it, once connected
  private boolean connected;
  private boolean gated; // connected, but client requests wait for the handshake's last reply
  private boolean moved; // the server moved to another address: moved()
  private boolean dirty; // written since the burst's last flush
  private boolean quiet; // failing fast in a connect back-off: the real attempt logged it
  private boolean replied; // the server answered: a TLS error is no longer its handshake's
  private boolean retiring; // a reload replaced its pool: close once nothing is outstanding
  /** The pieces of a long reply so far, for a head request that takes its reply whole. */
  private CompositeByteBuf gathered;
  private PartialReplies partial; // the decoder, if it tells how much of a reply it holds
  private final HeldGates held = new HeldGates(this); // senders held while it is full
  private Consumer<Object> listener; // listen()

  BackendConnection(Pool pool, int server, int dialect, EventLoop loop, Connector connector,
      Burst burst) {
    this.pool = pool;
    this.server = server;
    this.dialect = dialect;
    this.loop = loop;
    this.connector = connector;
    this.burst = burst;
    this.requests = new Requests(pool, server, loop,
        () -> fail(TlsHandshakes.timeoutText(pool, server, connected ? null : channel),
            Requests.Close.TIMEOUT, null),
        this::holdExpired);
  }

  /** Fails this never-connected connection at once (connect back-off): no network touched. */
  void failFast() {
    quiet = true;
    pool.stats().connectionOpened(); // fail() counts the close
    fail(connector.lastFailure(server), Requests.Close.ERROR, null);
  }

  /** Starts connecting; requests sent meanwhile wait for the connect. */
  void connect() {
    endpoint = pool.address(server);
    Channel opened = connector.connect(server, endpoint, dialect, this, this);
    channel = opened != null ? opened : channel; // a shutdown or timeout before it closes it
  }

  @Override
  public void failed(Channel ch, String reason, boolean timedOut, Throwable cause) {
    channel = ch;
    fail(reason, timedOut ? Requests.Close.TIMEOUT : Requests.Close.ERROR, cause);
  }

  @Override
  public boolean connected(Channel ch, List<ByteBuf> handshake) {
    channel = ch;
    if (requests.closed()) {
      handshake.forEach(ByteBuf::release);
      return false;
    }
    connected = true;
    writer = new WriteCoalescer(channel, channel.alloc());
    partial = channel.pipeline().get("decoder") instanceof PartialReplies p ? p : null;
    pool.serverStats(server).increment(ServerStat.SERVER_CONNECTIONS);
    // The steps run ahead of the queued requests: they inherit the oldest deadline, so the
    // head timer never fires later than a queued request's own timeout.
    long stepDeadline = requests.oldestDeadline(now());
    gated = pool.watched() && !handshake.isEmpty();
    for (int i = 0; i < handshake.size(); i++) {
      requests.written(connector.handshakeStep(server, dialect, i, i == handshake.size() - 1,
          this), 0, stepDeadline);
      writer.write(handshake.get(i));
    }
    if (!gated) {
      requests.sendQueued(writer);
    }
    writer.flush();
    requests.armTimer();
    return true;
  }

  /** Sends {@code frame} and queues {@code handler} for its reply; takes ownership of the frame. */
  void send(ReplyHandler handler, ByteBuf frame) {
    int bytes = frame.readableBytes();
    if (requests.refuse(handler, frame)) {
      return;
    }
    long deadline = requests.deadlineFor(handler, now());
    if (!connected || gated) {
      requests.queue(handler, frame, bytes, deadline);
    } else {
      // Queue first: a write that fails (now or at the flush) fails the connection through
      // exceptionCaught, which must find the request to answer it.
      requests.written(handler, bytes, deadline);
      writer.write(frame);
      if (!dirty) {
        dirty = true;
        burst.backendWritten(this);
      }
    }
    requests.armTimer();
  }

  /** Whether the outbound buffer is past its high mark: senders stop reading till it drains. */
  boolean congested() {
    return connected && !requests.closed() && !channel.isWritable();
  }

  /** Holds {@code sender}'s reading until this connection drains or fails. */
  void park(ReadGate sender) {
    held.hold(sender);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (ctx.channel().isWritable()) {
      held.releaseAll();
      burst.flush();
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void flush() {
    dirty = false;
    if (!requests.closed()) {
      writer.flush();
    }
  }

  @Override
  public String toString() {
    return "server '" + pool.serverName(server) + "'";
  }

  @Override
  public boolean isClosed() {
    return requests.closed();
  }

  void listen(Consumer<Object> l) { // every frame after the handshake is l's: no FIFO
    listener = l;
  }

  boolean idle() { // open, nothing queued or in flight: a private one may be reused
    return !requests.closed() && requests.idle();
  }

  /** The server moved to another address: as {@link #retire}, and no waiting request goes out. */
  void moved() {
    moved = true;
    retire();
  }

  /** Closes the connection once nothing is outstanding on it (a reload replaced its pool). */
  void retire() {
    retiring = true;
    closeIfRetiredAndIdle();
  }

  private void closeIfRetiredAndIdle() {
    if (retiring && idle()) {
      fail(ErrorText.UNKNOWN, Requests.Close.RETIRED, null);
    }
  }

  /** The server cannot speak the dialect: its requests get an error, no failure of the server. */
  @Override
  public void dialectRefused() {
    fail(ErrorText.NO_PROTOCOL, Requests.Close.RETIRED, null);
  }

  /** The handshake is over: the requests go out, unless the server moved (an error, then). */
  @Override
  public void handshaken() {
    if (gated && moved) {
      fail(ErrorText.NOT_PRIMARY, Requests.Close.RETIRED, null);
    } else if (gated && !requests.closed()) {
      gated = false;
      requests.sendQueued(writer);
      writer.flush();
      requests.armTimer();
    }
  }

  /** A replica: its requests get an error (no failure); connects back off; sentinels asked. */
  @Override
  public void notPrimary(String why) {
    if (!moved) { // at the old address, expected: no reason to slow the new one
      pool.notPrimary(server, why);
      connector.failed(server, ErrorText.NOT_PRIMARY);
    }
    fail(ErrorText.NOT_PRIMARY, Requests.Close.RETIRED, null);
  }

  boolean at(Endpoint address) { // whether it connects, or connected, there
    return address.equals(endpoint);
  }

  /** Closes it: shutdown; or (abandoned) a private one not given back clean, nothing logged. */
  void close(boolean abandoned) {
    fail(ErrorText.UNKNOWN, abandoned ? Requests.Close.ABANDONED : Requests.Close.SHUTDOWN, null);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    replied = true;
    if (listener != null && !requests.headIsOwnStep()) {
      listener.accept(msg); // a private connection a client listens on: every frame is its
      return;
    }
    if (msg instanceof ReplyPart part) {
      readPart(part);
      return;
    }
    if (msg instanceof ServerTrouble trouble) {
      if (trouble.notPrimary()) {
        pool.notPrimary(server, "it replied " + Requests.troubleText(trouble.content()));
      }
      readTrouble(trouble.content(), trouble.counts());
      return;
    }
    if (msg instanceof ServerPush push) {
      push.release(); // answers no request: on a shared connection it is no one client's
      return;
    }
    ByteBuf reply = (ByteBuf) msg;
    ReplyHandler head = requests.replied(reply.readableBytes(), true);
    if (head == null) {
      stray(reply);
      return;
    }
    deliver(head, reply);
    closeIfRetiredAndIdle();
  }

  /** Server trouble (-LOADING, -BUSY): to its request; counts unless the request owns it. */
  private void readTrouble(ByteBuf reply, boolean counts) {
    // Trouble answering its own AUTH/SELECT fails it like a stray reply: its state is unknown.
    ReplyHandler head = requests.headIsOwnStep() ? null
        : requests.repliedWithTrouble(reply.readableBytes());
    if (head == null) {
      stray(reply);
      return;
    }
    String counted = !counts || head.ownsErrorReplies() ? null : Requests.troubleText(reply);
    deliver(head, reply);
    if (counted != null) {
      requests.countTrouble(counted);
    }
    closeIfRetiredAndIdle();
  }

  private void deliver(ReplyHandler head, ByteBuf reply) {
    try {
      head.onReply(reply);
    } catch (RuntimeException e) {
      // A client-side fault must not fail this connection, which other clients share.
      log.error("pool '{}': delivering a reply failed", pool.config().name(), e);
    }
  }

  /** A piece of a long reply: streamed on to the head, or gathered for it till the last one. */
  private void readPart(ReplyPart part) {
    ByteBuf bytes = part.content();
    boolean last = part.last();
    ReplyHandler head = requests.replied(bytes.readableBytes(), last);
    if (head == null) {
      stray(bytes);
      return;
    }
    if (!last) {
      requests.progress(); // a server sending a long reply is answering
    }
    try {
      if (head.takesParts()) {
        head.onPart(bytes, last, this);
      } else {
        if (gathered == null) {
          gathered = channel.alloc().compositeBuffer(Integer.MAX_VALUE);
        }
        gathered.addComponent(true, bytes);
        if (last) {
          ByteBuf whole = gathered;
          gathered = null;
          head.onReply(whole);
        }
      }
    } catch (RuntimeException e) {
      log.error("pool '{}': delivering a reply failed", pool.config().name(), e);
    }
    if (last) {
      if (requests.heldBy() != null) {
        resumeReading(requests.heldBy()); // only the head holds, and its reply is complete
      }
      closeIfRetiredAndIdle();
    }
  }

  /** A reply with no request waiting for it: the stream is out of step. */
  private void stray(ByteBuf reply) {
    reply.release();
    if (!requests.closed()) {
      fail(ErrorText.INVALID, Requests.Close.ERROR, null);
    }
  }

  /**
   * Stops reading from the server while the client a long reply streams to cannot take more: the
   * rest waits in the kernel's buffers. The replies behind it wait too, their timeouts credited
   * for the pause. One holder at a time: only the FIFO's head streams.
   */
  @Override
  public void pauseReading(Object holder) {
    if (!requests.closed() && requests.hold(holder)) {
      channel.config().setAutoRead(false);
    }
  }

  /** A hold lasted as long as the requests behind it may wait: the server is read again. */
  private void holdExpired() {
    resumeReading(requests.heldBy());
  }

  @Override
  public void resumeReading(Object holder) {
    if (requests.release(holder) && !requests.closed()) {
      channel.config().setAutoRead(true);
    }
  }

  /**
   * After each read: what the decoder holds of an incomplete reply is the head's. The server is
   * answering it, so its timeout starts again, and its client is charged for those bytes; or, when
   * its client has gone, the decoder drops the rest as it comes.
   */
  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (partial != null && !requests.closed()) {
      int bytes = partial.partialReplyBytes();
      ReplyHandler head = bytes > 0 ? requests.head() : null;
      if (head != null) {
        requests.progress();
        try {
          if (head.wanted()) {
            head.buffering(bytes);
          } else {
            partial.dropPartialReply(); // its client is gone: keep none of the rest
          }
        } catch (RuntimeException e) {
          log.error("pool '{}': counting a reply failed", pool.config().name(), e);
        }
      }
    }
    burst.flushSoon();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    String reason = ErrorText.of(cause);
    if (connected && !replied && !requests.closed()
        && TlsHandshakes.refusedAfterHandshake(pool, server, endpoint, cause)) {
      connector.failed(server, reason); // a refused handshake all the same: back off
    } else if (log.isDebugEnabled()) {
      log.debug("pool '{}' {}: {}", pool.config().name(), this, reason, cause);
    }
    if (connected) { // before: the connect, or its TLS handshake, says how it ends (below)
      fail(reason, Requests.Close.ERROR, cause);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    fail(ErrorText.UNKNOWN, Requests.Close.EOF, null);
  }

  private long now() {
    return loop.ticker().nanoTime();
  }

  /** Closes it, answering all on it with {@code reason}. Idempotent: the first cause wins. */
  private void fail(String reason, Requests.Close how, Throwable cause) {
    if (requests.closed()) {
      return;
    }
    requests.close(reason);
    if (!connected && !quiet && how != Requests.Close.EOF && !how.byProxy()) {
      connector.failed(server, reason);
    }
    if (writer != null) {
      writer.discard(); // written, not flushed: their requests are answered below
    }
    if (channel != null) {
      channel.close();
    }
    if (gathered != null) {
      gathered.release();
      gathered = null;
    }
    requests.answerAll(reason, how, connected, quiet);
    held.releaseAll();
    requests.countFailure(how, reason);
    burst.flush();
  }
}
