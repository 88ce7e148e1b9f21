package walnut.redis;

import io.netty.channel.EventLoop;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
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
 * connection that closes is opened again after a back-off (100 ms doubling to 5 s); the link
 * closes both when its last watch leaves.
 *
 * <p>Confined to its hub's event loop.
 */
final class SentinelLink implements SentinelConnection.Listener {

  private static final Logger log = LoggerFactory.getLogger(SentinelLink.class);

  private static final long FIRST_BACKOFF_MILLIS = 100;
  private static final long MAX_BACKOFF_MILLIS = 5_000;

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
      questions = connect(false);
      announcements = connect(true);
    } else if (ready()) {
      watcher.linkReady(this);
    }
  }

  /** {@code watcher} is done with the link; the last one closes it. */
  void leave(Watcher watcher) {
    if (watchers.remove(watcher) && watchers.isEmpty()) {
      closed = true;
      questions.close("no pool uses the sentinel any more");
      announcements.close("no pool uses the sentinel any more");
      unused.run();
    }
  }

  /** Whether questions may be asked. */
  boolean ready() {
    return !closed && questions.ready();
  }

  /** Asks {@code args}; {@code answer} gets the reply's value, or {@link SentinelConnection#CLOSED}. */
  void ask(Consumer<Object> answer, String... args) {
    questions.ask(answer, args);
  }

  /** Closes the question connection (it did not answer in time); it is opened again. */
  void fail(String why) {
    questions.close(why);
  }

  private SentinelConnection connect(boolean forAnnouncements) {
    SentinelConnection c = new SentinelConnection(forAnnouncements, this);
    c.connect(watchers.iterator().next().context(), address, password);
    return c;
  }

  @Override
  public void ready(SentinelConnection c) {
    failures[c.announcements ? 1 : 0] = 0;
    if (closed || c.announcements) {
      return;
    }
    if (reportedDown) {
      reportedDown = false;
      log.warn("sentinel {} is reachable again", address);
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
    if (forAnnouncements) {
      announcements = connect(true);
    } else {
      questions = connect(false);
    }
  }
}
