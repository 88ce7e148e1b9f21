package walnut.redis;

import io.netty.channel.EventLoop;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.config.Endpoint;
import walnut.core.spi.ServerLocator;

/**
 * The proxy's two connections to one sentinel, shared by every pool (and pool generation) that
 * lists it with the same password ({@link SentinelHub}): one for questions, answered in order
 * whoever asked, one for the {@code +switch-master} announcements, which go to every watch. A
 * connection that closes, or leaves a question (its handshake's, a keep-alive {@code PING} the
 * subscribed connection gets every second) unanswered for {@link #ANSWER_LIMIT_MILLIS}, is
 * opened again after a back-off (100 ms doubling to 5 s), which only a useful answer resets; the
 * link closes both when its last watch leaves.
 *
 * <p>Confined to its hub's event loop.
 */
final class SentinelLink implements SentinelConnection.Listener {

  private static final Logger log = LoggerFactory.getLogger(SentinelLink.class);

  private static final long FIRST_BACKOFF_MILLIS = 100;
  private static final long MAX_BACKOFF_MILLIS = 5_000;
  /** How long any question may wait for its answer before the connection is given up. */
  static final long ANSWER_LIMIT_MILLIS = 3_000;
  private static final long CHECK_MILLIS = 1_000;

  /** What a link tells the watches that use it. */
  interface Watcher {
    /** The question connection is ready: questions may be asked. */
    void linkReady(SentinelLink link);

    /** The question connection closed; it is being opened again. */
    void linkDown(SentinelLink link, String why);

    /** An announcement: {@code message}, channel, text. */
    void announced(SentinelLink link, List<Object> message);

    /** Opens the link's connections: the pool's transport and connect timeout. */
    ServerLocator.Context context();
  }

  final Endpoint address;
  final String password;
  private final EventLoop loop;
  private final Runnable unused;
  private final Set<Watcher> watchers = new LinkedHashSet<>();
  private SentinelConnection questions;
  private SentinelConnection announcements;
  /** Consecutive failed connects: questions, announcements. */
  private final int[] failures = new int[2];
  private boolean reportedDown;
  private boolean announcementsDown;
  private ScheduledFuture<?> checks;
  private boolean closed;

  /** {@code unused} runs when the last watch left and the link closed. */
  SentinelLink(Endpoint address, String password, EventLoop loop, Runnable unused) {
    this.address = address;
    this.password = password;
    this.loop = loop;
    this.unused = unused;
  }

  /** {@code watcher} uses the link from now on; the first one opens its connections. */
  void join(Watcher watcher) {
    boolean first = watchers.isEmpty();
    watchers.add(watcher);
    if (first) {
      open(false);
      open(true);
      checks = loop.scheduleAtFixedRate(this::check, CHECK_MILLIS, CHECK_MILLIS,
          TimeUnit.MILLISECONDS);
    } else if (ready()) {
      watcher.linkReady(this);
    }
  }

  /** {@code watcher} is done with the link; the last one closes it. */
  void leave(Watcher watcher) {
    if (watchers.remove(watcher) && watchers.isEmpty()) {
      closed = true;
      checks.cancel(false);
      questions.close("no pool uses the sentinel any more");
      announcements.close("no pool uses the sentinel any more");
      unused.run();
    }
  }

  /** Whether questions may be asked. */
  boolean ready() {
    return !closed && questions != null && questions.ready();
  }

  /**
   * Asks {@code args}; {@code answer} gets the reply's value, or {@link SentinelConnection#CLOSED}.
   * An answer that is no error, or says the master is unknown, shows the sentinel works: its
   * back-off starts again from the shortest.
   */
  void ask(Consumer<Object> answer, String... args) {
    questions.ask(reply -> {
      if (reply instanceof List<?> || reply instanceof RespValue.Error e
          && SentinelWatch.unknownMaster(e)) {
        answeredWell();
      }
      answer.accept(reply);
    }, args);
  }

  private void answeredWell() {
    failures[0] = 0;
    if (reportedDown) {
      reportedDown = false;
      log.warn("sentinel {} answers again", address);
    }
  }

  /**
   * Every second: a connection that left a question unanswered too long is given up; the idle
   * subscribed connection is asked {@code PING}, so that a silent sentinel is noticed.
   */
  private void check() {
    long limit = TimeUnit.MILLISECONDS.toNanos(ANSWER_LIMIT_MILLIS);
    for (SentinelConnection c : new SentinelConnection[] {questions, announcements}) {
      if (c.overdue(limit)) {
        c.close("no answer within " + ANSWER_LIMIT_MILLIS + " ms");
      }
    }
    if (announcements.ready() && !announcements.owes()) {
      announcements.ask(reply -> { }, "PING");
    }
  }

  /** Opens a connection; it is the link's before it connects, which may be at once. */
  private void open(boolean forAnnouncements) {
    SentinelConnection c = new SentinelConnection(forAnnouncements, this);
    if (forAnnouncements) {
      announcements = c;
    } else {
      questions = c;
    }
    c.connect(watchers.iterator().next().context(), address, password);
  }

  /**
   * Subscribed (which resets the announcements' back-off), or ready for questions (which does
   * not: only a useful answer shows the sentinel works).
   */
  @Override
  public void ready(SentinelConnection c) {
    if (closed) {
      return;
    }
    if (c.announcements) {
      failures[1] = 0;
      if (announcementsDown) {
        announcementsDown = false;
        log.warn("sentinel {}: announcements heard again", address);
      }
      return;
    }
    for (Watcher w : new ArrayList<>(watchers)) {
      w.linkReady(this);
    }
  }

  @Override
  public void announced(SentinelConnection c, List<Object> message) {
    for (Watcher w : new ArrayList<>(watchers)) {
      w.announced(this, message);
    }
  }

  @Override
  public void closed(SentinelConnection c, String why) {
    if (closed) {
      return;
    }
    if (!c.announcements) {
      if (!reportedDown) {
        reportedDown = true;
        log.warn("sentinel {} is down ({}); reconnecting with back-off", address, why);
      }
      for (Watcher w : new ArrayList<>(watchers)) {
        w.linkDown(this, why);
      }
    }
    if (c.announcements && !announcementsDown) {
      announcementsDown = true; // the questions still find a failover, only later
      log.warn("sentinel {}: no announcements ({}); reconnecting with back-off", address, why);
    }
    int kind = c.announcements ? 1 : 0;
    int n = Math.min(++failures[kind], 7);
    long delay = Math.min(MAX_BACKOFF_MILLIS, FIRST_BACKOFF_MILLIS << (n - 1));
    try {
      loop.schedule(() -> reconnect(c.announcements), delay, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      // The loops are shutting down.
    }
  }

  private void reconnect(boolean forAnnouncements) {
    if (closed) {
      return;
    }
    open(forAnnouncements);
  }
}
