package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.stats.Counters;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ServerStat;

/**
 * The requests of one backend connection: those waiting for the connect (twemproxy's in_queue),
 * those written and waiting for a reply (its out_queue), their server counters, deadlines, and
 * how a failure answers them and counts against the server. Owned by its
 * {@link BackendConnection}; confined to its event loop.
 */
final class Requests {

  private static final Logger log = LoggerFactory.getLogger(BackendConnection.class);

  /**
   * Why a connection closed. RETIRED (a reload replaced it, once idle) and SHUTDOWN (the proxy is
   * stopping) are Walnut's own closes: not a server failure, so they count nothing and never eject
   * a server.
   */
  enum Close {
    EOF, ERROR, TIMEOUT, RETIRED, SHUTDOWN,
    /** A private connection its client left or broke: the proxy's doing, nothing to report. */
    ABANDONED;

    boolean byProxy() {
      return this == RETIRED || this == SHUTDOWN || this == ABANDONED;
    }
  }

  private final Pool pool;
  private final int server;
  private final Counters<ServerStat> counters;
  private final InFlight queued = new InFlight();
  private final InFlight waiting = new InFlight();
  private final EventLoop loop;
  /** Runs when the head request's deadline passed: the connection fails. */
  private final Runnable timedOut;
  /** Runs when a hold has lasted as long as the requests behind it may wait: reading resumes. */
  private final Runnable holdExpired;
  private ScheduledFuture<?> holdTimer;
  private ScheduledFuture<?> timer;
  /** When {@link #timer} fires, on the loop's ticker. */
  private long timerAt;
  /** Written requests exist: the head is the oldest written one, not the oldest queued. */
  private boolean connected;
  /** The long reply whose slow client holds the connection's reading, and since when. */
  private Object heldBy;
  private long heldSince;
  private boolean closed;
  /** Why the connection failed: answers requests that arrive after the failure. */
  private String failure = ErrorText.UNKNOWN;

  Requests(Pool pool, int server, EventLoop loop, Runnable timedOut, Runnable holdExpired) {
    this.pool = pool;
    this.server = server;
    this.loop = loop;
    this.timedOut = timedOut;
    this.holdExpired = holdExpired;
    this.counters = pool.serverStats(server);
  }

  boolean closed() {
    return closed;
  }

  /** Nothing queued or written is waiting. */
  boolean idle() {
    return waiting.isEmpty() && queued.isEmpty();
  }

  /**
   * Counts a request for the server; on a closed connection, answers it with the failure and
   * releases its frame, and returns {@code true}.
   */
  boolean refuse(ReplyHandler handler, ByteBuf frame) {
    counters.increment(ServerStat.REQUESTS);
    counters.add(ServerStat.REQUEST_BYTES, frame.readableBytes());
    if (!closed) {
      return false;
    }
    frame.release();
    handler.onError(failure);
    return true;
  }

  /** The deadline of a request sent at {@code now}: 0 when the pool has no timeout. */
  long deadlineFrom(long now) {
    if (!pool.config().hasTimeout()) {
      return 0;
    }
    long deadline = now + TimeUnit.MILLISECONDS.toNanos(pool.config().timeout());
    return deadline == 0 ? 1 : deadline;
  }

  /**
   * The deadline of {@code handler}'s request sent at {@code now}: the pool's timeout, plus what
   * the request may wait of its own ({@link ReplyHandler#extraWaitMillis}); 0 for none.
   */
  long deadlineFor(ReplyHandler handler, long now) {
    long extra = handler.extraWaitMillis();
    long deadline = handler == ReplyHandler.NO_REPLY ? 0 : deadlineFrom(now);
    if (deadline == 0 || extra == 0) {
      return deadline;
    }
    long later = deadline + TimeUnit.MILLISECONDS.toNanos(extra);
    return extra < 0 || later < deadline ? 0 : later; // past the clock's range: no deadline
  }

  /** The oldest queued request's deadline when it has one, else one from {@code now}. */
  long oldestDeadline(long now) {
    long oldest = queued.headDeadline();
    return oldest != 0 ? oldest : deadlineFrom(now);
  }

  /** A request waiting for the connect; its frame is kept until then. */
  void queue(ReplyHandler handler, ByteBuf frame, int bytes, long deadline) {
    queued.add(handler, frame.touch("queued until the backend connects"), bytes, deadline, 0);
    counters.increment(ServerStat.IN_QUEUE);
    counters.add(ServerStat.IN_QUEUE_BYTES, bytes);
  }

  /** A request written to the server, waiting for its reply. */
  void written(ReplyHandler handler, int bytes, long deadline) {
    if (handler == ReplyHandler.NO_REPLY) {
      return;
    }
    waiting.add(handler, null, bytes, deadline,
        heldBy == null ? 0 : loop.ticker().nanoTime());
    if (handler.isClientRequest()) {
      counters.increment(ServerStat.OUT_QUEUE);
      counters.add(ServerStat.OUT_QUEUE_BYTES, bytes);
    }
  }

  /** Connected: writes every queued request, in order, behind what was written already. */
  void sendQueued(WriteCoalescer writer) {
    connected = true;
    while (!queued.isEmpty()) {
      int bytes = queued.headBytes();
      long deadline = queued.headDeadline();
      ByteBuf frame = queued.headFrame();
      ReplyHandler handler = queued.poll();
      counters.decrement(ServerStat.IN_QUEUE);
      counters.add(ServerStat.IN_QUEUE_BYTES, -bytes);
      written(handler, bytes, deadline);
      writer.write(frame);
    }
  }

  /**
   * {@code bytes} of a reply arrived for the head request, ending it when {@code last}: returns
   * the head's handler (removed from the FIFO when {@code last}), or {@code null} when there is no
   * request to take it (a stray reply) or the connection is closed.
   */
  ReplyHandler replied(int bytes, boolean last) {
    return replied(bytes, last, false);
  }

  /**
   * {@link #replied(int, boolean)} for a whole reply in which the server reports trouble of its own
   * ({@link walnut.core.spi.ServerTrouble}): it answers the head like any reply, and counts as a
   * failure of the server, not a success, unless the head owns its error replies (a script's).
   */
  ReplyHandler repliedWithTrouble(int bytes) {
    return replied(bytes, true, true);
  }

  private ReplyHandler replied(int bytes, boolean last, boolean trouble) {
    if (closed) {
      return null;
    }
    ReplyHandler head = waiting.peek();
    if (head == null) {
      return null;
    }
    int requestBytes = waiting.headBytes();
    if (last) {
      waiting.poll();
      armTimer(); // the next head may be due before the timer: a long reply restarts its own
    }
    if (head.isClientRequest()) {
      counters.add(ServerStat.RESPONSE_BYTES, bytes);
      if (last) {
        counters.decrement(ServerStat.OUT_QUEUE);
        counters.add(ServerStat.OUT_QUEUE_BYTES, -requestBytes);
        counters.increment(ServerStat.RESPONSES);
        if (!trouble) {
          pool.router().recordSuccess(server); // trouble is no success, even a script's own
        }
      }
    }
    return head;
  }

  /**
   * A piece of the head's long reply arrived: the server is answering, so the head's timeout
   * starts again from now (the head timer looks at the new deadline when it fires).
   */
  void progress() {
    long deadline = waiting.headDeadline();
    if (deadline != 0) {
      waiting.headDeadline(Math.max(deadline, deadlineFrom(loop.ticker().nanoTime())));
    }
  }

  /** The written request whose reply comes next, or {@code null}. */
  ReplyHandler head() {
    return waiting.peek();
  }

  /** Whether the head is the proxy's own request (a handshake step), not a client's. */
  boolean headIsOwnStep() {
    ReplyHandler head = waiting.peek();
    return head != null && !head.isClientRequest();
  }

  /** The head's deadline (0: none): of the written requests once connected, else the queued. */
  private long headDeadline() {
    return connected ? waiting.headDeadline() : queued.headDeadline();
  }

  /**
   * Starts the head's timer if none runs, or moves it earlier when the head is due before it
   * fires: only the head needs one, since later requests were sent later. (A head whose long reply
   * restarted its deadline, or that a hold credited, may be due after the request behind it.)
   */
  void armTimer() {
    long deadline = headDeadline();
    if (deadline == 0 || closed) {
      return;
    }
    if (timer != null) {
      if (deadline - timerAt >= 0) {
        return;
      }
      timer.cancel(false);
    }
    timerAt = deadline;
    timer = loop.schedule(this::onTimer, Math.max(0, deadline - loop.ticker().nanoTime()),
        TimeUnit.NANOSECONDS);
  }

  private void onTimer() {
    timer = null;
    long deadline = headDeadline();
    if (closed || deadline == 0) {
      return;
    }
    long now = loop.ticker().nanoTime();
    long left = deadline - now;
    if (heldBy != null) {
      // Held for a slow client: the deadlines move on release, which looks again at once.
      left = Math.max(left, TimeUnit.MILLISECONDS.toNanos(pool.config().timeout()));
    }
    if (left <= 0) {
      timedOut.run();
    } else {
      timerAt = now + left;
      timer = loop.schedule(this::onTimer, left, TimeUnit.NANOSECONDS);
    }
  }

  /**
   * A long reply's slow client holds the connection's reading: the other replies wait behind it
   * meanwhile, so the time held does not count against their timeouts. One holder at a time (only
   * the head streams); returns whether {@code holder} now holds it. A request waits behind holds
   * for at most {@link Pool#holdLimitNanos()} in all, whichever clients held them: a hold is
   * refused once the oldest request behind has waited that long, and ends (through
   * {@code holdExpired}) when it would have.
   */
  boolean hold(Object holder) {
    if (heldBy != null) {
      return false;
    }
    long allowed = pool.holdLimitNanos() - waiting.creditBehindHead();
    if (allowed <= 0) {
      return false;
    }
    heldBy = holder;
    heldSince = loop.ticker().nanoTime();
    holdTimer = loop.schedule(() -> {
      holdTimer = null;
      if (heldBy == holder && !closed) {
        holdExpired.run();
      }
    }, allowed, TimeUnit.NANOSECONDS);
    return true;
  }

  /** The holder of the connection's reading, or {@code null}. */
  Object heldBy() {
    return heldBy;
  }

  /**
   * {@code holder} releases the reading: every written request is credited with the time it
   * waited for the hold (the client's time, not the server's), and the head timer looks again.
   * Returns whether it held it.
   */
  boolean release(Object holder) {
    if (heldBy != holder || holder == null) {
      return false;
    }
    heldBy = null;
    cancelHoldTimer();
    waiting.creditHold(heldSince, loop.ticker().nanoTime());
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    armTimer();
    return true;
  }

  private void cancelHoldTimer() {
    if (holdTimer != null) {
      holdTimer.cancel(false);
      holdTimer = null;
    }
  }

  /** The connection is closing with {@code reason}: later requests are answered with it. */
  void close(String reason) {
    closed = true;
    failure = reason;
    heldBy = null;
    cancelHoldTimer();
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  /**
   * Counts the close and answers every queued and written request with {@code reason}, releasing
   * the frames never written.
   */
  void answerAll(String reason, Close how, boolean connected, boolean quiet) {
    switch (how) {
      case EOF -> counters.increment(ServerStat.SERVER_EOF);
      case ERROR -> counters.increment(ServerStat.SERVER_ERR);
      case TIMEOUT -> counters.increment(ServerStat.SERVER_TIMEDOUT);
      case RETIRED, SHUTDOWN, ABANDONED -> { }
    }
    if (connected) {
      counters.decrement(ServerStat.SERVER_CONNECTIONS);
    }
    pool.stats().connectionClosed();
    int owed = waiting.size() + queued.size();
    if (!quiet && how != Close.ABANDONED && (owed > 0 || !(how == Close.EOF || how.byProxy()))) {
      log.warn("pool '{}': server '{}' failed: {}{}", pool.config().name(),
          pool.serverName(server), reason,
          owed > 0 ? " (" + owed + " requests answered with the error)" : "");
    }
    while (!queued.isEmpty()) {
      int bytes = queued.headBytes();
      ByteBuf frame = queued.headFrame();
      ReplyHandler handler = queued.poll();
      counters.decrement(ServerStat.IN_QUEUE);
      counters.add(ServerStat.IN_QUEUE_BYTES, -bytes);
      ReferenceCountUtil.safeRelease(frame);
      handler.onError(reason);
    }
    while (!waiting.isEmpty()) {
      int bytes = waiting.headBytes();
      ReplyHandler handler = waiting.poll();
      if (handler.isClientRequest()) {
        counters.decrement(ServerStat.OUT_QUEUE);
        counters.add(ServerStat.OUT_QUEUE_BYTES, -bytes);
      }
      handler.onError(reason);
    }
  }

  /** The start of a trouble reply, for the log. */
  static String troubleText(ByteBuf reply) {
    return reply.toString(reply.readerIndex(), Math.min(reply.readableBytes(), 64),
        StandardCharsets.ISO_8859_1).strip();
  }

  /**
   * The server replied that it is in trouble (loading, busy, out of memory) to a request that does
   * not own its error replies: the connection stays, since every reply still matches its request,
   * but the server cannot serve, so it counts as a failure, towards {@code auto_eject_hosts} as
   * twemproxy counts it.
   */
  void countTrouble(String reply) {
    counters.increment(ServerStat.SERVER_ERR);
    log.warn("pool '{}': server '{}' replied {}: counted as a failure", pool.config().name(),
        pool.serverName(server), reply);
    countFailure(Close.ERROR, reply);
  }

  /**
   * A server failure for {@code reason} counts towards ejection ({@code auto_eject_hosts}); the
   * proxy's own closes do not. A pool that probes starts probing the server it ejected.
   */
  void countFailure(Close how, String reason) {
    // twemproxy's text for a close is errno 0's "unknown"; the refusal says what happened.
    String cause = how == Close.EOF ? "the server closed the connection" : reason;
    if (!how.byProxy() && pool.router().recordFailure(server, cause)) {
      pool.poolStats().increment(PoolStat.SERVER_EJECTS);
      counters.set(ServerStat.SERVER_EJECTED_AT, System.currentTimeMillis() * 1000);
      if (pool.config().healthChecked()) {
        log.warn("pool '{}': server '{}' ejected ({}): probed every {} ms from {} ms on, it"
            + " returns when a probe succeeds", pool.config().name(), pool.serverName(server),
            cause, pool.config().healthCheckInterval(), pool.config().serverRetryTimeout());
        pool.healthChecks().ejected(server);
      } else {
        log.warn("pool '{}': server '{}' ejected for {} ms ({})", pool.config().name(),
            pool.serverName(server), pool.config().serverRetryTimeout(), cause);
      }
    }
  }
}
